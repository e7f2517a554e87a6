"""Patch plans and the pure logic around them: what a change is, how values compare, and what to send.

A ``PatchPlan`` is one record's intended change, and ``decide`` says what to do with a plan
given what the service holds now. Values are compared in their canonical form and fingerprinted
by ``learnkit.bulk.fingerprints`` (``canonical``, ``fingerprint``), the one home of both. Nothing
here does I/O, so every surface (a form, a grid, a CSV, a script) makes the same plans and the
engine decides them one way.

Example::

    plan = PatchPlan(2, reg, activity_id, ASSIGNMENT_TYPE, {"completionPercentage": 40})
    decide(plan, client.get_activity_json(activity_id)).action   # 'send', 'unchanged', 'conflict', ...
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from learnkit.errors import InvalidInputError, InvalidRowsError
from learnkit.models import UPDATE_MODELS, normalize_odata_type, parse_update

from .fingerprints import (
    FIELD_HASH_DIGITS,
    FINGERPRINT_VERSION,
    UNCHECKED,
    canonical,
    property_hash,
    record_etag,
)

__all__ = [
    "ADDRESS_PROPERTIES",
    "READ_ONLY_PROPERTIES",
    "CheckedPlans",
    "Decision",
    "PatchPlan",
    "changes_key",
    "checked_plans",
    "decide",
    "edited_only",
    "holds",
    "moved_since",
    "overlay",
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


@dataclass(frozen=True, slots=True)
class PatchPlan:
    """One record's intended change: where it goes, the values wanted, and what it was based on.

    ``changes`` holds wire-form values of updatable properties (``{"completionPercentage": 40}``);
    the PATCH body is ``minimal_patch(current, changes)`` at send time. ``base_etag`` is
    ``activity_etag`` of the values the plan was based on (None: unknown, not checked);
    ``expect`` holds read-only properties the row expects the service to hold; ``base``
    the canonical values (``canonical``) the changed properties had when read, when known,
    so that a conflict can say what each was and what it is now.

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
    base: Mapping[str, Any] = field(default_factory=dict)

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
            "base": dict(self.base),
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
            dict(data.get("base") or {}),
        )


# --- what the fingerprint says of a plan -------------------------------------------


def holds(canon: Mapping[str, Any], kind: str, values: Mapping[str, Any]) -> bool:
    """Whether a record (``canon``, canonical) holds ``values`` (wire form) for each property they name."""
    wanted = canonical({"@odata.type": kind, **values})
    return all(canon.get(n) == wanted.get(n) for n in values if n != "@odata.type")


# Where each property's hash starts in a v2 fingerprint, and how long one is, by kind.
_HASH_AT = {
    kind: {n: len(FINGERPRINT_VERSION) + i * FIELD_HASH_DIGITS for i, n in enumerate(model.UPDATABLE)}
    for kind, model in UPDATE_MODELS.items()
}
_WHOLE = {
    kind: len(FINGERPRINT_VERSION) + FIELD_HASH_DIGITS * len(model.UPDATABLE) for kind, model in UPDATE_MODELS.items()
}


def moved_since(plan: PatchPlan, canon: Mapping[str, Any]) -> list[str] | None:
    """The updatable properties whose values ``canon`` (canonical, as the service holds them) no longer
    match ``plan.base_etag``; ``[]`` when none moved, None when the fingerprint cannot say which (an older one).

    >>> from learnkit.bulk.fingerprints import fingerprint
    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> read = canonical({"@odata.type": T, "status": "inProgress", "completionPercentage": 10})
    >>> moved_since(PatchPlan(2, "p", "a", T, {}, fingerprint(read)), {**read, "completionPercentage": 30})
    ['completionPercentage']
    """
    etag = plan.base_etag
    if etag is None:
        return []
    names = UPDATE_MODELS[plan.odata_type].UPDATABLE
    if not etag.startswith(FINGERPRINT_VERSION) or len(etag) != _WHOLE[plan.odata_type]:
        return [] if record_etag(canon) == etag else None
    # The fingerprint read in place (what field_hashes splits into a dict): this runs once per record checked.
    moved = []
    at = len(FINGERPRINT_VERSION)
    for name in names:
        held = etag[at : at + FIELD_HASH_DIGITS]
        at += FIELD_HASH_DIGITS
        if held != UNCHECKED and property_hash(name, canon.get(name)) != held:
            moved.append(name)
    return moved


def edited_only(plan: PatchPlan, wanted: Mapping[str, Any] | None = None) -> PatchPlan | None:
    """The plan keeping only the properties whose values differ from its base fingerprint; None if none do.

    A CSV row carries every column as exported: its cells that still hash to the row's
    ``@learnkit.etag`` were not edited, and need neither a read nor a send. A plan without
    a per-property fingerprint is returned as is.

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> from learnkit.bulk.fingerprints import activity_etag
    >>> read = {"@odata.type": T, "status": "inProgress", "completionPercentage": 10}
    >>> edited_only(PatchPlan(2, "p", "a", T, {"status": "inProgress"}, activity_etag(read))) is None
    True
    """
    etag = plan.base_etag
    if etag is None or not etag.startswith(FINGERPRINT_VERSION) or len(etag) != _WHOLE[plan.odata_type]:
        return plan
    offsets = _HASH_AT[plan.odata_type]
    if wanted is None:
        try:
            wanted = canonical({"@odata.type": plan.odata_type, **plan.changes})
        except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError):
            return plan  # validation names the problem; nothing is dropped on a guess
    # The fingerprint read in place, as moved_since reads it (no dict per row: this runs for every row of a file).
    kept = {}
    for n, v in plan.changes.items():
        at = offsets.get(n)
        held = UNCHECKED if at is None else etag[at : at + FIELD_HASH_DIGITS]
        if held == UNCHECKED or property_hash(n, wanted.get(n)) != held:
            kept[n] = v
    if not kept:
        return None
    if len(kept) == len(plan.changes):
        return plan
    return replace(plan, changes=kept, base={k: v for k, v in plan.base.items() if k in kept})


#: The message of a plan the service already holds, and of one whose cells all match their base.
UNCHANGED = "the service already holds these values"
AS_EXPORTED = "no cell differs from the values it was read with: not read, not sent"


# --- the decision for one record ------------------------------------------------


@dataclass(frozen=True, slots=True)
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


def _shown(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:  # canonical notes: [contentType, content]
        return repr(value[1])
    return "empty" if value is None else repr(value)


def conflict_message(plan: PatchPlan, moved: Sequence[str] | None, canon: Mapping[str, Any]) -> str:
    """What changed on the service since the plan's base was read, field by field, in words.

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> conflict_message(PatchPlan(2, "p", "a", T, {"completionPercentage": 40}, base={"completionPercentage": 10}),
    ...                  ["completionPercentage"], {"completionPercentage": 30}).split(": ")[1]
    'completionPercentage was 10, now 30; not overwritten (read it again, or force)'
    """
    if moved is None:
        what = "its values differ from the file's fingerprint (an older export, which cannot say which field)"
    else:
        parts = []
        for name in moved:
            was = f"was {_shown(plan.base[name])}, " if name in plan.base else ""
            parts.append(f"{name} {was}now {_shown(canon.get(name))}")
        what = "; ".join(parts)
    return f"changed on the service since it was read: {what}; not overwritten (read it again, or force)"


def decide(
    plan: PatchPlan,
    current: Mapping[str, Any],
    *,
    prior: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    force: bool = False,
    wanted: Mapping[str, Any] | None = None,
    wire: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide a plan against the record's current JSON (pure: no I/O).

    A record that already holds the plan's values is ``unchanged`` (``applied`` when this
    run's own earlier send put them there), whatever else moved. ``prior`` is
    ``(before, body)`` when this run already sent a PATCH for the record and its outcome
    is unknown (a dropped connection, a killed process): the current values tell whether
    it landed. Without ``force``, a record whose values moved since the plan's base
    (``plan.base_etag``) is a conflict, naming each property that moved, but for a property that moved to
    the very value the plan sets (an earlier apply of the same file, kept on being edited): nothing of anyone's
    is overwritten there, so the rest of the plan goes. ``wanted`` is
    ``canonical`` of the plan's changes and ``wire`` their validated wire form
    (``validate_plans``), when the caller has them already.

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> decide(PatchPlan(2, "p", "a", T, {"completionPercentage": 40}),
    ...        {"@odata.type": T, "status": "inProgress", "completionPercentage": 10}).body
    {'@odata.type': '#microsoft.graph.learningSelfInitiatedCourse', 'status': 'inProgress', 'completionPercentage': 40}
    """
    named = current.get("@odata.type")
    try:
        kind = named if named in UPDATE_MODELS else normalize_odata_type(named)  # Graph writes it in full
    except InvalidInputError:
        return Decision("refuse", f"the service returned an activity of unknown type {named!r}")
    if kind != plan.odata_type:
        return Decision("refuse", f"@odata.type: the service holds a {kind}, the plan is for a {plan.odata_type}")
    try:
        now = canonical(current)
    except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError) as exc:
        return Decision("refuse", f"the service holds a value learnkit cannot read: {exc}")
    for name, expected in plan.expect.items():
        held = _read_only(current, name)
        if expected != held and not (expected in (None, "") and held in (None, "")):
            return Decision(
                "refuse",
                f"{name} is read-only: the row says {expected!r}, the service holds {held!r}; nothing sent",
            )
    if prior is not None:
        before, body = prior
        if holds(now, kind, overlay(before, body)):
            return Decision(
                "applied", "applied (an earlier attempt landed: read back to confirm)", dict(body), dict(before)
            )
    if wanted is None:
        try:
            wanted = canonical({"@odata.type": kind, **plan.changes})
        except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError) as exc:
            return Decision("refuse", f"a value of the plan cannot be read: {exc}")
    differ = [n for n in plan.changes if n in wanted and wanted[n] != now.get(n)]
    if not differ:
        return Decision("unchanged", UNCHANGED)
    if not force:
        if prior is not None:
            if not holds(now, kind, prior[0]):
                return Decision("conflict", "changed on the service while its update was in flight: not overwritten")
        else:
            moved = moved_since(plan, now)
            if moved is not None:
                moved = [n for n in moved if n not in plan.changes or wanted.get(n) != now.get(n)]
            if moved is None or moved:
                return Decision("conflict", conflict_message(plan, moved, now))
    # Graph wants @odata.type and status in every body; the rest is only what differs.
    status = plan.changes.get("status", getattr(current.get("status"), "value", current.get("status")))
    if wire is not None:
        # Validated already: the status, if the plan does not set it, is the one the service holds.
        patch = {"@odata.type": kind, "status": wire.get("status", status)}
        patch.update((n, wire[n]) for n in differ if n != "status")
    else:
        try:
            patch = parse_update(
                {"@odata.type": kind, "status": status, **{n: plan.changes[n] for n in differ if n != "status"}}
            ).to_body()
        except InvalidInputError as exc:
            return Decision("refuse", f"{exc.field}: {exc.detail}")
    replaced = {name: current.get(name) for name in patch if name != "@odata.type"}
    return Decision("send", "", patch, {"@odata.type": kind, **replaced})


# --- validation before sending -----------------------------------------------------


def changes_key(plan: PatchPlan) -> Hashable | None:
    """A key equal for plans whose kind and changes are the same values of the same types (None: a value
    is not hashable), so work that depends only on those is done once for the rows that share them.

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> changes_key(PatchPlan(2, "p", "a", T, {"completionPercentage": 1})) == changes_key(
    ...     PatchPlan(3, "p", "b", T, {"completionPercentage": True}))
    False
    """
    # The types are in the key: True == 1 and 1.0 == 1, but the models tell them apart.
    key = (plan.odata_type, tuple(plan.changes.items()), tuple(map(type, plan.changes.values())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def check_changes(plan: PatchPlan) -> tuple[dict[str, Any] | None, Sequence[tuple[str, str, str]]]:
    """A plan's changes through the strict update model: (the body the model writes, no problems), or
    (None, every (field, reason, detail) refused).

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> check_changes(PatchPlan(2, "p", "a", T, {"completionPercentage": 140}))[1][0][0]
    'completionPercentage'
    """
    try:
        # The status the record has is only known at send time; any status valid for both types stands in.
        return parse_update({"@odata.type": plan.odata_type, "status": "inProgress", **plan.changes}).to_body(), ()
    except InvalidInputError as exc:
        return None, exc.problems


def validate_plans(plans: Sequence[PatchPlan]) -> list[dict[str, Any]]:
    """Every plan's values through the strict update model, and one plan per record, before anything is sent.

    Returns each plan's changes as the model writes them on the wire (what ``decide`` sends),
    so they are validated once.

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> validate_plans([PatchPlan(2, "p", "a", T, {"completionPercentage": 40})])
    [{'completionPercentage': 40}]
    """
    return checked_plans(plans).wire


@dataclass(frozen=True)
class CheckedPlans:
    """What ``checked_plans`` worked out, plan by plan, for a run to reuse.

    ``wire``: each plan's changes in wire form; ``keys``: each plan's ``changes_key``. Plans with equal
    keys share one ``wire`` dict: read it, never change it.
    """

    wire: list[dict[str, Any]]
    keys: list[Hashable | None]


def checked_plans(plans: Sequence[PatchPlan]) -> CheckedPlans:
    """``validate_plans``, keeping each plan's ``changes_key`` too (``InvalidRowsError`` if any is refused).

    >>> from learnkit.models import SELF_INITIATED_TYPE as T
    >>> checked_plans([PatchPlan(2, "p", "a", T, {"completionPercentage": 40})]).wire
    [{'completionPercentage': 40}]
    """
    seen: dict[str, int] = {}
    cells: list[tuple[Any, str, str]] = []
    wire: list[dict[str, Any]] = []
    keys: list[Hashable | None] = []
    # A bulk edit repeats a few values over many rows: each distinct set of changes is validated (and put
    # in wire form) once.
    checked: dict[Any, tuple[dict[str, Any] | None, Sequence[tuple[str, str, str]]]] = {}
    for plan in plans:
        for name, value in (("id", plan.activity_id), ("learningProviderId", plan.registration_id)):
            if not isinstance(value, str) or not value.strip():
                cells.append((plan.row, name, "shouldn't be empty: it addresses the record"))
        if plan.activity_id in seen:
            cells.append((plan.row, "id", f"repeats row {seen[plan.activity_id]}: one plan per record"))
        seen.setdefault(plan.activity_id, plan.row)
        key = changes_key(plan)
        keys.append(key)
        found = None if key is None else checked.get(key)
        if found is None:
            body, problems = check_changes(plan)
            values = None if body is None else {name: body.get(name, v) for name, v in plan.changes.items()}
            found = (values, problems)
            if key is not None:
                checked[key] = found
        values, problems = found
        if values is None:
            cells.extend((plan.row, name, detail) for name, _, detail in problems)
            continue
        wire.append(values)
    if cells:
        raise InvalidRowsError(cells)
    return CheckedPlans(wire, keys)
