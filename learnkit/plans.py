"""Patch plans and the pure logic around them: what a change is, how values compare, and what to send.

A ``PatchPlan`` is one record's intended change. ``canonical`` puts an activity's
updatable values in a form where equal meaning compares equal, ``activity_etag``
fingerprints it, and ``decide`` says what to do with a plan given what the service
holds now. Nothing here does I/O or imports pandas, so every surface (a form, a
grid, a CSV, a script) makes the same plans and the engine decides them one way.

Example::

    plan = PatchPlan(2, reg, activity_id, ASSIGNMENT_TYPE, {"completionPercentage": 40})
    decide(plan, client.get_activity_json(activity_id)).action   # 'send', 'unchanged', 'conflict', ...
"""

from __future__ import annotations

import hashlib
import json
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from learnkit.errors import InvalidInputError
from learnkit.models import UPDATE_MODELS, normalize_odata_type, parse_update
from learnkit.update import minimal_patch

__all__ = [
    "ADDRESS_PROPERTIES",
    "INSTANT_PROPERTIES",
    "READ_ONLY_PROPERTIES",
    "Decision",
    "InvalidRowsError",
    "PatchPlan",
    "activity_etag",
    "canonical",
    "decide",
    "overlay",
    "parse_iso",
    "validate_plans",
]

#: The properties that address a record: where a plan goes, never sent.
ADDRESS_PROPERTIES = ("id", "@odata.type", "learningProviderId")
#: Identity properties: never sent; a row that changes one is refused.
READ_ONLY_PROPERTIES = (
    "learnerUserId",
    "learningContentId",
    "externalcourseActivityId",
    "assignmentType",
    "assignerUserId",
)
#: Date-time properties that are instants (DateTimeOffset on the wire).
INSTANT_PROPERTIES = ("assignedDateTime", "completedDateTime", "startedDateTime")


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


def parse_iso(text: str) -> datetime:
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
    moment = value if isinstance(value, datetime) else parse_iso(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _due_instant(value: Any) -> str | None:
    if not isinstance(value, Mapping) or value.get("dateTime") is None:
        return None
    from tzlocal.windows_tz import win_tz

    zone = str(value.get("timeZone") or "UTC")
    local = parse_iso(str(value["dateTime"])).replace(tzinfo=None)
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
        if name in INSTANT_PROPERTIES:
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


# --- the decision for one record ------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What to do with a record, given what the service holds now.

    ``action`` is ``send`` (with ``body`` and the ``before`` values it replaces),
    ``applied`` (it already holds the intended values: an earlier send landed),
    ``unchanged``, ``conflict`` or ``refuse``.

    >>> Decision("conflict", "changed on the service since it was read").action
    'conflict'
    """

    action: Literal["send", "applied", "unchanged", "conflict", "refuse"]
    message: str = ""
    body: dict[str, Any] | None = None
    before: dict[str, Any] | None = None


def overlay(before: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The record as it is once ``body`` has been applied over ``before``."""
    return {**before, **body}


def _read_only(current: Mapping[str, Any], name: str) -> Any:
    if name == "externalcourseActivityId":
        return current.get(name, current.get("externalCourseActivityId"))
    return current.get(name)


def decide(
    plan: PatchPlan,
    current: Mapping[str, Any],
    *,
    prior: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    force: bool = False,
) -> Decision:
    """Decide a plan against the record's current JSON (pure: no I/O).

    ``prior`` is ``(before, body)`` when this run already sent a PATCH for the record
    and its outcome is unknown (a dropped connection, a killed process): the current
    values tell whether it landed. Without ``force``, a record that no longer holds
    what the plan was based on (``plan.base_etag``) is a conflict.

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> decide(PatchPlan(2, "p", "a", T, {"completionPercentage": 40}),
    ...        {"@odata.type": T, "status": "inProgress", "completionPercentage": 10}).body
    {'@odata.type': '#microsoft.graph.learningSelfInitiatedCourse', 'status': 'inProgress', 'completionPercentage': 40}
    """
    try:
        kind = normalize_odata_type(current.get("@odata.type"))
    except InvalidInputError:
        return Decision("refuse", f"the service returned an activity of unknown type {current.get('@odata.type')!r}")
    if kind != plan.odata_type:
        return Decision("refuse", f"@odata.type: the service holds a {kind}, the plan is for a {plan.odata_type}")
    try:
        now = canonical(current)
        if prior is not None:
            before, body = prior
            if now == canonical(overlay(before, body)):
                return Decision(
                    "applied", "applied (an earlier attempt landed: read back to confirm)", dict(body), dict(before)
                )
            if now == canonical(before):
                return Decision("send", "", dict(body), dict(before))
            if not force:
                return Decision("conflict", "changed on the service while its update was in flight: not overwritten")
        elif plan.base_etag is not None and not force:
            etag = activity_etag(current)
            if etag != plan.base_etag:
                return Decision(
                    "conflict",
                    f"changed on the service since it was read (etag {plan.base_etag}, now {etag}): "
                    "not overwritten; read it again, or force",
                )
        for name, expected in plan.expect.items():
            held = _read_only(current, name)
            if expected != held and not (expected in (None, "") and held in (None, "")):
                return Decision(
                    "refuse",
                    f"{name} is read-only: the row says {expected!r}, the service holds {held!r}; nothing sent",
                )
        patch = minimal_patch(current, {"@odata.type": plan.odata_type, **plan.changes})
    except InvalidInputError as exc:
        return Decision("refuse", f"{exc.field}: {exc.detail}")
    if patch is None:
        return Decision("unchanged", "the service already holds these values")
    replaced = {name: current.get(name) for name in UPDATE_MODELS[kind].UPDATABLE}
    return Decision("send", "", patch, {"@odata.type": kind, **replaced})


# --- validation before sending -----------------------------------------------------


def validate_plans(plans: Sequence[PatchPlan]) -> None:
    """Every plan's values through the strict update model, and one plan per record, before anything is sent."""
    seen: dict[str, int] = {}
    cells: list[tuple[Any, str, str]] = []
    for plan in plans:
        for name, value in (("id", plan.activity_id), ("learningProviderId", plan.registration_id)):
            if not isinstance(value, str) or not value.strip():
                cells.append((plan.row, name, "shouldn't be empty: it addresses the record"))
        if plan.activity_id in seen:
            cells.append((plan.row, "id", f"repeats row {seen[plan.activity_id]}: one plan per record"))
        seen.setdefault(plan.activity_id, plan.row)
        try:
            # The status the record has is only known at send time; any status valid for both types stands in.
            parse_update({"@odata.type": plan.odata_type, "status": "inProgress", **plan.changes})
        except InvalidInputError as exc:
            cells.extend((plan.row, name, detail) for name, _, detail in exc.problems)
    if cells:
        raise InvalidRowsError(cells)
