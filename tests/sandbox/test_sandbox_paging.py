"""Lists: pages with absolute @odata.nextLink, $top, $skip, $count, $select; a learner's own list."""

from __future__ import annotations

from typing import Any

PROVIDERS = "/employeeExperience/learningProviders"


def collect(graph: Any, path: str) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    url: str | None = path
    while url:
        page = graph.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["value"]
        sizes.append(len(body["value"]))
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith(graph.sb.graph_url + "/")
    return items, sizes


def test_provider_activities_page_by_100(listing_sb: Any, graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    first = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities?$count=true").json()
    total = first["@odata.count"]
    assert total >= 400 and len(first["value"]) == 100
    assert first["@odata.context"].endswith(f"learningProviders('{rid}')/learningCourseActivities")
    items, sizes = collect(graph, f"{PROVIDERS}/{rid}/learningCourseActivities")
    assert len(items) == total and len({i["id"] for i in items}) == total
    assert sizes[:-1] == [100] * (len(sizes) - 1)
    assert {i["@odata.type"] for i in items} == {
        "#microsoft.graph.learningAssignment",
        "#microsoft.graph.learningSelfInitiatedCourse",
    }
    assert all(i["learningProviderId"] == rid for i in items)


def test_top_skip_select(listing_sb: Any, graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    base = f"{PROVIDERS}/{rid}/learningCourseActivities"
    all_ids = [i["id"] for i in collect(graph, base + "?$top=999")[0]]
    items, sizes = collect(graph, base + "?$top=150")
    assert sizes[0] == 150 and [i["id"] for i in items] == all_ids
    skipped = graph.get(base + "?$skip=10&$top=5").json()["value"]
    assert [i["id"] for i in skipped] == all_ids[10:15]
    selected = graph.get(base + "?$select=id,status&$top=2").json()
    assert all(set(i) <= {"@odata.type", "id", "status"} and "status" in i for i in selected["value"])
    assert "$select=id,status" in selected["@odata.nextLink"]
    for bad in ("$top=-1", "$top=x", "$select=nope", "$filter=status eq 'completed'", "$count=maybe"):
        answer = graph.get(f"{base}?{bad}")
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "badRequest", bad


def test_learner_lists_with_a_delegated_token(user_graph: Any) -> None:
    learner = user_graph.sb.demo["learner_id"]
    mine, _ = collect(user_graph, "/me/employeeExperience/learningCourseActivities?$top=7")
    assert mine and all(i["learnerUserId"] == learner for i in mine)
    assert user_graph.sb.demo["assignment_id"] in {i["id"] for i in mine}
    theirs, _ = collect(user_graph, f"/users/{learner}/employeeExperience/learningCourseActivities")
    assert [i["id"] for i in theirs] == [i["id"] for i in mine]
    missing = user_graph.get("/users/00000000-0000-0000-0000-000000000000/employeeExperience/learningCourseActivities")
    assert missing.status_code == 404


def test_seed_bulk_grows_a_provider(listing_sb: Any, graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    before = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities?$count=true&$top=1").json()["@odata.count"]
    total = graph.sb.seed_bulk(5000)
    assert total == before + 5000
    items, sizes = collect(graph, f"{PROVIDERS}/{rid}/learningCourseActivities?$top=999&$select=id")
    assert len(items) == total and sizes[0] == 999
