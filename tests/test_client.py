"""GraphClient and update_activity against the sandbox, over HTTPS on loopback.

Every row of the seed's error table is produced by the sandbox for its real
condition and must come back as its typed exception.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest
import requests
from seed_examples import EXAMPLE_1_BODY, EXAMPLE_1_PATH, EXAMPLE_2_BODY

import learnkit
from learnkit import GraphClient, RetryPolicy, update_activity
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE, LearningAssignment


class Counter:
    """Counts the requests a client's session really sends."""

    def __init__(self, client: GraphClient) -> None:
        self.sent: list[tuple[str, str]] = []
        client.session.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.sent.append((response.request.method or "", response.request.url or ""))


def demo(sb: Any, key: str) -> str:
    return str(sb.demo[key])


def test_example_1_verbatim_through_update_activity(sb: Any, client: GraphClient) -> None:
    reg, act = EXAMPLE_1_PATH.split("/")[3], EXAMPLE_1_PATH.split("/")[5]
    assert (reg, act) == (demo(sb, "registration_id"), demo(sb, "assignment_id"))
    before = client.get_activity(act)
    result = update_activity(client, reg, act, copy.deepcopy(EXAMPLE_1_BODY))
    assert result.status == 204 and result.request_id
    after = client.get_activity(act)
    assert isinstance(after, LearningAssignment)
    assert after.completionPercentage == 20 and after.status == "inProgress"
    assert after.completedDateTime is None
    assert after.dueDateTime is not None and after.dueDateTime.to_datetime().isoformat() == "2022-09-22T16:05:00+00:00"
    assert after.notes is not None and after.notes.content == "required assignment added for user"
    # identity fields are read-only: the stored ones stay
    assert after.learnerUserId == before.learnerUserId == EXAMPLE_1_BODY["learnerUserId"]
    assert after.externalcourseActivityId == before.externalcourseActivityId


def test_example_2_on_a_self_initiated_course(sb: Any, client: GraphClient) -> None:
    act = demo(sb, "self_initiated_id")
    result = update_activity(client, demo(sb, "registration_id"), act, copy.deepcopy(EXAMPLE_2_BODY))
    assert result.status == 204
    after = client.get_activity(act)
    assert after.completionPercentage == 30
    assert after.model_dump()["startedDateTime"].isoformat() == "2021-05-11T22:57:17+00:00"


def test_invalid_input_sends_nothing(sb: Any, client: GraphClient) -> None:
    counter = Counter(client)
    with pytest.raises(learnkit.InvalidInputError) as info:
        update_activity(
            client,
            demo(sb, "registration_id"),
            demo(sb, "assignment_id"),
            {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 150},
        )
    assert info.value.field == "completionPercentage"
    assert counter.sent == []
    assert client.get_activity(demo(sb, "assignment_id")).completionPercentage != 150


def test_only_set_properties_are_sent_and_null_clears(sb: Any, client: GraphClient) -> None:
    reg, act = demo(sb, "registration_id"), demo(sb, "assignment_id")
    update_activity(
        client,
        reg,
        act,
        {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "notes": "keep me", "completionPercentage": 40},
    )
    update_activity(
        client, reg, act, {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 50}
    )
    kept = client.get_activity(act)
    assert kept.completionPercentage == 50 and kept.notes is not None and kept.notes.content == "keep me"
    update_activity(client, reg, act, {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "notes": None})
    assert client.get_activity(act).notes is None


# --- every row of the seed's error table, raised as its typed exception ----------------------


def raw_patch(client: GraphClient, sb: Any, body: dict[str, Any]) -> None:
    client.patch_activity(demo(sb, "registration_id"), demo(sb, "assignment_id"), body)


def test_row_method_not_allowed(sb: Any, client: GraphClient) -> None:
    with pytest.raises(learnkit.MethodNotAllowedError) as info:
        client.request(
            "PATCH",
            f"/employeeExperience/learningCourseActivities/{demo(sb, 'assignment_id')}",
            operation="update_activity",
            json={"@odata.type": ASSIGNMENT_TYPE, "status": "completed"},
        )
    assert info.value.status == 405 and "Microsoft Graph documentation" in str(info.value)


def test_row_permission_scope(sb: Any) -> None:
    weak = GraphClient.for_sandbox(sb, app="learnkit-noroles")
    with (
        pytest.warns(learnkit.PermissionWarning, match="update_activity"),
        pytest.raises(learnkit.PermissionDeniedError) as info,
    ):
        raw_patch(weak, sb, {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"})
    assert info.value.status == 403 and "access to this report or data" in info.value.message


def test_row_service_plan(sb: Any, client: GraphClient) -> None:
    sb.set_service_plan(False)
    with pytest.raises(learnkit.ServicePlanError):
        raw_patch(client, sb, {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"})


def test_row_provider_not_enabled(listing_sb: Any, sb: Any, client: GraphClient) -> None:
    disabled = demo(sb, "disabled_registration_id")
    activity = client.list_provider_activities(disabled, top=1)[0]
    assert activity.id
    with pytest.raises(learnkit.ProviderNotEnabledError) as info:
        update_activity(client, disabled, activity.id, {"@odata.type": activity.odata_type, "status": "completed"})
    assert "isCourseActivitySyncEnabled" in str(info.value)


def test_row_unregistered_provider(sb: Any, client: GraphClient) -> None:
    with pytest.raises(learnkit.InvalidRegistrationError):
        update_activity(
            client,
            "00000000-0000-0000-0000-000000000000",
            demo(sb, "assignment_id"),
            {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"},
        )


def test_row_not_found(sb: Any, client: GraphClient) -> None:
    with pytest.raises(learnkit.ActivityNotFoundError) as info:
        update_activity(
            client,
            demo(sb, "registration_id"),
            "no-such-activity",
            {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"},
        )
    assert info.value.status == 404 and info.value.request_id


def test_row_internal_server_error_after_retries(sb: Any, client: GraphClient) -> None:
    sb.set_faults({"500": 1.0})
    with pytest.raises(learnkit.InternalServerError):
        raw_patch(client, sb, {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"})


@pytest.mark.parametrize(
    ("status", "cls"), [("429", learnkit.TooManyRequestsError), ("503", learnkit.ServiceUnavailableError)]
)
def test_rows_throttled_and_unavailable_are_retried_after_the_asked_wait(
    sb: Any, status: str, cls: type[learnkit.GraphError]
) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        sb.set_faults({})  # the service recovers while we wait

    client = GraphClient.for_sandbox(sb, sleep=sleep)
    client.get_activity(demo(sb, "assignment_id"))  # token first, so the fault hits the PATCH
    sb.set_faults({status: 1.0}, retry_after=1)
    result = update_activity(
        client,
        demo(sb, "registration_id"),
        demo(sb, "assignment_id"),
        {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"},
    )
    assert result.status == 204 and result.attempts == 2
    assert waits == [1.0]


@pytest.mark.parametrize(
    ("status", "cls"), [("429", learnkit.TooManyRequestsError), ("503", learnkit.ServiceUnavailableError)]
)
def test_a_wait_past_the_bound_is_raised_with_retry_after(sb: Any, status: str, cls: type[learnkit.GraphError]) -> None:
    waits: list[float] = []
    client = GraphClient.for_sandbox(sb, sleep=waits.append, retry=RetryPolicy(max_retry_wait=30))
    client.get_activity(demo(sb, "assignment_id"))
    sb.set_faults({status: 1.0}, retry_after=3600)
    with pytest.raises(cls) as info:
        raw_patch(client, sb, {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"})
    assert info.value.retry_after == 3600 and waits == []
    assert "retry after 3600 s" in str(info.value)


def test_with_options_gives_a_copy_that_retries_otherwise_and_leaves_the_client_as_it_was(sb: Any) -> None:
    waits: list[float] = []
    client = GraphClient.for_sandbox(sb, sleep=waits.append, retry=RetryPolicy(max_attempts=4))
    once = client.with_options(retry=RetryPolicy(max_attempts=1), timeout=(5.0, 30.0))
    assert once.session is client.session and once.credentials is client.credentials  # one pool, one sign-in
    assert (client.retry.max_attempts, client.timeout) == (4, (10.0, 60.0))
    sb.set_faults({"503": 1.0}, retry_after=1)
    with pytest.raises(learnkit.ServiceUnavailableError):
        once.get_activity(demo(sb, "assignment_id"))
    assert waits == []  # the copy tried once
    with pytest.raises(learnkit.ServiceUnavailableError):
        client.get_activity(demo(sb, "assignment_id"))
    assert waits == [1.0, 1.0, 1.0]  # the client still retries as it was built to


@pytest.mark.parametrize(
    ("body", "cls", "field"),
    [
        ({"@odata.type": ASSIGNMENT_TYPE, "completionPercentage": 10}, learnkit.FieldRequiredError, "status"),
        ({"@odata.type": ASSIGNMENT_TYPE, "status": "done"}, learnkit.FieldInvalidError, "status"),
        (
            {"@odata.type": ASSIGNMENT_TYPE, "status": "completed", "completionPercentage": 150},
            learnkit.FieldInvalidError,
            "completionPercentage",
        ),
        ({"@odata.type": ASSIGNMENT_TYPE, "status": None}, learnkit.FieldEmptyError, "status"),
        (
            {"@odata.type": ASSIGNMENT_TYPE, "status": "completed", "learnerUserId": ""},
            learnkit.FieldEmptyError,
            "learnerUserId",
        ),
        ({"@odata.type": SELF_INITIATED_TYPE, "status": "completed"}, learnkit.FieldInvalidError, "@odata.type"),
    ],
)
def test_rows_input_field(
    sb: Any, client: GraphClient, body: dict[str, Any], cls: type[learnkit.FieldError], field: str
) -> None:
    with pytest.raises(cls) as info:
        raw_patch(client, sb, body)  # the raw method sends as given: the sandbox checks it itself
    assert info.value.field == field and field in str(info.value)


def new_activity(sb: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "@odata.type": ASSIGNMENT_TYPE,
        "externalcourseActivityId": "ext-new-1",
        "learnerUserId": demo(sb, "learner_id"),
        "learningContentId": demo(sb, "content_id"),
        "learningProviderId": demo(sb, "registration_id"),
        "assignmentType": "required",
        "status": "notStarted",
    }
    body.update(overrides)
    return body


def test_row_content_of_another_provider(sb: Any, client: GraphClient) -> None:
    other = next(c for c in client.list_contents(demo(sb, "disabled_registration_id")))
    assert other.id
    with pytest.raises(learnkit.ProviderContentMismatchError):
        client.create_activity(demo(sb, "registration_id"), new_activity(sb, learningContentId=other.id))


def test_row_unlicensed_learner(sb: Any, client: GraphClient) -> None:
    with pytest.raises(learnkit.LicenseError):
        client.create_activity(
            demo(sb, "registration_id"), new_activity(sb, learnerUserId=demo(sb, "unlicensed_learner_id"))
        )


# --- the rest of the client -------------------------------------------------------------------


def test_create_get_by_external_id_update_and_delete(sb: Any, client: GraphClient) -> None:
    reg = demo(sb, "registration_id")
    created = client.create_activity(reg, new_activity(sb, externalcourseActivityId="ext-o'hara"))
    assert created.id and created.id.startswith(demo(sb, "learner_id") + ":")
    found = client.get_activity_by_external_id(reg, "ext-o'hara")
    assert found.id == created.id
    client.patch_activity_by_external_id(reg, "ext-o'hara", {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"})
    assert client.get_activity(created.id).status == "completed"
    assert client.delete_activity(reg, created.id).status == 204
    with pytest.raises(learnkit.ActivityNotFoundError):
        client.get_activity(created.id)
    with pytest.raises(learnkit.ConflictError):
        client.create_activity(
            reg, new_activity(sb, externalcourseActivityId=EXAMPLE_1_BODY["externalcourseActivityId"])
        )


def test_paging_follows_next_links_to_the_end(listing_sb: Any, sb: Any, client: GraphClient) -> None:
    counter = Counter(client)
    everything = client.list_provider_activities_json(demo(sb, "registration_id"))
    pages = client.list_provider_activities_json(demo(sb, "registration_id"), top=50)
    assert len(everything) > 100
    assert [a["id"] for a in pages] == [a["id"] for a in everything]
    assert len(counter.sent) >= 1 + len(everything) // 50
    assert len({a["id"] for a in everything}) == len(everything)


def test_contents(listing_sb: Any, sb: Any, client: GraphClient) -> None:
    contents = client.list_contents(demo(sb, "registration_id"))
    assert any(c.id == demo(sb, "content_id") for c in contents)
    one = client.get_content(demo(sb, "registration_id"), demo(sb, "content_id"))
    assert one.title
    made = client.create_content(
        demo(sb, "registration_id"),
        {
            "externalId": "course-xyz",
            "title": "New course",
            "contentWebUrl": "https://example.org/c",
            "languageTag": "en-us",
        },
    )
    assert made.id and made.externalId == "course-xyz"


def test_delegated_operations_need_a_delegated_token_and_say_so_before_sending(sb: Any, client: GraphClient) -> None:
    counter = Counter(client)
    needs = r"list_providers needs a delegated token with LearningProvider\.Read"
    with pytest.raises(learnkit.TokenError, match=needs):
        client.list_providers()
    assert counter.sent == []
    both = GraphClient.for_sandbox(sb, delegated=True)
    providers = both.list_providers()
    assert {p.id for p in providers} >= {demo(sb, "registration_id"), demo(sb, "disabled_registration_id")}
    assert (
        both.patch_provider(demo(sb, "disabled_registration_id"), {"isCourseActivitySyncEnabled": True}).status == 204
    )
    assert both.get_provider(demo(sb, "disabled_registration_id")).isCourseActivitySyncEnabled is True
    mine = both.list_learner_activities("me")
    assert mine and all(a.learnerUserId == demo(sb, "learner_id") for a in mine)
    theirs = both.list_learner_activities(demo(sb, "learner_id"))
    assert {a.id for a in theirs} == {a.id for a in mine}


def test_batch_returns_sub_responses_in_order(sb: Any, client: GraphClient) -> None:
    reg, act = demo(sb, "registration_id"), demo(sb, "assignment_id")
    path = f"/employeeExperience/learningProviders/{reg}/learningCourseActivities/{act}"
    responses = client.batch(
        [
            {
                "id": "b",
                "method": "PATCH",
                "url": path,
                "headers": {"Content-Type": "application/json"},
                "body": {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"},
            },
            {
                "id": "a",
                "method": "GET",
                "url": f"/employeeExperience/learningCourseActivities/{act}",
                "dependsOn": ["b"],
            },
        ]
    )
    assert [r["id"] for r in responses] == ["b", "a"]
    assert responses[0]["status"] == 204 and responses[1]["status"] == 200
    assert responses[1]["body"]["status"] == "completed"
    with pytest.raises(learnkit.InvalidInputError):
        client.batch([{"id": str(i), "method": "GET", "url": path} for i in range(21)])


def test_dropped_connections_are_retried_for_idempotent_requests(sb: Any) -> None:
    def sleep(seconds: float) -> None:
        sb.set_faults({})

    client = GraphClient.for_sandbox(sb, sleep=sleep)
    client.get_activity(demo(sb, "assignment_id"))
    sb.set_faults({"drop": 1.0})
    result = update_activity(
        client,
        demo(sb, "registration_id"),
        demo(sb, "assignment_id"),
        {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"},
    )
    assert result.attempts == 2
    sb.set_faults({"drop": 1.0})
    with pytest.raises(learnkit.NetworkError, match="may or may not have been applied"):
        GraphClient.for_sandbox(sb, sleep=sleep).create_activity(demo(sb, "registration_id"), new_activity(sb))


def test_every_request_carries_a_client_request_id_that_is_echoed(sb: Any, client: GraphClient) -> None:
    response = client.request(
        "GET", f"/employeeExperience/learningCourseActivities/{demo(sb, 'assignment_id')}", operation="get_activity"
    )
    assert response.headers["client-request-id"] == response.client_request_id
    assert response.request_id


def test_no_secret_or_token_in_reprs_or_errors(sb: Any, client: GraphClient) -> None:
    _, token = client.token_for("update_activity")
    text = repr(client) + repr(client.credential) + repr(sb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weak = GraphClient.for_sandbox(sb, app="learnkit-noroles")
        try:
            raw_patch(weak, sb, {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"})
        except learnkit.GraphError as exc:
            text += str(exc) + repr(exc)
    for secret in (sb.client_secret, token):
        assert secret and secret not in text
