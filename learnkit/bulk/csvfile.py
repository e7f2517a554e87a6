"""Activities to and from CSV files an analyst edits in a spreadsheet, and the plans an edited file makes.

A CSV has the frame's columns (``learnkit.bulk.frame.ACTIVITY_COLUMNS``: Graph's property
names, nested ones flattened with a dot) plus ``@learnkit.etag``, the fingerprint of the
row's updatable values as exported (``learnkit.bulk.fingerprints.activity_etag``). A row whose values
still have that fingerprint was not edited: it makes no plan, so it is neither read from
nor sent to the service. An edited row's plan is refused as a conflict when the service
no longer holds the exported values.

How cells are written, so that export then apply of an untouched file changes nothing:

* **Text is kept as it is**: leading and trailing spaces, line breaks, any Unicode
  (UTF-8). Only the coded columns (``@odata.type``, ``status``, the time zone, the
  content type, numbers and date-times) are read with surrounding spaces ignored.
* **Null and the empty string**: an empty cell is null (missing); a cell holding a
  single apostrophe ``'`` is the empty string.
* **Formulas are never live**: a text that a spreadsheet would run as a formula (it
  begins with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a line feed, as
  OWASP's CSV-injection advice lists) is written with a leading ``'``, and so is a text
  that begins with ``'`` itself, and the empty string. Reading drops one leading
  ``'`` from every cell: ``'=1+1`` reads as ``=1+1``, ``''quoted`` as ``'quoted``.
* **Date-times** are ISO 8601: instants in UTC with ``Z``, the due date as local time
  (its zone is the next column); any year from 1 to 9999.
* **Rows end in CRLF** (RFC 4180), so a carriage return inside a text is quoted too.

Which rows are sent: a row is "as exported" when the fingerprint of its updatable
values equals its ``@learnkit.etag``; such a row is skipped whatever its identity
columns say (nothing of them is ever sent). An edited row's plan carries the
properties whose cells no longer hash to their part of the fingerprint (all of them
when the row has none to tell by). Filled cells of properties the row's type does not
have are refused on every row.

Reading is done a column at a time (``learnkit.bulk._columnar`` for date-times and
fingerprints), so validating 100,000 rows costs about what ``pandas.read_csv`` does;
``plan_csv`` makes the ``PatchPlan`` objects when they are first used (``PlanList``).

Writing and reading the file itself (the byte-order mark, encodings, separators, the ``'``
escape, a workbook told by its content) is ``learnkit.bulk.csvio``'s; this module gives its cells
their meaning. Writing starts a file with UTF-8's byte-order mark (what Excel needs to read it
as UTF-8). Reading accepts UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order
mark, and Windows-1252 (what Excel writes for "CSV" on Western systems), separated by ``,``, ``;``
(Excel where the comma is the decimal sign) or tabs, and ``.xlsx`` workbooks
(``learnkit.bulk.xlsxfile``); anything else, an empty file or a missing one is refused with one
``InvalidInputError``. Columns that are not Graph properties (a spreadsheet's own "My comments") are kept in the frame,
never sent, and named in a ``ExtraColumnsWarning``.

``read_records`` reads the same cells as a tenant's records rather than as edits (what
``learnkit sandbox --load`` seeds a tenant from), so a file loads exactly as it applies.

Example::

    write_csv(read_activities(client, reg), "activities.csv")
    edits = plan_csv("activities.csv")   # after editing it: .plans, .unchanged rows skipped
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args, overload

import numpy as np
import pandas as pd

from learnkit.errors import ExtraColumnsWarning, InvalidInputError, InvalidRowsError
from learnkit.models import UPDATE_MODELS, BodyType, normalize_odata_type
from learnkit.times import known_time_zones

from .cells import typed_cell
from .csvio import ESCAPE, ETAG_COLUMN, raw_table, write_csv, write_table
from .edits import edited_plans
from .fingerprints import etag_differences, etags_match
from .frame import (
    ACTIVITY_COLUMNS,
    DATETIME_COLUMNS,
    LOCAL_COLUMN,
    NESTED_COLUMNS,
    TEXT_COLUMNS,
    kind_rows,
    parse_datetimes,
    rows_by_kind,
)
from .plans import (
    ADDRESS_PROPERTIES,
    READ_ONLY_PROPERTIES,
    PatchPlan,
    validate_plans,
)

__all__ = [
    "ETAG_COLUMN",
    "CsvPlans",
    "PlanList",
    "plan_csv",
    "plans_from_frame",
    "read_csv",
    "read_records",
    "unchanged_rows",
    "write_csv",
    "write_table",
]

#: Columns holding codes, not free text: surrounding spaces are not part of their value.
CODED_COLUMNS = ("@odata.type", "status", "dueDateTime.timeZone", "notes.contentType")
# Where the update model's message about a nested property points in the sheet.
_PROPERTY_COLUMN = {"dueDateTime": "dueDateTime.timeZone", "notes": "notes.contentType"}


# --- reading and validating --------------------------------------------------------


def _unescape(cells: pd.Series, escaped: bool = True) -> pd.Series:
    """Cells as values: an empty cell is missing (NaN, as pandas read it), one leading ``'`` is dropped."""
    if not escaped:
        return cells
    values = cells.to_numpy(dtype=object)
    # Each cell's first character, in C (a missing cell, NaN, shows as "n"): only the escaped ones are touched.
    marked = np.flatnonzero(values.astype("U1") == ESCAPE)
    if not len(marked):
        return cells
    values = values.copy()
    values[marked] = [cell[1:] for cell in values[marked].tolist()]
    unescaped: pd.Series = pd.Series(values, index=cells.index, dtype=object)
    return unescaped


def _stripped(cells: pd.Series) -> pd.Series:
    """Coded cells without surrounding spaces (a blank one is missing); done once per distinct value."""
    codes, distinct = pd.factorize(cells.to_numpy(dtype=object))
    values = np.array([*((v.strip() or None) if isinstance(v, str) else v for v in distinct), None], dtype=object)
    result: pd.Series = pd.Series(values[codes], index=cells.index, dtype=object)
    return result


@dataclass
class _Read:
    frame: pd.DataFrame
    unchanged: pd.Series
    extra_columns: tuple[str, ...]
    #: Per updatable property, the rows whose cell still hashes to the row's exported fingerprint.
    same: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] | None = None


def read_csv(source: str | os.PathLike[str] | Any) -> pd.DataFrame:
    """Read and validate a CSV of activities into a typed frame indexed by spreadsheet row (header = 1).

    An empty cell is null (a blanked value), ``'`` the empty string; a column left out
    is left unchanged. Every bad cell of an edited row is refused at once, before
    anything is sent: ``InvalidRowsError`` names each row and column. Rows whose values
    are as exported (``unchanged_rows``) are not validated: nothing of them is sent.

    Example: ``read_csv("edits.csv").loc[2, "completionPercentage"]``
    """
    return _read(source).frame


def read_records(source: str | os.PathLike[str] | Any) -> pd.DataFrame:
    """Read a CSV of activities as records a tenant holds, not as edits: what ``learnkit sandbox --load`` seeds from.

    Every cell is read as ``read_csv`` reads it (the same encodings, the ``'`` escape, spaces
    kept in text, an empty cell null and ``'`` the empty string), and checked as a record:
    date-times and numbers that parse, a known ``@odata.type``, the addresses filled, each id
    once, no cell of a property the row's type lacks. An edit's rules (``read_csv``) are not
    applied: a tenant may hold what no update would be allowed to write. The frame is indexed
    by spreadsheet row (header = 1); ``InvalidRowsError`` names every bad cell.

    Example: ``frame_to_activities(read_records("activities.csv"))[0]["id"]``
    """
    cells = _cells(source)
    if cells.problems:
        raise InvalidRowsError(sorted(cells.problems, key=lambda p: (p[0], p[1])))
    return cells.frame


@dataclass
class _Cells:
    """A CSV's values, a column each (text unescaped, codes stripped, date-times and numbers parsed), and the
    cells that are no value of a record: (row, column, what is wrong)."""

    frame: pd.DataFrame
    problems: list[tuple[Any, str, str]]
    rows_of: dict[str, np.ndarray[Any, np.dtype[np.intp]]]
    extras: tuple[str, ...]


def _cells(source: str | os.PathLike[str] | Any) -> _Cells:
    """The values of every cell, read the one way both ``read_csv`` and ``read_records`` read them.

    ``source`` is a file, or a table of its cells as text (``raw_table``'s, ``learnkit.bulk.keyed``'s).
    """
    raw = source.copy() if isinstance(source, pd.DataFrame) else raw_table(source)
    raw.index = pd.RangeIndex(2, 2 + len(raw), name="row")
    extras = tuple(str(c) for c in raw.columns if c not in ACTIVITY_COLUMNS and c != ETAG_COLUMN)
    for name in ADDRESS_PROPERTIES:
        if name not in raw.columns:
            found = ", ".join(repr(str(c)) for c in raw.columns[:6]) + (", ..." if len(raw.columns) > 6 else "")
            raise InvalidInputError(
                name,
                "required",
                f"the file needs the column {name!r} to address each record; its header row has {found} "
                "(a CSV separated by ',', ';' or tabs, as `learnkit export` writes it; or a column of ids "
                "or externalcourseActivityIds beside the values, to have the records read)",
            )
    problems: list[tuple[Any, str, str]] = []
    columns: dict[str, Any] = {}
    escaped = bool(raw.attrs.get("escaped", True))
    for name in (*[c for c in ACTIVITY_COLUMNS if c in raw.columns], *extras):
        # Only text is ever escaped: date-time and number cells are read as they are.
        cells = _unescape(raw[name], escaped and name not in DATETIME_COLUMNS and name != "completionPercentage")
        if name in CODED_COLUMNS:
            cells = _stripped(cells)
        if name in DATETIME_COLUMNS:
            values, bad = parse_datetimes(cells, aware=name != LOCAL_COLUMN)
            columns[name] = values
            problems.extend((row, name, detail) for row, detail in bad.dropna().items())
        elif name == "completionPercentage":
            columns[name] = _integers(cells, name, problems)
        else:
            columns[name] = cells
    kind_codes, named = pd.factorize(columns["@odata.type"].to_numpy(dtype=object))
    normal: list[str | None] = []
    for code, value in enumerate(named.tolist()):
        try:
            normal.append(normalize_odata_type(value))
        except InvalidInputError as exc:
            normal.append(None)
            problems.extend((row, "@odata.type", exc.detail) for row in raw.index[kind_codes == code])
    columns["@odata.type"] = pd.Series(np.array([*normal, None], dtype=object)[kind_codes], index=raw.index)
    rows_of = rows_by_kind(kind_codes, normal)
    problems.extend((row, "@odata.type", normalize_odata_type_detail()) for row in raw.index[kind_codes == -1])
    provider_codes, providers = pd.factorize(columns["learningProviderId"].to_numpy(dtype=object))
    blank = np.array([*(not str(v).strip() for v in providers), True])[provider_codes]
    problems.extend((row, "learningProviderId", _ADDRESS_EMPTY) for row in raw.index[blank])
    if ETAG_COLUMN in raw.columns:
        columns[ETAG_COLUMN] = _unescape(raw[ETAG_COLUMN], escaped)
    frame = pd.DataFrame(columns, index=raw.index, copy=False)
    problems.extend(_id_problems(frame["id"]))
    problems.extend(_foreign_cells(frame, rows_of))
    return _Cells(frame, problems, rows_of, extras)


def warn_extra_columns(extras: Sequence[str], stacklevel: int) -> None:
    """Say (``ExtraColumnsWarning``) which columns of a sheet are not Graph properties (kept, never sent);
    ``stacklevel`` 1 names this function's caller, as ``warnings.warn`` counts."""
    warnings.warn(
        ExtraColumnsWarning(f"column(s) {', '.join(map(repr, extras))} are not Graph properties: never sent"),
        stacklevel=stacklevel + 1,
    )


def _read(source: str | os.PathLike[str] | Any, *, typed: bool = True) -> _Read:
    """The checked frame; ``typed=False`` leaves text columns as object arrays (plans need no more)."""
    read = _cells(source)
    frame, problems, rows_of, extras = read.frame, read.problems, read.rows_of, read.extras
    if extras:
        warn_extra_columns(extras, stacklevel=3)
    same: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] | None = None
    if ETAG_COLUMN in frame.columns:
        match, same = etag_differences(frame, frame[ETAG_COLUMN].to_numpy(dtype=object), rows_of)
        unchanged: pd.Series = pd.Series(match, index=frame.index, dtype=bool)
    else:
        unchanged = pd.Series(False, index=frame.index)
    # Rows with a cell that did not even parse are not validated further: one message per cell.
    refused = {row for row, _, _ in problems}
    edited = ~unchanged & ~frame.index.isin(list(refused))
    problems.extend(_validate(frame[edited]))
    if problems:
        raise InvalidRowsError(sorted(problems, key=lambda p: (p[0], p[1])))
    if not typed:
        return _Read(frame, unchanged, extras, same)
    # Text columns as pandas infers them for a frame read from Graph (``str`` in pandas 3): one frame type.
    for name in (*TEXT_COLUMNS, ETAG_COLUMN, *extras):
        if name in frame.columns:
            column = frame[name]
            empty = pd.Series([None] * len(frame), index=frame.index, dtype=object)
            frame[name] = column.infer_objects() if column.notna().any() else empty
    frame = frame[
        [
            *(c for c in frame.columns if c != ETAG_COLUMN and c not in extras),
            *((ETAG_COLUMN,) if ETAG_COLUMN in frame.columns else ()),
            *extras,
        ]
    ]
    return _Read(frame, unchanged, extras, same)


def normalize_odata_type_detail() -> str:
    """The message for an empty ``@odata.type`` cell (the one ``normalize_odata_type`` gives)."""
    try:
        normalize_odata_type(None)
    except InvalidInputError as exc:
        return exc.detail
    raise AssertionError("unreachable")  # pragma: no cover


def _integers(cells: pd.Series, name: str, problems: list[tuple[Any, str, str]]) -> pd.Series:
    """Whole numbers as ``Int64`` (``typed_cell``, once per distinct text); each cell that is not one is a problem.

    A blank cell is missing, not a problem.
    """
    codes, texts = pd.factorize(cells.to_numpy(dtype=object))
    numbers: list[int | None] = []
    for code, text in enumerate(texts.tolist()):
        try:
            numbers.append(typed_cell(name, text.strip() if isinstance(text, str) else text, kind="integer"))
        except ValueError as exc:
            numbers.append(None)
            problems.extend((row, name, str(exc)) for row in cells.index[codes == code])
    values = pd.array(numbers, dtype="Int64").take(codes, allow_fill=True)
    result: pd.Series = pd.Series(values, index=cells.index)
    return result


_ADDRESS_EMPTY = "shouldn't be empty: it addresses the record"


def _id_problems(ids: pd.Series) -> list[tuple[Any, str, str]]:
    """Blank ids, and rows repeating an earlier row's id: Graph's ids are GUIDs, so case makes no other record."""
    cells = ids.to_numpy(dtype=object)
    listed = cells.tolist()
    try:
        joined: str | None = "\x00".join(listed)
    except TypeError:  # a missing (NaN) cell
        joined = None
    if joined is not None and joined.lower() == joined and len(joined.split()) <= 1:
        # No capital and no space anywhere (what Graph's GUIDs look like): every id is its own key.
        distinct = set(listed)
        if len(distinct) == len(listed) and "" not in distinct:
            return []  # the usual file: no id blank, none twice
        keys = cells
    else:
        keys = np.array([c.strip().lower() if type(c) is str else "" for c in cells.tolist()], dtype=object)
    blank = keys == ""
    out = [(row, "id", _ADDRESS_EMPTY) for row in ids.index[blank]]
    repeated = pd.Series(keys, index=ids.index).duplicated(keep=False).to_numpy() & ~blank
    first: dict[str, Any] = {}
    for row, key in zip(ids.index[repeated], keys[repeated].tolist(), strict=True):
        if key in first:
            out.append((row, "id", f"repeats row {first[key]} ({ids[first[key]]!r}): one row per record"))
        else:
            first[key] = row
    return out


def _foreign_cells(
    frame: pd.DataFrame, rows_of: dict[str, np.ndarray[Any, np.dtype[np.intp]]] | None = None
) -> list[tuple[Any, str, str]]:
    """Filled cells of properties the row's type does not have (checked on every row: such a cell is never sent)."""
    problems: list[tuple[Any, str, str]] = []
    for kind, rows in (kind_rows(frame["@odata.type"]) if rows_of is None else rows_of).items():
        model = UPDATE_MODELS[kind]
        updatable = {c for p in model.UPDATABLE for c in NESTED_COLUMNS.get(p, (p,))}
        for column in ACTIVITY_COLUMNS:
            if (
                column in frame.columns
                and column not in updatable
                and column not in ADDRESS_PROPERTIES
                and column not in READ_ONLY_PROPERTIES
            ):
                filled = rows[frame[column].notna().to_numpy(dtype=bool)[rows]]
                detail = f"is not a property of {kind.rsplit('.', 1)[1]}: leave it empty"
                problems.extend((row, column, detail) for row in frame.index[filled])
    return problems


def _allowed(model: Any, name: str) -> frozenset[str]:
    """The values a Literal field of an update model takes (the model is the one source)."""
    return frozenset(get_args(model.model_fields[name].annotation))


def _validate(frame: pd.DataFrame) -> list[tuple[Any, str, str]]:
    """The update model's rules, a column at a time; rows breaking one go through the model for its message."""
    problems: list[tuple[Any, str, str]] = []
    n = len(frame)
    index = frame.index
    suspect = np.zeros(n, dtype=bool)
    zones = known_time_zones()
    contents = frozenset(t.value for t in BodyType)
    rows_of = kind_rows(frame["@odata.type"])
    none = np.zeros(n, dtype=bool)

    def filled(name: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
        return frame[name].notna().to_numpy(dtype=bool) if name in frame.columns else none

    local, has_zone = filled(LOCAL_COLUMN), filled("dueDateTime.timeZone")
    if "completionPercentage" in frame.columns:
        percent = frame["completionPercentage"]
        suspect |= ((percent < 0) | (percent > 100)).fillna(False).to_numpy(dtype=bool)
    for kind, positions in rows_of.items():
        model = UPDATE_MODELS[kind]
        rows = np.zeros(n, dtype=bool)
        rows[positions] = True
        if "status" in frame.columns:
            status = filled("status")
            problems.extend((row, "status", "is required") for row in index[rows & ~status])
            suspect |= rows & status & ~frame["status"].isin(_allowed(model, "status")).to_numpy(dtype=bool)
        if "dueDateTime" in model.UPDATABLE:
            problems.extend(
                (row, "dueDateTime.timeZone", "is required when the other dueDateTime cell is filled")
                for row in index[rows & local & ~has_zone]
            )
            problems.extend(
                (row, LOCAL_COLUMN, "is required when the other dueDateTime cell is filled")
                for row in index[rows & has_zone & ~local]
            )
            if "dueDateTime.timeZone" in frame.columns:
                suspect |= rows & has_zone & ~frame["dueDateTime.timeZone"].isin(zones).to_numpy(dtype=bool)
        if "notes" in model.UPDATABLE and "notes.contentType" in frame.columns:
            cells = frame["notes.contentType"]
            suspect |= rows & filled("notes.contentType") & ~cells.isin(contents).to_numpy(dtype=bool)
    told = {row for row, _, _ in problems}
    suspects = frame[suspect & ~index.isin(list(told))]
    if len(suspects):
        try:
            validate_plans(_plans(suspects))
        except InvalidRowsError as exc:
            problems.extend((row, _PROPERTY_COLUMN.get(name, name), detail) for row, name, detail in exc.cells)
    return problems


# --- plans -------------------------------------------------------------------------


def unchanged_rows(frame: pd.DataFrame) -> pd.Series:
    """Which rows still hold the values they were exported with (their fingerprint is their ``@learnkit.etag``).

    >>> unchanged_rows(pd.DataFrame({"id": ["a"], "@odata.type": ["learningAssignment"]})).tolist()
    [False]
    """
    if ETAG_COLUMN not in frame.columns:
        none: pd.Series = pd.Series(False, index=frame.index)
        return none
    same = etags_match(frame, frame[ETAG_COLUMN].to_numpy(dtype=object))
    result: pd.Series = pd.Series(same, index=frame.index, dtype=bool)
    return result


def plans_from_frame(frame: pd.DataFrame) -> list[PatchPlan]:
    """One plan per edited row of a CSV frame (``read_csv``): the updatable properties whose cells were edited.

    Rows whose values are as exported (``unchanged_rows``) make no plan. A cell was edited
    when it no longer hashes to its part of the row's ``@learnkit.etag`` (what
    ``learnkit.bulk.plans.edited_only`` tells for one plan); a row without a fingerprint to tell
    by plans every updatable column it has. The PATCH body is worked out against the
    service at send time, so only cells that differ from the service are sent;
    ``@learnkit.etag`` (if present) is the base.

    Example: ``plans_from_frame(read_csv("edits.csv"))[0].base_etag``
    """
    if ETAG_COLUMN not in frame.columns:
        return _plans(frame)
    match, same = etag_differences(frame, frame[ETAG_COLUMN].to_numpy(dtype=object))
    return _plans(frame[~match], {p: rows[~match] for p, rows in same.items()})


def _plans(frame: pd.DataFrame, same: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] | None = None) -> list[PatchPlan]:
    """One plan per row of ``frame`` (already checked): ``edited_plans``, with the CSV's fingerprints as the base.

    ``same`` (``etag_differences``, for these rows) leaves out of each plan the properties
    whose cells still hold the exported values; without it every updatable column is planned.
    The read-only columns a row has are what it expects the service to hold.
    """
    if ETAG_COLUMN in frame.columns:
        exported = frame[ETAG_COLUMN].to_numpy(dtype=object, copy=True)
        exported[pd.isna(exported)] = None
        etags = [None if e is None else str(e) for e in exported.tolist()]
    else:
        etags = None
    edited = None if same is None else {p: ~rows for p, rows in same.items()}
    return edited_plans(frame, edited, etags=etags, expected=READ_ONLY_PROPERTIES)


class PlanList(Sequence[PatchPlan]):
    """The plans of a CSV's edited rows, made when first used: a read-only sequence of ``PatchPlan``.

    Every cell was checked before this exists (``plan_csv`` refuses a bad one), so making
    the plans can no longer fail: it is only the move from columns to one Python object
    per row, done once, the first time a plan is asked for (``bulk.apply`` lists them).
    ``len`` needs none made. Compares equal to a list of the same plans.

    >>> PlanList(pd.DataFrame()) == []
    True
    """

    def __init__(
        self, edited: pd.DataFrame, same: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] | None = None
    ) -> None:
        self._edited: pd.DataFrame | None = edited
        self._same = same
        self._plans: list[PatchPlan] | None = None
        self._count = len(edited)

    def _made(self) -> list[PatchPlan]:
        if self._plans is None:
            assert self._edited is not None
            self._plans = _plans(self._edited, self._same) if self._count else []
            self._edited = self._same = None  # the columns are not needed once the plans hold the values
        return self._plans

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> PatchPlan: ...

    @overload
    def __getitem__(self, index: slice) -> list[PatchPlan]: ...

    def __getitem__(self, index: int | slice) -> PatchPlan | list[PatchPlan]:
        return self._made()[index]

    def __iter__(self) -> Iterator[PatchPlan]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlanList):
            return self._made() == other._made()
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return self._made() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like a list

    def __repr__(self) -> str:
        return repr(self._made())


@dataclass(frozen=True)
class CsvPlans:
    """What an edited CSV asks for: ``plans`` for the edited rows, and how many rows were left as exported.

    ``unchanged`` rows make no plan (nothing of them is read or sent); ``extra_columns``
    are the sheet's own columns, kept aside. ``plans`` is a sequence (a ``PlanList`` from
    ``plan_csv``: the plan objects are made on first use).

    >>> CsvPlans([], rows=3, unchanged=3).summary()
    '3 rows: 0 edited, 3 as exported (skipped)'
    """

    plans: Sequence[PatchPlan]
    rows: int
    unchanged: int
    extra_columns: tuple[str, ...] = field(default=())
    read_by: str | None = None  # a sheet of keys and values: the key column its records were read by

    def summary(self) -> str:
        """One line for a person: rows, edited, skipped, the edited rows no conflict check covers (no
        ``@learnkit.etag``: a sheet learnkit did not export), and the columns kept aside.

        >>> CsvPlans([], rows=2, unchanged=2, read_by="id").summary()
        '2 rows: 0 to change, 2 already as the service holds them (skipped); records read by id'
        """
        unchecked = sum(1 for plan in self.plans if plan.base_etag is None)
        blind = (
            f"; {unchecked} without an @learnkit.etag, so no conflict check covers them (their values win)"
            if unchecked
            else ""
        )
        kept = f"; column(s) kept aside, not sent: {', '.join(self.extra_columns)}" if self.extra_columns else ""
        rows = f"{self.rows} row{'s' * (self.rows != 1)}"
        if self.read_by is not None:
            counts = f"{len(self.plans)} to change, {self.unchanged} already as the service holds them (skipped)"
            return f"{rows}: {counts}; records read by {self.read_by}{blind}{kept}"
        return f"{rows}: {len(self.plans)} edited, {self.unchanged} as exported (skipped){blind}{kept}"


def plan_csv(source: str | os.PathLike[str] | Any) -> CsvPlans:
    """Read, validate and plan an edited CSV in one pass (``read_csv`` then ``plans_from_frame``).

    Every cell is checked here (``InvalidRowsError`` names each bad one); the plan objects
    themselves are made when first used (``PlanList``).

    Example: ``edits = plan_csv("edits.csv"); print(edits.summary()); bulk.apply(client, edits.plans)``
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtraColumnsWarning)
        read = _read(source, typed=False)
    edited = ~read.unchanged.to_numpy()
    same = None if read.same is None else {p: rows[edited] for p, rows in read.same.items()}
    plans = PlanList(read.frame[edited], same)
    return CsvPlans(plans, rows=len(read.frame), unchanged=int(read.unchanged.sum()), extra_columns=read.extra_columns)
