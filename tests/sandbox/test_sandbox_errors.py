"""Every row of the seed's error table, produced by the sandbox for its real condition.

Status, code and message are compared with the row in ``learnkit.errors``
(the one copy of the table), the field named for the "Input field" rows.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from learnkit.errors import (
    ERROR_TABLE,
    ActivityNotFoundError,
    ConflictError,
    FieldEmptyError,
    FieldInvalidError,
    FieldRequiredError,
    GraphError,
    InternalServerError,
    InvalidRegistrationError,
    LicenseError,
    MethodNotAllowedError,
    PermissionDeniedError,
    ProviderContentMismatchError,
    ProviderNotEnabledError,
    ServicePlanError,
    ServiceUnavailableError,
    TooManyRequestsError,
    error_from_response,
)

PROVIDERS = "/employeeExperience/learningProviders"
UPDATE = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress", "completionPercentage": 40}


def assert_row(answer: requests.Response, cls: type[GraphError], **fill: Any) -> dict[str, Any]:
    """The answer is exactly this row: status, code, message (filled), Graph's body shape, request ids."""
    row = cls.row
    assert row is not None
    body = answer.json()
    assert answer.status_code == row.status, answer.text
    assert body["error"]["code"] == row.code
    assert body["error"]["message"] == row.message.format(**fill)
    inner = body["error"]["innerError"]
    assert inner["request-id"] == answer.headers["request-id"]
    assert inner["client-request-id"] == answer.headers["client-request-id"]
    assert inner["date"]
    parsed = error_from_response(answer.status_code, body, answer.headers)
    assert type(parsed) is cls
    if "fieldName" in fill:
        assert parsed.field == fill["fieldName"]
    return dict(body)


def new_activity(sb: Any, **changes: Any) -> dict[str, Any]:
    body = {
        "@odata.type": "#microsoft.graph.learningAssignment",
        "externalcourseActivityId": "new-activity-1",
        "learnerUserId": sb.demo["learner_id"],
        "learningContentId": sb.demo["content_id"],
        "status": "notStarted",
        "assignmentType": "required",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def test_every_row_of_the_table_has_a_test_here() -> None:
    names = {cls.__name__ for cls in ERROR_TABLE}
    tested = {name.removeprefix("test_row_") for name in globals() if name.startswith("test_row_")}
    assert names == {_class_for(t).__name__ for t in tested}


def _class_for(test_suffix: str) -> type[GraphError]:
    return {
        "method_not_allowed": MethodNotAllowedError,
        "permission_denied": PermissionDeniedError,
        "service_plan": ServicePlanError,
        "provider_not_enabled": ProviderNotEnabledError,
        "invalid_registration": InvalidRegistrationError,
        "activity_not_found": ActivityNotFoundError,
        "internal_server_error": InternalServerError,
        "too_many_requests": TooManyRequestsError,
        "service_unavailable": ServiceUnavailableError,
        "field_required": FieldRequiredError,
        "field_invalid": FieldInvalidError,
        "field_empty": FieldEmptyError,
        "provider_content_mismatch": ProviderContentMismatchError,
        "license": LicenseError,
    }[test_suffix]


def test_row_method_not_allowed(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    assert_row(graph.patch(f"/employeeExperience/learningCourseActivities/{aid}", UPDATE), MethodNotAllowedError)
    answer = graph.request("PUT", graph.activity_path(aid), json=UPDATE)
    assert_row(answer, MethodNotAllowedError)
    assert "PATCH" in answer.headers["Allow"]


def test_row_permission_denied(graph: Any) -> None:
    weak = graph.token_for("learnkit-noroles")
    answer = graph.patch(graph.activity_path(graph.sb.demo["assignment_id"]), UPDATE, token=weak)
    assert_row(answer, PermissionDeniedError)


def test_row_service_plan(graph: Any) -> None:
    graph.sb.set_service_plan(False)
    assert_row(graph.patch(graph.activity_path(graph.sb.demo["assignment_id"]), UPDATE), ServicePlanError)
    graph.sb.set_service_plan(True)
    assert graph.patch(graph.activity_path(graph.sb.demo["assignment_id"]), UPDATE).status_code == 204


def test_row_provider_not_enabled(listing_sb: Any, graph: Any) -> None:
    rid = graph.sb.demo["disabled_registration_id"]
    listed = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities?$top=1")
    assert listed.status_code == 200  # reads still work while sync is off
    activity = listed.json()["value"][0]
    body = {"@odata.type": activity["@odata.type"], "status": "completed"}
    assert_row(graph.patch(graph.activity_path(activity["id"], rid), body), ProviderNotEnabledError)
    assert_row(graph.delete(graph.activity_path(activity["id"], rid)), ProviderNotEnabledError)
    assert_row(
        graph.post(f"{PROVIDERS}/{rid}/learningCourseActivities", new_activity(graph.sb)), ProviderNotEnabledError
    )


def test_row_invalid_registration(graph: Any) -> None:
    answer = graph.patch(
        graph.activity_path(graph.sb.demo["assignment_id"], "00000000-0000-0000-0000-000000000000"), UPDATE
    )
    assert_row(answer, InvalidRegistrationError)


def test_row_activity_not_found(listing_sb: Any, graph: Any) -> None:
    assert_row(graph.patch(graph.activity_path("8ba2228a-0000-0000-0000-000000000000"), UPDATE), ActivityNotFoundError)
    assert_row(graph.get("/employeeExperience/learningCourseActivities/nope"), ActivityNotFoundError)
    by_external = (
        f"{PROVIDERS}/{graph.sb.demo['registration_id']}/learningCourseActivities"
        "(externalcourseActivityId='no-such-external-id')"
    )
    assert_row(graph.patch(by_external, UPDATE), ActivityNotFoundError)
    # An activity of another provider is not found under this one.
    other = graph.get(f"{PROVIDERS}/{graph.sb.demo['other_registration_id']}/learningCourseActivities?$top=1")
    assert_row(graph.patch(graph.activity_path(other.json()["value"][0]["id"]), UPDATE), ActivityNotFoundError)


def test_row_internal_server_error(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    graph.sb.fail_next("500")
    assert_row(graph.patch(graph.activity_path(aid), UPDATE), InternalServerError)
    assert graph.activity(aid)["completionPercentage"] == 0  # a faulted request is not applied


def test_row_too_many_requests(graph: Any) -> None:
    graph.sb.set_faults({"429": 1.0}, retry_after=120)
    answer = graph.patch(graph.activity_path(graph.sb.demo["assignment_id"]), UPDATE)
    assert_row(answer, TooManyRequestsError, noOfMinutes=2)
    assert answer.headers["Retry-After"] == "120"
    assert error_from_response(429, answer.json(), answer.headers).retry_after == 120


def test_row_service_unavailable(graph: Any) -> None:
    graph.sb.set_faults({"503": 1.0}, retry_after=60)
    answer = graph.get(f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}")
    assert_row(answer, ServiceUnavailableError, noOfMinutes=1)
    assert answer.headers["Retry-After"] == "60"


def test_row_field_required(graph: Any) -> None:
    path = graph.activity_path(graph.sb.demo["assignment_id"])
    assert_row(
        graph.patch(path, {"@odata.type": "#microsoft.graph.learningAssignment"}),
        FieldRequiredError,
        fieldName="status",
    )
    assert_row(graph.patch(path, {"status": "completed"}), FieldRequiredError, fieldName="@odata.type")
    body = new_activity(graph.sb, learnerUserId=...)
    assert_row(
        graph.post(f"{PROVIDERS}/{graph.sb.demo['registration_id']}/learningCourseActivities", body),
        FieldRequiredError,
        fieldName="learnerUserId",
    )


def test_row_field_invalid(graph: Any) -> None:
    path = graph.activity_path(graph.sb.demo["assignment_id"])
    assert_row(
        graph.patch(path, {**UPDATE, "completionPercentage": 150}), FieldInvalidError, fieldName="completionPercentage"
    )
    assert_row(graph.patch(path, {**UPDATE, "status": "finished"}), FieldInvalidError, fieldName="status")
    assert_row(
        graph.patch(path, {**UPDATE, "startedDateTime": "2021-05-11T22:57:17Z"}),
        FieldInvalidError,
        fieldName="startedDateTime",
    )
    # The body's type must be the stored activity's type.
    self_body = {"@odata.type": "#microsoft.graph.learningSelfInitiatedCourse", "status": "completed"}
    assert_row(graph.patch(path, self_body), FieldInvalidError, fieldName="@odata.type")
    rid = graph.sb.demo["registration_id"]
    unknown_content = new_activity(graph.sb, learningContentId="00000000-0000-0000-0000-00000000c0de")
    assert_row(
        graph.post(f"{PROVIDERS}/{rid}/learningCourseActivities", unknown_content),
        FieldInvalidError,
        fieldName="learningContentId",
    )
    assert graph.activity(graph.sb.demo["assignment_id"])["status"] == "notStarted"


def test_row_field_empty(graph: Any) -> None:
    path = graph.activity_path(graph.sb.demo["assignment_id"])
    assert_row(graph.patch(path, {**UPDATE, "status": None}), FieldEmptyError, fieldName="status")
    assert_row(graph.patch(path, {**UPDATE, "assignerUserId": ""}), FieldEmptyError, fieldName="assignerUserId")


def test_row_provider_content_mismatch(graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    body = new_activity(graph.sb, learningContentId=graph.sb.demo["other_content_id"])
    assert_row(graph.post(f"{PROVIDERS}/{rid}/learningCourseActivities", body), ProviderContentMismatchError)


def test_row_license(graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    body = new_activity(graph.sb, learnerUserId=graph.sb.demo["unlicensed_learner_id"])
    assert_row(graph.post(f"{PROVIDERS}/{rid}/learningCourseActivities", body), LicenseError)


def test_duplicate_external_id_is_a_409(graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    first = graph.post(f"{PROVIDERS}/{rid}/learningCourseActivities", new_activity(graph.sb))
    assert first.status_code == 201
    again = graph.post(f"{PROVIDERS}/{rid}/learningCourseActivities", new_activity(graph.sb))
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert isinstance(error_from_response(409, again.json()), ConflictError)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_a_400(graph: Any, body: str) -> None:
    answer = graph.request(
        "PATCH",
        graph.activity_path(graph.sb.demo["assignment_id"]),
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "badRequest"


def test_checks_run_in_graphs_order(graph: Any) -> None:
    """A request wrong in every way gets the first check's answer: token, plan, permission, registration, id, body."""
    bad_everything = graph.activity_path("missing", "00000000-0000-0000-0000-000000000000")
    assert graph.request("PUT", "/no/such/thing", token=None).status_code == 401  # the token is checked first
    graph.sb.set_service_plan(False)
    assert graph.patch(bad_everything, {"x": 1}, token=None).status_code == 401
    assert_row(graph.patch(bad_everything, {"x": 1}, token=graph.token_for("learnkit-noroles")), ServicePlanError)
    graph.sb.set_service_plan(True)
    assert_row(graph.patch(bad_everything, {"x": 1}, token=graph.token_for("learnkit-noroles")), PermissionDeniedError)
    assert_row(graph.patch(bad_everything, {"x": 1}), InvalidRegistrationError)
    assert_row(graph.patch(graph.activity_path("missing"), {"x": 1}), ActivityNotFoundError)
    graph.sb.set_faults({"429": 1.0})  # faults come last: a bad body is still a 400
    assert_row(
        graph.patch(graph.activity_path(graph.sb.demo["assignment_id"]), {"x": 1}),
        FieldRequiredError,
        fieldName="@odata.type",
    )


def test_unknown_paths_and_methods_are_graph_shaped(graph: Any) -> None:
    for answer in (
        graph.get("/employeeExperience/learningThings"),
        graph.get("/nothing/here"),
        graph.request("GET", graph.sb.url + "/beta/whatever"),
        graph.request("POST", graph.sb.url + "/"),
    ):
        error = answer.json()["error"]
        assert answer.status_code in (400, 404, 405) and error["code"] and error["message"]
        assert "request-id" in error["innerError"] and "detail" not in answer.json()
