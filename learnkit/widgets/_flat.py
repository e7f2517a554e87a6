"""Activities as flat table rows (``dueDateTime.dateTime``, ``notes.content``) and back.

Column rules come from the update models' field specs, so a zoned or body
property splits into its parts without naming it here.

Example: ``unflatten_changes({"notes.content": "hi"})  # {'notes': {'content': 'hi'}}``
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from learnkit.models import UPDATE_MODELS
from learnkit.widgets.fields import FieldSpec, field_specs

__all__ = ["column_specs", "editable_columns", "unflatten_changes"]

_PARTS = {"zoned": ("dateTime", "timeZone"), "body": ("content", "contentType")}


@lru_cache(maxsize=1)
def column_specs() -> dict[str, tuple[FieldSpec, str | None]]:
    """Flat column -> (the property's spec, the part of it or None), over every activity type.

    >>> column_specs()["notes.contentType"][1]
    'contentType'
    """
    columns: dict[str, tuple[FieldSpec, str | None]] = {}
    for model in UPDATE_MODELS.values():
        for spec in field_specs(model):
            for part in _PARTS.get(spec.kind, (None,)):
                columns.setdefault(spec.name if part is None else f"{spec.name}.{part}", (spec, part))
    return columns


def editable_columns(odata_type: str) -> frozenset[str]:
    """The flat columns a row of this ``@odata.type`` may change.

    >>> sorted(editable_columns("#microsoft.graph.learningSelfInitiatedCourse"))[:2]
    ['completedDateTime', 'completionPercentage']
    """
    names = set(UPDATE_MODELS[odata_type].UPDATABLE)
    return frozenset(col for col, (spec, _) in column_specs().items() if spec.name in names)


def unflatten_changes(changes: Mapping[str, Any], before: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Flat column changes as a nested PATCH ``changes`` dict; a part's sibling comes from ``before``.

    >>> unflatten_changes({"dueDateTime.timeZone": "UTC"}, {"dueDateTime": {"dateTime": "2024-01-01T00:00:00"}})
    {'dueDateTime': {'dateTime': '2024-01-01T00:00:00', 'timeZone': 'UTC'}}
    """
    nested: dict[str, Any] = {}
    for column, value in changes.items():
        known = column_specs().get(column)
        if known is None or known[1] is None:
            nested[column] = value
            continue
        name, part = known[0].name, known[1]
        if not isinstance(nested.get(name), dict):
            old = (before or {}).get(name)
            nested[name] = dict(old) if isinstance(old, Mapping) else {}
        nested[name][part] = value
    return nested
