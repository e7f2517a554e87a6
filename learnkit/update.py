"""``update_activity``: validate, then send the smallest PATCH; and the diff that makes it.

Example::

    result = update_activity(client, reg_id, act_id,
                             {"@odata.type": "#microsoft.graph.learningAssignment",
                              "status": "completed", "completionPercentage": 100})
    result.status      # 204
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from learnkit.errors import InvalidInputError
from learnkit.models import (
    DateTimeTimeZone,
    LearningCourseActivity,
    UpdateModel,
    parse_update,
)
from learnkit.paths import require_id

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = ["UpdateResult", "minimal_patch", "update_activity"]


@dataclass(frozen=True)
class UpdateResult:
    """The outcome of one update: ``status`` 204 (None on a dry run), ids, and the body sent.

    In a notebook it shows as a card: what was sent (or would be, on a dry run) and the ids.
    """

    status: int | None
    body: dict[str, Any]
    request_id: str | None = None
    client_request_id: str | None = None
    attempts: int = 0
    dry_run: bool = False

    def _repr_html_(self) -> str:
        """A card: the outcome, the body sent as JSON, the request ids and tries."""
        from learnkit.display import card

        sent = json.dumps(self.body, indent=2, ensure_ascii=False)
        if self.dry_run:
            return card("Dry run: nothing sent", [("would send", sent)], tone="info")
        rows = [
            ("sent", sent),
            ("request-id", self.request_id or "—"),
            ("client-request-id", self.client_request_id or "—"),
            ("attempts", str(self.attempts)),
        ]
        return card(f"Updated · {self.status}", rows, tone="ok")


def update_activity(
    client: GraphClient,
    registration_id: str,
    activity_id: str,
    changes: Mapping[str, Any] | UpdateModel,
    *,
    dry_run: bool = False,
) -> UpdateResult:
    """Validate ``changes`` and PATCH them onto one course activity.

    ``changes`` is a dict in the seed's JSON shape (with ``@odata.type`` and
    ``status``) or an update model. Nothing is sent if a value is bad: an
    ``InvalidInputError`` (a ``ValueError``) names the field. Only the
    properties present in ``changes`` are sent; an explicit None clears one.
    Graph's errors are raised as the typed ``learnkit.GraphError`` subclasses.

    >>> update_activity(None, "reg", "act", {"@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
    ...     "status": "completed"}, dry_run=True).body
    {'@odata.type': '#microsoft.graph.learningSelfInitiatedCourse', 'status': 'completed'}
    """
    require_id(registration_id, "registration_id")
    require_id(activity_id, "activity_id")
    body = parse_update(changes).to_body()
    if dry_run:
        return UpdateResult(status=None, body=body, dry_run=True)
    response = client.patch_activity(registration_id, activity_id, body)
    return UpdateResult(
        status=response.status,
        body=body,
        request_id=response.request_id,
        client_request_id=response.client_request_id,
        attempts=response.attempts,
    )


def _comparable(name: str, value: Any) -> Any:
    """A value in a form where equal meaning compares equal (instants, not spellings)."""
    if value is None:
        return None
    if isinstance(value, DateTimeTimeZone):
        return value.to_datetime()
    if isinstance(value, datetime):
        return value
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def minimal_patch(
    before: LearningCourseActivity | Mapping[str, Any], after: Mapping[str, Any] | UpdateModel
) -> dict[str, Any] | None:
    """The smallest PATCH body that turns ``before`` into ``after``, or None if nothing changes.

    ``after`` is validated like ``update_activity``'s changes (it may omit
    ``@odata.type`` and ``status``: they are taken from ``before``). The body
    always carries ``@odata.type`` and ``status``, which Graph requires.

    >>> minimal_patch({"@odata.type": "#microsoft.graph.learningSelfInitiatedCourse", "status": "inProgress",
    ...                "completionPercentage": 10}, {"completionPercentage": 40})
    {'@odata.type': '#microsoft.graph.learningSelfInitiatedCourse', 'status': 'inProgress', 'completionPercentage': 40}
    """
    old = before.model_dump(by_alias=True) if isinstance(before, LearningCourseActivity) else dict(before)
    if isinstance(after, UpdateModel):
        wanted = after
    else:
        merged = dict(after)
        merged.setdefault("@odata.type", old.get("@odata.type"))
        merged.setdefault("status", _enum_value(old.get("status")))
        wanted = parse_update(merged)
    held = {k: old.get(k) for k in wanted.UPDATABLE if k != "status" and k in old}
    # A record may hold a value Graph would refuse in a PATCH (a time zone no one knows): such a
    # property is compared as "differs", so a valid new value replaces it.
    invalid: set[str] = set()
    while True:
        try:
            old_model = parse_update({"@odata.type": wanted.odata_type, "status": wanted.to_body()["status"], **held})
            break
        except InvalidInputError as exc:
            bad = {f.split(".", 1)[0] for f, _, _ in exc.problems} & held.keys()
            if not bad:
                raise
            invalid |= bad
            held = {k: v for k, v in held.items() if k not in bad}
    changed = {
        name: value
        for name, value in wanted.to_body().items()
        if name in wanted.UPDATABLE
        and name != "status"
        and (name in invalid or _comparable(name, getattr(wanted, name)) != _comparable(name, getattr(old_model, name)))
    }
    status_changed = wanted.to_body()["status"] != _enum_value(old.get("status"))
    if not changed and not status_changed:
        return None
    return {"@odata.type": wanted.odata_type, "status": wanted.to_body()["status"], **changed}


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)
