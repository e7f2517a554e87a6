"""Text into a typed cell of the activity frame: one function for the table, the form, the CSV reader and the audit.

A frame's cell is one of four kinds (``learnkit.bulk.frame``'s contract): a whole number
(``completionPercentage``), an *instant* (``assignedDateTime``, ``completedDateTime``,
``startedDateTime``: aware, UTC), a *local* date-time (``dueDateTime.dateTime``: naive, read in
``dueDateTime.timeZone``), or text. ``typed_cell`` turns what a person typed (or a CSV holds) into
that kind, or raises ``ValueError`` with the message every surface shows; the messages are written
here only. Fast paths (``learnkit.bulk._columnar`` for a column of Graph's own date-time shapes) place
what they can and leave every other cell, and every cell to refuse, to this function.

Example::

    typed_cell("completionPercentage", " 80 ")        # 80
    typed_cell("completedDateTime", "2024-01-02T03:04:05+01:00")   # Timestamp('2024-01-02 02:04:05+0000', tz='UTC')
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

from datetime import datetime, timezone
from typing import Any, Literal

import pandas as pd

from learnkit.models import INSTANT_PROPERTIES
from learnkit.times import parse_iso

__all__ = ["LOCAL_COLUMN", "CellKind", "cell_kind", "typed_cell"]

CellKind = Literal["integer", "instant", "local", "text"]
#: The naive local date-time column (read in ``dueDateTime.timeZone``).
LOCAL_COLUMN = "dueDateTime.dateTime"
# Whole numbers a float holds exactly: a larger "number" in a cell is a typo, not a percentage.
_EXACT = 2**53


def cell_kind(column: str) -> CellKind:
    """The kind of a frame column's cells.

    >>> cell_kind("completionPercentage"), cell_kind("startedDateTime"), cell_kind("dueDateTime.dateTime")
    ('integer', 'instant', 'local')
    >>> cell_kind("status")
    'text'
    """
    if column == "completionPercentage":
        return "integer"
    if column in INSTANT_PROPERTIES:
        return "instant"
    if column == LOCAL_COLUMN:
        return "local"
    return "text"


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, list, dict)) and bool(pd.isna(value)))


def typed_cell(column: str, value: Any, *, kind: CellKind | None = None) -> Any:
    """``value`` (text, or a value already typed) as a cell of ``column`` (its kind: ``cell_kind``, or ``kind``).

    Missing and the empty text are ``None``. A whole number is an ``int``; an instant a UTC
    ``pandas.Timestamp``; a local date-time a naive one; text is returned as it is.
    ``ValueError`` says what is wrong, naming the value (not ISO 8601, no offset on an
    instant, an offset on a local time, outside the years 1 to 9999 once in UTC, not a
    whole number). Surrounding spaces are no part of a number or a date-time.

    >>> typed_cell("completionPercentage", "80"), typed_cell("status", "")
    (80, None)
    >>> typed_cell("completionPercentage", "8.5")
    Traceback (most recent call last):
    ...
    ValueError: '8.5' is not a whole number
    >>> str(typed_cell("completedDateTime", "2024-01-02T03:04:05+01:00"))
    '2024-01-02 02:04:05+00:00'
    >>> typed_cell("dueDateTime.dateTime", "2024-01-02T03:04:05Z")
    Traceback (most recent call last):
    ...
    ValueError: '2024-01-02T03:04:05Z' has an offset: give local time; the zone goes in dueDateTime.timeZone
    >>> typed_cell("now", "2024-01-02", kind="instant")
    Traceback (most recent call last):
    ...
    ValueError: '2024-01-02' has no time zone: add an offset such as +00:00 or Z
    """
    if _missing(value) or (isinstance(value, str) and value == ""):
        return None
    kind = kind or cell_kind(column)
    if kind == "text":
        return value
    if kind == "integer":
        return _whole_number(value)
    moment = value if isinstance(value, datetime) else parse_iso(str(value))
    if kind == "local":
        if moment.tzinfo is not None:
            raise ValueError(f"{value!r} has an offset: give local time; the zone goes in dueDateTime.timeZone")
        return pd.Timestamp(moment).as_unit("us")
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone: add an offset such as +00:00 or Z")
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:
        shown = value if isinstance(value, str) else moment.isoformat()
        raise ValueError(f"{shown} is outside the years 1 to 9999 once in UTC, which Graph refuses") from None
    return pd.Timestamp(utc).as_unit("us")


def _whole_number(value: Any) -> int:
    problem = ValueError(f"{value.strip() if isinstance(value, str) else value!r} is not a whole number")
    if isinstance(value, bool):
        raise problem
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise problem from None
    if not number.is_integer() or abs(number) >= _EXACT:
        raise problem
    return int(number)
