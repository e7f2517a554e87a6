"""The activity form without a server: generated fields, per-field validation, the preview."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import pytest

from learnkit.models import AssignmentUpdate, SelfInitiatedCourseUpdate
from learnkit.widgets import ActivityForm
from learnkit.widgets.fields import field_specs

REG = "01e8f81b-3060-4dec-acf0-0389665a0a38"

ASSIGNMENT: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.learningAssignment",
    "id": "8ba2228a-e020-11ec-9d64-0242ac120003",
    "learnerUserId": "7ba2228a-e020-11ec-9d64-0242ac120002",
    "learningContentId": "57baf9dc-e020-11ec-9d64-0242ac120002",
    "learningProviderId": REG,
    "status": "notStarted",
    "completionPercentage": 0,
    "completedDateTime": None,
    "assignedDateTime": "2021-05-01T09:00:00Z",
    "assignmentType": "required",
    "dueDateTime": {"dateTime": "2022-06-30T17:00:00.0000000", "timeZone": "UTC"},
    "notes": {"contentType": "text", "content": "Please complete by the end of June."},
}
SELF_INITIATED: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
    "id": "9ca2228a-e020-11ec-9d64-0242ac120004",
    "learningProviderId": REG,
    "status": "inProgress",
    "completionPercentage": 30,
    "startedDateTime": "2021-05-11T22:57:17+00:00",
}


def test_rows_are_the_models_updatable_fields_in_order() -> None:
    for data, model in ((ASSIGNMENT, AssignmentUpdate), (SELF_INITIATED, SelfInitiatedCourseUpdate)):
        form = ActivityForm(None, data)
        assert list(form.editors) == list(model.UPDATABLE)
        assert [row for row in form.fields_box.children] == [e.row for e in form.editors.values()]


def test_field_kinds_follow_the_schema_types() -> None:
    kinds = {s.name: s.kind for s in field_specs(AssignmentUpdate)}
    assert kinds == {
        "assignedDateTime": "instant",
        "completedDateTime": "instant",
        "completionPercentage": "integer",
        "dueDateTime": "zoned",
        "notes": "body",
        "status": "choice",
    }
    nullable = {s.name for s in field_specs(AssignmentUpdate) if s.nullable}
    assert "status" not in nullable and "completedDateTime" in nullable


def test_status_choices_are_limited_by_the_activity_type() -> None:
    options = ActivityForm(None, ASSIGNMENT).editors["status"].dropdown.options
    assert options == ("notStarted", "inProgress", "completed")
    assert ActivityForm(None, SELF_INITIATED).editors["status"].dropdown.options == ("inProgress", "completed")


def test_untouched_form_has_nothing_to_send() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    assert form.body is None and form.problems == {}
    assert "nothing to send" in form.preview.value
    assert form.patch_button.disabled


def test_typed_percentage_shows_minimal_patch_and_moves_slider() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    pct = form.editors["completionPercentage"]
    pct.text.value = "60"
    assert pct.slider.value == 60
    assert form.body == {
        "@odata.type": "#microsoft.graph.learningAssignment",
        "status": "notStarted",
        "completionPercentage": 60,
    }
    assert "&quot;completionPercentage&quot;: 60" in form.preview.value
    pct.slider.value = 75
    assert pct.text.value == "75" and form.body is not None and form.body["completionPercentage"] == 75


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("150", "less than or equal to 100"),
        ("-1", "greater than or equal to 0"),
        ("abc", "not a whole number"),
        ("", "shouldn't be empty"),
    ],
)
def test_invalid_percentage_is_refused_next_to_its_field(typed: str, message: str) -> None:
    form = ActivityForm(None, ASSIGNMENT)
    pct = form.editors["completionPercentage"]
    pct.text.value = typed
    assert set(form.problems) == {"completionPercentage"}
    assert message in form.problems["completionPercentage"]
    assert html.escape(message) in pct.message.value and pct.message in pct.row.children
    assert form.body is None and form.patch_button.disabled
    assert "nothing will be sent" in form.preview.value
    # Other fields carry no message.
    assert all(not e.message.value for n, e in form.editors.items() if n != "completionPercentage")


def test_clicking_patch_with_an_invalid_value_sends_nothing() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    form.editors["completionPercentage"].text.value = "101"
    assert form.patch() is None
    assert "Not sent" in form.result.value and "completionPercentage" in form.result.value


def test_fixing_the_value_clears_the_message() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    pct = form.editors["completionPercentage"]
    pct.text.value = "150"
    pct.text.value = "100"
    assert form.problems == {} and pct.message.value == ""


def test_zoned_due_date_keeps_the_chosen_zone() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    due = form.editors["dueDateTime"]
    assert due.picker.value == datetime(2022, 6, 30, 17, 0) and due.zone.value == "UTC"
    due.picker.value = datetime(2022, 9, 22, 16, 5)
    due.zone.value = "Europe/Paris"
    assert form.body is not None
    assert form.body["dueDateTime"] == {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "Europe/Paris"}


def test_unknown_time_zone_is_refused_on_its_field() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    form.editors["assignedDateTime"].zone.value = "Mars/Olympus"
    assert set(form.problems) == {"assignedDateTime"}
    assert "Mars/Olympus" in form.editors["assignedDateTime"].message.value


def test_instant_is_sent_with_the_offset_of_the_chosen_zone() -> None:
    form = ActivityForm(None, SELF_INITIATED)
    started = form.editors["startedDateTime"]
    started.picker.value = datetime(2024, 7, 1, 9, 30)
    started.zone.value = "Europe/Paris"
    assert form.body is not None and form.body["startedDateTime"] == "2024-07-01T09:30:00+02:00"


def test_nullable_field_can_be_cleared_explicitly() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    notes = form.editors["notes"]
    notes.clear.value = True
    assert notes.text.disabled
    assert form.body is not None and "notes" in form.body and form.body["notes"] is None


def test_notes_are_text_or_html() -> None:
    form = ActivityForm(None, ASSIGNMENT)
    notes = form.editors["notes"]
    notes.text.value = "<p>Done</p>"
    notes.content_type.value = "html"
    assert form.body is not None and form.body["notes"] == {"contentType": "html", "content": "<p>Done</p>"}


def test_status_change_alone_is_a_patch() -> None:
    form = ActivityForm(None, SELF_INITIATED)
    form.editors["status"].dropdown.value = "completed"
    assert form.body == {"@odata.type": "#microsoft.graph.learningSelfInitiatedCourse", "status": "completed"}


def test_without_a_client_the_button_stays_disabled() -> None:
    form = ActivityForm(None, SELF_INITIATED)
    form.editors["completionPercentage"].text.value = "40"
    assert form.body is not None and form.patch_button.disabled


def test_repr_is_short_and_stable() -> None:
    assert repr(ActivityForm(None, SELF_INITIATED)) == (
        "ActivityForm(id='9ca2228a-e020-11ec-9d64-0242ac120004', type=SelfInitiatedCourse, problems=0)"
    )
