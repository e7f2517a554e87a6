"""Activities as an Excel workbook (.xlsx): the CSV's columns on one sheet, typed cells, read and planned as the CSV is.

``write_xlsx`` writes the columns ``learnkit.bulk.csvfile`` writes (``export_columns``: Graph's
properties, the sheet's own columns, ``@learnkit.etag``) on one sheet named ``activities``:

* **Typed cells.** ``completionPercentage`` is a number; a date-time is a date cell when Excel
  holds it exactly (on or after 1900-03-01, whole milliseconds), else its ISO text as in the CSV.
  The instants (``assignedDateTime``, ``completedDateTime``, ``startedDateTime``) are in UTC,
  as their header's note says; ``dueDateTime.dateTime`` is local time in ``dueDateTime.timeZone``.
* **Text as it is.** Every text is a text cell, never a formula: one that Excel would take for a
  formula when edited (``=``, ``+``, ``-``, ``@``), and the empty string, are text cells marked
  as Excel marks a typed ``'`` (quote prefix). An empty cell is null. Characters a workbook's XML
  cannot hold (a carriage return, control characters) are written as Excel writes them
  (``_x000D_``, ECMA-376's escape) and read back.
* **A drop-down for ``status``**, the values the update models allow; **read-only columns marked**:
  their header is grey with a note saying the column is never sent (the updatable ones are blue).
  The sheet is not locked, so an analyst can still sort, filter and add columns of their own.

Reading is ``learnkit.bulk.csvfile``'s: ``read_csv``, ``plan_csv``, ``read_records``, ``apply_csv`` and
``learnkit apply`` take a workbook as they take a CSV (told by its content), through
``sheet_cells`` below, which turns the sheet back into the CSV's cells. So a workbook is checked,
fingerprinted and planned by the one planner, with the same exact round trip and the same
refusals; a cell holding a formula or an Excel error (``#N/A``) is refused by row and column,
since learnkit sends values, not what a formula computed when Excel last saved it.

Example::

    write_xlsx(read_activities(client, reg), "activities.xlsx")
    edits = plan_csv("activities.xlsx")   # after editing it in Excel
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError
require("excel", __name__)

import io
import json
import os
import re
import zipfile
from datetime import datetime, time, timedelta
from typing import Any, get_args

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from learnkit.errors import InvalidInputError, InvalidRowsError
from learnkit.models import INSTANT_PROPERTIES, UPDATE_MODELS

from .csvio import ETAG_COLUMN, FORMULA_STARTS, export_columns
from .frame import LOCAL_COLUMN, NESTED_COLUMNS, iso_texts

__all__ = ["SHEET", "sheet_cells", "write_xlsx"]

#: The name of the sheet ``write_xlsx`` writes and ``sheet_cells`` reads first.
SHEET = "activities"
#: The columns an update may change (the rest are marked read-only).
EDITABLE = frozenset(
    c for model in UPDATE_MODELS.values() for p in model.UPDATABLE for c in NESTED_COLUMNS.get(p, (p,))
)
#: ``status``'s drop-down: every value an update model allows, in the models' order.
STATUSES = tuple(
    dict.fromkeys(s for model in UPDATE_MODELS.values() for s in get_args(model.model_fields["status"].annotation))
)

# Excel's date cells hold what it can show exactly: from 1900-03-01 (before, its calendar has a 29 February
# 1900 that never was), to the millisecond (openpyxl rounds to it when reading).
_EXCEL_FIRST = datetime(1900, 3, 1)
_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
# ECMA-376's escape for characters XML cannot hold or would change (a carriage return becomes a line feed):
# "_x000D_"; a text that already holds such a sequence has its "_" escaped ("_x005F_"). openpyxl does neither.
# A lone surrogate is no Unicode text at all: refused, as the CSV refuses it.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]|_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
# What openpyxl would store as an error value rather than text.
_ERROR_TEXTS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_READ_ONLY = (PatternFill("solid", fgColor="D9D9D9"), Font(bold=True, color="595959"))
_UPDATABLE = (PatternFill("solid", fgColor="DDEBF7"), Font(bold=True))


def _escape(text: str) -> str:
    r"""A text as a workbook holds it (ECMA-376 ``ST_Xstring``).

    >>> _escape("a\r\nb"), _escape("_x0041_"), _escape("plain")
    ('a_x000D_\nb', '_x005F_x0041_', 'plain')
    """
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    found = match.group()
    if "\ud800" <= found <= "\udfff":
        raise InvalidInputError(
            "xlsx", "invalid", f"a cell holds {found!r}, which is not Unicode text (a lone surrogate): fix it first"
        )
    return f"_x{ord(found):04X}_"


def _unescape(text: str) -> str:
    r"""A workbook's text as it is: ``_x000D_`` is a carriage return (what Excel writes for one).

    >>> _unescape("a_x000D_\nb"), _unescape("_x005F_x0041_")
    ('a\r\nb', '_x0041_')
    """
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


# --- writing ---------------------------------------------------------------------------------


def write_xlsx(frame: pd.DataFrame, path: str | os.PathLike[str] | Any) -> None:
    """Write an activities frame as a one-sheet workbook: the CSV's columns, typed (this module's docstring).

    ``path`` is a file name or a binary file object. A text no workbook can hold (a lone
    surrogate) is refused with ``InvalidInputError``, as ``write_csv`` refuses it.

    Example: ``write_xlsx(read_activities(client, reg), "activities.xlsx")``
    """
    columns = export_columns(frame)
    book = openpyxl.Workbook(write_only=True)
    sheet: Any = book.create_sheet(SHEET)  # write-only: typed by its stubs without the attributes used here
    names = list(columns)
    cells = [_cells_of(name, column, sheet) for name, column in columns.items()]
    for index, name in enumerate(names, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(max(len(name) + 4, 12), 40)
    sheet.freeze_panes = "A2"
    last = len(frame) + 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{last}"
    if "status" in names:
        letter = get_column_letter(names.index("status") + 1)
        listed = ",".join(STATUSES)
        choice = DataValidation(
            type="list",
            formula1=f'"{listed}"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="status",
            error=f"status is one of {', '.join(STATUSES)} (learnkit checks which the row's type allows)",
        )
        choice.add(f"{letter}2:{letter}1048576")
        sheet.data_validations.append(choice)
    sheet.append([_header(name, sheet) for name in names])
    for row in zip(*cells, strict=True):
        sheet.append(row)
    if not isinstance(path, (str, os.PathLike)):
        book.save(path)
        return
    try:
        handle = open(path, "wb")  # noqa: SIM115 (closed below; the except must not cover the save)
    except OSError:
        # The sheet's rows are still open in openpyxl: closed now, or the collector prints a traceback under the
        # one-line error the caller makes of this (``save`` would close them, but it opens the file first).
        sheet.close()
        raise
    with handle:
        book.save(handle)


def _header(name: str, sheet: Any) -> Cell:
    """A header cell: blue where the column is sent when edited, grey with a note where it never is."""
    cell = WriteOnlyCell(sheet, value=name)
    cell.data_type = "s"
    editable = name in EDITABLE
    cell.fill, cell.font = _UPDATABLE if editable else _READ_ONLY
    if name in INSTANT_PROPERTIES:
        note = f"{name}: a date-time in UTC."
    elif name == LOCAL_COLUMN:
        note = f"{name}: local time in the zone of dueDateTime.timeZone."
    elif name == ETAG_COLUMN:
        note = "Read-only: the fingerprint of the row as exported, which tells learnkit which cells were edited."
    else:
        note = ""
    if not editable and name != ETAG_COLUMN:
        note = f"Read-only: {name} is never sent (it names the record or is set by the service). {note}".strip()
    if note:
        cell.comment = Comment(note, "learnkit")
    return cell


def _cells_of(name: str, column: pd.Series, sheet: Any) -> list[Any]:
    """One column's cells: plain values where openpyxl writes them as they are, styled cells otherwise."""
    if name in INSTANT_PROPERTIES or name == LOCAL_COLUMN:
        return _datetime_cells(column, name != LOCAL_COLUMN, sheet)
    if name == "completionPercentage":
        return [None if pd.isna(value) else int(value) for value in column.astype("Int64").tolist()]
    return [_text_cell(value, sheet) for value in column.to_numpy(dtype=object).tolist()]


def _datetime_cells(column: pd.Series, instant: bool, sheet: Any) -> list[Any]:
    """Date cells where Excel holds the value exactly; the CSV's ISO text otherwise (before 1900, microseconds)."""
    out: list[Any] = []
    for text in iso_texts(column, "Z" if instant else "").tolist():
        if text is None:
            out.append(None)
            continue
        value = datetime.fromisoformat(text.removesuffix("Z"))
        if value >= _EXCEL_FIRST and value.microsecond % 1000 == 0:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = _DATE_FORMAT + (".000" if value.microsecond else "")
            out.append(cell)
        else:
            out.append(_text_cell(text, sheet))
    return out


def _text_cell(value: Any, sheet: Any) -> Any:
    """A text as a text cell: quote-prefixed where Excel would otherwise take it for a formula when edited."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return value  # a number in the sheet's own column stays a number
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    text = _escape(text)
    if text and text[:1] not in FORMULA_STARTS and text not in _ERROR_TEXTS:
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl would store "=..." as a formula and "#N/A" as an error
    cell.quotePrefix = True
    return cell


# --- reading ---------------------------------------------------------------------------------


def sheet_cells(data: bytes, name: str) -> pd.DataFrame:
    """A workbook's activities sheet as the CSV reader's table: every cell as the CSV would hold it.

    The sheet named ``activities``, else the first; its first row names the columns. A date
    cell is its ISO text (with ``Z`` in an instant's column: UTC), a number its digits, a text
    cell its text (an empty one the empty string), an empty cell null (NaN, as pandas reads a
    CSV's). Empty rows after the last filled one are left out. ``learnkit.bulk.csvfile`` then reads
    the table as it reads a CSV's, except that nothing is unescaped: a sheet's text is as it is.
    ``InvalidInputError`` says why a file cannot be read; ``InvalidRowsError`` names each cell
    holding a formula or an error value.

    Example: ``sheet_cells(Path("activities.xlsx").read_bytes(), "activities.xlsx")``
    """
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInputError(
            "xlsx", "invalid", f"{name} is not an Excel workbook (.xlsx) learnkit can read: {exc}".strip()
        ) from None
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        if not hasattr(sheet, "iter_rows"):
            raise InvalidInputError("xlsx", "invalid", f"{name}: its first sheet is a chart, not a table")
        sheet.reset_dimensions()  # some writers record a wrong used range: read every row there is
        rows = sheet.iter_rows()
        header = [cell.value for cell in next(rows, ())]
        names = _column_names(header, name)
        values: list[list[Any]] = [[] for _ in names]
        problems: list[tuple[Any, str, str]] = []
        filled_rows = 0
        for number, row in enumerate(rows, start=2):
            filled = False
            for position, cell in enumerate(row[: len(names)]):
                value = _cell_text(cell, names[position], number, problems)
                values[position].append(value)
                filled = filled or value is not np.nan
            for position in range(len(row), len(names)):
                values[position].append(np.nan)
            beyond = [at for at, cell in enumerate(row) if at >= len(names) and cell.value not in (None, "")]
            if beyond:
                letter = get_column_letter(beyond[0] + 1)
                raise InvalidInputError(
                    "xlsx", "invalid", f"{name}: row {number} has a value in column {letter}, which has no name"
                )
            if filled:
                filled_rows = number - 1
    finally:
        book.close()
    if problems:
        raise InvalidRowsError(problems)
    table: pd.DataFrame = pd.DataFrame(
        {column: pd.Series(cells[:filled_rows], dtype=object) for column, cells in zip(names, values, strict=True)},
        columns=names,
    )
    table.attrs["escaped"] = False  # the CSV's leading "'" is a sheet's quote prefix, not part of the text
    return table


def _column_names(header: list[Any], name: str) -> list[str]:
    """The header row's names (trailing empty cells left out); a nameless or repeated column is refused."""
    while header and header[-1] in (None, ""):
        header.pop()
    if not header:
        raise InvalidInputError("xlsx", "empty", f"{name} has no header row: export one with `learnkit export`")
    names = [str(value).strip() if value is not None else "" for value in header]
    for position, column in enumerate(names):
        if not column:
            letter = get_column_letter(position + 1)
            raise InvalidInputError("xlsx", "invalid", f"{name}: column {letter} has no name in the header row")
        if column in names[:position]:
            raise InvalidInputError("xlsx", "invalid", f"{name} has the column {column!r} twice")
    return names


def _cell_text(cell: Any, column: str, row: int, problems: list[tuple[Any, str, str]]) -> Any:
    """One cell as a CSV would hold it (text, or NaN for an empty cell); a formula or an error is a problem."""
    value, kind = cell.value, getattr(cell, "data_type", "n")
    if kind == "f":
        problems.append((row, column, f"holds a formula ({value}): type its value, or ' before a text"))
        return np.nan
    if kind == "e":
        problems.append((row, column, f"holds Excel's error value {value}: type a value"))
        return np.nan
    if value is None or value == "":
        # A text cell holding nothing is the empty string (what a typed ' makes); any other empty cell is null.
        return "" if kind in ("s", "inlineStr", "str") else np.nan
    if isinstance(value, str):
        return _unescape(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if column in INSTANT_PROPERTIES else "")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (time, timedelta)):
        return str(value)
    return str(value)
