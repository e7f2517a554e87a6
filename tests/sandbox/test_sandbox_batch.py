"""JSON batching: limits, dependsOn, and each sub-request checked and throttled on its own."""

from __future__ import annotations

from typing import Any

from learnkit.errors import TooManyRequestsError

PROVIDERS = "/employeeExperience/learningProviders"


def batch(graph: Any, requests: list[dict[str, Any]], **kwargs: Any) -> Any:
    return graph.post("/$batch", {"requests": requests}, **kwargs)


def get(rid: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "method": "GET", "url": url, **extra}


def patch(rid: str, graph: Any, body: dict[str, Any], activity_id: str | None = None, **extra: Any) -> dict[str, Any]:
    url = graph.activity_path(activity_id or graph.sb.demo["assignment_id"])
    return {
        "id": rid,
        "method": "PATCH",
        "url": url,
        "headers": {"Content-Type": "application/json"},
        "body": body,
        **extra,
    }


GOOD = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "completed", "completionPercentage": 100}


def test_more_than_twenty_is_a_400(graph: Any) -> None:
    url = f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}"
    answer = batch(graph, [get(str(i), url) for i in range(21)])
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "badRequest"
    assert batch(graph, [get(str(i), url) for i in range(20)]).status_code == 200


def test_malformed_batches_are_400(graph: Any) -> None:
    url = f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}"
    for payload in (
        {"requests": "x"},
        {"nothing": []},
        {"requests": [{"id": "1", "method": "GET"}]},
        {"requests": [get("1", url), get("1", url)]},
        {"requests": [get("1", url, dependsOn=["9"])]},
        {"requests": [get("1", url, dependsOn=["2"]), get("2", url, dependsOn=["1"])]},
        {"requests": [get("1", "https://graph.microsoft.com/v1.0/me")]},
    ):
        answer = graph.post("/$batch", payload)
        assert answer.status_code == 400, payload
        assert answer.json()["error"]["code"] == "badRequest"
    answer = graph.request("POST", "/$batch", data="{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400


def test_sub_requests_are_applied_and_answered_in_order(listing_sb: Any, graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    answer = batch(
        graph,
        [
            patch("1", graph, GOOD),
            get("2", f"/employeeExperience/learningCourseActivities/{aid}", dependsOn=["1"]),
            get("3", f"{PROVIDERS}/{graph.sb.demo['registration_id']}/learningCourseActivities?$top=3"),
        ],
    )
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert [r["id"] for r in responses] == ["1", "2", "3"]
    assert responses[0]["status"] == 204 and "body" not in responses[0]
    assert responses[1]["status"] == 200 and responses[1]["body"]["status"] == "completed"
    assert len(responses[2]["body"]["value"]) == 3
    assert graph.activity(aid)["completionPercentage"] == 100


def test_a_failed_dependency_gives_424(graph: Any) -> None:
    bad = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "completed", "completionPercentage": 101}
    answer = batch(
        graph,
        [
            patch("1", graph, bad),
            patch("2", graph, GOOD, dependsOn=["1"]),
            patch("3", graph, GOOD, graph.sb.demo["self_initiated_id"] and None, dependsOn=["2"]),
            get("4", f"/employeeExperience/learningCourseActivities/{graph.sb.demo['self_initiated_id']}"),
        ],
    )
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"1": 400, "2": 424, "3": 424, "4": 200}
    failed = next(r for r in answer.json()["responses"] if r["id"] == "2")
    assert failed["body"]["error"]["code"] == "failedDependency"
    assert graph.activity(graph.sb.demo["assignment_id"])["status"] == "notStarted"


def test_each_sub_request_is_throttled_on_its_own(graph: Any) -> None:
    graph.sb.set_rate_limit(2)
    url = f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}"
    answer = batch(graph, [get(str(i), url) for i in range(5)])
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert [r["status"] for r in responses] == [200, 200, 429, 429, 429]
    for throttled in responses[2:]:
        assert throttled["headers"]["Retry-After"] == "1"
        assert throttled["body"]["error"]["code"] == TooManyRequestsError.row.code  # type: ignore[union-attr]


def test_queued_faults_hit_single_sub_requests(graph: Any) -> None:
    graph.sb.fail_next("503")
    url = f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}"
    responses = batch(graph, [patch("1", graph, GOOD), get("2", url)]).json()["responses"]
    assert responses[0]["status"] == 503 and responses[0]["headers"]["Retry-After"] == "1"
    assert responses[1]["status"] == 200 and responses[1]["body"]["status"] == "notStarted"


def test_sub_requests_carry_the_outer_token(graph: Any) -> None:
    url = f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}"
    unauthenticated = batch(
        graph, [get("1", url), get("2", "/me/employeeExperience/learningCourseActivities")], token=None
    )
    assert unauthenticated.status_code == 401  # the batch itself is refused, not 200 with a 401 each
    assert unauthenticated.json()["error"]["code"] == "InvalidAuthenticationToken"
    responses = batch(graph, [get("1", url), get("2", "/me/employeeExperience/learningCourseActivities")]).json()[
        "responses"
    ]
    assert [r["status"] for r in responses] == [200, 403]  # /me is delegated-only
