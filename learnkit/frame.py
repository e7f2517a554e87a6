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

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from learnkit.errors import InvalidInputError
from learnkit.models import (
    UPDATE_MODELS,
    normalize_odata_type,
)
from learnkit.plans import (
    ADDRESS_PROPERTIES,
    INSTANT_PROPERTIES,
    READ_ONLY_PROPERTIES,
    InvalidRowsError,
    PatchPlan,
    activity_etag,
)
from learnkit.update import minimal_patch

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = [
    "ACTIVITY_COLUMNS",
    "activities_frame",
    "diff",
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
    for name in INSTANT_PROPERTIES:
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


def is_missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, Mapping, list)) and bool(pd.isna(value)))


def _wire(name: str, value: Any) -> Any:
    """One frame cell in Graph's JSON form."""
    if is_missing(value):
        return None
    if name in INSTANT_PROPERTIES:
        return instant_text(value)
    if name == "completionPercentage":
        return int(value)
    return value


def instant_text(value: Any) -> str:
    moment: datetime = pd.Timestamp(value).to_pydatetime()
    if moment.tzinfo is None:
        raise ValueError("naive")
    return moment.isoformat()


def _local_text(value: Any) -> str:
    moment: datetime = pd.Timestamp(value).to_pydatetime()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def row_property(row: Mapping[Any, Any], name: str) -> Any:
    """The wire value of one updatable property from a frame row (nested ones rebuilt)."""
    if name == "dueDateTime":
        local, zone = row.get("dueDateTime.dateTime"), row.get("dueDateTime.timeZone")
        if is_missing(local) and is_missing(zone):
            return None
        return {
            "dateTime": None if is_missing(local) else _local_text(local),
            "timeZone": None if is_missing(zone) else zone,
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


def _row_activity(row: Mapping[Any, Any]) -> dict[str, Any]:
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
    editable = [c for c in ACTIVITY_COLUMNS if c not in ADDRESS_PROPERTIES and c not in READ_ONLY_PROPERTIES]
    changed = pd.DataFrame(
        {c: _differs(old[c], after[c]) if c in after.columns else False for c in editable}, index=after.index
    )
    touched = changed.any(axis=1)
    for c in (*ADDRESS_PROPERTIES, *READ_ONLY_PROPERTIES):
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
            columns = NESTED_COLUMNS.get(prop, (prop,))
            if edited & set(columns):
                wanted[prop] = row_property(new, prop)
        for col in edited:
            if not any(col in NESTED_COLUMNS.get(p, (p,)) for p in model.UPDATABLE):
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
                row=row_label(label),
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


def row_label(label: Any) -> int:
    try:
        return int(label)
    except (TypeError, ValueError):
        raise InvalidInputError("index", "invalid", f"row labels must be integers, got {label!r}") from None


def _require_addresses(plans: Sequence[PatchPlan]) -> None:
    missing = [
        (p.row, "learningProviderId", "is required to address the record") for p in plans if not p.registration_id
    ]
    if missing:
        raise InvalidRowsError(missing)
