"""The cells of the workbench's frame: which columns a row may change, values typed as their column, and
how a read and its misses are said. Pure functions the ``Workbench`` and its views share. A typed cell's
value is ``learnkit.bulk.cells.typed_cell``'s.

Example: ``editable_columns("#microsoft.graph.learningAssignment")``
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from learnkit import paths
from learnkit.bulk.frame import ACTIVITY_COLUMNS, NESTED_COLUMNS
from learnkit.bulk.sources import Learners, ProviderList, Source
from learnkit.client import GraphClient
from learnkit.limits import BATCH_LIMIT
from learnkit.models import UPDATE_MODELS, normalize_odata_type

__all__ = [
    "editable_columns",
    "get_many",
    "missing",
    "missing_note",
    "plain",
    "read_from",
    "same",
    "short_type",
]

#: Keys, ids or learners not found, shown by name in the message (the rest counted).
_SHOWN = 5


def editable_columns(odata_type: str) -> tuple[str, ...]:
    """The frame columns a row of this ``@odata.type`` may change, in frame order.

    >>> editable_columns("#microsoft.graph.learningSelfInitiatedCourse")[:2]
    ('status', 'completionPercentage')
    """
    names = set(UPDATE_MODELS[normalize_odata_type(odata_type)].UPDATABLE)
    allowed = {column for name in names for column in NESTED_COLUMNS.get(name, (name,))}
    return tuple(column for column in ACTIVITY_COLUMNS if column in allowed)


def missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, Mapping, list)) and bool(pd.isna(value)))


def same(a: Any, b: Any) -> bool:
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return bool(a == b)


def read_from(source: Source) -> str:
    """How a source read, as the message says it.

    >>> from learnkit.bulk.sources import ExternalIds
    >>> read_from(ExternalIds(["k-1", "k-2"])), read_from(ProviderList())
    ('by 2 external ids', 'from its list')
    """
    if isinstance(source, ProviderList):
        return "from its list"
    if isinstance(source, Learners):
        return f"from {len(source)} learners' lists"
    return f"by {len(source)} {source.WHAT}"


def missing_note(source: Source, not_found: Sequence[str], other: Sequence[str]) -> str:
    """What the read asked for and did not get: the count, and the first few named.

    >>> from learnkit.bulk.sources import ActivityIds
    >>> missing_note(ActivityIds(["a", "b", "c"]), ("b", "c"), ())
    "; 2 of 3 activity ids not found: 'b', 'c'"
    """
    said = ""
    if not_found and not isinstance(source, ProviderList):
        named = ", ".join(repr(key) for key in not_found[:_SHOWN])
        more = f" and {len(not_found) - _SHOWN} more" if len(not_found) > _SHOWN else ""
        said += f"; {len(not_found)} of {len(source)} {source.WHAT} not found: {named}{more}"
    if other:
        said += f"; {len(other)} record(s) of another provider left out"
    return said


def get_many(client: GraphClient, activity_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The activities' current JSON, read in ``$batch``es (missing ones left out)."""
    found: list[dict[str, Any]] = []
    size = BATCH_LIMIT
    for start in range(0, len(activity_ids), size):
        chunk = activity_ids[start : start + size]
        answers = client.batch(
            [
                {"id": str(i), "method": "GET", "url": paths.activity(activity_id)}
                for i, activity_id in enumerate(chunk)
            ],
            operation="get_activity",
        )
        found.extend(a["body"] for a in answers if a.get("status") == 200 and isinstance(a.get("body"), dict))
    return found


def plain(value: Any) -> Any:
    if missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def short_type(odata_type: str) -> str:
    """The name a person reads for an ``@odata.type``.

    >>> short_type("#microsoft.graph.learningAssignment")
    'assignment'
    """
    return {"learningAssignment": "assignment", "learningSelfInitiatedCourse": "self-initiated course"}.get(
        odata_type.rsplit(".", 1)[-1], odata_type.rsplit(".", 1)[-1]
    )
