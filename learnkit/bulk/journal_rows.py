"""A journal row: what the engine hands the journal (``Sending``, ``Outcome``, ``Answer``), what it reads back
(``JournalRow``), and how a row is stored: JSON a person reads in ``sqlite3``, and the row's checksum.

A row keeps its changes, the values its PATCH replaced (``before``, only where they differ from
``body``: ``status`` is in every body and rarely changes) and its body as JSON objects with Graph's
property names, without ``@odata.type`` (the row has the kind); ``extra`` keeps the plan's
``etag``, ``expect`` and ``base`` until the row is settled; ``message`` is the outcome in words, NULL where
the state says it (``applied``; ``unchanged``: as exported when its changes are ``{}``, else already held).
``crc`` covers the row, so a damaged file is refused rather than resumed.

Journals of format 2 stored one-letter property names, ``~N`` codes for the usual messages and
``e``/``x``/``b`` extras: ``upgrade_format_2`` rewrites such a file's rows in place.

Example: ``props({"completionPercentage": 50})`` is ``'{"completionPercentage":50}'``, what
``SELECT changes FROM plans`` shows.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from learnkit.models import UPDATE_MODELS

from .fingerprints import compact_json
from .plans import AS_EXPORTED, UNCHANGED, PatchPlan

__all__ = ["Answer", "JournalRow", "Outcome", "Sending"]  # learnkit.bulk.journal names them too


class Sending(NamedTuple):
    """A row about to be PATCHed: the values its PATCH replaces (``before``) and the ``body`` it sends."""

    idx: int  # the plan's position in its run
    plan: PatchPlan
    before: Any
    body: Any


class Outcome(NamedTuple):
    """A row's final state as the engine hands it over: ``applied``, ``unchanged``, ``conflict`` or ``failed``,
    the status ``code`` and ``message``, the sends it took, whether a resume retries it, and its values."""

    idx: int  # the plan's position in its run
    plan: PatchPlan
    state: str
    code: int | None
    message: str
    attempts: int
    retryable: bool
    before: Any
    body: Any


class Answer(NamedTuple):
    """A sub-request that did not succeed: its row, method, status (None: no answer), error and ``Retry-After``."""

    idx: int
    method: str
    status: int | None
    error: str
    retry_after: float | None


@dataclass(frozen=True)
class JournalRow:
    """One plan of a run, where it got to, and the values its PATCH replaced (``before``)."""

    index: int
    plan: PatchPlan
    state: str
    before: dict[str, Any] | None
    body: dict[str, Any] | None
    code: int | None
    message: str
    attempts: int
    retryable: bool


#: The kinds of record, stored by position (``plans.kind``).
KINDS = tuple(UPDATE_MODELS)


def dump(value: Any) -> str | None:
    return None if value is None else compact_json(value)


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def props(values: Mapping[str, Any] | None) -> str | None:
    """Properties as stored: compact JSON with their own names.

    >>> props({"status": "completed", "completionPercentage": 100})
    '{"status":"completed","completionPercentage":100}'
    """
    return None if values is None else compact_json(dict(values))


def extra_text(plan: PatchPlan) -> str | None:
    """What a row keeps of its plan's base until it is settled (None: nothing to keep)."""
    extra: dict[str, Any] = {}  # only what the plan has (a bulk edit's rows have an etag and a base, no expect)
    if plan.base_etag:
        extra["etag"] = plan.base_etag
    if plan.expect:
        extra["expect"] = dict(plan.expect)
    if plan.base:
        extra["base"] = dict(plan.base)
    return dump(extra) if extra else None


def extras(text: str | None) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A row's ``extra`` read back: the plan's etag, expectations and base."""
    more = load(text) or {}
    return more.get("etag"), dict(more.get("expect") or {}), dict(more.get("base") or {})


def pack_values(before: Mapping[str, Any] | None, body: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """``before`` and ``body`` as stored: without ``@odata.type``, ``before`` only where it differs from ``body``.

    >>> pack_values({"status": "inProgress", "completionPercentage": 10},
    ...             {"@odata.type": "#x", "status": "inProgress", "completionPercentage": 11})
    ('{"completionPercentage":10}', '{"status":"inProgress","completionPercentage":11}')
    """
    if body is None:
        return props(before), None
    sent = {k: v for k, v in body.items() if k != "@odata.type"}
    if before is None:
        return None, compact_json(sent)
    kept = {k: v for k, v in before.items() if k != "@odata.type" and (k not in sent or sent[k] != v)}
    return compact_json(kept), compact_json(sent)


def unpack_values(kind: str, before: str | None, body: str | None) -> tuple[Any, Any]:
    """``before`` and ``body`` as they were given to ``pack_values``, with the kind as ``@odata.type``."""
    sent, kept = load(body), load(before)
    if sent is None:
        return kept, None
    full_body = {"@odata.type": kind, **sent}
    if kept is None:
        return None, full_body
    return {"@odata.type": kind, **sent, **kept}, full_body


def implied_message(state: str, changes: str) -> str:
    """The message a row's state and stored changes already say: not stored again (one in each row otherwise).

    >>> implied_message("unchanged", "{}")
    'no cell differs from the values it was read with: not read, not sent'
    """
    if state == "unchanged":
        return AS_EXPORTED if changes == "{}" else UNCHANGED
    return "applied" if state == "applied" else ""


def pack_message(message: str | None, state: str, changes: str) -> str | None:
    """``message`` as stored: NULL where the state and changes imply it, else in full."""
    return None if not message or message == implied_message(state, changes) else message


def unpack_message(text: str | None, state: str, changes: str) -> str:
    return text if text is not None else implied_message(state, changes)


def plan_crc(idx: int, plan: PatchPlan, providers: list[str], extra: str | None) -> int:
    """``static_crc`` of a plan's row as stored: its address, kind, changes and (unless settled) extras."""
    where, kind_at = providers.index(plan.registration_id), KINDS.index(plan.odata_type)
    return static_crc(idx, plan.row, plan.activity_id, where, kind_at, props(plan.changes) or "{}", extra)


def static_crc(idx: int, row: int, activity_id: str, where: int, kind_at: int, changes: str, extra: Any) -> int:
    """The checksum of what a row keeps from its plan (computed once per row, then continued by ``crc``)."""
    # The parts joined by \x1f, an absent extra as empty (spelled out: this runs twice per row).
    last = "" if extra is None else str(extra)
    return zlib.crc32(f"{idx}\x1f{row}\x1f{activity_id}\x1f{where}\x1f{kind_at}\x1f{changes}\x1f{last}".encode())


def crc(static: int, state: str, before: str | None, body: str | None) -> int:
    """A row's checksum: its ``static_crc`` continued over its state and values."""
    # "", state, before and body joined by \x1f, absent values as empty (spelled out: this runs three times per row).
    return zlib.crc32(f"\x1f{state}\x1f{before or ''}\x1f{body or ''}".encode(), static)


# --- format 2 -> 3

# Format 2's one-letter property names, its codes for the usual messages, and its extras' keys.
_FORMAT2_NAMES = {
    "a": "assignedDateTime",
    "c": "completedDateTime",
    "p": "completionPercentage",
    "d": "dueDateTime",
    "n": "notes",
    "s": "status",
    "t": "startedDateTime",
}
_FORMAT2_MESSAGES = ("applied", UNCHANGED, AS_EXPORTED)
_FORMAT2_EXTRAS = {"e": "etag", "x": "expect", "b": "base"}


def _renamed(text: str | None, names: Mapping[str, str]) -> str | None:
    found = load(text)
    if not isinstance(found, dict):
        return text
    return compact_json({names.get(k, k): v for k, v in found.items()})


def upgrade_format_2(db: sqlite3.Connection) -> int:
    """Rewrite a format-2 journal's rows with plain names (inside the caller's transaction); how many.

    A row whose checksum held keeps one that holds; a row that failed it still fails (damage stays seen).
    """
    found = db.execute(
        "SELECT run, idx, row, activity_id, provider, kind, changes, extra, state, before, body, message, crc"
        " FROM plans"
    ).fetchall()
    lines = []
    for run, idx, row, activity_id, where, kind_at, changes, extra, state, before, body, message, old in found:
        was = crc(static_crc(idx, row, activity_id, where, kind_at, changes, extra), state, before, body)
        changes, before, body = (_renamed(t, _FORMAT2_NAMES) for t in (changes, before, body))
        extra = _renamed(extra, _FORMAT2_EXTRAS)
        if message and len(message) == 2 and message[0] == "~" and message[1].isdigit():
            message = _FORMAT2_MESSAGES[int(message[1])] if int(message[1]) < len(_FORMAT2_MESSAGES) else message
        new = crc(static_crc(idx, row, activity_id, where, kind_at, changes or "{}", extra), state, before, body)
        message = pack_message(message, state, changes or "{}")
        lines.append((changes or "{}", extra, before, body, message, new if was == old else old, run, idx))
    db.executemany(
        "UPDATE plans SET changes = ?, extra = ?, before = ?, body = ?, message = ?, crc = ? WHERE run = ? AND idx = ?",
        lines,
    )
    return len(lines)
