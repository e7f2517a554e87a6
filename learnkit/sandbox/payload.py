"""Reading a request's JSON body as Graph does: refused whole when it is not JSON or nests too deep.

Text Graph could not store and give back (a lone surrogate) is refused with the
property named; the rules are ``learnkit.limits``'s.

>>> read_json(b'{"status": "completed"}')
{'status': 'completed'}
>>> read_json(b"[" * 100_000)
Traceback (most recent call last):
...
learnkit.sandbox.payload.UnreadableBody: the body is not JSON
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from learnkit.limits import MAX_JSON_DEPTH, check_instant, check_json, json_depth
from learnkit.times import parse_iso, zoned_instant

__all__ = ["UnreadableBody", "check_datetimes", "plainly_within_limits", "read_json"]


class UnreadableBody(ValueError):
    """The body is not JSON, or nests deeper than ``MAX_JSON_DEPTH``; the text says which."""


def plainly_within_limits(raw: bytes) -> bool:
    r"""Whether the JSON text ``raw`` certainly nests no deeper than ``MAX_JSON_DEPTH`` and holds no lone surrogate,
    seen from its bytes alone; False means only that its parsed value must be walked to tell.

    A level of nesting needs an opening bracket, and ``json.loads`` makes a surrogate only from a ``\u`` escape,
    from UTF-8 bytes that start with 0xED (it decodes with ``surrogatepass``), or from UTF-16 or UTF-32 text
    (which holds NUL bytes: every JSON text has ASCII characters). Nearly every body passes, and its walks are
    skipped.

    >>> plainly_within_limits(b'{"status": "completed", "notes": {"content": "caf\xc3\xa9"}}')
    True
    >>> plainly_within_limits(b'{"notes": "\\udc80"}'), plainly_within_limits(b"[" * 65 + b"]" * 65)
    (False, False)
    """
    return (
        raw.count(b"{") + raw.count(b"[") <= MAX_JSON_DEPTH
        and b"\\u" not in raw
        and b"\xed" not in raw
        and b"\x00" not in raw
    )


def read_json(raw: bytes, *, text: bool = True) -> Any:
    """The parsed body. Raises UnreadableBody, or InvalidInputError naming the property whose text is not Unicode.

    ``text=False`` leaves the text to the caller (``$batch`` checks each sub-request's body on its own).
    """
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested [ or {
        raise UnreadableBody("the body is not JSON") from None
    if plainly_within_limits(raw):
        return body  # nothing for the walks below to find (they were about a fifth of a $batch's CPU)
    if json_depth(body) > MAX_JSON_DEPTH:
        raise UnreadableBody(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    if text:
        check_json(body)
    return body


def _aware(value: Any) -> datetime | None:
    """The instant a body's date-time value names, or None when it names none (the model then refuses it)."""
    try:
        if isinstance(value, str):
            parsed = parse_iso(value)
            return parsed if parsed.utcoffset() is not None else None
        if isinstance(value, Mapping) and isinstance(value.get("dateTime"), str):
            return zoned_instant(value["dateTime"], str(value.get("timeZone")))
    except ValueError:
        return None
    return None


def check_datetimes(body: Mapping[str, Any], fields: Iterable[str]) -> None:
    """Refuse a date-time among ``fields`` whose UTC instant is outside years 1-9999 (``limits.check_instant``).

    >>> check_datetimes({"assignedDateTime": "0001-01-01T00:00:00+01:00"}, ["assignedDateTime"])
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: assignedDateTime: 0001-01-01T00:00:00+01:00 is outside 0001-01-01 to \
9999-12-31 once converted to UTC, so Graph cannot hold it: give a date-time inside that range
    """
    for name in fields:
        moment = _aware(body.get(name))
        if moment is not None:
            check_instant(name, moment)
