"""learnkit.bulk.xlsxfile: a workbook round trips exactly, is typed and marked for Excel, and is refused as a CSV is."""

from __future__ import annotations

import gc
import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from learnkit import InvalidInputError
from learnkit.bulk.csvfile import ETAG_COLUMN, plan_csv, read_csv, read_records, write_csv
from learnkit.bulk.fingerprints import canonical
from learnkit.bulk.frame import activities_frame, frame_to_activities
from learnkit.bulk.xlsxfile import SHEET, STATUSES, write_xlsx
from learnkit.errors import InvalidRowsError
from tests.test_csvfile import EDGE_DATES, assignment, awkward_activities, cells_of, exported, sheet


def workbook(items: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    write_xlsx(activities_frame(items), out)
    return out.getvalue()


def resaved(data: bytes, change: Any = None) -> bytes:
    """The workbook opened and saved by openpyxl (as a person's spreadsheet program would), edited by ``change``."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    if change is not None:
        change(book[SHEET])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def column_of(sheet: Any, name: str) -> int:
    return next(cell.column for cell in sheet[1] if cell.value == name)


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("items", [awkward_activities(), EDGE_DATES], ids=["texts", "dates"])
def test_an_untouched_workbook_plans_nothing_and_reads_back_every_value(items: list[dict[str, Any]]) -> None:
    for data in (workbook(items), resaved(workbook(items))):
        edits = plan_csv(io.BytesIO(data))
        assert edits.plans == [] and edits.unchanged == len(items) == edits.rows
        back = read_csv(io.BytesIO(data))
        again = frame_to_activities(back.drop(columns=[ETAG_COLUMN]))
        assert [canonical(a) for a in again] == [canonical(a) for a in items]
        for original, read in zip(items, again, strict=True):
            assert read.get("notes") == original.get("notes")
        # One frame for every surface: a sheet reads back as the frame it was written from, as a CSV does.
        pd.testing.assert_frame_equal(
            back.drop(columns=[ETAG_COLUMN]).reset_index(drop=True), activities_frame(items), check_dtype=True
        )


def test_a_workbook_and_a_csv_of_the_same_frame_read_the_same() -> None:
    items = [*awkward_activities(), *EDGE_DATES]
    from_csv = read_csv(io.StringIO(exported(items)))
    from_sheet = read_csv(io.BytesIO(workbook(items)))
    pd.testing.assert_frame_equal(from_sheet, from_csv)


def test_records_load_from_a_workbook_as_from_a_csv() -> None:
    """``learnkit sandbox --load`` reads through read_records: a workbook seeds the same records."""
    items = awkward_activities()
    pd.testing.assert_frame_equal(read_records(io.BytesIO(workbook(items))), read_records(io.StringIO(exported(items))))


# --- typed cells, the drop-down, the marks ----------------------------------------------------


def test_cells_are_typed_texts_stay_texts_and_headers_are_marked() -> None:
    items = [
        assignment(
            1, notes={"contentType": "text", "content": '=HYPERLINK("x")'}, assignedDateTime="2024-01-02T03:04:05Z"
        ),
        assignment(2, notes={"contentType": "text", "content": ""}, assignedDateTime="2024-01-02T03:04:05.1234567Z"),
        assignment(3, notes={"contentType": "text", "content": "#N/A"}, assignedDateTime="1601-01-01T00:00:00Z"),
    ]
    book = openpyxl.load_workbook(io.BytesIO(workbook(items)))
    assert book.sheetnames == [SHEET]
    ws = book[SHEET]
    col = {cell.value: cell.column for cell in ws[1]}
    assert (
        ws.cell(2, col["completionPercentage"]).value == 20 and ws.cell(2, col["completionPercentage"]).data_type == "n"
    )
    due = ws.cell(2, col["dueDateTime.dateTime"])
    assert due.value == datetime(2022, 9, 22, 16, 5) and due.is_date
    assert ws.cell(2, col["assignedDateTime"]).value == datetime(2024, 1, 2, 3, 4, 5)
    # Excel holds milliseconds from 1900 on: a finer or older value is the CSV's ISO text, kept exactly.
    assert ws.cell(3, col["assignedDateTime"]).value == "2024-01-02T03:04:05.123456Z"
    assert ws.cell(4, col["assignedDateTime"]).value == "1601-01-01T00:00:00Z"
    formula = ws.cell(2, col["notes.content"])
    assert (formula.value, formula.data_type, formula.quotePrefix) == ('=HYPERLINK("x")', "s", True)
    error_text = ws.cell(4, col["notes.content"])
    assert (error_text.value, error_text.data_type) == ("#N/A", "s")
    assert ws.cell(3, col["notes.content"]).quotePrefix  # the empty string: a text cell holding nothing
    # status offers the update models' values; read-only columns are grey with a note, updatable ones are not.
    [choice] = ws.data_validations.dataValidation
    assert choice.type == "list" and choice.formula1 == '"' + ",".join(STATUSES) + '"'
    assert str(choice.sqref).startswith(f"{ws.cell(2, col['status']).column_letter}2:")
    assert set(STATUSES) == {"notStarted", "inProgress", "completed"}
    for name in ("id", "learnerUserId", "assignmentType", ETAG_COLUMN):
        header = ws.cell(1, col[name])
        assert header.fill.fgColor.rgb.endswith("D9D9D9") and "Read-only" in header.comment.text
    for name in ("status", "completionPercentage", "notes.content"):
        assert ws.cell(1, col[name]).comment is None
    assert "UTC" in ws.cell(1, col["assignedDateTime"]).comment.text
    assert ws.freeze_panes == "A2"


# --- edits and refusals, as the CSV's --------------------------------------------------------


def test_an_edited_cell_is_planned_and_the_rest_skipped() -> None:
    items = [assignment(i) for i in range(4)]

    def change(ws: Any) -> None:
        ws.cell(3, column_of(ws, "status")).value = "completed"
        ws.cell(3, column_of(ws, "completionPercentage")).value = 100
        ws.cell(4, column_of(ws, "completedDateTime")).value = datetime(2024, 3, 1, 11, 0)

    edits = plan_csv(io.BytesIO(resaved(workbook(items), change)))
    assert [(p.row, dict(p.changes)) for p in edits.plans] == [
        (3, {"status": "completed", "completionPercentage": 100}),
        (4, {"completedDateTime": "2024-03-01T11:00:00+00:00"}),  # a date cell there is UTC
    ]
    assert edits.unchanged == 2


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", "finished"),
        ("completionPercentage", 150),
        ("completionPercentage", 42.5),
        ("dueDateTime.timeZone", "Mars/Olympus"),
    ],
)
def test_a_bad_cell_is_refused_with_the_csvs_message(column: str, value: Any) -> None:
    items = [assignment(1), assignment(2)]
    rows = cells_of(exported(items))
    rows[1][column] = str(value)
    with pytest.raises(InvalidRowsError) as from_csv:
        read_csv(sheet(rows))

    def change(ws: Any) -> None:
        ws.cell(3, column_of(ws, column)).value = value

    with pytest.raises(InvalidRowsError) as from_sheet:
        read_csv(io.BytesIO(resaved(workbook(items), change)))
    assert from_sheet.value.cells == from_csv.value.cells


def test_formulas_and_error_values_are_refused_by_cell() -> None:
    def change(ws: Any) -> None:
        ws.cell(2, column_of(ws, "completionPercentage")).value = "=40+2"
        ws.cell(3, column_of(ws, "status")).value = "#N/A"

    with pytest.raises(InvalidRowsError) as caught:
        read_csv(io.BytesIO(resaved(workbook([assignment(1), assignment(2)]), change)))
    assert [(row, column) for row, column, _ in caught.value.cells] == [(2, "completionPercentage"), (3, "status")]
    assert "formula (=40+2)" in caught.value.cells[0][2] and "#N/A" in caught.value.cells[1][2]


def test_empty_cells_are_null_and_an_empty_text_cell_the_empty_string() -> None:
    items = [assignment(1, notes={"contentType": "text", "content": "x"}), assignment(2)]

    def change(ws: Any) -> None:
        ws.cell(2, column_of(ws, "notes.content")).value = ""
        ws.cell(2, column_of(ws, "notes.content")).data_type = "s"

    back = read_csv(io.BytesIO(resaved(workbook(items), change)))
    assert back.loc[2, "notes.content"] == "" and pd.isna(back.loc[3, "notes.content"])
    [plan] = plan_csv(io.BytesIO(resaved(workbook(items), change))).plans
    assert plan.changes == {"notes": {"contentType": "text", "content": ""}}


def test_the_sheet_of_the_activities_is_found_among_others_and_own_columns_are_kept() -> None:
    def change(ws: Any) -> None:
        ws.parent.create_sheet("Notes", 0).append(["a person's own notes"])
        ws.cell(1, ws.max_column + 1).value = "My comments"
        ws.cell(2, ws.max_column).value = "call her"

    with pytest.warns(UserWarning, match="My comments"):
        back = read_csv(io.BytesIO(resaved(workbook([assignment(1)]), change)))
    assert back.loc[2, "My comments"] == "call her"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda ws: ws.cell(2, ws.max_column + 2, "stray"), "has no name"),
        (lambda ws: ws.cell(1, column_of(ws, "status"), "id"), "has the column 'id' twice"),
        (lambda ws: ws.delete_rows(1, ws.max_row), "has no header row"),
    ],
    ids=["nameless", "twice", "empty"],
)
def test_sheets_that_are_not_a_table_get_one_line(make: Any, says: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        read_csv(io.BytesIO(resaved(workbook([assignment(1)]), make)))
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_zip_that_is_not_a_workbook_says_so(tmp_path: Path) -> None:
    path = tmp_path / "activities.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(InvalidInputError) as caught:
        read_csv(path)
    assert "is not an Excel workbook (.xlsx) learnkit can read" in str(caught.value)
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00")  # a workbook's first bytes, cut short
    with pytest.raises(InvalidInputError, match="is not an Excel workbook"):
        read_csv(path)


def test_a_text_no_workbook_can_hold_is_refused_by_name(tmp_path: Path) -> None:
    frame = activities_frame([assignment(1, notes={"contentType": "text", "content": "bad \ud800 half"})])
    for write, name in ((write_xlsx, "a.xlsx"), (write_csv, "a.csv")):
        with pytest.raises(InvalidInputError, match="lone surrogate"):
            write(frame, tmp_path / name)


def test_control_characters_are_written_as_excel_writes_them() -> None:
    text = "bell\x07 and _x0041_ literally\r"
    data = workbook([assignment(1, notes={"contentType": "text", "content": text})])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml"))
    assert "bell_x0007_ and _x005F_x0041_ literally_x000D_" in xml
    assert read_csv(io.BytesIO(data)).loc[2, "notes.content"] == text


def test_a_workbook_that_cannot_be_opened_for_writing_is_one_oserror_and_nothing_else(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    unraisable: list[Any] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        with pytest.raises(NotADirectoryError):
            write_xlsx(activities_frame([assignment(1)]), blocker / "activities.xlsx")
        gc.collect()  # what openpyxl left half-written would complain here
    finally:
        sys.unraisablehook = hook
    assert unraisable == []
