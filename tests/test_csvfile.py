"""learnkit.bulk.csvfile: exact round trips, formula escaping, files not what they claim, untouched rows skipped."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import InvalidInputError
from learnkit.bulk.csvfile import ETAG_COLUMN, plan_csv, plans_from_frame, read_csv, unchanged_rows, write_csv
from learnkit.bulk.fingerprints import activity_etag, canonical, row_etags
from learnkit.bulk.frame import activities_frame, frame_to_activities
from learnkit.bulk.plans import decide, validate_plans
from learnkit.errors import InvalidRowsError
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE, parse_update

#: Texts the service can hold that a careless CSV changes: whitespace, empty, line breaks, Unicode, formulas.
AWKWARD_TEXTS = [
    "trailing space ",
    " leading space",
    "   ",
    "",
    "\nleading newline",
    "line\r\nbreak and\rcarriage return",
    "tab\tinside",
    "\ttab first",
    "\rreturn first",
    "日本語 ✓ 🎓 e\u0301 zero\u200bwidth \u2028 \u202eright-to-left",
    '"quoted", with, commas',
    "NA",
    "null",
    "NaN",
    "#N/A",
    "None",
    "'apostrophe first",
    "''two apostrophes",
    "'",
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
]
FORMULA_TEXTS = [t for t in AWKWARD_TEXTS if t[:1] in ("=", "+", "-", "@", "\t", "\r")]


def assignment(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": ASSIGNMENT_TYPE,
        "id": f"0000000{index:x}-aaaa-bbbb-cccc-dddddddddddd",
        "learningProviderId": "prov",
        "learnerUserId": f"user-{index}",
        "learningContentId": "c1",
        "externalcourseActivityId": f"ext-{index}",
        "status": "inProgress",
        "completionPercentage": 20,
        "assignedDateTime": "2021-05-11T22:57:17.1234567Z",
        "dueDateTime": {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "Pacific Standard Time"},
        "assignmentType": "required",
        "assignerUserId": "boss",
        **extra,
    }


def awkward_activities() -> list[dict[str, Any]]:
    items = [assignment(i, notes={"contentType": "text", "content": text}) for i, text in enumerate(AWKWARD_TEXTS)]
    items.append(assignment(len(items), notes={"contentType": "text", "content": None}))
    items.append(assignment(len(items)))  # no notes at all: null, not the empty string
    return items


EDGE_DATES = [
    # dueDateTime at the calendar's ends (Graph accepts them; pandas' nanoseconds stop at 1677 and 2262).
    assignment(100, dueDateTime={"dateTime": "9999-12-31T23:59:59.9999999", "timeZone": "UTC"}),
    assignment(101, dueDateTime={"dateTime": "1601-01-01T00:00:00.0000000", "timeZone": "Pacific Standard Time"}),
    assignment(102, dueDateTime={"dateTime": "0001-01-01T00:00:00.0000000", "timeZone": "UTC"}),
    assignment(103, assignedDateTime="9999-12-31T23:59:59Z", completedDateTime="0001-01-01T00:00:00Z"),
    assignment(104, assignedDateTime="1601-01-01T00:00:00+05:00"),
    {
        "@odata.type": SELF_INITIATED_TYPE,
        "id": "self-edge",
        "learningProviderId": "prov",
        "status": "completed",
        "startedDateTime": "1000-01-01T00:00:00Z",
        "completedDateTime": "9999-12-31T23:59:59.999999Z",
    },
]


def exported(items: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    write_csv(activities_frame(items), buffer)
    return buffer.getvalue()


def cells_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("items", [awkward_activities(), EDGE_DATES], ids=["texts", "dates"])
def test_untouched_export_plans_nothing_and_reads_back_every_value(items: list[dict[str, Any]]) -> None:
    text = exported(items)
    edits = plan_csv(io.StringIO(text))
    assert edits.plans == [] and edits.unchanged == len(items) == edits.rows
    back = read_csv(io.StringIO(text))
    again = frame_to_activities(back.drop(columns=[ETAG_COLUMN]))
    assert [canonical(a) for a in again] == [canonical(a) for a in items]
    for original, read in zip(items, again, strict=True):
        assert read.get("notes") == original.get("notes")


@pytest.mark.parametrize("items", [awkward_activities(), EDGE_DATES], ids=["texts", "dates"])
def test_untouched_export_without_etags_sends_nothing(items: list[dict[str, Any]]) -> None:
    """Even planned (no etag to skip by), each row decided against the record itself is 'unchanged'."""
    back = read_csv(io.StringIO(exported(items)))
    plans = plans_from_frame(back.drop(columns=[ETAG_COLUMN]))
    assert len(plans) == len(items)
    assert [decide(plan, record).action for plan, record in zip(plans, items, strict=True)] == ["unchanged"] * len(
        items
    )


def test_empty_string_and_null_are_told_apart() -> None:
    text = exported(awkward_activities())
    rows = cells_of(text)
    empty = AWKWARD_TEXTS.index("")
    assert rows[empty]["notes.content"] == "'"  # the empty string
    assert rows[-1]["notes.content"] == "" and rows[-1]["notes.contentType"] == ""  # null
    back = read_csv(io.StringIO(text))
    assert back.iloc[empty]["notes.content"] == ""
    assert back.iloc[AWKWARD_TEXTS.index("   ")]["notes.content"] == "   "
    assert pd.isna(back.iloc[-1]["notes.content"])


def test_dates_at_the_calendars_ends_are_kept() -> None:
    frame = activities_frame(EDGE_DATES)
    assert str(frame["dueDateTime.dateTime"].dtype) == "datetime64[us]"
    assert frame.loc[0, "dueDateTime.dateTime"] == pd.Timestamp("9999-12-31T23:59:59.999999")
    assert frame.loc[2, "dueDateTime.dateTime"].year == 1
    rows = cells_of(exported(EDGE_DATES))
    assert rows[0]["dueDateTime.dateTime"] == "9999-12-31T23:59:59.999999"
    assert rows[3]["assignedDateTime"] == "9999-12-31T23:59:59Z"
    assert rows[4]["assignedDateTime"] == "1600-12-31T19:00:00Z"
    assert frame_to_activities(frame)[2]["dueDateTime"] == {
        "dateTime": "0001-01-01T00:00:00.0000000",
        "timeZone": "UTC",
    }


def test_instant_outside_the_calendar_in_utc_is_refused_by_name() -> None:
    text = exported([assignment(1)]).replace("2021-05-11T22:57:17.123456Z", "9999-12-31T23:59:59-01:00")
    with pytest.raises(InvalidRowsError) as caught:
        read_csv(io.StringIO(text))
    assert caught.value.cells[0][:2] == (2, "assignedDateTime")
    assert "years 1 to 9999" in caught.value.cells[0][2]


# --- formulas ------------------------------------------------------------------------


def test_formulas_are_written_inert_and_read_back() -> None:
    text = exported(awkward_activities())
    for row in cells_of(text):
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), value
    rows = cells_of(text)
    for formula in FORMULA_TEXTS:
        assert rows[AWKWARD_TEXTS.index(formula)]["notes.content"] == "'" + formula
    assert rows[AWKWARD_TEXTS.index("'apostrophe first")]["notes.content"] == "''apostrophe first"
    back = read_csv(io.StringIO(text))
    for formula in [*FORMULA_TEXTS, "'apostrophe first", "''two apostrophes", "'"]:
        assert back.iloc[AWKWARD_TEXTS.index(formula)]["notes.content"] == formula


def test_an_edited_formula_cell_is_sent_as_its_text() -> None:
    rows = cells_of(exported([assignment(1, notes={"contentType": "text", "content": "x"})]))
    rows[0]["notes.content"] = "'=1+1"  # the user typed the escape, as the export does
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    [plan] = plan_csv(io.StringIO(out.getvalue())).plans
    assert plan.changes["notes"] == {"contentType": "text", "content": "=1+1"}


# --- files that are not what they claim ----------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("cp1252", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
    ],
)
def test_other_encodings_are_read(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    text = exported([assignment(1, notes={"contentType": "text", "content": "café – naïve €"})])
    path = tmp_path / "sheet.csv"
    path.write_bytes(prefix + text.encode(encoding))
    back = read_csv(path)
    assert back.loc[2, "notes.content"] == "café – naïve €"
    assert plan_csv(path).unchanged == 1


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "is empty"),
        (b"  \r\n\r\n", "is empty"),
        (codecs.BOM_UTF8, "is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "is not an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Excel 97-2003 workbook (.xls)"),
        (b"id|status\r\na|completed\r\n", "its header row has 'id|status'"),
        ("id,@odata.type\r\n".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        (b"id,notes.content\r\nx,\x81\x8d\x90 bytes\r\n", "not text in UTF-8"),
        (codecs.BOM_UTF8 + b"id\r\n\xff\xfe", "is not"),
        (b'id,"unclosed\r\nx,y\r\n', "well-formed"),
    ],
)
def test_files_that_are_not_csv_text_get_one_line(tmp_path: Path, data: bytes, says: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(InvalidInputError) as caught:
        read_csv(path)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_directory_get_one_line(tmp_path: Path) -> None:
    for path, says in ((tmp_path / "nope.csv", "no such file"), (tmp_path, "is a directory")):
        with pytest.raises(InvalidInputError) as caught:
            read_csv(path)
        assert says in str(caught.value) and str(path) in str(caught.value)
        assert "\n" not in str(caught.value)


def test_duplicate_ids_are_caught_whatever_their_case() -> None:
    items = [assignment(1), assignment(2)]
    items[1]["id"] = items[0]["id"].upper()
    assert items[0]["id"] != items[1]["id"]
    with pytest.raises(InvalidRowsError) as caught:
        read_csv(io.StringIO(exported(items)))
    assert caught.value.cells[0][:2] == (3, "id")
    assert "repeats row 2" in caught.value.cells[0][2]


# --- validation: one rule, vectorised, the model's messages ------------------------------------


def sheet(rows: list[dict[str, str]]) -> io.StringIO:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    out.seek(0)
    return out


@pytest.mark.parametrize(
    ("column", "value", "prop", "wire"),
    [
        ("completionPercentage", "150", "completionPercentage", 150),
        ("completionPercentage", "-1", "completionPercentage", -1),
        ("status", "finished", "status", "finished"),
        (
            "dueDateTime.timeZone",
            "Mars/Olympus",
            "dueDateTime",
            {"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "Mars/Olympus"},
        ),
        ("notes.contentType", "markdown", "notes", {"contentType": "markdown", "content": None}),
    ],
)
def test_vectorised_rules_give_the_models_message(column: str, value: str, prop: str, wire: Any) -> None:
    rows = cells_of(exported([assignment(1), assignment(2)]))
    rows[1][column] = value
    with pytest.raises(InvalidRowsError) as caught:
        read_csv(sheet(rows))
    [(row, field, detail)] = caught.value.cells
    assert (row, field) == (3, column)
    with pytest.raises(InvalidInputError) as model:
        parse_update({"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", prop: wire})
    assert detail == model.value.problems[0][2]


def test_a_sheet_without_status_validates_only_what_it_has() -> None:
    """No status column: nothing is assumed about status (the plan leaves it to the record), as in validate_plans."""
    rows = [
        {
            "id": "a",
            "@odata.type": "learningSelfInitiatedCourse",
            "learningProviderId": "p",
            "completionPercentage": "40",
        },
        {"id": "b", "@odata.type": "learningAssignment", "learningProviderId": "p", "completionPercentage": "101"},
    ]
    with pytest.raises(InvalidRowsError) as caught:
        read_csv(sheet(rows))
    assert [(r, f) for r, f, _ in caught.value.cells] == [(3, "completionPercentage")]
    rows[1]["completionPercentage"] = "100"
    plans = plan_csv(sheet(rows)).plans
    assert [dict(p.changes) for p in plans] == [{"completionPercentage": 40}, {"completionPercentage": 100}]
    validate_plans(plans)  # the engine's check agrees
    current = {"@odata.type": SELF_INITIATED_TYPE, "status": "completed", "completionPercentage": 10}
    assert decide(plans[0], current).body == {**current, "completionPercentage": 40}


def test_edited_rows_are_planned_and_untouched_ones_counted() -> None:
    items = [assignment(i) for i in range(5)]
    rows = cells_of(exported(items))
    rows[1]["completionPercentage"] = "90"
    rows[3]["learnerUserId"] = "someone-else"  # identity, not a value: nothing of it could be sent
    edits = plan_csv(sheet(rows))
    assert [p.row for p in edits.plans] == [3]
    assert edits.unchanged == 4 and edits.summary() == "5 rows: 1 edited, 4 as exported (skipped)"
    frame = read_csv(sheet(rows))
    assert unchanged_rows(frame).tolist() == [True, False, True, True, True]


def test_the_summary_says_which_rows_no_conflict_check_covers() -> None:
    # A sheet from elsewhere (no @learnkit.etag): nothing says what its rows were read with.
    rows = [{k: v for k, v in row.items() if k != ETAG_COLUMN} for row in cells_of(exported([assignment(0)]))]
    rows[0]["completionPercentage"] = "90"
    assert plan_csv(sheet(rows)).summary() == (
        "1 row: 1 edited, 0 as exported (skipped); 1 without an @learnkit.etag, so no conflict check covers them"
        " (their values win)"
    )


# --- the frame -------------------------------------------------------------------------------


def test_vectorised_etags_equal_activity_etag() -> None:
    due = [
        {"dateTime": "2024-03-10T02:30:00.0000000", "timeZone": "Pacific Standard Time"},  # DST gap
        {"dateTime": "2024-11-03T01:30:00.0000000", "timeZone": "America/Los_Angeles"},  # DST overlap
        {"dateTime": "2024-07-01T12:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        {"dateTime": "2024-07-01T12:00:00.0000000", "timeZone": "Mars/Olympus"},
        {"dateTime": "2024-07-01T12:00:00.0000000", "timeZone": None},
        {"dateTime": None, "timeZone": "UTC"},
        None,
    ]
    items = [*awkward_activities(), *EDGE_DATES]
    items += [assignment(200 + i, dueDateTime=d) for i, d in enumerate(due)]
    items += [assignment(300, notes={"contentType": "html", "content": "<b>x</b>"}, completionPercentage=None)]
    items += [assignment(301, notes={"contentType": None, "content": "x"}, status=None)]
    frame = activities_frame(items)
    expected = []
    for activity in frame_to_activities(frame):
        try:
            expected.append(activity_etag(activity))
        except Exception:
            expected.append(None)
    assert row_etags(frame).tolist() == expected
    # A zone no one knows is fingerprinted as written (fingerprints.canonical): no row is left without one.
    assert expected.count(None) == 0


def test_frame_gives_back_the_items_values() -> None:
    items = [*awkward_activities(), *EDGE_DATES, {**assignment(400), "futureProperty": {"a": 1}}]
    back = frame_to_activities(activities_frame(items))
    for original, again in zip(items, back, strict=True):
        assert canonical(again) == canonical(original)
        for name, value in original.items():
            if name in ("assignedDateTime", "completedDateTime", "startedDateTime", "dueDateTime") or value is None:
                continue
            assert again[name] == value, name
    assert back[-1]["futureProperty"] == {"a": 1}


@pytest.mark.parametrize("items", [awkward_activities(), EDGE_DATES], ids=["texts", "dates"])
def test_a_csv_reads_back_as_the_frame_it_was_written_from(items: list[dict[str, Any]]) -> None:
    """One frame type for every surface: same columns, dtypes and values; only the index (spreadsheet rows) differs."""
    frame = activities_frame(items)
    back = read_csv(io.StringIO(exported(items)))
    assert list(back.index) == list(range(2, 2 + len(items)))
    pd.testing.assert_frame_equal(back.drop(columns=[ETAG_COLUMN]).reset_index(drop=True), frame)


# --- Excel's CSVs: the byte-order mark, ';' and tabs --------------------------------------------


def test_an_exported_file_starts_with_the_utf8_byte_order_mark_and_every_reader_reads_it(tmp_path: Path) -> None:
    """Excel opens a CSV as UTF-8 only with the mark; learnkit's readers, pandas and csv ('utf-8-sig') skip it."""
    from learnkit.bulk.sources import read_keys

    items = [assignment(1, notes={"contentType": "text", "content": "café – naïve €"}), assignment(2)]
    path = tmp_path / "activities.csv"
    write_csv(activities_frame(items), path)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8 + b"id,@odata.type,") and data.count(codecs.BOM_UTF8) == 1
    assert plan_csv(path).unchanged == 2
    assert read_csv(path).loc[2, "notes.content"] == "café – naïve €"
    assert pd.read_csv(path).columns[0] == "id"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        assert next(csv.reader(handle))[0] == "id"
    assert read_keys(path, ["id"]) == [items[0]["id"], items[1]["id"]]
    # A text stream is text already: the mark is for files. Read back, a leading mark is no part of the header.
    text = exported(items)
    assert not text.startswith("\ufeff")
    assert plan_csv(io.StringIO("\ufeff" + text)).unchanged == 2


@pytest.mark.parametrize("separator", [";", "\t"], ids=["semicolon", "tab"])
@pytest.mark.parametrize("hint", [False, True], ids=["sniffed", "sep-line"])
def test_a_csv_separated_by_semicolons_or_tabs_reads_as_the_export(separator: str, hint: bool) -> None:
    """What Excel writes where the comma is the decimal sign (';'), or as "Text" (tabs); its "sep=" line too."""
    items = awkward_activities()
    frame = read_csv(io.StringIO(exported(items)))
    rows = cells_of(exported(items))
    out = io.StringIO()
    if hint:
        out.write(f"sep={separator}\r\n")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=separator, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    out.seek(0)
    pd.testing.assert_frame_equal(read_csv(out), frame)
    out.seek(0)
    assert plan_csv(out).unchanged == len(items)
    rows[1]["completionPercentage"] = "77"
    edited = io.StringIO()
    writer = csv.DictWriter(edited, fieldnames=list(rows[0]), delimiter=separator)
    writer.writeheader()
    writer.writerows(rows)
    edited.seek(0)
    [plan] = plan_csv(edited).plans
    assert (plan.row, dict(plan.changes)) == (3, {"completionPercentage": 77})
