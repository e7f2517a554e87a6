"""OData query options of Graph lists (``$top``, ``$skip``, ``$count``, ``$select``, ``$skiptoken``) and paging.

Pure functions: they parse a query string and build ``@odata.nextLink``.

>>> q = parse_query("$top=5&$count=true&$select=status,id", selectable=frozenset({"id", "status"}))
>>> q.top, q.count, q.select
(5, True, ('status', 'id'))
>>> next_link("https://h/v1.0", "/x", q, after=42)
'https://h/v1.0/x?$top=5&$select=status,id&$count=true&$skiptoken=c2VxOjQy'
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Query",
    "QueryError",
    "next_link",
    "parse_query",
    "project",
]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
#: Largest $top or $skip (OData's Int32) and resume point (SQLite's INTEGER) taken; past them, a 400.
_MAX_OPTION = 2**31 - 1
_MAX_SEQ = 2**63 - 1
_SUPPORTED = ("$top", "$skip", "$count", "$select", "$skiptoken")
_ASCII_DIGITS = re.compile(r"[0-9]+")


class QueryError(ValueError):
    """A query option Graph would refuse; the text is Graph's message."""


@dataclass(frozen=True)
class Query:
    """Parsed options: page size, items to skip, whether to count, properties to keep, where to resume."""

    top: int | None = None
    skip: int = 0
    count: bool = False
    select: tuple[str, ...] | None = None
    after: int | None = None

    @property
    def page_size(self) -> int:
        """Items per page: ``$top`` (at most MAX_PAGE_SIZE) or the default."""
        return min(self.top, MAX_PAGE_SIZE) if self.top is not None else DEFAULT_PAGE_SIZE


def _digits(text: str, limit: int) -> int | None:
    """The number ASCII ``text`` writes, if it is at most ``limit`` (``"²".isdigit()`` is true, hence the regex)."""
    if not _ASCII_DIGITS.fullmatch(text) or len(text) > len(str(limit)) or int(text) > limit:
        return None
    return int(text)


def _non_negative(name: str, value: str) -> int:
    number = _digits(value, _MAX_OPTION)
    if number is None:
        raise QueryError(
            f"Invalid value '{value}' for {name} query option found. "
            f"The {name} query option requires a non-negative integer value up to {_MAX_OPTION}."
        )
    return number


def _skiptoken(value: str) -> int:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, binascii.Error):  # ValueError: not ASCII; UnicodeDecodeError is a ValueError
        text = ""
    after = _digits(text[4:], _MAX_SEQ) if text.startswith("seq:") else None
    if after is None:
        raise QueryError("The $skiptoken is invalid or expired; follow @odata.nextLink as given.")
    return after


@functools.lru_cache(maxsize=512)
def parse_query(
    raw: str, *, selectable: frozenset[str], collection: bool = True, entity: str = "learningCourseActivity"
) -> Query:
    """Parse a query string. Raises QueryError for a bad value, an unknown property or an unsupported option.

    Kept per query string (a ``Query`` is immutable): a client asks the same ``$select`` of every record it reads.
    """
    options: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        name = key.strip().lower()
        if not name.startswith("$"):
            continue
        if name not in _SUPPORTED or (not collection and name != "$select"):
            raise QueryError(f"Query option '{key}' is not supported for this resource.")
        if name in options:
            raise QueryError(
                f"Query option '{key}' was specified more than once, but it must be specified at most once."
            )
        options[name] = value
    select = None
    if "$select" in options:
        by_lower = {name.lower(): name for name in selectable}
        chosen = []
        for part in filter(None, (p.strip() for p in options["$select"].split(","))):
            if part.lower() not in by_lower:
                raise QueryError(f"Could not find a property named '{part}' on type 'microsoft.graph.{entity}'.")
            chosen.append(by_lower[part.lower()])
        select = tuple(chosen)
    count = options.get("$count", "false").lower()
    if count not in ("true", "false"):
        raise QueryError(
            f"Invalid value '{options['$count']}' for $count query option found. Valid values are 'true' and 'false'."
        )
    return Query(
        top=_non_negative("$top", options["$top"]) if "$top" in options else None,
        skip=_non_negative("$skip", options["$skip"]) if "$skip" in options else 0,
        count=count == "true",
        select=select,
        after=_skiptoken(options["$skiptoken"]) if "$skiptoken" in options else None,
    )


def next_link(graph_url: str, path: str, query: Query, after: int) -> str:
    """The absolute ``@odata.nextLink`` that resumes after ``seq`` ``after`` with the same options."""
    parts = []
    if query.top is not None:
        parts.append(f"$top={query.top}")
    if query.select is not None:
        parts.append("$select=" + quote(",".join(query.select), safe=","))
    if query.count:
        parts.append("$count=true")
    token = base64.urlsafe_b64encode(f"seq:{after}".encode()).rstrip(b"=").decode()
    parts.append(f"$skiptoken={token}")
    return f"{graph_url}{path}?" + "&".join(parts)


def project(item: Mapping[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    """The item with only the selected properties (and its ``@odata.type``)."""
    if select is None:
        return dict(item)
    kept = {k: item[k] for k in ("@odata.type",) if k in item}
    kept.update({k: item[k] for k in select if k in item})
    return kept
