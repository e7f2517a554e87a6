"""Course activities to and from pandas, CSV files, and the diff of an edited frame into patch plans.

A frame has one row per activity and one column per Graph property, nested ones
flattened with a dot (``dueDateTime.dateTime``, ``notes.content``), typed:
``completionPercentage`` is ``Int64``, ``assignedDateTime``/``completedDateTime``/
``startedDateTime`` are aware ``datetime64[us, UTC]``, ``dueDateTime.dateTime`` is a
naive ``datetime64[us]`` read in ``dueDateTime.timeZone``; missing is ``NA``/``NaT``.

A CSV has the same columns plus ``@learnkit.etag``, a fingerprint of the row's
updatable values as exported: a plan made from the row is refused as a conflict
when the service no longer holds those values.

Example::

    df = read_activities(client, registration_id)
    edited = df.copy()
    edited.loc[edited["status"] == "notStarted", "completionPercentage"] = 0
    plans = diff(df, edited)          # list[PatchPlan], only the edited cells
"""

from __future__ import annotations

import hashlib
import json
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from learnkit.errors import InvalidInputError
from learnkit.models import (
    UPDATE_MODELS,
    normalize_odata_type,
    parse_update,
)
from learnkit.update import minimal_patch

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = [
    "ACTIVITY_COLUMNS",
    "ETAG_COLUMN",
    "InvalidRowsError",
    "PatchPlan",
    "activities_frame",
    "activity_etag",
    "canonical",
    "diff",
    "frame_to_activities",
    "plans_from_frame",
    "read_activities",
    "read_csv",
    "write_csv",
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
#: The CSV column holding the fingerprint of the values a row was exported with.
ETAG_COLUMN = "@learnkit.etag"

_INSTANTS = ("assignedDateTime", "completedDateTime", "startedDateTime")
_NESTED = {
    "dueDateTime": ("dueDateTime.dateTime", "dueDateTime.timeZone"),
    "notes": ("notes.content", "notes.contentType"),
}
_ADDRESS = ("id", "@odata.type", "learningProviderId")
#: Identity properties: never sent; a CSV row that changes one is refused when checked.
_READ_ONLY = ("learnerUserId", "learningContentId", "externalcourseActivityId", "assignmentType", "assignerUserId")
_STRINGS = tuple(c for c in ACTIVITY_COLUMNS if c not in (*_INSTANTS, "completionPercentage", "dueDateTime.dateTime"))
_FLATTENED = frozenset(c for pair in _NESTED.values() for c in pair)


class InvalidRowsError(InvalidInputError):
    """Cells refused before anything was sent; ``.cells`` lists (row, column, detail) for each.

    ``.field`` is the first bad column and ``.row`` its row (a CSV's spreadsheet row:
    the header is row 1).

    >>> InvalidRowsError([(3, "completionPercentage", "'x' is not a whole number")]).cells[0][:2]
    (3, 'completionPercentage')
    """

    def __init__(self, cells: Sequence[tuple[Any, str, str]]) -> None:
        self.cells = list(cells)
        self.row = self.cells[0][0]
        shown = "; ".join(f"row {row}, {col}: {detail}" for row, col, detail in self.cells[:20])
        more = f"; and {len(self.cells) - 20} more" if len(self.cells) > 20 else ""
        super().__init__(
            self.cells[0][1],
            "invalid",
            shown + more,
            tuple((f"row {row}, {col}", "invalid", detail) for row, col, detail in self.cells),
        )
        self.args = (f"{len(self.cells)} bad cell(s), nothing sent: {shown}{more}",)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class PatchPlan:
    """One record's intended change: where it goes, the values wanted, and what it was based on.

    ``changes`` holds wire-form values of updatable properties (``{"completionPercentage": 40}``);
    the PATCH body is ``minimal_patch(current, changes)`` at send time. ``base_etag`` is
    ``activity_etag`` of the values the plan was based on (None: unknown, not checked);
    ``expect`` holds read-only properties the row expects the service to hold.

    >>> PatchPlan(2, "reg", "act", "#microsoft.graph.learningAssignment", {"completionPercentage": 40}).fields
    ('completionPercentage',)
    """

    row: int
    registration_id: str
    activity_id: str
    odata_type: str
    changes: Mapping[str, Any]
    base_etag: str | None = None
    expect: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        """The properties this plan sets."""
        return tuple(self.changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (the journal stores plans this way)."""
        return {
            "row": self.row,
            "registration_id": self.registration_id,
            "activity_id": self.activity_id,
            "odata_type": self.odata_type,
            "changes": dict(self.changes),
            "base_etag": self.base_etag,
            "expect": dict(self.expect),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PatchPlan:
        """The inverse of ``to_json``."""
        return cls(
            int(data["row"]),
            str(data["registration_id"]),
            str(data["activity_id"]),
            str(data["odata_type"]),
            dict(data["changes"]),
            data.get("base_etag"),
            dict(data.get("expect") or {}),
        )


# --- canonical values and the etag ---------------------------------------------------

_ISO = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}:?\d{2})?\s*"
)


def _parse_iso(text: str) -> datetime:
    """A datetime from ISO 8601 text (any fraction length; naive if no offset); ValueError if not one."""
    found = _ISO.fullmatch(text)
    if not found:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time like 2021-05-11T22:57:17+00:00")
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = None
    if offset:
        if offset in ("Z", "z"):
            tz = timezone.utc
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tz)


def _instant(value: Any) -> str | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else _parse_iso(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _due_instant(value: Any) -> str | None:
    if not isinstance(value, Mapping) or value.get("dateTime") is None:
        return None
    from tzlocal.windows_tz import win_tz

    zone = str(value.get("timeZone") or "UTC")
    local = _parse_iso(str(value["dateTime"])).replace(tzinfo=None)
    return _instant(local.replace(tzinfo=zoneinfo.ZoneInfo(win_tz.get(zone, zone))))


def canonical(activity: Mapping[str, Any]) -> dict[str, Any]:
    """The updatable values of an activity's JSON in a form where equal meaning compares equal.

    Date-times become UTC instants, ``dueDateTime`` the instant it names, ``notes``
    a ``[contentType, content]`` pair.

    >>> canonical({"@odata.type": "#microsoft.graph.learningSelfInitiatedCourse", "status": "completed",
    ...            "completedDateTime": "2024-01-02T03:04:05+01:00"})["completedDateTime"]
    '2024-01-02T02:04:05.000000+00:00'
    """
    kind = normalize_odata_type(activity.get("@odata.type"))
    out: dict[str, Any] = {"@odata.type": kind}
    for name in UPDATE_MODELS[kind].UPDATABLE:
        value = activity.get(name)
        if name in _INSTANTS:
            out[name] = _instant(value)
        elif name == "dueDateTime":
            out[name] = _due_instant(value)
        elif name == "notes":
            pair = [value.get("contentType") or "text", value.get("content")] if isinstance(value, Mapping) else None
            out[name] = pair
        else:
            out[name] = getattr(value, "value", value)
    return out


def activity_etag(activity: Mapping[str, Any]) -> str:
    """A short fingerprint of an activity's updatable values (``canonical``), for conflict checks.

    >>> len(activity_etag({"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress"}))
    16
    """
    text = json.dumps(canonical(activity), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
    for parent, (first, second) in _NESTED.items():
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
        if name not in _FLATTENED:
            columns[name] = raw.get(name)
    extras = [key for key in raw.columns if key not in columns]
    frame = pd.DataFrame(
        {name: columns[name] for name in ACTIVITY_COLUMNS} | {key: raw[key] for key in extras},
        index=pd.RangeIndex(len(rows)),
    )
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast a frame's known columns to their dtypes (instants UTC, due date naive, Int64)."""
    for name in _INSTANTS:
        frame[name] = _datetimes(frame[name], name, utc=True)
    frame["dueDateTime.dateTime"] = _datetimes(frame["dueDateTime.dateTime"], "dueDateTime.dateTime", utc=False)
    try:
        frame["completionPercentage"] = pd.array(frame["completionPercentage"].tolist(), dtype="Int64")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("completionPercentage", "invalid", f"not an integer: {exc}") from None
    return frame


def _datetimes(column: pd.Series, name: str, *, utc: bool) -> pd.Series:
    if column.isna().all():
        dtype = "datetime64[us, UTC]" if utc else "datetime64[us]"
        empty: pd.Series = pd.Series(pd.NaT, index=column.index, dtype=dtype)
        return empty
    try:
        parsed = pd.to_datetime(column, utc=utc, format="ISO8601")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(name, "invalid", f"not an ISO 8601 date-time: {exc}") from None
    return parsed.dt.as_unit("us")


def read_activities(client: GraphClient, registration_id: str, *, page_size: int = 999) -> pd.DataFrame:
    """Every activity of a provider, all pages (``$top=page_size`` each), as a typed frame.

    Example: ``read_activities(client, sb.demo["registration_id"])``
    """
    return activities_frame(client.list_provider_activities_json(registration_id, top=page_size))


# --- frame -> JSON -----------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, Mapping, list)) and bool(pd.isna(value)))


def _wire(name: str, value: Any) -> Any:
    """One frame cell in Graph's JSON form."""
    if _missing(value):
        return None
    if name in _INSTANTS:
        return _instant_text(value)
    if name == "completionPercentage":
        return int(value)
    return value


def _instant_text(value: Any) -> str:
    moment: datetime = pd.Timestamp(value).to_pydatetime()
    if moment.tzinfo is None:
        raise ValueError("naive")
    return moment.isoformat()


def _local_text(value: Any) -> str:
    moment: datetime = pd.Timestamp(value).to_pydatetime()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def _row_property(row: Mapping[Any, Any], name: str) -> Any:
    """The wire value of one updatable property from a frame row (nested ones rebuilt)."""
    if name == "dueDateTime":
        local, zone = row.get("dueDateTime.dateTime"), row.get("dueDateTime.timeZone")
        if _missing(local) and _missing(zone):
            return None
        return {
            "dateTime": None if _missing(local) else _local_text(local),
            "timeZone": None if _missing(zone) else zone,
        }
    if name == "notes":
        content, kind = row.get("notes.content"), row.get("notes.contentType")
        if _missing(content) and _missing(kind):
            return None
        return {"contentType": "text" if _missing(kind) else kind, "content": None if _missing(content) else content}
    return _wire(name, row.get(name))


def _row_activity(row: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ACTIVITY_COLUMNS:
        if name in _FLATTENED:
            continue
        value = _wire(name, row.get(name))
        if value is not None:
            out[name] = value
    for parent in _NESTED:
        value = _row_property(row, parent)
        if value is not None:
            out[parent] = value
    return out


def frame_to_activities(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Graph JSON for each row of an activities frame (missing values left out).

    >>> frame_to_activities(activities_frame([{"id": "a", "notes": {"contentType": "text", "content": "hi"}}]))
    [{'id': 'a', 'notes': {'contentType': 'text', 'content': 'hi'}}]
    """
    return [_row_activity(row) for row in frame.to_dict("records")]


# --- the diff ----------------------------------------------------------------------


def _differs(before: pd.Series, after: pd.Series) -> pd.Series:
    both_missing = before.isna() & after.isna()
    equal = (before == after).fillna(False).astype(bool)
    return ~(equal | both_missing)


def diff(before: pd.DataFrame, after: pd.DataFrame) -> list[PatchPlan]:
    """Patch plans for the cells edited between ``before`` (as read) and ``after``, matched by ``id``.

    Each plan carries only the edited properties, validated (``InvalidRowsError`` names
    every bad cell), and the etag of the row as read. Rows whose edits change nothing
    Graph would see (the same instant spelled another way) give no plan.

    >>> a = activities_frame([{"id": "x", "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
    ...                        "learningProviderId": "p", "status": "inProgress", "completionPercentage": 10}])
    >>> b = a.copy(); b.loc[0, "completionPercentage"] = 40
    >>> [p.changes for p in diff(a, b)]
    [{'completionPercentage': 40}]
    """
    for name, frame in (("before", before), ("after", after)):
        if "id" not in frame.columns:
            raise InvalidInputError("id", "required", f"the {name} frame has no id column")
        duplicated = frame["id"][frame["id"].duplicated()]
        if len(duplicated):
            raise InvalidInputError("id", "invalid", f"the {name} frame repeats id {duplicated.iloc[0]!r}")
    old = before.set_index("id", drop=False)
    unknown = after["id"][~after["id"].isin(old.index)]
    if len(unknown):
        raise InvalidRowsError([(unknown.index[0], "id", f"{unknown.iloc[0]!r} is not in the frame as read")])
    old = old.loc[after["id"].to_numpy()]
    old.index = after.index
    editable = [c for c in ACTIVITY_COLUMNS if c not in _ADDRESS and c not in _READ_ONLY]
    changed = pd.DataFrame(
        {c: _differs(old[c], after[c]) if c in after.columns else False for c in editable}, index=after.index
    )
    touched = changed.any(axis=1)
    for c in (*_ADDRESS, *_READ_ONLY):
        if c in after.columns and c != "id":
            moved = _differs(old[c], after[c])
            if moved.any():
                row = moved[moved].index[0]
                raise InvalidRowsError([(row, c, "is read-only: it identifies the record and cannot be changed")])
    plans: list[PatchPlan] = []
    problems: list[tuple[Any, str, str]] = []
    old_records = old[touched].to_dict("index")
    new_records = after[touched].to_dict("index")
    flags = changed[touched].to_dict("index")
    for label, new in new_records.items():
        base = _row_activity(old_records[label])
        kind = base.get("@odata.type")
        try:
            kind = normalize_odata_type(kind)
        except InvalidInputError as exc:
            problems.append((label, "@odata.type", exc.detail))
            continue
        model = UPDATE_MODELS[kind]
        edited = {col for col, flag in flags[label].items() if flag}
        wanted: dict[str, Any] = {}
        for prop in model.UPDATABLE:
            columns = _NESTED.get(prop, (prop,))
            if edited & set(columns):
                wanted[prop] = _row_property(new, prop)
        for col in edited:
            if not any(col in _NESTED.get(p, (p,)) for p in model.UPDATABLE):
                problems.append((label, col, f"is not a property of {kind.rsplit('.', 1)[1]} that can be updated"))
        if not wanted:
            continue
        try:
            body = minimal_patch(base, wanted)
        except InvalidInputError as exc:
            problems.extend((label, f, d) for f, _, d in exc.problems)
            continue
        if body is None:
            continue
        plans.append(
            PatchPlan(
                row=_row_label(label),
                registration_id=str(new.get("learningProviderId") or ""),
                activity_id=str(new["id"]),
                odata_type=kind,
                changes=wanted,
                base_etag=activity_etag(base),
            )
        )
    if problems:
        raise InvalidRowsError(problems)
    _require_addresses(plans)
    return plans


def _row_label(label: Any) -> int:
    try:
        return int(label)
    except (TypeError, ValueError):
        raise InvalidInputError("index", "invalid", f"row labels must be integers, got {label!r}") from None


def _require_addresses(plans: Sequence[PatchPlan]) -> None:
    missing = [(p.row, "learningProviderId", "is required to address the record")
               for p in plans if not p.registration_id]
    if missing:
        raise InvalidRowsError(missing)


# --- CSV ---------------------------------------------------------------------------


def write_csv(frame: pd.DataFrame, path: str | Path | Any) -> None:
    """Write an activities frame as CSV: Graph's property names, ISO 8601 date-times, and ``@learnkit.etag``.

    The etag is computed from the frame's values, unless the frame has one already
    (it was read with ``read_csv``): then that one is kept.

    Example: ``write_csv(read_activities(client, reg), "activities.csv")``
    """
    out = pd.DataFrame(index=frame.index)
    for name in ACTIVITY_COLUMNS:
        column = frame[name] if name in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        if name in _INSTANTS:
            out[name] = [None if _missing(v) else _instant_text(v) for v in column]
        elif name == "dueDateTime.dateTime":
            out[name] = [None if _missing(v) else pd.Timestamp(v).isoformat() for v in column]
        elif name == "completionPercentage":
            out[name] = column.astype("Int64")
        else:
            out[name] = column
    if ETAG_COLUMN in frame.columns:
        # A frame read from a CSV keeps the etags it was exported with: they name the base, not the edit.
        out[ETAG_COLUMN] = frame[ETAG_COLUMN]
    else:
        out[ETAG_COLUMN] = [activity_etag(activity) for activity in frame_to_activities(frame)]
    out.to_csv(path, index=False)


_OFFSET = re.compile(r".*(Z|z|[+-]\d{2}:?\d{2})\s*")


def read_csv(path: str | Path | Any) -> pd.DataFrame:
    """Read and validate a CSV of activities into a typed frame indexed by spreadsheet row (header = 1).

    An empty cell is null (a blanked value); a column left out is left unchanged.
    Every bad cell is refused at once, before anything is sent: ``InvalidRowsError``
    names each row and column.

    Example: ``read_csv("edits.csv").loc[2, "completionPercentage"]``
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    raw.index = pd.RangeIndex(2, 2 + len(raw), name="row")
    problems: list[tuple[Any, str, str]] = []
    unknown = [c for c in raw.columns if c not in ACTIVITY_COLUMNS and c != ETAG_COLUMN]
    if unknown:
        raise InvalidInputError(
            unknown[0], "invalid", f"unknown column {unknown[0]!r}: columns are Graph's property names, e.g. "
            + ", ".join(ACTIVITY_COLUMNS[:8])
        )
    for name in _ADDRESS:
        if name not in raw.columns:
            raise InvalidInputError(name, "required", f"the CSV needs a {name!r} column to address each record")
    frame: pd.DataFrame = pd.DataFrame(index=raw.index)
    for name in raw.columns:
        cells = raw[name].str.strip()
        blank = cells == ""
        if name in _INSTANTS or name == "dueDateTime.dateTime":
            frame[name] = _csv_datetimes(cells, blank, name, problems)
        elif name == "completionPercentage":
            frame[name] = _csv_integers(cells, blank, name, problems)
        else:
            frame[name] = cells.where(~blank, None)
    for row, kind in frame["@odata.type"].items():
        try:
            frame.loc[row, "@odata.type"] = normalize_odata_type(kind)
        except InvalidInputError as exc:
            problems.append((row, "@odata.type", exc.detail))
    for name in ("id", "learningProviderId"):
        for row in frame.index[frame[name].isna()]:
            problems.append((row, name, "shouldn't be empty: it addresses the record"))
    # Rows with a cell that did not even parse are not validated further: one message per cell.
    problems.extend(_validate_rows(frame, skip={row for row, _, _ in problems}))
    if problems:
        raise InvalidRowsError(sorted(problems, key=lambda p: (p[0], p[1])))
    return frame


def _csv_datetimes(cells: pd.Series, blank: pd.Series, name: str, problems: list[tuple[Any, str, str]]) -> pd.Series:
    aware = name in _INSTANTS
    values: list[Any] = []
    for row, text, empty in zip(cells.index, cells, blank, strict=True):
        if empty:
            values.append(None)
            continue
        try:
            moment = _parse_iso(text)
        except ValueError as exc:
            problems.append((row, name, str(exc)))
            values.append(None)
            continue
        if aware and moment.tzinfo is None:
            problems.append((row, name, f"{text!r} has no time zone: add an offset such as +00:00 or Z"))
        elif not aware and _OFFSET.fullmatch(text):
            detail = f"{text!r} has an offset: give local time; the zone goes in dueDateTime.timeZone"
            problems.append((row, name, detail))
        values.append(moment)
    dtype = "datetime64[us, UTC]" if aware else "datetime64[us]"
    if aware:
        stamps = [None if v is None or v.tzinfo is None else pd.Timestamp(v).tz_convert("UTC") for v in values]
    else:
        stamps = [None if v is None else pd.Timestamp(v.replace(tzinfo=None)) for v in values]
    return pd.Series(stamps, index=cells.index, dtype=dtype)


def _csv_integers(cells: pd.Series, blank: pd.Series, name: str, problems: list[tuple[Any, str, str]]) -> pd.Series:
    values: list[int | None] = []
    for row, text, empty in zip(cells.index, cells, blank, strict=True):
        if empty:
            values.append(None)
            continue
        try:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            values.append(int(number))
        except ValueError:
            problems.append((row, name, f"{text!r} is not a whole number"))
            values.append(None)
    result: pd.Series = pd.Series(pd.array(values, dtype="Int64"), index=cells.index)
    return result


def _validate_rows(frame: pd.DataFrame, skip: set[Any]) -> list[tuple[Any, str, str]]:
    """Each row's updatable values through the strict update model; problems named by column."""
    problems: list[tuple[Any, str, str]] = []
    for row, record in frame.to_dict("index").items():
        if row in skip:
            continue
        kind = str(record["@odata.type"])
        model = UPDATE_MODELS[kind]
        present = [p for p in model.UPDATABLE if any(c in frame.columns for c in _NESTED.get(p, (p,)))]
        foreign = [
            c
            for c in ACTIVITY_COLUMNS
            if c in frame.columns
            and c not in _ADDRESS
            and c not in _READ_ONLY
            and not any(c in _NESTED.get(p, (p,)) for p in model.UPDATABLE)
            and not _missing(record.get(c))
        ]
        for column in foreign:
            problems.append((row, column, f"is not a property of {kind.rsplit('.', 1)[1]}: leave it empty"))
        body: dict[str, Any] = {"@odata.type": kind}
        for prop in present:
            value = _row_property(record, prop)
            if prop == "status" and value is None:
                problems.append((row, "status", "is required"))
                continue
            if prop == "dueDateTime" and value is not None and None in value.values():
                column = "dueDateTime.dateTime" if value["dateTime"] is None else "dueDateTime.timeZone"
                problems.append((row, column, "is required when the other dueDateTime cell is filled"))
                continue
            body[prop] = value
        body.setdefault("status", "completed")
        try:
            parse_update(body)
        except InvalidInputError as exc:
            for prop, _, detail in exc.problems:
                column = {"dueDateTime": "dueDateTime.timeZone", "notes": "notes.contentType"}.get(prop, prop)
                problems.append((row, column, detail))
    return problems


def plans_from_frame(frame: pd.DataFrame) -> list[PatchPlan]:
    """One plan per row of a validated CSV frame (``read_csv``): every updatable column it has.

    The PATCH body is worked out against the service at send time, so only cells that
    differ from the service are sent; ``@learnkit.etag`` (if present) is the base.

    Example: ``plans_from_frame(read_csv("edits.csv"))[0].base_etag``
    """
    plans: list[PatchPlan] = []
    for row, record in frame.to_dict("index").items():
        kind = normalize_odata_type(record["@odata.type"])
        model = UPDATE_MODELS[kind]
        changes = {
            prop: _row_property(record, prop)
            for prop in model.UPDATABLE
            if any(c in frame.columns for c in _NESTED.get(prop, (prop,)))
        }
        expect = {c: record.get(c) for c in _READ_ONLY if c in frame.columns}
        etag = record.get(ETAG_COLUMN)
        plans.append(
            PatchPlan(
                row=_row_label(row),
                registration_id=str(record["learningProviderId"]),
                activity_id=str(record["id"]),
                odata_type=kind,
                changes=changes,
                base_etag=None if _missing(etag) else str(etag),
                expect={k: (None if _missing(v) else v) for k, v in expect.items()},
            )
        )
    return plans

