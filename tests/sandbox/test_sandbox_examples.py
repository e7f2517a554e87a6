"""The seed's two examples, verbatim, and what a PATCH, a POST and a DELETE do to the stored activity."""

from __future__ import annotations

import json
from typing import Any

from seed_examples import EXAMPLE_1_BODY_TEXT as EXAMPLE_1_BODY, EXAMPLE_1_PATH, EXAMPLE_2_BODY_TEXT as EXAMPLE_2_BODY

PROVIDERS = "/employeeExperience/learningProviders"

IDENTITY = (
    "id",
    "externalcourseActivityId",
    "learnerUserId",
    "learningContentId",
    "learningProviderId",
    "assignerUserId",
    "assignmentType",
)


def test_example_1_verbatim(graph: Any) -> None:
    before = graph.activity("8ba2228a-e020-11ec-9d64-0242ac120003")
    answer = graph.request("PATCH", EXAMPLE_1_PATH, data=EXAMPLE_1_BODY, headers={"Content-Type": "application/json"})
    assert answer.status_code == 204 and answer.content == b""
    after = graph.activity("8ba2228a-e020-11ec-9d64-0242ac120003")
    assert after["status"] == "inProgress"
    assert after["completionPercentage"] == 20
    assert after["completedDateTime"] is None
    assert after["assignedDateTime"] == "2021-05-11T22:57:17Z"
    assert after["dueDateTime"] == {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "UTC"}
    assert after["notes"] == {"contentType": "text", "content": "required assignment added for user"}
    assert {k: after[k] for k in IDENTITY} == {k: before[k] for k in IDENTITY}
    assert after["@odata.type"] == "#microsoft.graph.learningAssignment"
    assert after["@odata.context"].startswith(graph.sb.graph_url + "/$metadata#")


def test_example_2_body_on_the_self_initiated_course(graph: Any) -> None:
    sid = graph.sb.demo["self_initiated_id"]
    before = graph.activity(sid)
    answer = graph.request(
        "PATCH", graph.activity_path(sid), data=EXAMPLE_2_BODY, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 204
    after = graph.activity(sid)
    assert (after["status"], after["completionPercentage"], after["startedDateTime"]) == (
        "inProgress",
        30,
        "2021-05-11T22:57:17Z",
    )
    # The body's externalcourseActivityId is the assignment's: accepted and ignored.
    assert {k: after[k] for k in IDENTITY if k in after} == {k: before[k] for k in IDENTITY if k in before}


def test_unset_properties_are_untouched_and_null_clears(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    path = graph.activity_path(aid)
    assert graph.patch(path, json.loads(EXAMPLE_1_BODY)).status_code == 204
    done = {
        "@odata.type": "#microsoft.graph.learningAssignment",
        "status": "completed",
        "completedDateTime": "2022-09-01T10:00:00+02:00",
        "completionPercentage": 100,
    }
    assert graph.patch(path, done).status_code == 204
    after = graph.activity(aid)
    assert after["completedDateTime"] == "2022-09-01T08:00:00Z"  # stored in UTC, as Graph does
    assert after["notes"]["content"] == "required assignment added for user"  # not in the body: untouched
    clear = {
        "@odata.type": "#microsoft.graph.learningAssignment",
        "status": "inProgress",
        "completedDateTime": None,
        "notes": None,
    }
    assert graph.patch(path, clear).status_code == 204
    after = graph.activity(aid)
    assert after["completedDateTime"] is None and after["notes"] is None
    assert after["completionPercentage"] == 100


def test_patch_by_external_id_also_quoted_with_percent_27(graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    external = graph.sb.demo["assignment_external_id"]
    body = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "completed", "completionPercentage": 100}
    path = f"{PROVIDERS}/{rid}/learningCourseActivities(externalcourseActivityId=%27{external}%27)"
    assert graph.patch(path, body).status_code == 204
    read = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities(externalcourseActivityId='{external}')")
    assert read.status_code == 200
    assert read.json()["id"] == graph.sb.demo["assignment_id"] and read.json()["status"] == "completed"


def test_create_read_and_delete(graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    body = {
        "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
        "externalcourseActivityId": "ext-created-1",
        "learnerUserId": graph.sb.demo["learner_id"],
        "learningContentId": graph.sb.demo["content_id"],
        "status": "inProgress",
        "startedDateTime": "2024-01-02T03:04:05Z",
    }
    created = graph.post(f"{PROVIDERS}/{rid}/learningCourseActivities", body)
    assert created.status_code == 201, created.text
    record = created.json()
    learner, _, guid = record["id"].partition(":")
    assert learner == graph.sb.demo["learner_id"] and len(guid) == 36
    assert record["learningProviderId"] == rid and record["startedDateTime"] == "2024-01-02T03:04:05Z"
    assert created.headers["Location"].endswith(record["id"])
    assert graph.activity(record["id"])["externalcourseActivityId"] == "ext-created-1"
    assert graph.delete(graph.activity_path(record["id"])).status_code == 204
    assert graph.get(f"/employeeExperience/learningCourseActivities/{record['id']}").status_code == 404


def test_providers_and_contents(listing_sb: Any, graph: Any, user_graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    contents = graph.get(f"{PROVIDERS}/{rid}/learningContents")
    assert contents.status_code == 200
    ids = [c["id"] for c in contents.json()["value"]]
    assert graph.sb.demo["content_id"] in ids
    one = contents.json()["value"][0]
    assert graph.get(f"{PROVIDERS}/{rid}/learningContents/{one['id']}").json()["title"] == one["title"]
    by_external = graph.get(f"{PROVIDERS}/{rid}/learningContents(externalId='{one['externalId']}')")
    assert by_external.json()["id"] == one["id"]
    new = {"externalId": "c-new", "title": "New course", "contentWebUrl": "https://x.example/c", "languageTag": "en-us"}
    assert graph.post(f"{PROVIDERS}/{rid}/learningContents", new).status_code == 201
    assert graph.post(f"{PROVIDERS}/{rid}/learningContents", new).status_code == 409
    missing = {k: v for k, v in new.items() if k != "title"}
    assert (
        graph.post(f"{PROVIDERS}/{rid}/learningContents", missing).json()["error"]["message"]
        == "Input field title is required"
    )

    # Providers are delegated-only: list, read, and switch sync on.
    providers = user_graph.get(PROVIDERS).json()["value"]
    assert {p["id"] for p in providers} >= {rid, graph.sb.demo["disabled_registration_id"]}
    disabled = graph.sb.demo["disabled_registration_id"]
    assert user_graph.patch(f"{PROVIDERS}/{disabled}", {"isCourseActivitySyncEnabled": "yes"}).status_code == 400
    assert user_graph.patch(f"{PROVIDERS}/{disabled}", {"isCourseActivitySyncEnabled": True}).status_code == 204
    assert user_graph.get(f"{PROVIDERS}/{disabled}").json()["isCourseActivitySyncEnabled"] is True
    activity = graph.get(f"{PROVIDERS}/{disabled}/learningCourseActivities?$top=1").json()["value"][0]
    body = {"@odata.type": activity["@odata.type"], "status": "completed", "completionPercentage": 100}
    assert graph.patch(graph.activity_path(activity["id"], disabled), body).status_code == 204
