"""Graph's documented v1.0 contract where the sandbox once differed (issue 10), each over HTTP.

Each test names the rule it checks; ``docs/sandbox-differences.md`` says where each comes from.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

import learnkit
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE, check_create, parse_update

PROVIDERS = "/employeeExperience/learningProviders"
GOOD = {"@odata.type": ASSIGNMENT_TYPE, "status": "completed", "completionPercentage": 100}


def new_assignment(graph: Any, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": ASSIGNMENT_TYPE,
        "learnerUserId": graph.sb.demo["learner_id"],
        "learningContentId": graph.sb.demo["content_id"],
        "status": "notStarted",
        "assignmentType": "required",
        "externalcourseActivityId": "contract-1",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def create(graph: Any, body: dict[str, Any], **kwargs: Any) -> Any:
    return graph.post(f"{PROVIDERS}/{graph.sb.demo['registration_id']}/learningCourseActivities", body, **kwargs)


# --- Content-Type -------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_patch_or_post_without_json_content_type_is_a_400_and_applies_nothing(
    graph: Any, content_type: str | None
) -> None:
    aid = graph.sb.demo["assignment_id"]
    headers = {"Content-Type": content_type} if content_type else {}
    answer = graph.request("PATCH", graph.activity_path(aid), data=json.dumps(GOOD).encode(), headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "badRequest"
    assert "Content-Type" in answer.json()["error"]["message"]
    assert graph.activity(aid)["status"] == "notStarted"
    posted = graph.request(
        "POST",
        f"{PROVIDERS}/{graph.sb.demo['registration_id']}/learningCourseActivities",
        data=json.dumps(new_assignment(graph)).encode(),
        headers=headers,
    )
    assert posted.status_code == 400
    with_charset = graph.request(
        "PATCH",
        graph.activity_path(aid),
        data=json.dumps(GOOD).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert with_charset.status_code == 204


# --- $batch -------------------------------------------------------------------------------


def test_a_batch_sub_request_with_a_body_and_no_content_type_fails_the_whole_batch(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    answer = graph.post(
        "/$batch",
        {
            "requests": [
                {"id": "1", "method": "GET", "url": f"/employeeExperience/learningCourseActivities/{aid}"},
                {"id": "2", "method": "PATCH", "url": graph.activity_path(aid), "body": GOOD},
            ]
        },
    )
    assert answer.status_code == 400
    assert "Content-Type" in answer.json()["error"]["message"] and "2" in answer.json()["error"]["message"]
    assert graph.activity(aid)["status"] == "notStarted"


def test_batch_ids_differing_only_in_case_fail_the_whole_batch(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    url = f"/employeeExperience/learningCourseActivities/{aid}"
    answer = graph.post(
        "/$batch",
        {
            "requests": [
                {
                    "id": "a",
                    "method": "PATCH",
                    "url": graph.activity_path(aid),
                    "headers": {"Content-Type": "application/json"},
                    "body": GOOD,
                },
                {"id": "A", "method": "GET", "url": url},
            ]
        },
    )
    assert answer.status_code == 400 and "unique" in answer.json()["error"]["message"]
    assert graph.activity(aid)["status"] == "notStarted"
    # dependsOn is matched ignoring case too
    fine = graph.post(
        "/$batch",
        {
            "requests": [
                {"id": "a", "method": "GET", "url": url},
                {"id": "b", "method": "GET", "url": url, "dependsOn": ["A"]},
            ]
        },
    )
    assert fine.status_code == 200 and [r["status"] for r in fine.json()["responses"]] == [200, 200]


def test_learnkit_refuses_those_batches_before_sending(sb: Any) -> None:
    client = learnkit.GraphClient.for_sandbox(sb)
    url = f"/employeeExperience/learningCourseActivities/{sb.demo['assignment_id']}"
    with pytest.raises(learnkit.InvalidInputError) as caught:
        client.batch([{"id": "x", "method": "GET", "url": url}, {"id": "X", "method": "GET", "url": url}])
    assert caught.value.field == "requests"
    with pytest.raises(learnkit.InvalidInputError) as caught:
        client.batch([{"id": "1", "method": "PATCH", "url": url, "body": GOOD}])
    assert caught.value.field == "headers"


# --- create -------------------------------------------------------------------------------


def test_create_without_assignment_type_is_a_400_naming_it_and_learnkit_agrees(graph: Any) -> None:
    body = new_assignment(graph, assignmentType=...)
    answer = create(graph, body)
    assert answer.status_code == 400
    assert "assignmentType" in answer.json()["error"]["message"]
    with pytest.raises(learnkit.InvalidInputError) as caught:
        check_create(body)
    assert caught.value.field == "assignmentType"
    nulled = create(graph, new_assignment(graph, assignmentType=None))
    assert nulled.status_code == 400 and "assignmentType" in nulled.json()["error"]["message"]
    client = learnkit.GraphClient.for_sandbox(graph.sb)
    with pytest.raises(learnkit.InvalidInputError) as caught:
        client.create_activity(graph.sb.demo["registration_id"], body)
    assert caught.value.field == "assignmentType"


def test_create_without_external_id_is_allowed(graph: Any) -> None:
    first = create(graph, new_assignment(graph, externalcourseActivityId=...))
    assert first.status_code == 201, first.text
    assert first.json()["externalcourseActivityId"] is None
    second = create(graph, new_assignment(graph, externalcourseActivityId=...))
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]
    fetched = graph.activity(second.json()["id"])
    assert fetched["assignmentType"] == "required" and fetched["externalcourseActivityId"] is None
    self_initiated = create(
        graph,
        {
            "@odata.type": SELF_INITIATED_TYPE,
            "learnerUserId": graph.sb.demo["learner_id"],
            "learningContentId": graph.sb.demo["content_id"],
            "status": "inProgress",
        },
    )
    assert self_initiated.status_code == 201


# --- complex values with their own @odata.type ---------------------------------------------


def test_complex_values_may_carry_their_odata_type(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    body = {
        "@odata.type": ASSIGNMENT_TYPE,
        "status": "inProgress",
        "dueDateTime": {
            "@odata.type": "#microsoft.graph.dateTimeTimeZone",
            "dateTime": "2022-09-22T16:05:00.0000000",
            "timeZone": "UTC",
        },
        "notes": {"@odata.type": "#microsoft.graph.itemBody", "contentType": "text", "content": "typed"},
    }
    assert parse_update(body).to_body()["notes"] == {"contentType": "text", "content": "typed"}
    answer = graph.patch(graph.activity_path(aid), body)
    assert answer.status_code == 204, answer.text
    after = graph.activity(aid)
    assert after["dueDateTime"] == {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "UTC"}
    assert after["notes"] == {"contentType": "text", "content": "typed"}
    wrong = {**body, "notes": {"@odata.type": "#microsoft.graph.dateTimeTimeZone", "content": "x"}}
    refused = graph.patch(graph.activity_path(aid), wrong)
    assert refused.status_code == 400 and "notes" in refused.json()["error"]["message"]
    with pytest.raises(learnkit.InvalidInputError) as caught:
        parse_update(wrong)
    assert caught.value.field == "notes"


# --- evolvable enums ----------------------------------------------------------------------


def test_peer_recommended_only_for_clients_that_ask(listing_sb: Any, graph: Any) -> None:
    opt_in = {"Prefer": "odata.maxpagesize=5, include-unknown-enum-members"}
    refused = create(graph, new_assignment(graph, assignmentType="peerRecommended"))
    assert refused.status_code == 400 and "assignmentType" in refused.json()["error"]["message"]
    answer = create(graph, new_assignment(graph, assignmentType="peerRecommended"), headers=opt_in)
    assert answer.status_code == 201, answer.text
    assert answer.json()["assignmentType"] == "peerRecommended"
    assert answer.headers["Preference-Applied"] == "include-unknown-enum-members"
    aid = answer.json()["id"]
    plain = graph.get(f"/employeeExperience/learningCourseActivities/{aid}")
    assert plain.json()["assignmentType"] == "unknownFutureValue" and "Preference-Applied" not in plain.headers
    asked = graph.get(f"/employeeExperience/learningCourseActivities/{aid}", headers=opt_in)
    assert asked.json()["assignmentType"] == "peerRecommended"
    listed = graph.get(f"{PROVIDERS}/{graph.sb.demo['registration_id']}/learningCourseActivities?$top=999")
    mine = [a for a in listed.json()["value"] if a["id"] == aid]
    assert mine and mine[0]["assignmentType"] == "unknownFutureValue"


def test_the_sentinel_cannot_be_set(graph: Any) -> None:
    for body in (
        new_assignment(graph, assignmentType="unknownFutureValue"),
        new_assignment(graph, status="unknownFutureValue"),
    ):
        answer = create(graph, body)
        assert answer.status_code == 400, body
        with pytest.raises(learnkit.InvalidInputError):
            check_create(body)
    contents = f"{PROVIDERS}/{graph.sb.demo['registration_id']}/learningContents/{graph.sb.demo['content_id']}"
    whole = {key: graph.get(contents).json()[key] for key in ("title", "contentWebUrl", "languageTag")}
    level = graph.patch(contents, {**whole, "level": "unknownFutureValue"})
    assert level.status_code == 400 and "level" in level.json()["error"]["message"]
    assert graph.patch(contents, {**whole, "level": "advanced"}).status_code == 202


def test_learnkit_opts_into_evolvable_members(sb: Any) -> None:
    client = learnkit.GraphClient.for_sandbox(sb)
    created = client.create_activity(
        sb.demo["registration_id"],
        {
            "@odata.type": ASSIGNMENT_TYPE,
            "learnerUserId": sb.demo["learner_id"],
            "learningContentId": sb.demo["content_id"],
            "status": "notStarted",
            "assignmentType": "peerRecommended",
        },
    )
    assert created.assignmentType == "peerRecommended"
    assert client.get_activity(str(created.id)).assignmentType == "peerRecommended"
    url = f"/employeeExperience/learningCourseActivities/{created.id}"
    [answer] = client.batch([{"id": "1", "method": "GET", "url": url}])
    assert answer["body"]["assignmentType"] == "peerRecommended"


# --- per-user GET ---------------------------------------------------------------------------


def test_get_one_activity_of_a_user_and_of_me(user_graph: Any, graph: Any) -> None:
    aid, learner = user_graph.sb.demo["assignment_id"], user_graph.sb.demo["learner_id"]
    for path in (
        f"/users/{learner}/employeeExperience/learningCourseActivities/{aid}",
        f"/me/employeeExperience/learningCourseActivities/{aid}",
    ):
        answer = user_graph.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["id"] == aid and answer.json()["learnerUserId"] == learner
        assert "@odata.context" in answer.json()
    other = user_graph.sb.demo["assigner_id"]
    wrong_user = user_graph.get(f"/users/{other}/employeeExperience/learningCourseActivities/{aid}")
    assert wrong_user.status_code == 404
    assert graph.get(f"/users/{learner}/employeeExperience/learningCourseActivities/{aid}").status_code == 200
    app_me = graph.get(f"/me/employeeExperience/learningCourseActivities/{aid}")
    assert app_me.status_code == 400 and "delegated" in app_me.json()["error"]["message"]


# --- learningContent PATCH (upsert) and DELETE ----------------------------------------------


def test_content_patch_updates_or_creates_and_delete_removes(graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    contents = f"{PROVIDERS}/{rid}/learningContents"
    cid = graph.sb.demo["content_id"]
    stamp = "2021-04-01T04:26:06.1995367Z"
    metadata = {"title": "Renamed", "contentWebUrl": "https://contoso.example/renamed", "languageTag": "en-us"}
    answer = graph.patch(f"{contents}/{cid}", {**metadata, "lastModifiedDateTime": stamp})
    assert answer.status_code == 202, answer.text
    assert answer.json()["title"] == "Renamed" and answer.json()["id"] == cid
    assert answer.json()["lastModifiedDateTime"] == stamp
    assert graph.get(f"{contents}/{cid}").json()["title"] == "Renamed"
    assert graph.patch(f"{contents}/{cid}", {**metadata, "title": ""}).status_code == 400
    assert graph.patch(f"{contents}/{cid}", {**metadata, "colour": "red"}).status_code == 400

    new = {"title": "Brand new", "contentWebUrl": "https://contoso.example/new", "languageTag": "en-us"}
    created = graph.patch(f"{contents}(externalId='LP-new')", new)
    assert created.status_code == 202 and created.json()["externalId"] == "LP-new"
    new_id = created.json()["id"]
    assert graph.get(f"{contents}(externalId='LP-new')").json()["id"] == new_id
    missing = graph.patch(f"{contents}(externalId='LP-other')", {"title": "only a title"})
    assert missing.status_code == 400 and "contentWebUrl" in missing.json()["error"]["message"]
    assert graph.patch(f"{contents}/no-such-id", {"title": "x"}).status_code == 404

    assert graph.delete(f"{contents}(externalId='LP-new')/$ref").status_code == 204
    assert graph.get(f"{contents}/{new_id}").status_code == 404
    assert graph.delete(f"{contents}/{cid}").status_code == 204
    assert graph.delete(f"{contents}/{cid}").status_code == 404


def test_content_writes_need_the_content_write_permission(user_graph: Any) -> None:
    rid, cid = user_graph.sb.demo["registration_id"], user_graph.sb.demo["content_id"]
    answer = user_graph.patch(f"{PROVIDERS}/{rid}/learningContents/{cid}", {"title": "x"})
    assert answer.status_code == 403
    assert user_graph.delete(f"{PROVIDERS}/{rid}/learningContents/{cid}").status_code == 403


# --- $metadata, OData-Version ---------------------------------------------------------------


def test_metadata_is_served_without_a_token_and_describes_the_learning_types(graph: Any) -> None:
    answer = graph.get("/$metadata", token=None)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/xml")
    assert answer.headers["OData-Version"] == "4.0"
    ns = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    schema = ET.fromstring(answer.content).find(".//edm:Schema", ns)
    assert schema is not None and schema.get("Namespace") == "microsoft.graph"
    types = {t.get("Name"): t for t in schema.findall("edm:EntityType", ns)}
    assert {
        "learningProvider",
        "learningContent",
        "learningCourseActivity",
        "learningAssignment",
        "learningSelfInitiatedCourse",
    } <= set(types)
    assignment_type = next(
        p for p in types["learningAssignment"].findall("edm:Property", ns) if p.get("Name") == "assignmentType"
    )
    assert assignment_type.get("Nullable") == "false"
    members = [m.get("Name") for m in schema.find("edm:EnumType[@Name='assignmentType']", ns) or []]
    assert members.index("peerRecommended") > members.index("unknownFutureValue")


def test_graph_answers_carry_odata_version(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    assert graph.get(f"/employeeExperience/learningCourseActivities/{aid}").headers["OData-Version"] == "4.0"
    assert graph.patch(graph.activity_path(aid), GOOD).headers["OData-Version"] == "4.0"
    assert graph.get("/employeeExperience/nothing").headers["OData-Version"] == "4.0"
    url = f"/employeeExperience/learningCourseActivities/{aid}"
    batch = graph.post("/$batch", {"requests": [{"id": "1", "method": "GET", "url": url}]})
    assert batch.headers["OData-Version"] == "4.0"
    assert batch.json()["responses"][0]["headers"]["OData-Version"] == "4.0"


# --- a fetched object sent back; fractions of a second --------------------------------------


def test_a_patch_carrying_back_a_fetched_object_ignores_id_and_control_information(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    fetched = graph.get(graph.activity_path(aid)).json()
    assert "@odata.context" in fetched and fetched["id"] == aid
    body = {**fetched, "status": "inProgress", "completionPercentage": 55, "@odata.etag": 'W/"x"'}
    assert parse_update(body).to_body()["completionPercentage"] == 55  # learnkit agrees: accepted
    answer = graph.patch(graph.activity_path(aid), body)
    assert answer.status_code == 204, answer.text
    after = graph.activity(aid)
    assert after["id"] == aid and after["completionPercentage"] == 55
    assert "@odata.etag" not in after
    # a different id in the body is ignored too (OData: key properties in a PATCH are ignored)
    assert graph.patch(graph.activity_path(aid), {**body, "id": "someone-else"}).status_code == 204
    assert graph.activity(aid)["id"] == aid


def test_seven_digit_fractions_come_back_as_sent(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    body = {
        "@odata.type": ASSIGNMENT_TYPE,
        "status": "completed",
        "completedDateTime": "2021-05-11T22:57:17.1234567Z",
        "assignedDateTime": "2021-05-11T23:57:17.1200000+01:00",
    }
    assert parse_update(body).to_body()["completedDateTime"] == "2021-05-11T22:57:17.1234567Z"
    assert graph.patch(graph.activity_path(aid), body).status_code == 204
    after = graph.activity(aid)
    assert after["completedDateTime"] == "2021-05-11T22:57:17.1234567Z"
    assert after["assignedDateTime"] == "2021-05-11T22:57:17.1200000Z"


# --- what is deliberately not served (docs/sandbox-differences.md) ---------------------------


def test_undocumented_operations_and_query_options_are_refused(listing_sb: Any, graph: Any, user_graph: Any) -> None:
    rid, aid = graph.sb.demo["registration_id"], graph.sb.demo["assignment_id"]
    assert user_graph.request("PUT", f"{PROVIDERS}/{rid}", json={"displayName": "x"}).status_code == 405
    assert graph.patch(f"/employeeExperience/learningCourseActivities/{aid}", GOOD).status_code == 405
    assert graph.get("/employeeExperience/learningCourseActivities").status_code == 405
    external = graph.sb.demo["assignment_external_id"]
    by_external = f"{PROVIDERS}/{rid}/learningCourseActivities(externalcourseActivityId='{external}')"
    assert graph.delete(by_external).status_code == 405
    for option in ("$filter=status eq 'completed'", "$orderby=status", "$search=x", "$expand=x"):
        answer = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities?{option}")
        assert answer.status_code == 400 and "not supported" in answer.json()["error"]["message"], option


def test_learnkit_refuses_the_content_the_sandbox_refuses(listing_sb: Any, graph: Any) -> None:
    client = learnkit.GraphClient.for_sandbox(graph.sb)
    rid = graph.sb.demo["registration_id"]
    good = {"externalId": "lk-1", "title": "T", "contentWebUrl": "https://contoso.example/1", "languageTag": "en-us"}
    for bad, field in (
        ({**good, "level": "expert"}, "level"),
        ({k: v for k, v in good.items() if k != "title"}, "title"),
        ({**good, "numberOfPages": "nine"}, "numberOfPages"),
        ({**good, "createdDateTime": "2024-01-01T00:00:00Z"}, "createdDateTime"),
    ):
        answer = graph.post(f"{PROVIDERS}/{rid}/learningContents", bad)
        assert answer.status_code == 400 and field in answer.json()["error"]["message"], (field, answer.text)
        with pytest.raises(learnkit.InvalidInputError) as caught:
            client.create_content(rid, bad)
        assert caught.value.field == field
    assert client.create_content(rid, good).externalId == "lk-1"
