"""The activity frame: one pandas type for every surface (a notebook, the widgets, CSV files).

The frame contract:

* **Columns** are ``ACTIVITY_COLUMNS``, in that order: Graph's property names, nested
  ones flattened with a dot (``dueDateTime.dateTime``, ``notes.content``). ``id`` is a
  column, not the index. Properties learnkit does not know (a future Graph's, or a
  spreadsheet's own columns) follow as extra columns and are kept.
* **Types**: ``completionPercentage`` is ``Int64``; the instants ``assignedDateTime``,
  ``completedDateTime`` and ``startedDateTime`` are ``datetime64[us, UTC]``;
  ``dueDateTime.dateTime`` is a naive ``datetime64[us]`` read in ``dueDateTime.timeZone``;
  the rest is text. Missing is ``NA``/``NaT``/``None``; the empty string is a value,
  not missing. Microseconds hold every date-time Graph accepts, years 1 to 9999
  (nanoseconds would stop at 1677 and 2262); a seventh fractional digit is dropped, as
  ``learnkit.bulk.fingerprints.canonical`` does, so it never counts as a change.
* **Index**: an integer row label. Positions ``0..n-1`` for a frame read from Graph;
  the spreadsheet row (the header is row 1) for a frame read from a CSV
  (``learnkit.bulk.csvfile``). Plans carry it as ``PatchPlan.row``.

``frame_to_activities`` turns a frame back into Graph JSON; ``wire_columns`` gives its
updatable properties' wire values a column at a time; ``due_instants`` places each due date by
``learnkit.times.zoned_instant``'s rule. The edited cells of a frame become plans in
``learnkit.bulk.edits``; fingerprints a column at a time are ``learnkit.bulk.fingerprints``'.

Example::

    df = read_activities(client, registration_id)
    frame_to_activities(df)[0]["status"]          # Graph JSON again
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from learnkit.errors import InvalidInputError
from learnkit.models import (
    INSTANT_PROPERTIES,
    normalize_odata_type,
)
from learnkit.times import graph_local, zone, zoned_instant

from ._columnar import (
    iso_matrix,
    parse_iso_cells,
)
from .cells import (
    LOCAL_COLUMN as LOCAL_COLUMN,  # the frame's name for it too
    typed_cell,
)

if TYPE_CHECKING:
    from learnkit.client import GraphClient

    from .sources import Source

__all__ = [
    "ACTIVITY_COLUMNS",
    "activities_frame",
    "frame_to_activities",
    "read_activities",
]

#: The frame's and the CSV's columns, in order; the first three address the record.
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "id",
    "@odata.type",
    "learningProviderId",
    "learnerUserId",
    "learningContentId",
    "externalcourseActivityId",
    "status",
    "completionPercentage",
    "assignedDateTime",
    "dueDateTime.dateTime",
    "dueDateTime.timeZone",
    "completedDateTime",
    "startedDateTime",
    "assignmentType",
    "assignerUserId",
    "notes.content",
    "notes.contentType",
)

NESTED_COLUMNS = {
    "dueDateTime": ("dueDateTime.dateTime", "dueDateTime.timeZone"),
    "notes": ("notes.content", "notes.contentType"),
}
FLATTENED_COLUMNS = frozenset(c for pair in NESTED_COLUMNS.values() for c in pair)
#: Every date-time column: the instants, then the local one.
DATETIME_COLUMNS: tuple[str, ...] = (*INSTANT_PROPERTIES, LOCAL_COLUMN)
#: Columns of text (everything but the date-times and the percentage).
TEXT_COLUMNS: tuple[str, ...] = tuple(
    c for c in ACTIVITY_COLUMNS if c not in DATETIME_COLUMNS and c != "completionPercentage"
)
NAT = np.iinfo(np.int64).min
_Hashes = np.ndarray[Any, np.dtype[np.uint32]]
# Years 1 to 9999 (Python's datetime, and .NET's behind Graph), in microseconds since 1970.
CALENDAR = (
    int(np.datetime64("0001-01-01T00:00:00", "us").view(np.int64)),
    int(np.datetime64("9999-12-31T23:59:59.999999", "us").view(np.int64)),
)


# --- JSON -> frame -----------------------------------------------------------------


def activities_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A typed DataFrame of activities' Graph JSON, one row each, columns as ``ACTIVITY_COLUMNS``.

    Properties learnkit does not know (a future Graph's) are kept as extra columns.

    >>> activities_frame([{"id": "a", "@odata.type": "#microsoft.graph.learningAssignment",
    ...                    "completionPercentage": 20}])["completionPercentage"].dtype
    Int64Dtype()
    """
    rows = items if isinstance(items, list) else list(items)
    # pandas builds the flat columns (and finds unknown keys) in C; only the two nested ones are split here.
    raw = pd.DataFrame(rows)
    columns: dict[str, Any] = {}
    for parent, (first, second) in NESTED_COLUMNS.items():
        values = raw.pop(parent).tolist() if parent in raw else []
        for column in (first, second):
            key = column.split(".")[1]
            columns[column] = [v.get(key) if isinstance(v, dict) else None for v in values] or None
    if "externalCourseActivityId" in raw:
        other = raw.pop("externalCourseActivityId")
        raw["externalcourseActivityId"] = (
            raw["externalcourseActivityId"].fillna(other) if "externalcourseActivityId" in raw else other
        )
    for name in ACTIVITY_COLUMNS:
        if name not in FLATTENED_COLUMNS:
            columns[name] = raw.get(name)
    extras = [key for key in raw.columns if key not in columns]
    frame = pd.DataFrame(
        {name: columns[name] for name in ACTIVITY_COLUMNS} | {key: raw[key] for key in extras},
        index=pd.RangeIndex(len(rows)),
    )
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast a frame's known columns to their dtypes (instants UTC, due date naive, Int64)."""
    for name in DATETIME_COLUMNS:
        values, problems = parse_datetimes(frame[name], aware=name != LOCAL_COLUMN)
        if problems.notna().any():
            label = problems.first_valid_index()
            detail: str = str(problems[label])
            raise InvalidInputError(name, "invalid", f"row {label!r}: {detail}")
        frame[name] = values
    try:
        frame["completionPercentage"] = pd.array(frame["completionPercentage"].tolist(), dtype="Int64")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("completionPercentage", "invalid", f"not an integer: {exc}") from None
    return frame


def parse_datetimes(texts: pd.Series, *, aware: bool) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 texts as ``datetime64[us, UTC]`` (``aware``) or naive ``datetime64[us]``, and what is wrong.

    Returns ``(values, problems)``: ``problems`` holds a message for each cell refused
    (not ISO 8601, not a real date, no offset for an instant, an offset for a local time,
    an instant outside years 1 to 9999 in UTC) and ``None`` elsewhere; a refused cell is
    ``NaT``. Missing cells are ``NaT`` with no problem. Values already parsed
    (``datetime``/``Timestamp``) are taken as they are. Cells in Graph's own shapes are
    parsed a whole column at a time (``learnkit.bulk._columnar``); the rest one by one by
    ``learnkit.bulk.cells.typed_cell``, which says what is wrong with a cell.

    >>> values, problems = parse_datetimes(pd.Series(["9999-12-31T00:00:00Z", "soon", None]), aware=True)
    >>> values.dt.year.tolist(), problems.tolist()[1][:6]
    ([9999.0, nan, nan], "'soon'")
    """
    if isinstance(texts.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(texts.dtype):
        moments = texts.dt.tz_convert("UTC") if aware and texts.dt.tz is not None else texts
        if aware and texts.dt.tz is None:
            moments = texts.dt.tz_localize("UTC")
        typed = moments.astype("datetime64[us, UTC]") if aware else moments.astype("datetime64[us]")
        return typed, pd.Series(None, index=texts.index, dtype=object)
    # Each distinct text once (a column of dates repeats itself: assigned in bulk, due at month ends).
    codes, distinct = pd.factorize(texts.to_numpy(dtype=object))
    cells = np.asarray(distinct, dtype=object)
    found = np.full(len(cells) + 1, NAT, dtype=np.int64)  # the last one for missing cells (code -1)
    told = np.full(len(cells) + 1, None, dtype=object)
    parsed, fast = parse_iso_cells(cells.tolist(), aware=aware)
    found[:-1][fast] = parsed[fast]
    # Another spelling, or a cell to refuse with its reason: one by one, the reference way.
    for position in np.flatnonzero(~fast).tolist():
        found[position], told[position] = _parse_one(cells[position], aware=aware)
    micros, problems = found[codes], told[codes]
    values = pd.Series(micros.view("datetime64[us]"), index=texts.index)
    if aware:
        values = values.dt.tz_localize("UTC")
    return values, pd.Series(problems, index=texts.index, dtype=object)


def _parse_one(value: Any, *, aware: bool) -> tuple[int, str | None]:
    """One cell as microseconds since the epoch (UTC for an instant), or NaT and why not (``typed_cell``'s words)."""
    if aware and isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # a value already typed (not text): naive is UTC, as pandas reads it
    try:
        stamp = typed_cell(LOCAL_COLUMN, value, kind="instant" if aware else "local")
    except ValueError as exc:
        return NAT, str(exc)
    if stamp is None:
        return NAT, None
    naive = stamp.tz_localize(None) if aware else stamp
    return int(naive.to_datetime64().astype("datetime64[us]").view(np.int64)), None


def read_activities(
    client: GraphClient,
    registration_id: str,
    *,
    source: Source | None = None,
    page_size: int = 999,
    on_records: Callable[[int], object] | None = None,
) -> pd.DataFrame:
    """A provider's activities as a typed frame: those ``source`` names, or all of them from the provider's list.

    ``source`` is one of ``learnkit.bulk.sources``: ``ExternalIds([...])``, ``ActivityIds([...])``,
    ``Learners([...])`` (delegated) or ``ProviderList()``. Without one, the provider's list is read
    (``$top=page_size`` a page) where the service serves it, and ``SourceRequiredError`` is raised where
    it does not. What was asked for and not found is ``frame.attrs["not_found"]`` (ids, keys or learner
    ids, as given), the ids of records left out as another provider's ``frame.attrs["other_provider"]``,
    the source's name ``frame.attrs["source"]``; pandas keeps ``attrs`` through copies and selections.
    ``on_records(n)`` hears how many records are read so far, as pages or batches arrive.

    Example: ``read_activities(client, reg, source=ExternalIds(["k-1", "k-2"])).attrs["not_found"]``
    """
    from .sources import NOT_FOUND, OTHER_PROVIDER, SOURCE, read_records

    records = read_records(client, registration_id, source, page_size=page_size, on_records=on_records)
    frame = activities_frame(records.items)
    frame.attrs.update({NOT_FOUND: records.not_found, OTHER_PROVIDER: records.other_provider, SOURCE: records.source})
    return frame


# --- frame -> JSON -----------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """Whether a cell is missing (None, NaN, NA, NaT); the empty string is a value."""
    return value is None or (not isinstance(value, (str, Mapping, list)) and bool(pd.isna(value)))


def _wire(name: str, value: Any) -> Any:
    """One frame cell in Graph's JSON form."""
    if is_missing(value):
        return None
    if name in INSTANT_PROPERTIES:
        return instant_text(value, name)
    if name == "completionPercentage":
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def instant_text(value: Any, field: str = "value") -> str:
    """An aware instant as ISO text; a naive one is refused naming ``field`` (``InvalidInputError``)."""
    moment: datetime = pd.Timestamp(value).to_pydatetime()
    if moment.tzinfo is None:
        raise InvalidInputError(field, "invalid", f"{moment.isoformat()} has no time zone: an instant needs one")
    return moment.isoformat()


def _local_text(value: Any) -> str:
    moment: datetime = pd.Timestamp(value).to_pydatetime()
    return graph_local(moment)


def row_property(row: Mapping[Any, Any], name: str) -> Any:
    """The wire value of one updatable property from a frame row (nested ones rebuilt)."""
    if name == "dueDateTime":
        local, zone_name = row.get("dueDateTime.dateTime"), row.get("dueDateTime.timeZone")
        if is_missing(local) and is_missing(zone_name):
            return None
        return {
            "dateTime": None if is_missing(local) else _local_text(local),
            "timeZone": None if is_missing(zone_name) else zone_name,
        }
    if name == "notes":
        content, kind = row.get("notes.content"), row.get("notes.contentType")
        if is_missing(content) and is_missing(kind):
            return None
        return {
            "contentType": "text" if is_missing(kind) else kind,
            "content": None if is_missing(content) else content,
        }
    return _wire(name, row.get(name))


def wire_columns(frame: pd.DataFrame, properties: Iterable[str]) -> dict[str, list[Any]]:
    """``row_property`` for every row at once: each property's wire values, a list per property.

    >>> wire_columns(activities_frame([{"id": "a", "completionPercentage": 5}]), ["completionPercentage"])
    {'completionPercentage': [5]}
    """
    n = len(frame)

    def cells(name: str) -> list[Any]:
        if name not in frame.columns:
            return [None] * n
        values = frame[name].to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        listed: list[Any] = values.tolist()
        return listed

    out: dict[str, list[Any]] = {}
    for name in properties:
        if name in INSTANT_PROPERTIES:
            out[name] = iso_texts(frame[name], "+00:00").tolist() if name in frame.columns else [None] * n
        elif name == "completionPercentage":
            numbers = frame[name].astype("Int64") if name in frame.columns else None
            out[name] = [None] * n if numbers is None else numbers.astype(object).where(numbers.notna(), None).tolist()
        elif name == "dueDateTime":
            local = (
                [None if t is None else t + "0" for t in _local_texts(frame[LOCAL_COLUMN])]
                if LOCAL_COLUMN in frame.columns
                else [None] * n
            )
            zones = cells("dueDateTime.timeZone")
            out[name] = [
                None if t is None and z is None else {"dateTime": t, "timeZone": z}
                for t, z in zip(local, zones, strict=True)
            ]
        elif name == "notes":
            out[name] = [
                None if c is None and k is None else {"contentType": "text" if k is None else k, "content": c}
                for c, k in zip(cells("notes.content"), cells("notes.contentType"), strict=True)
            ]
        else:
            values = cells(name)
            # NumPy scalars (a frame built by hand) become plain Python values; text is already plain.
            if any(issubclass(kind, np.generic) for kind in set(map(type, values))):
                values = [v.item() if isinstance(v, np.generic) else v for v in values]
            out[name] = values
    return out


def _local_texts(values: pd.Series) -> list[str | None]:
    """Local date-times with six fractional digits (Graph adds a seventh), None for NaT."""
    texts: list[str | None] = _iso(micros_of(values), trim=False).tolist()
    return texts


def row_activity(row: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ACTIVITY_COLUMNS:
        if name in FLATTENED_COLUMNS:
            continue
        value = _wire(name, row.get(name))
        if value is not None:
            out[name] = value
    for parent in NESTED_COLUMNS:
        value = row_property(row, parent)
        if value is not None:
            out[parent] = value
    for name, value in row.items():
        # Extra columns (a future Graph's properties) go back as they came; learnkit's own (@learnkit.*) do not.
        known = name in out or name in FLATTENED_COLUMNS or name in ACTIVITY_COLUMNS
        if isinstance(name, str) and not known and not name.startswith("@learnkit.") and not is_missing(value):
            out[name] = _wire(name, value)
    return out


def frame_to_activities(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Graph JSON for each row of an activities frame (missing values left out).

    ``frame_to_activities(activities_frame(items))`` gives back the items' values
    (date-times as UTC ISO text, the same instants).

    >>> frame_to_activities(activities_frame([{"id": "a", "notes": {"contentType": "text", "content": "hi"}}]))
    [{'id': 'a', 'notes': {'contentType': 'text', 'content': 'hi'}}]
    """
    return [row_activity(row) for row in frame.to_dict("records")]


# --- ISO text and fingerprints, a column at a time ------------------------------------


def iso_texts(values: pd.Series, suffix: str = "") -> np.ndarray[Any, np.dtype[np.object_]]:
    """Date-time cells as ISO text (seconds, plus microseconds when there are some), ``suffix`` after; None for NaT.

    >>> iso_texts(pd.Series(pd.to_datetime(["2024-01-02T03:04:05.5"])).astype("datetime64[us]"), "Z").tolist()
    ['2024-01-02T03:04:05.500000Z']
    """
    return _iso(micros_of(values), suffix, trim=True)


def _iso(
    micros: np.ndarray[Any, np.dtype[np.int64]], suffix: str = "", *, trim: bool
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """ISO text of each date-time (``trim``: without a fraction when there is none), ``suffix`` after; None for NaT."""
    out = np.full(len(micros), None, dtype=object)
    inside = (micros >= CALENDAR[0]) & (micros <= CALENDAR[1])
    rows = np.flatnonzero(inside)
    if len(rows):
        # One byte matrix for the column, cut into cells: "YYYY-MM-DDTHH:MM:SS" is 19 characters, ".ffffff" 7 more.
        text = iso_matrix(micros[rows]).tobytes().decode("ascii")
        starts = np.arange(0, 26 * len(rows), 26)
        ends = starts + np.where(micros[rows] % 1_000_000 == 0, 19, 26) if trim else starts + 26
        out[rows] = [text[a:b] + suffix for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    beyond = np.flatnonzero(~inside & (micros != NAT))
    if len(beyond):  # a frame's own date-time past year 9999: as NumPy writes it
        texts = np.datetime_as_string(micros[beyond].view("datetime64[us]"), unit="us").tolist()
        whole = (micros[beyond] % 1_000_000 == 0).tolist()
        out[beyond] = [(t[: t.index(".")] if w and trim else t) + suffix for t, w in zip(texts, whole, strict=True)]
    return out


def micros_of(values: pd.Series) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Microseconds since the epoch (UTC for aware columns), ``NAT`` for missing."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert(None)  # UTC, naive
    elif not pd.api.types.is_datetime64_dtype(values.dtype):
        values, _ = parse_datetimes(values, aware=False)
    micros: np.ndarray[Any, np.dtype[np.int64]] = values.to_numpy(dtype="datetime64[us]").view(np.int64)
    return micros


# Local times this far from the calendar's ends may name an instant outside it: one by one.
_SAFE_LOCAL = (np.datetime64("0001-01-03", "us").view(np.int64), np.datetime64("9999-12-29", "us").view(np.int64))


def local_instants(
    micros: np.ndarray[Any, np.dtype[np.int64]], zones: np.ndarray[Any, np.dtype[np.object_]] | None
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.bool_]]]:
    """The instant each local date-time names in its zone (µs since 1970 in UTC), by ``times.zoned_instant``'s rule.

    ``micros`` are naive local date-times (``NAT`` for none), ``zones`` their zone names
    (a missing or empty one is UTC, as ``learnkit.bulk.fingerprints.canonical`` reads it). Returns the
    instants and whether each was placed: False where the zone is unknown or the instant
    falls outside the years 1 to 9999 (its instant is ``NAT``). pandas places a zone's
    rows at once; the times it cannot place for certain (a gap or an overlap, near the
    calendar's ends) go through ``zoned_instant`` itself, so there is one rule.

    >>> at = np.array([np.datetime64("2024-11-03T01:30", "us").view(np.int64)])
    >>> str(local_instants(at, np.array(["Pacific Standard Time"], dtype=object))[0].view("datetime64[us]")[0])
    '2024-11-03T08:30:00.000000'
    """
    n = len(micros)
    out = np.full(n, NAT, dtype=np.int64)
    placed = np.ones(n, dtype=bool)
    codes, named = pd.factorize(np.full(n, None, dtype=object) if zones is None else zones)
    labels = [z if isinstance(z, str) and z else "UTC" for z in named.tolist()]
    by_label: dict[str, list[int]] = {"UTC": [-1]}
    for code, label in enumerate(labels):
        by_label.setdefault(label, []).append(code)
    dated = micros != NAT
    for label, label_codes in by_label.items():
        rows = np.flatnonzero(np.isin(codes, label_codes) & dated)
        if not len(rows):
            continue
        try:
            key = zone(label).key
        except ValueError:
            placed[rows] = False
            continue
        inside = (micros[rows] >= _SAFE_LOCAL[0]) & (micros[rows] <= _SAFE_LOCAL[1])
        fast = rows[inside]
        out[fast] = (
            pd.Series(micros[fast].view("datetime64[us]"))
            .dt.tz_localize(key, ambiguous="NaT", nonexistent="NaT")
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
            .to_numpy(dtype="datetime64[us]")
            .view(np.int64)
        )
        for row in [*rows[~inside].tolist(), *fast[out[fast] == NAT].tolist()]:
            wall: datetime = micros[row : row + 1].view("datetime64[us]")[0].item()
            try:
                moment = zoned_instant(wall, key).astimezone(timezone.utc).replace(tzinfo=None)
            except OverflowError:
                placed[row] = False
                continue
            out[row] = int(np.datetime64(moment, "us").view(np.int64))
    return out, placed


def due_instants(frame: pd.DataFrame) -> pd.Series:
    """``dueDateTime`` as UTC instants (``datetime64[us, UTC]``), a column at a time: ``local_instants``.

    ``NaT`` where there is no due date, its zone is unknown, or the instant is outside the years 1 to 9999.

    >>> f = activities_frame([{"id": "a", "dueDateTime": {"dateTime": "2024-07-01T12:00:00",
    ...                                                   "timeZone": "Romance Standard Time"}}])
    >>> str(due_instants(f)[0])
    '2024-07-01 10:00:00+00:00'
    """
    if LOCAL_COLUMN not in frame.columns:
        none: pd.Series = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
        return none
    zones = frame["dueDateTime.timeZone"].to_numpy(dtype=object) if "dueDateTime.timeZone" in frame.columns else None
    instants, placed = local_instants(micros_of(frame[LOCAL_COLUMN]), zones)
    instants[~placed] = NAT
    result: pd.Series = pd.Series(instants.view("datetime64[us]"), index=frame.index).dt.tz_localize("UTC")
    return result


def kind_rows(types: pd.Series) -> dict[str, np.ndarray[Any, np.dtype[np.intp]]]:
    """The positions of the rows of each update model's type (``@odata.type`` in any spelling it accepts).

    >>> kind_rows(pd.Series(["learningAssignment", None, "#microsoft.graph.learningAssignment"]))
    {'#microsoft.graph.learningAssignment': array([0, 2])}
    """
    codes, named = pd.factorize(types.to_numpy(dtype=object))
    kinds: list[str | None] = []
    for value in named.tolist():
        try:
            kinds.append(normalize_odata_type(value))
        except InvalidInputError:
            kinds.append(None)
    return rows_by_kind(codes, kinds)


def rows_by_kind(
    codes: np.ndarray[Any, np.dtype[np.intp]], kinds: Sequence[str | None]
) -> dict[str, np.ndarray[Any, np.dtype[np.intp]]]:
    """``kind_rows`` from a factorised ``@odata.type`` column and the type each code names (None: none).

    >>> rows_by_kind(np.array([0, -1, 1, 0]), ["#t", "#t"])
    {'#t': array([0, 2, 3])}
    """
    out: dict[str, np.ndarray[Any, np.dtype[np.intp]]] = {}
    for code, kind in enumerate(kinds):
        if kind is not None:
            rows = np.flatnonzero(codes == code)
            out[kind] = np.union1d(out[kind], rows) if kind in out else rows
    return out


def row_label(label: Any) -> int:
    try:
        return int(label)
    except (TypeError, ValueError):
        raise InvalidInputError("index", "invalid", f"row labels must be integers, got {label!r}") from None
