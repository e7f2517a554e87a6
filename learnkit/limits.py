"""What Graph can hold and give back unchanged: body size and depth, Unicode text, date-times in range.

One source for these rules, for the sandbox (which refuses at the door what it
could not store and read back) and for the library's own checks before sending.
Each check raises ``InvalidInputError`` naming the field.

* A request body is at most ``MAX_BODY_BYTES`` (4 MiB, Graph's limit for a JSON
  request; past it Graph answers 413) and nests at most ``MAX_JSON_DEPTH`` levels.
* Text is Unicode that UTF-8 can carry: a lone surrogate such as ``"\\ud800"`` is
  valid JSON but no character, so it is refused.
* A date-time must name an instant between 0001-01-01T00:00:00Z and
  9999-12-31T23:59:59.9999999Z once converted to UTC (the range of .NET's
  DateTimeOffset, which Graph uses): ``0001-01-01T00:00:00+01:00`` is in the
  year 0 in UTC and is refused.

>>> check_instant("assignedDateTime", datetime(2024, 5, 1, 9, tzinfo=timezone.utc)).year
2024
>>> check_text("notes", "\\ud800")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
learnkit.errors.InvalidInputError: notes: holds a lone surrogate (U+D800), which is not a character: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from learnkit.errors import InvalidInputError

__all__ = [
    "BATCH_LIMIT",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "check_instant",
    "check_json",
    "check_text",
    "json_depth",
]

#: Largest request body, in bytes (Graph's 4 MiB for JSON requests, $batch included).
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Graph's limit on the requests in one ``$batch`` (JSON batching).
BATCH_LIMIT = 20
#: Deepest nesting of arrays and objects a request body may have (the default of .NET's JSON readers).
MAX_JSON_DEPTH = 64


def check_text(field: str, value: str) -> str:
    """``value`` if UTF-8 can encode it; else InvalidInputError naming ``field`` and the first bad code point.

    >>> check_text("notes", "café €")
    'café €'
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        point = ord(value[exc.start])
        raise InvalidInputError(
            field,
            "invalid",
            f"holds a lone surrogate (U+{point:04X}), which is not a character: send the text as valid "
            "Unicode (a surrogate must be half of a pair)",
        ) from None
    return value


def check_instant(field: str, value: datetime) -> datetime:
    """The UTC instant of an aware date-time; InvalidInputError naming ``field`` when it falls outside years 1-9999.

    >>> check_instant("dueDateTime", datetime.fromisoformat("9999-12-31T23:59:59-01:00"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: dueDateTime: 9999-12-31T23:59:59-01:00 is outside 0001-01-01 to 9999-12-31 ...
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(field, "invalid", f"{value.isoformat()} has no time zone: give an offset or a zone")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidInputError(
            field,
            "invalid",
            f"{value.isoformat()} is outside 0001-01-01 to 9999-12-31 once converted to UTC, so Graph cannot "
            "hold it: give a date-time inside that range",
        ) from None


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0), without recursion.

    >>> json_depth({"notes": {"content": [1, [2]]}})
    4
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            depth += 1
            stack.extend((child, depth) for child in item.values())
        elif isinstance(item, list):
            depth += 1
            stack.extend((child, depth) for child in item)
        deepest = max(deepest, depth)
    return deepest


def check_json(value: Any, field: str = "body") -> None:
    """Refuse a parsed JSON body Graph could not hold: too deep, or text (keys included) that is not Unicode.

    A problem inside a top-level property names that property.

    >>> check_json({"status": "completed", "notes": "\\udc80"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: notes: holds a lone surrogate (U+DC80), which is not a character: ...
    """
    if json_depth(value) > MAX_JSON_DEPTH:
        raise InvalidInputError(field, "invalid", f"nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects")
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        item, name = stack.pop()
        if isinstance(item, str):
            check_text(name, item)
        elif isinstance(item, Mapping):
            for key, child in item.items():
                key_name = key.encode("utf-8", "backslashreplace").decode("utf-8") if name == field else name
                check_text(key_name, key)
                stack.append((child, key_name))
        elif isinstance(item, list):
            stack.extend((child, name) for child in item)
