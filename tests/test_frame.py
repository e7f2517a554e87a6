"""learnkit.bulk.frame: activities to and from pandas and CSV, etags, the diff into patch plans (pure: no server)."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from learnkit import InvalidInputError
from learnkit.bulk.csvfile import ETAG_COLUMN, plan_csv, plans_from_frame, read_csv, write_csv
from learnkit.bulk.edits import diff, edited_plans
from learnkit.bulk.fingerprints import activity_etag, canonical
from learnkit.bulk.frame import ACTIVITY_COLUMNS, activities_frame, frame_to_activities
from learnkit.bulk.plans import PatchPlan
from learnkit.errors import ExtraColumnsWarning, InvalidRowsError
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE

ASSIGNMENT = {
    "@odata.type": ASSIGNMENT_TYPE,
    "id": "u1:a",
    "learningProviderId": "prov",
    "learnerUserId": "u1",
    "learningContentId": "c1",
    "externalcourseActivityId": "ext-1",
    "status": "inProgress",
    "completionPercentage": 20,
    "assignedDateTime": "2021-05-11T22:57:17Z",
    "completedDateTime": None,
    "dueDateTime": {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "Pacific Standard Time"},
    "notes": {"contentType": "text", "content": 'hi, "quoted", and a\nnew line'},
    "assignmentType": "required",
    "assignerUserId": "boss",
}
SELF = {
    "@odata.type": SELF_INITIATED_TYPE,
    "id": "u2:b",
    "learningProviderId": "prov",
    "learnerUserId": "u2",
    "learningContentId": "c1",
    "externalCourseActivityId": "ext-2",
    "status": "completed",
    "completionPercentage": 100,
    "completedDateTime": "2021-06-01T10:00:00.1234567+02:00",
    "startedDateTime": "2021-05-11T22:57:17+00:00",
}


def frame() -> pd.DataFrame:
    return activities_frame([ASSIGNMENT, SELF])


def csv_text(df: pd.DataFrame) -> str:
    buffer = io.StringIO()
    write_csv(df, buffer)
    return buffer.getvalue()


def edit_csv(text: str, row: int, column: str, value: str) -> io.StringIO:
    """The CSV with one cell replaced (``row`` as a spreadsheet row: header is 1)."""
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    raw.loc[row - 2, column] = value
    out = io.StringIO()
    raw.to_csv(out, index=False)
    out.seek(0)
    return out


# --- JSON -> frame ---------------------------------------------------------------------


def test_frame_columns_and_types() -> None:
    df = frame()
    assert tuple(df.columns) == ACTIVITY_COLUMNS
    assert str(df["completionPercentage"].dtype) == "Int64"
    assert str(df["assignedDateTime"].dtype) == "datetime64[us, UTC]"
    assert str(df["dueDateTime.dateTime"].dtype) == "datetime64[us]"
    assert df.loc[1, "completedDateTime"] == pd.Timestamp("2021-06-01T08:00:00.123456Z")
    assert df.loc[0, "dueDateTime.timeZone"] == "Pacific Standard Time"
    assert df.loc[1, "externalcourseActivityId"] == "ext-2"  # the other spelling, read
    assert pd.isna(df.loc[1, "notes.content"]) and pd.isna(df.loc[0, "startedDateTime"])


def test_unknown_properties_are_kept_as_columns() -> None:
    df = activities_frame([{**SELF, "futureProperty": "x"}])
    assert df.loc[0, "futureProperty"] == "x"


def test_bad_value_from_the_service_is_named() -> None:
    with pytest.raises(InvalidInputError) as caught:
        activities_frame([{**SELF, "completionPercentage": "lots"}])
    assert caught.value.field == "completionPercentage"


def test_frame_back_to_json_keeps_meaning() -> None:
    back = frame_to_activities(frame())
    assert back[0]["notes"] == ASSIGNMENT["notes"]
    assert back[0]["dueDateTime"] == ASSIGNMENT["dueDateTime"]
    assert [canonical(a) for a in back] == [canonical(ASSIGNMENT), canonical(SELF)]


# --- canonical values and etags --------------------------------------------------------


def test_canonical_compares_instants_not_spellings() -> None:
    a = {**SELF, "startedDateTime": "2021-05-11T22:57:17Z"}
    b = {**SELF, "startedDateTime": "2021-05-12T00:57:17.0000000+02:00"}
    assert canonical(a) == canonical(b)
    assert activity_etag(a) == activity_etag(b)
    assert activity_etag(a) != activity_etag({**a, "completionPercentage": 99})


def test_canonical_due_date_is_the_instant_it_names() -> None:
    utc = {**ASSIGNMENT, "dueDateTime": {"dateTime": "2022-09-23T00:05:00", "timeZone": "UTC"}}
    # 16:05 Pacific Daylight Time is 23:05 UTC: a different instant.
    assert canonical(utc)["dueDateTime"] != canonical(ASSIGNMENT)["dueDateTime"]
    same = {**ASSIGNMENT, "dueDateTime": {"dateTime": "2022-09-22T23:05:00", "timeZone": "UTC"}}
    assert canonical(same)["dueDateTime"] == canonical(ASSIGNMENT)["dueDateTime"]


def test_etag_ignores_read_only_properties() -> None:
    assert activity_etag(ASSIGNMENT) == activity_etag({**ASSIGNMENT, "learnerUserId": "other"})


# --- the diff ----------------------------------------------------------------------------


def test_diff_gives_only_edited_properties() -> None:
    before = frame()
    after = before.copy()
    after.loc[0, "completionPercentage"] = 50
    after.loc[0, "notes.content"] = "bye"
    after.loc[1, "startedDateTime"] = pd.NaT
    plans = diff(before, after)
    assert [(p.row, p.activity_id, p.registration_id) for p in plans] == [(0, "u1:a", "prov"), (1, "u2:b", "prov")]
    assert plans[0].changes == {"completionPercentage": 50, "notes": {"contentType": "text", "content": "bye"}}
    assert plans[1].changes == {"startedDateTime": None}
    assert plans[0].base_etag == activity_etag(ASSIGNMENT)
    assert plans[1].base_etag == activity_etag(SELF)


def test_diff_matches_rows_by_id_not_position() -> None:
    before = frame()
    after = before.iloc[::-1].copy()
    after.loc[after["id"] == "u2:b", "completionPercentage"] = 90
    plans = diff(before, after)
    assert [(p.activity_id, dict(p.changes)) for p in plans] == [("u2:b", {"completionPercentage": 90})]


def test_diff_of_an_unedited_frame_is_empty() -> None:
    assert diff(frame(), frame().copy()) == []


def test_diff_drops_an_edit_to_the_same_instant() -> None:
    before = frame()
    after = before.copy()
    after["startedDateTime"] = after["startedDateTime"].dt.tz_convert("Europe/Paris")
    assert diff(before, after) == []


def test_diff_refuses_invalid_values_naming_row_and_field() -> None:
    before = frame()
    after = before.copy()
    after.loc[0, "completionPercentage"] = 150
    after.loc[1, "status"] = "notStarted"
    with pytest.raises(InvalidRowsError) as caught:
        diff(before, after)
    cells = {(row, field) for row, field, _ in caught.value.cells}
    assert cells == {(0, "completionPercentage"), (1, "status")}
    assert isinstance(caught.value, ValueError)


def test_diff_refuses_read_only_and_foreign_properties() -> None:
    before = frame()
    after = before.copy()
    after.loc[0, "learnerUserId"] = "someone-else"
    with pytest.raises(InvalidRowsError) as caught:
        diff(before, after)
    assert caught.value.field == "learnerUserId"
    after = before.copy()
    after.loc[1, "notes.content"] = "self-initiated courses have no notes"
    with pytest.raises(InvalidRowsError) as caught:
        diff(before, after)
    assert caught.value.cells[0][:2] == (1, "notes.content")


def test_diff_refuses_rows_it_did_not_read() -> None:
    after = frame()
    after.loc[1, "id"] = "new:record"
    with pytest.raises(InvalidRowsError):
        diff(frame().iloc[:1], after)


def test_edited_plans_plans_only_what_each_row_edited_and_its_type_can_update() -> None:
    # The one builder diff and the CSV reader share: rows with the same edits get them in one pass.
    f = frame()
    edited = {
        "completionPercentage": np.array([True, False]),
        "notes": np.array([True, True]),  # a self-initiated course has no notes: not planned for row 1
        "status": np.array([False, True]),
    }
    plans = edited_plans(f, edited, etags=["e0", None], expected=["learnerUserId"])
    assert [(p.row, p.activity_id, p.odata_type, p.base_etag) for p in plans] == [
        (0, "u1:a", ASSIGNMENT_TYPE, "e0"),
        (1, "u2:b", SELF_INITIATED_TYPE, None),
    ]
    assert plans[0].changes == {"completionPercentage": 20, "notes": ASSIGNMENT["notes"]}
    assert plans[1].changes == {"status": "completed"}
    assert [p.expect for p in plans] == [{"learnerUserId": "u1"}, {"learnerUserId": "u2"}]
    everything = edited_plans(f)
    assert set(everything[1].changes) == {"status", "completionPercentage", "completedDateTime", "startedDateTime"}


def test_diff_and_the_csv_reader_make_the_same_plan_for_the_same_edit() -> None:
    before = frame()
    after = before.copy()
    after.loc[0, "completionPercentage"] = 60
    after.loc[0, "dueDateTime.timeZone"] = "UTC"
    from_frames = diff(before, after)
    text = edit_csv(
        edit_csv(csv_text(before), 2, "completionPercentage", "60").getvalue(), 2, "dueDateTime.timeZone", "UTC"
    )
    from_csv = plans_from_frame(read_csv(text))
    assert [(p.activity_id, dict(p.changes), p.base_etag) for p in from_csv] == [
        (p.activity_id, dict(p.changes), p.base_etag) for p in from_frames
    ]
    assert from_frames[0].base == {
        "completionPercentage": 20,
        "dueDateTime": canonical(ASSIGNMENT)["dueDateTime"],
    }


def test_plan_json_round_trip() -> None:
    plan = PatchPlan(3, "p", "a", ASSIGNMENT_TYPE, {"notes": None}, "abc", {"learnerUserId": "u"})
    assert PatchPlan.from_json(plan.to_json()) == plan


# --- CSV ---------------------------------------------------------------------------------


def test_csv_round_trip_is_typed_and_unchanged() -> None:
    text = csv_text(frame())
    header = text.splitlines()[0].split(",")
    assert header == [*ACTIVITY_COLUMNS, ETAG_COLUMN]
    assert "dueDateTime.dateTime" in header and "notes.contentType" in header
    back = read_csv(io.StringIO(text))
    assert list(back.index) == [2, 3]  # spreadsheet rows
    assert back.loc[2, "completionPercentage"] == 20
    assert back.loc[2, "assignedDateTime"] == datetime(2021, 5, 11, 22, 57, 17, tzinfo=timezone.utc)
    assert back.loc[2, "notes.content"] == ASSIGNMENT["notes"]["content"]  # type: ignore[index]
    assert back.loc[2, ETAG_COLUMN] == activity_etag(ASSIGNMENT)
    # An untouched export plans nothing; without its etags, every updatable property is planned.
    assert plans_from_frame(back) == []
    plans = plans_from_frame(back.drop(columns=[ETAG_COLUMN]))
    assert set(plans[0].changes) == set(
        ("assignedDateTime", "completedDateTime", "completionPercentage", "dueDateTime", "notes", "status")
    )
    # Each, decided against the record itself, changes nothing.
    assert [canonical({"@odata.type": p.odata_type, **p.changes}) for p in plans] == [
        canonical(ASSIGNMENT),
        canonical(SELF),
    ]
    assert plans[1].expect["externalcourseActivityId"] == "ext-2"


def test_csv_blank_cell_is_null() -> None:
    text = csv_text(frame())
    back = read_csv(edit_csv(text, 3, "completedDateTime", ""))
    assert pd.isna(back.loc[3, "completedDateTime"])
    [plan] = plans_from_frame(back)  # only the edited row
    assert plan.row == 3 and plan.changes["completedDateTime"] is None


def test_csv_without_a_column_leaves_it_unchanged() -> None:
    raw = pd.read_csv(io.StringIO(csv_text(frame())), dtype=str, keep_default_na=False)
    slim = raw[["id", "@odata.type", "learningProviderId", "completionPercentage"]].copy()
    slim.loc[0, "completionPercentage"] = "60"
    out = io.StringIO(slim.to_csv(index=False))
    plans = plans_from_frame(read_csv(out))
    assert plans[0].changes == {"completionPercentage": 60}
    assert plans[0].base_etag is None and plans[0].expect == {}


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("completionPercentage", "forty", "whole number"),
        ("completionPercentage", "40.5", "whole number"),
        ("completionPercentage", "150", "less than or equal to 100"),
        ("assignedDateTime", "2021-05-11T22:57:17", "no time zone"),
        ("assignedDateTime", "11/05/2021", "ISO 8601"),
        ("dueDateTime.dateTime", "2022-09-22T16:05:00+02:00", "has an offset"),
        ("dueDateTime.timeZone", "Mars/Olympus", "timeZone"),
        ("status", "finished", "status"),
        ("@odata.type", "learningThing", "is not one of"),
        ("id", "", "shouldn't be empty"),
        ("startedDateTime", "2021-05-11T22:57:17Z", "not a property of learningAssignment"),
        ("notes.contentType", "markdown", "notes"),
    ],
)
def test_csv_bad_cell_refused_with_row_and_field(column: str, value: str, says: str) -> None:
    with pytest.raises(InvalidRowsError) as caught:
        read_csv(edit_csv(csv_text(frame()), 2, column, value))
    row, field, detail = caught.value.cells[0]
    assert row == 2
    assert field in (column, column.split(".")[0])
    assert says in detail or says in str(caught.value)
    assert f"row 2, {field}" in str(caught.value)


def test_csv_every_bad_cell_reported_at_once() -> None:
    text = edit_csv(csv_text(frame()), 2, "completionPercentage", "x").getvalue()
    with pytest.raises(InvalidRowsError) as caught:
        read_csv(edit_csv(text, 3, "startedDateTime", "yesterday"))
    assert [(r, f) for r, f, _ in caught.value.cells] == [(2, "completionPercentage"), (3, "startedDateTime")]


def test_csv_self_initiated_status_rule_applies() -> None:
    with pytest.raises(InvalidRowsError) as caught:
        read_csv(edit_csv(csv_text(frame()), 3, "status", "notStarted"))
    assert caught.value.cells[0][:2] == (3, "status")


def test_csv_extra_column_is_kept_aside_not_refused() -> None:
    raw = pd.read_csv(io.StringIO(csv_text(frame())), dtype=str, keep_default_na=False)
    raw["My comments"] = ["check with HR", ""]
    raw.loc[0, "completionPercentage"] = "30"
    with pytest.warns(ExtraColumnsWarning, match="My comments"):
        back = read_csv(io.StringIO(raw.to_csv(index=False)))
    assert back.loc[2, "My comments"] == "check with HR"
    [plan] = plans_from_frame(back)
    assert plan.changes["completionPercentage"] == 30 and "My comments" not in plan.changes
    edits = plan_csv(io.StringIO(raw.to_csv(index=False)))
    assert edits.extra_columns == ("My comments",) and "kept aside" in edits.summary()
    assert (len(edits.plans), edits.unchanged) == (1, 1)
    # Written back, the sheet's own column is still there.
    assert "My comments" in csv_text(back).splitlines()[0]


def test_csv_accepts_spreadsheet_spellings() -> None:
    text = edit_csv(csv_text(frame()), 2, "assignedDateTime", "2021-05-11 22:57:17Z").getvalue()
    text = edit_csv(text, 2, "completionPercentage", "40.0").getvalue()
    back = read_csv(edit_csv(text, 2, "dueDateTime.dateTime", "2022-09-30"))
    assert back.loc[2, "completionPercentage"] == 40
    assert back.loc[2, "dueDateTime.dateTime"] == pd.Timestamp("2022-09-30T00:00:00")
    due = plans_from_frame(back)[0].changes["dueDateTime"]
    assert due == {"dateTime": "2022-09-30T00:00:00.0000000", "timeZone": "Pacific Standard Time"}


def test_csv_rewritten_after_edits_keeps_the_exported_etag() -> None:
    exported = read_csv(io.StringIO(csv_text(frame())))
    exported.loc[2, "completionPercentage"] = 90
    again = read_csv(io.StringIO(csv_text(exported)))
    assert again.loc[2, ETAG_COLUMN] == activity_etag(ASSIGNMENT)
    assert again.loc[2, "completionPercentage"] == 90
