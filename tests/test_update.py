"""update_activity's validation and dry run, and minimal_patch: the diff into the smallest body."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from learnkit import InvalidInputError, minimal_patch, update_activity
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE, parse_activity


class ExplodingClient:
    """Stands where a client would: any call proves something was sent."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"nothing may be sent, but {name} was called")


STORED = {
    "@odata.type": ASSIGNMENT_TYPE,
    "id": "u:1",
    "status": "inProgress",
    "completionPercentage": 20,
    "assignedDateTime": "2021-05-11T22:57:17Z",
    "completedDateTime": None,
    "dueDateTime": {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "UTC"},
    "notes": {"contentType": "text", "content": "hello"},
    "learnerUserId": "u",
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 150}, "completionPercentage"),
        ({"@odata.type": ASSIGNMENT_TYPE}, "status"),
        ({"status": "completed"}, "@odata.type"),
        ({"@odata.type": SELF_INITIATED_TYPE, "status": "notStarted"}, "status"),
    ],
)
def test_bad_input_is_refused_before_sending(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        update_activity(ExplodingClient(), "reg", "act", changes)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(("reg", "act", "field"), [("", "a", "registration_id"), ("r", " ", "activity_id")])
def test_ids_are_checked_before_sending(reg: str, act: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        update_activity(ExplodingClient(), reg, act, {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"})  # type: ignore[arg-type]
    assert info.value.field == field


def test_dry_run_returns_the_body_without_sending() -> None:
    result = update_activity(
        ExplodingClient(),
        "reg",
        "act",  # type: ignore[arg-type]
        {"@odata.type": ASSIGNMENT_TYPE, "status": "completed", "notes": "done"},
        dry_run=True,
    )
    assert result.dry_run and result.status is None
    assert result.body == {
        "@odata.type": ASSIGNMENT_TYPE,
        "status": "completed",
        "notes": {"contentType": "text", "content": "done"},
    }


def test_minimal_patch_sends_only_what_changed() -> None:
    assert minimal_patch(STORED, {"completionPercentage": 60}) == {
        "@odata.type": ASSIGNMENT_TYPE,
        "status": "inProgress",
        "completionPercentage": 60,
    }


def test_minimal_patch_nothing_changed_is_none() -> None:
    same = {
        "completionPercentage": 20,
        "notes": "hello",
        "status": "inProgress",
        "assignedDateTime": datetime(2021, 5, 11, 22, 57, 17, tzinfo=timezone.utc),
    }
    assert minimal_patch(STORED, same) is None
    assert minimal_patch(parse_activity(STORED), same) is None


def test_minimal_patch_compares_instants_not_spellings() -> None:
    due_same_instant = {"dueDateTime": {"dateTime": "2022-09-22T18:05:00", "timeZone": "Europe/Paris"}}
    assert minimal_patch(STORED, due_same_instant) is None
    later = {"dueDateTime": "2022-09-23T16:05:00+00:00"}
    assert minimal_patch(STORED, later) == {
        "@odata.type": ASSIGNMENT_TYPE,
        "status": "inProgress",
        "dueDateTime": {"dateTime": "2022-09-23T16:05:00.0000000", "timeZone": "UTC"},
    }


def test_minimal_patch_keeps_explicit_clears_and_status_changes() -> None:
    assert minimal_patch(STORED, {"notes": None}) == {
        "@odata.type": ASSIGNMENT_TYPE,
        "status": "inProgress",
        "notes": None,
    }
    assert minimal_patch(STORED, {"status": "completed"}) == {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"}
    assert minimal_patch(STORED, {"completedDateTime": None}) is None


def test_minimal_patch_validates_the_target() -> None:
    with pytest.raises(InvalidInputError) as info:
        minimal_patch(STORED, {"completionPercentage": -3})
    assert info.value.field == "completionPercentage"


def test_minimal_patch_replaces_a_value_the_record_holds_that_graph_would_refuse() -> None:
    held = {
        "@odata.type": "#microsoft.graph.learningAssignment",
        "status": "inProgress",
        "completionPercentage": 10,
        "dueDateTime": {"dateTime": "2025-06-30T17:00:00.0000000", "timeZone": "Mars/Base"},
    }
    fixed = {"dateTime": "2025-06-30T17:00:00.0000000", "timeZone": "UTC"}
    assert minimal_patch(held, {"dueDateTime": fixed})["dueDateTime"]["timeZone"] == "UTC"
    # Other properties still compare as before; the held bad zone is left alone when not edited.
    assert minimal_patch(held, {"completionPercentage": 10}) is None
    assert minimal_patch(held, {"completionPercentage": 20}) == {
        "@odata.type": "#microsoft.graph.learningAssignment",
        "status": "inProgress",
        "completionPercentage": 20,
    }
