"""Activities to and from CSV files an analyst edits in a spreadsheet, and the plans an edited file makes.

A CSV has the frame's columns (``learnkit.frame.ACTIVITY_COLUMNS``: Graph's property
names, nested ones flattened with a dot) plus ``@learnkit.etag``, a fingerprint of the
row's updatable values as exported: a plan made from the row is refused as a conflict
when the service no longer holds those values.

Example::

    write_csv(read_activities(client, reg), "activities.csv")
    plans = plans_from_frame(read_csv("activities.csv"))   # after editing it
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from learnkit.errors import InvalidInputError
from learnkit.frame import (
    ACTIVITY_COLUMNS,
    NESTED_COLUMNS,
    frame_to_activities,
    instant_text,
    is_missing,
    row_label,
    row_property,
)
from learnkit.models import UPDATE_MODELS, normalize_odata_type, parse_update
from learnkit.plans import (
    ADDRESS_PROPERTIES,
    INSTANT_PROPERTIES,
    READ_ONLY_PROPERTIES,
    InvalidRowsError,
    PatchPlan,
    activity_etag,
    parse_iso,
)

__all__ = ["ETAG_COLUMN", "plans_from_frame", "read_csv", "write_csv"]

#: The CSV column holding the fingerprint of the values a row was exported with.
ETAG_COLUMN = "@learnkit.etag"


def write_csv(frame: pd.DataFrame, path: str | Path | Any) -> None:
    """Write an activities frame as CSV: Graph's property names, ISO 8601 date-times, and ``@learnkit.etag``.

    The etag is computed from the frame's values, unless the frame has one already
    (it was read with ``read_csv``): then that one is kept.

    Example: ``write_csv(read_activities(client, reg), "activities.csv")``
    """
    out = pd.DataFrame(index=frame.index)
    for name in ACTIVITY_COLUMNS:
        column = frame[name] if name in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        if name in INSTANT_PROPERTIES:
            out[name] = [None if is_missing(v) else instant_text(v) for v in column]
        elif name == "dueDateTime.dateTime":
            out[name] = [None if is_missing(v) else pd.Timestamp(v).isoformat() for v in column]
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
            unknown[0],
            "invalid",
            f"unknown column {unknown[0]!r}: columns are Graph's property names, e.g. "
            + ", ".join(ACTIVITY_COLUMNS[:8]),
        )
    for name in ADDRESS_PROPERTIES:
        if name not in raw.columns:
            raise InvalidInputError(name, "required", f"the CSV needs a {name!r} column to address each record")
    frame: pd.DataFrame = pd.DataFrame(index=raw.index)
    for name in raw.columns:
        cells = raw[name].str.strip()
        blank = cells == ""
        if name in INSTANT_PROPERTIES or name == "dueDateTime.dateTime":
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
    aware = name in INSTANT_PROPERTIES
    values: list[Any] = []
    for row, text, empty in zip(cells.index, cells, blank, strict=True):
        if empty:
            values.append(None)
            continue
        try:
            moment = parse_iso(text)
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
        present = [p for p in model.UPDATABLE if any(c in frame.columns for c in NESTED_COLUMNS.get(p, (p,)))]
        foreign = [
            c
            for c in ACTIVITY_COLUMNS
            if c in frame.columns
            and c not in ADDRESS_PROPERTIES
            and c not in READ_ONLY_PROPERTIES
            and not any(c in NESTED_COLUMNS.get(p, (p,)) for p in model.UPDATABLE)
            and not is_missing(record.get(c))
        ]
        for column in foreign:
            problems.append((row, column, f"is not a property of {kind.rsplit('.', 1)[1]}: leave it empty"))
        body: dict[str, Any] = {"@odata.type": kind}
        for prop in present:
            value = row_property(record, prop)
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
            prop: row_property(record, prop)
            for prop in model.UPDATABLE
            if any(c in frame.columns for c in NESTED_COLUMNS.get(prop, (prop,)))
        }
        expect = {c: record.get(c) for c in READ_ONLY_PROPERTIES if c in frame.columns}
        etag = record.get(ETAG_COLUMN)
        plans.append(
            PatchPlan(
                row=row_label(row),
                registration_id=str(record["learningProviderId"]),
                activity_id=str(record["id"]),
                odata_type=kind,
                changes=changes,
                base_etag=None if is_missing(etag) else str(etag),
                expect={k: (None if is_missing(v) else v) for k, v in expect.items()},
            )
        )
    return plans
