"""The models: the seed's property tables and rules, read leniency, and what a body carries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from seed_examples import EXAMPLE_1_BODY, EXAMPLE_2_BODY

from learnkit import InvalidInputError
from learnkit.models import (
    ASSIGNMENT_TYPE,
    SELF_INITIATED_TYPE,
    AssignmentUpdate,
    DateTimeTimeZone,
    LearningAssignment,
    LearningContent,
    LearningProvider,
    LearningSelfInitiatedCourse,
    SelfInitiatedCourseUpdate,
    parse_activity,
    parse_update,
)


def assignment(**fields: object) -> dict[str, object]:
    return {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", **fields}


def self_initiated(**fields: object) -> dict[str, object]:
    return {"@odata.type": SELF_INITIATED_TYPE, "status": "inProgress", **fields}


def refused(body: dict[str, object]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        parse_update(body)
    assert isinstance(info.value, ValueError)
    return info.value


def test_example_1_validates_verbatim_and_keeps_its_null() -> None:
    body = parse_update(EXAMPLE_1_BODY).to_body()
    assert isinstance(parse_update(EXAMPLE_1_BODY), AssignmentUpdate)
    assert body["completedDateTime"] is None
    assert body["dueDateTime"] == {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "UTC"}
    assert body["notes"] == {"contentType": "text", "content": "required assignment added for user"}
    assert body["externalcourseActivityId"] == "12a2228a-e020-11ec-9d64-0242ac120002"
    assert set(body) == set(EXAMPLE_1_BODY)


def test_example_2_validates_verbatim() -> None:
    model = parse_update(EXAMPLE_2_BODY)
    assert isinstance(model, SelfInitiatedCourseUpdate)
    assert model.to_body()["completionPercentage"] == 30
    assert set(model.to_body()) == set(EXAMPLE_2_BODY)


def test_unset_properties_are_not_sent_and_explicit_null_is() -> None:
    assert parse_update(assignment()).to_body() == {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress"}
    cleared = parse_update(assignment(completedDateTime=None, notes=None)).to_body()
    assert cleared == {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completedDateTime": None, "notes": None}


@pytest.mark.parametrize("body", [assignment(), self_initiated()])
def test_status_is_required(body: dict[str, object]) -> None:
    del body["status"]
    error = refused(body)
    assert (error.field, error.reason) == ("status", "required")


def test_status_null_is_empty() -> None:
    error = refused(assignment(status=None))
    assert (error.field, error.reason) == ("status", "empty")


def test_self_initiated_status_is_only_in_progress_or_completed() -> None:
    for status in ("inProgress", "completed"):
        assert parse_update(self_initiated(status=status)).to_body()["status"] == status
    error = refused(self_initiated(status="notStarted"))
    assert (error.field, error.reason) == ("status", "invalid")
    assert parse_update(assignment(status="notStarted")).to_body()["status"] == "notStarted"
    assert refused(assignment(status="unknownFutureValue")).field == "status"


@pytest.mark.parametrize("value", [0, 100, 57])
def test_completion_percentage_in_range(value: int) -> None:
    assert parse_update(self_initiated(completionPercentage=value)).to_body()["completionPercentage"] == value


@pytest.mark.parametrize("value", [-1, 101, 150, 20.5, "20", True])
def test_completion_percentage_refused(value: object) -> None:
    error = refused(self_initiated(completionPercentage=value))
    assert (error.field, error.reason) == ("completionPercentage", "invalid")
    assert "completionPercentage" in str(error)


def test_naive_datetime_is_refused_with_the_reason() -> None:
    error = refused(self_initiated(startedDateTime="2021-05-11T22:57:17"))
    assert error.field == "startedDateTime"
    assert "time zone" in str(error)
    error = refused(assignment(assignedDateTime=datetime(2021, 5, 11, 22, 57)))
    assert error.field == "assignedDateTime" and "time zone" in str(error)


def test_aware_datetimes_are_sent_with_their_offset() -> None:
    body = parse_update(
        self_initiated(startedDateTime=datetime(2021, 5, 11, 22, 57, 17, tzinfo=timezone.utc))
    ).to_body()
    assert body["startedDateTime"] == "2021-05-11T22:57:17Z"
    plus_two = timezone(timedelta(hours=2))
    body = parse_update(assignment(assignedDateTime=datetime(2021, 5, 11, 10, tzinfo=plus_two))).to_body()
    assert body["assignedDateTime"] == "2021-05-11T10:00:00+02:00"


def test_due_date_accepts_aware_datetime_string_or_object() -> None:
    paris = datetime(2022, 9, 22, 18, 5, tzinfo=ZoneInfo("Europe/Paris"))
    assert parse_update(assignment(dueDateTime=paris)).to_body()["dueDateTime"] == {
        "dateTime": "2022-09-22T18:05:00.0000000",
        "timeZone": "Europe/Paris",
    }
    assert parse_update(assignment(dueDateTime="2022-09-22T16:05:00Z")).to_body()["dueDateTime"] == {
        "dateTime": "2022-09-22T16:05:00.0000000",
        "timeZone": "UTC",
    }
    windows = {"dateTime": "2022-09-22T09:05:00", "timeZone": "Pacific Standard Time"}
    assert parse_update(assignment(dueDateTime=windows)).to_body()["dueDateTime"] == windows
    assert refused(assignment(dueDateTime="2022-09-22T16:05:00")).field == "dueDateTime"
    assert refused(assignment(dueDateTime={"dateTime": "2022-09-22T16:05:00", "timeZone": "Mars/Olympus"})).field == (
        "dueDateTime"
    )
    assert refused(assignment(dueDateTime={"dateTime": "2022-13-22T16:05:00", "timeZone": "UTC"})).field == (
        "dueDateTime"
    )


def test_date_time_time_zone_round_trips_to_an_instant() -> None:
    value = DateTimeTimeZone(dateTime="2022-09-22T09:05:00.0000000", timeZone="Pacific Standard Time")
    assert value.to_datetime() == datetime(2022, 9, 22, 16, 5, tzinfo=timezone.utc)


def test_notes_accept_a_string_or_an_item_body() -> None:
    assert parse_update(assignment(notes="call me")).to_body()["notes"] == {"contentType": "text", "content": "call me"}
    html = {"contentType": "html", "content": "<b>hi</b>"}
    assert parse_update(assignment(notes=html)).to_body()["notes"] == html
    assert refused(assignment(notes={"contentType": "markdown", "content": "x"})).field == "notes"


def test_properties_of_the_other_type_or_unknown_ones_are_refused() -> None:
    assert refused(self_initiated(dueDateTime="2022-09-22T16:05:00Z")).field == "dueDateTime"
    assert refused(assignment(startedDateTime="2022-09-22T16:05:00Z")).field == "startedDateTime"
    assert refused(assignment(completion=5)).field == "completion"


def test_identity_fields_are_accepted_but_must_not_be_empty() -> None:
    body = parse_update(assignment(learnerUserId="u1", assignmentType="recommended")).to_body()
    assert body["learnerUserId"] == "u1" and body["assignmentType"] == "recommended"
    error = refused(assignment(learnerUserId=""))
    assert (error.field, error.reason) == ("learnerUserId", "empty")
    assert refused(assignment(assignmentType="mandatory")).field == "assignmentType"


def test_odata_type_chooses_the_model_and_is_normalised() -> None:
    assert isinstance(parse_update(self_initiated()), SelfInitiatedCourseUpdate)
    for spelling in (
        "microsoft.graph.learningSelfInitiated",
        "#microsoft.graph.learningSelfInitiated",
        "learningSelfInitiatedCourse",
    ):
        assert parse_update({"@odata.type": spelling, "status": "completed"}).to_body()["@odata.type"] == (
            SELF_INITIATED_TYPE
        )
    missing = refused({"status": "completed"})
    assert (missing.field, missing.reason) == ("@odata.type", "required")
    assert refused({"@odata.type": "#microsoft.graph.user", "status": "completed"}).reason == "invalid"


def test_every_problem_is_listed() -> None:
    error = refused(self_initiated(status="done", completionPercentage=150))
    assert {field for field, _, _ in error.problems} == {"status", "completionPercentage"}


def test_assignment_to_a_model_is_validated() -> None:
    model = AssignmentUpdate(status="completed")
    with pytest.raises(ValueError):
        model.completionPercentage = 101


def test_read_models_are_lenient_and_keep_future_properties() -> None:
    data = {
        "@odata.type": ASSIGNMENT_TYPE,
        "id": "u:1",
        "externalCourseActivityId": "ext-1",
        "status": "someFutureStatus",
        "assignmentType": "peerRecommended",
        "brandNewProperty": {"x": 1},
    }
    activity = parse_activity(data)
    assert isinstance(activity, LearningAssignment)
    assert activity.externalcourseActivityId == "ext-1"
    assert activity.status == "someFutureStatus"
    assert activity.model_extra == {"brandNewProperty": {"x": 1}}
    assert isinstance(
        parse_activity({"@odata.type": SELF_INITIATED_TYPE, "externalcourseActivityId": "e"}),
        LearningSelfInitiatedCourse,
    )
    assert type(parse_activity({"@odata.type": "#microsoft.graph.somethingNew"})).__name__ == "LearningCourseActivity"


def test_provider_and_content_read_models() -> None:
    provider = LearningProvider.model_validate({"id": "p", "isCourseActivitySyncEnabled": True, "extra": 1})
    assert provider.isCourseActivitySyncEnabled is True and provider.model_extra == {"extra": 1}
    content = LearningContent.model_validate({"id": "c", "title": "T", "duration": "PT1H", "skillTags": ["a"]})
    assert content.skillTags == ["a"]


def test_messages_show_the_refused_value() -> None:
    zone = refused(assignment(dueDateTime={"dateTime": "2022-09-22T16:05:00", "timeZone": "Mars/Olympus"}))
    assert "'Mars/Olympus'" in str(zone) and "{value" not in str(zone)
    when = refused(self_initiated(startedDateTime="yesterday"))
    assert "'yesterday'" in str(when) and "{value" not in str(when)
    local = refused(assignment(dueDateTime={"dateTime": "22/09/2022", "timeZone": "UTC"}))
    assert "'22/09/2022'" in str(local)


@pytest.mark.parametrize("field", ["assignedDateTime", "dueDateTime"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_instants_graph_cannot_hold_are_refused_before_sending_as_the_sandbox_does(field: str, value: str) -> None:
    error = refused(assignment(**{field: value}))
    assert error.field == field and "outside 0001-01-01 to 9999-12-31" in str(error)


def test_seven_digit_fractions_are_read() -> None:
    body = parse_update(assignment(assignedDateTime="2021-05-11T22:57:17.1234567Z")).to_body()
    assert body["assignedDateTime"] == "2021-05-11T22:57:17.1234567Z"
