"""The CSV file as bytes and text: writing a table out, reading one in (encodings, separators, a workbook).

What ``learnkit.bulk.csvfile`` builds on, cut by concern: this module knows files (the byte-order mark
Excel needs, the encodings and separators spreadsheets write, the ``'`` escape of a text cell, a
workbook told by its content and read by ``learnkit.bulk.xlsxfile``); ``csvfile`` knows what the cells
mean (values, checks, plans). Its rules are written in ``csvfile``'s docstring.

Example::

    write_csv(read_activities(client, reg), "activities.csv")   # UTF-8 with a byte-order mark
    separator_of("id;status\r\n")[0]                              # ';'
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import codecs
import csv
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from learnkit._extras import import_part
from learnkit.errors import InvalidInputError
from learnkit.models import INSTANT_PROPERTIES

from .fingerprints import row_etags
from .frame import ACTIVITY_COLUMNS, LOCAL_COLUMN, is_missing, iso_texts

__all__ = [
    "ESCAPE",
    "ETAG_COLUMN",
    "FORMULA_STARTS",
    "SEPARATORS",
    "WORKBOOK_START",
    "escape_cells",
    "export_columns",
    "raw_table",
    "separator_of",
    "write_csv",
    "write_table",
]

#: The CSV column holding the fingerprint of the values a row was exported with.
ETAG_COLUMN = "@learnkit.etag"
#: What a spreadsheet runs as a formula when a cell begins with it (OWASP), and the escape itself.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
ESCAPE = "'"


# --- writing -----------------------------------------------------------------------


def escape_cells(values: pd.Series) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Text cells as written to a CSV: a leading ``'`` where a spreadsheet would see a formula, ``'`` or nothing.

    >>> escape_cells(pd.Series(["=1+1", "'quoted", "", None, "plain"])).tolist()
    ["'=1+1", "''quoted", "'", None, 'plain']
    """
    cells = values.to_numpy(dtype=object).tolist()
    # The first character decides (the empty string's is ""): one set lookup per cell.
    starts = frozenset((*FORMULA_STARTS, ESCAPE, ""))
    out = [
        (ESCAPE + cell if cell[:1] in starts else cell)
        if type(cell) is str
        else None
        if cell is None or (type(cell) is float and cell != cell) or is_missing(cell)
        else _text(cell)
        for cell in cells
    ]
    return np.array(out, dtype=object)


def _text(value: Any) -> str:
    """An extra column's non-text value (a future Graph's object or number) as text."""
    import json

    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str] | Any) -> None:
    """Write an activities frame as CSV (the rules in this module's docstring) with ``@learnkit.etag``.

    The etag is computed from the frame's values, unless the frame has one already
    (it was read with ``read_csv``): then that one is kept, since it names the values
    the rows were exported with. Extra columns are written after the known ones.

    Example: ``write_csv(read_activities(client, reg), "activities.csv")``
    """
    out: dict[str, Any] = {}
    for name, column in export_columns(frame).items():
        if name in INSTANT_PROPERTIES:
            out[name] = iso_texts(column, "Z")
        elif name == LOCAL_COLUMN:
            out[name] = iso_texts(column)
        elif name == "completionPercentage":
            out[name] = column.astype("Int64")
        elif name == ETAG_COLUMN:
            out[name] = column.to_numpy(dtype=object)
        else:
            out[name] = escape_cells(column)
    _write(pd.DataFrame(out, index=frame.index), path)


def export_columns(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The columns an export writes, in their order, values as the frame holds them (neither escaped nor formatted).

    The frame's columns (``ACTIVITY_COLUMNS``, a missing one empty), then its extra columns,
    then ``@learnkit.etag``: computed from the values, unless the frame has one already (it
    was read from a file), since that one names the values the rows were exported with.
    ``write_csv`` writes them as text; ``learnkit.bulk.xlsxfile.write_xlsx`` as typed cells.

    >>> list(export_columns(pd.DataFrame({"id": ["a"], "mine": [1]})))[-2:]
    ['mine', '@learnkit.etag']
    """
    out = {
        name: frame[name] if name in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        for name in ACTIVITY_COLUMNS
    }
    for name in frame.columns:
        if name not in ACTIVITY_COLUMNS and name != ETAG_COLUMN:
            out[str(name)] = frame[name]
    out[ETAG_COLUMN] = frame[ETAG_COLUMN] if ETAG_COLUMN in frame.columns else row_etags(frame)
    return out


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str] | Any) -> None:
    """Write any table learnkit hands a person as CSV (the audit's findings, a run's report): every text cell
    escaped as ``write_csv`` escapes it (a leading ``'`` where a spreadsheet would run a formula), numbers and
    booleans as they are, the index left out.

    Example: ``write_table(result.findings.reset_index(), "findings.csv")``
    """
    out = {
        str(name): escape_cells(column)
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype)
        else column
        for name, column in frame.items()
    }
    _write(pd.DataFrame(out, index=frame.index), path)


def _write(table: pd.DataFrame, path: str | os.PathLike[str] | Any) -> None:
    # A file starts with UTF-8's byte-order mark: without it Excel opens a CSV as the system's ANSI code page
    # and garbles every accent. A text stream (stdout, StringIO) is text already: its reader decides.
    encoding = "utf-8-sig" if isinstance(path, (str, os.PathLike)) else None
    try:
        # RFC 4180's CRLF: the csv writer quotes a field holding any line-terminator character, so a
        # lone carriage return inside a note is quoted too (with "\n" alone it would end the row when read).
        table.to_csv(path, index=False, lineterminator="\r\n", encoding=encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise InvalidInputError(
            "csv", "invalid", f"a cell holds {bad!r}, which is not Unicode text (a lone surrogate): fix it first"
        ) from None


# --- reading the file --------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: How a zip file (an .xlsx workbook) and an OLE file (an Excel 97-2003 .xls) begin.
WORKBOOK_START = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# C0 controls other than tab, line feed and carriage return: never in a text CSV.
_CONTROLS = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D}


def _decode(data: bytes, name: str) -> str:
    """The file's text: UTF-8 or UTF-16/32 by byte-order mark, else UTF-8, else Windows-1252; refused otherwise."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InvalidInputError(
                    "csv", "invalid", f"{name} starts as {encoding.upper()} but is not: byte {exc.start} is wrong"
                ) from None
    if data.startswith(WORKBOOK_START):
        raise InvalidInputError(
            "csv", "invalid", f"{name} is a workbook (.xlsx), not a CSV: save it as 'CSV UTF-8' and try again"
        )
    if data.startswith(_OLE):
        raise InvalidInputError(
            "csv",
            "invalid",
            f"{name} is an Excel 97-2003 workbook (.xls): save it as .xlsx or 'CSV UTF-8' and try again",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = ""
        if not text or _CONTROLS.intersection(data):
            raise InvalidInputError(
                "csv",
                "invalid",
                f"{name} is not text in UTF-8, UTF-16 (with a byte-order mark) or Windows-1252: "
                "save it as 'CSV UTF-8' and try again",
            ) from None
        return text
    if b"\x00" in data[:4096]:
        raise InvalidInputError(
            "csv",
            "invalid",
            f"{name} looks like UTF-16 without a byte-order mark: save it as 'CSV UTF-8' and try again",
        )
    return text


def raw_table(source: str | os.PathLike[str] | Any) -> pd.DataFrame:
    """The file's cells as text, every column, nothing interpreted; ``InvalidInputError`` for a file that is not one.

    A workbook (an .xlsx, told by its content, not its name) is read by ``learnkit.bulk.xlsxfile``
    into the same table, so a sheet is checked and planned exactly as a CSV is.
    """
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise InvalidInputError("csv", "invalid", f"{name}: no such file") from None
        except IsADirectoryError:
            raise InvalidInputError("csv", "invalid", f"{name} is a directory, not a CSV file") from None
        except PermissionError:
            raise InvalidInputError("csv", "invalid", f"{name}: not allowed to read it") from None
        except OSError as exc:
            raise InvalidInputError("csv", "invalid", f"{name}: cannot read it ({exc.strerror or exc})") from None
    else:
        name = str(getattr(source, "name", "the CSV"))
        data = source.read()
    if isinstance(data, bytes) and data.startswith(WORKBOOK_START):
        sheet: pd.DataFrame = import_part("learnkit.bulk.xlsxfile").sheet_cells(data, name)
        return sheet
    # A text stream may still begin with the byte-order mark a file's bytes would (it is no part of the header).
    text = _decode(data, name) if isinstance(data, bytes) else str(data).removeprefix("\ufeff")
    if not text[:4096].strip("\ufeff \t\r\n") and not text.strip("\ufeff \t\r\n"):
        raise InvalidInputError("csv", "empty", f"{name} is empty: export one with `learnkit export`")
    separator, text = separator_of(text)
    try:
        # pandas' C parser is quickest on UTF-8 bytes (text it would encode again, a chunk at a time).
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise InvalidInputError("csv", "invalid", f"{name} holds {bad!r}, which is not Unicode text") from None
    try:
        # Only an empty cell is missing ("NA" or "null" are text); pandas finds them in C.
        raw = pd.read_csv(
            io.BytesIO(data), sep=separator, dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InvalidInputError("csv", "invalid", f"{name} is not a well-formed CSV: {exc}".strip()) from None
    repeated = [
        c
        for c in raw.columns
        if "." in str(c) and str(c).rsplit(".", 1)[0] in raw.columns and str(c).rsplit(".", 1)[1].isdigit()
    ]
    if repeated:
        raise InvalidInputError("csv", "invalid", f"{name} has the column {repeated[0].rsplit('.', 1)[0]!r} twice")
    raw.attrs["escaped"] = _has_escapes(text, separator)
    return raw


#: The separators a CSV may have: Excel writes ``;`` where the comma is the decimal sign, a tab for "Text".
SEPARATORS = (",", ";", "\t")


def separator_of(text: str) -> tuple[str, str]:
    r"""A CSV's separator, and its text without Excel's ``sep=`` line (if it has one).

    Excel's own first line ``sep=;`` names it; otherwise it is whichever of ``,``, ``;`` and
    tab splits the header row into the most columns (quotes respected), a comma if none does.

    >>> separator_of("id;status\r\na;completed\r\n")[0], separator_of("sep=;\r\nid;x\r\n")
    (';', (';', 'id;x\r\n'))
    """
    end = text.find("\n")
    line = (text if end == -1 else text[:end]).rstrip("\r")  # the header row only: no copy of a large file
    if len(line) == 5 and line.lower().startswith("sep=") and line[4] in SEPARATORS:
        return line[4], text[end + 1 :] if end != -1 else ""
    counts = {sep: len(next(csv.reader([line], delimiter=sep), [])) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # the first (the comma) wins a tie
    return best, text


def _has_escapes(text: str, separator: str = ",") -> bool:
    r"""Whether any cell may begin with ``'``: without one, no cell needs unescaping.

    Only the apostrophes are visited (found in C), each checked for what is before it:
    a note's "don't" costs one look.

    >>> _has_escapes("name,note,don't"), _has_escapes("name,note,'=1+1"), _has_escapes('a\r\n"\'=1,2"')
    (False, True, True)
    >>> _has_escapes("name;'=1+1"), _has_escapes("name;'=1+1", ";")
    (False, True)
    """
    # What a cell can begin after: the file's start (seen as a separator), a separator, a line break.
    starts = separator + "\n\r"
    find = text.find
    at = find(ESCAPE)
    while at != -1:
        before = text[at - 1] if at else separator
        if before in starts or (before == '"' and (at == 1 or text[at - 2] in starts)):
            return True
        at = find(ESCAPE, at + 1)
    return False
