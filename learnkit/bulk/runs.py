"""Many patches at once, the entry points: ``apply``, ``apply_frame``, ``apply_csv``, ``undo``, ``resume``.

They validate the plans, start a journal run and hand the rows to ``learnkit.bulk.engine``
(pacing in ``learnkit.bulk.pacing``, decisions in ``learnkit.bulk.plans``). How a run goes:

Each plan needs what the service holds now (to check it was not changed since the
plan's base was read, and to send only what differs). The engine reads it the
cheapest way for the run: when many plans address one provider, its list, a page of
999 records per request, deciding each page's plans as it arrives; otherwise a GET
sub-request per plan in a ``$batch``. The PATCHes (the smallest body each) go out in
``$batch``es of 20 while later pages or records are still being read; ``concurrency`` bounds
every request in flight, reads included. Sub-requests are retried
on their own for 429, 503, 5xx and dropped connections, after the wait their own
``Retry-After`` asks for (``RetryPolicy``). How many batches fly at once, and how fast,
adapts (AIMD, ``AdaptiveLimit``): paced just under the service's rate once it throttles,
grown back on each clean batch.

Every plan is written to the journal (``learnkit.bulk.journal``) before anything is
sent, and the values each PATCH replaces before it goes out, so ``undo`` can put
them back and ``resume`` can finish a run whose process died.

Example::

    result = apply(client, diff(before, edited))      # a BulkResult: .frame, .summary(), .journal_id
    undo(client, result.journal_id)
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from learnkit.errors import JournalError, ServiceMismatchError
from learnkit.retry import RetryPolicy
from learnkit.service import Service

from .csvfile import warn_extra_columns
from .edits import diff
from .engine import (
    DEFAULT_CONCURRENCY,
    FINAL,
    BulkResult,
    Engine,
    Progress,
    Row,
    collect_results,
)
from .fingerprints import canonical, compact_json, fingerprint
from .journal import Journal, JournalRow, RunInfo
from .keyed import plan_sheet
from .leases import shared_leases
from .plans import AS_EXPORTED, CheckedPlans, PatchPlan, check_changes, checked_plans, edited_only

if TYPE_CHECKING:
    from learnkit.client import GraphClient

# --- entry points ------------------------------------------------------------------


def _policy(client: GraphClient, retry: RetryPolicy | None) -> RetryPolicy:
    # Throttled sub-requests are the normal case in bulk: allow more tries than one call gets.
    return retry or RetryPolicy(max_attempts=10, max_retry_wait=client.retry.max_retry_wait)


def _journal(journal: Journal | str | Path | None) -> Journal:
    return journal if isinstance(journal, Journal) else Journal(journal)


def _run(
    client: GraphClient,
    rows: list[Row],
    *,
    journal: Journal | None,
    start: Callable[[], str] | None,
    force: bool,
    dry_run: bool,
    progress: Progress,
    concurrency: int,
    retry: RetryPolicy | None,
    recheck_after: float,
) -> BulkResult:
    """Run the rows; ``start`` journals the run (its id), called while the first reads are on their way.

    Outside a dry run, every record to read is leased first (``learnkit.bulk.leases``): one that another live
    run on this machine is writing ends as a conflict naming it, unread and unsent.
    """
    engine = Engine(
        client,
        rows,
        journal=journal,
        run_id=None,
        force=force,
        dry_run=dry_run,
        retry=_policy(client, retry),
        concurrency=concurrency,
        progress=progress,
        recheck_after=recheck_after,
    )
    leases = holder = None
    busy: list[Row] = []
    if not dry_run:
        leases = shared_leases()
        todo = {row.plan.activity_id: row for row in rows if row.state not in FINAL}
        holder, held = leases.acquire(client.service().key, todo)
        for activity_id, lease in held.items():
            row = todo[activity_id]
            row.state, row.message = (
                "conflict",
                (
                    f"being written by {lease.describe()} on this machine: not read or sent; "
                    "apply it again once that run has finished"
                ),
            )
            busy.append(row)
    run_id = None
    try:
        # The first page's round trip hides the journal's write of every plan: a read changes
        # nothing, and no PATCH leaves before the run and its plans are in the journal.
        engine.read_ahead()
        if start is not None:
            run_id = engine.run_id = start()
            engine.settled(busy)
        engine.run()
    except BaseException:
        engine.close()
        if journal is not None and run_id is not None:
            journal.finish(run_id, "interrupted")
        raise
    finally:
        if leases is not None and holder is not None:
            leases.release(holder)
    if journal is not None and run_id is not None:
        journal.finish(run_id, "finished")
    return collect_results(rows, journal_id=run_id, dry_run=dry_run, stats=engine.stats)


def _bound_to(book: Journal, run_id: str, client: GraphClient, provider: str | None) -> tuple[RunInfo, Service]:
    """The run's header and the client's service, once the client is shown to address the service (and
    provider) the run wrote to.

    ``ServiceMismatchError`` otherwise, before anything is sent: undoing or resuming a run on another
    tenant, another sandbox or another provider would write one tenant's values into another's records.
    """
    info = book.info(run_id)
    connected = client.service()
    if not info.service.same_as(connected):
        raise ServiceMismatchError(run_id, info.service.label or "an unknown service", connected.label)
    if provider is not None and info.providers and provider.lower() not in {p.lower() for p in info.providers}:
        raise ServiceMismatchError(run_id, f"provider {', '.join(info.providers)}", f"provider {provider}")
    return info, connected


def _unrestorable(plan: PatchPlan, kind: str) -> str | None:
    """Why a plan of an undo or redo cannot be sent (a value Graph refuses), in words that say what to do; None if
    it can.

    >>> from learnkit.models import ASSIGNMENT_TYPE as A
    >>> due = {"dateTime": "2024-06-30T17:00:00", "timeZone": "Eastern Time"}
    >>> _unrestorable(PatchPlan(7, "p", "a", A, {"dueDateTime": due}), "undo")[:47]
    'dueDateTime: cannot put back {"dateTime":"2024-'
    """
    problems = check_changes(plan)[1]
    if not problems:
        return None
    field, _, detail = problems[0]
    value = plan.changes.get(field.split(".")[0])
    shown = compact_json(value) if value is not None else "null"
    return (
        f"{field}: cannot put back {shown}: {detail}; nothing was sent for this row, so the record keeps the "
        f"value it has. If it must change, apply a value Graph accepts (learnkit apply), not this {kind}"
    )


def _started(run_id: str, on_start: Callable[[str], object] | None) -> str:
    if on_start is not None:
        on_start(run_id)
    return run_id


def _canonical_changes(plan: PatchPlan) -> dict[str, Any] | None:
    try:
        return canonical({"@odata.type": plan.odata_type, **plan.changes})
    except (ValueError, TypeError, LookupError):
        return None  # decide() refuses the row with the reason


def _rows_for(
    plans: Sequence[PatchPlan], checked: CheckedPlans
) -> tuple[list[PatchPlan], list[Row], dict[int, tuple[str, str]]]:
    """Plans as journaled (only edited properties kept), their rows, and those final without the service
    (``checked``: what ``checked_plans`` found of them)."""
    kept: list[PatchPlan] = []
    rows: list[Row] = []
    finals: dict[int, tuple[str, str]] = {}
    # Many rows share their changes (a bulk edit): each distinct set is put in canonical form once
    # (read only from here on, so the rows share it).
    known: dict[Any, dict[str, Any] | None] = {}
    for i, plan in enumerate(plans):
        key = checked.keys[i]
        if key is not None and key in known:
            wanted = known[key]
        else:
            wanted = _canonical_changes(plan)
            if key is not None:
                known[key] = wanted
        edited = edited_only(plan, wanted)
        if edited is None:
            # Nothing to send, read, resume or undo: the journal keeps where it was, not its cells.
            bare = replace(plan, changes={}, base_etag=None, expect={}, base={})
            finals[i] = ("unchanged", AS_EXPORTED)
            rows.append(Row(i, bare, state="unchanged", message=AS_EXPORTED))
            kept.append(bare)
        else:
            values = checked.wire[i]  # shared by the rows with the same changes: filtered into a copy, never changed
            if edited is not plan:
                values = {k: v for k, v in values.items() if k in edited.changes}
            rows.append(Row(i, edited, wanted=wanted, wire=values))
            kept.append(edited)
    return kept, rows, finals


def apply(
    client: GraphClient,
    plans: Iterable[PatchPlan],
    *,
    journal: Journal | str | Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry: RetryPolicy | None = None,
    source: str | None = None,
    on_start: Callable[[str], object] | None = None,
    recheck_after: float = 10.0,
    provider_names: Mapping[str, str] | None = None,
) -> BulkResult:
    """Apply patch plans over ``$batch`` as one journal run; a ``BulkResult`` with one row per plan.

    Every plan is validated first (``InvalidRowsError`` names each bad row and field,
    nothing sent). ``status`` is ``applied``, ``unchanged`` (the service already holds
    the values), ``conflict`` (changed on the service since the plan's base was read:
    the message names each property, was and now) or ``failed`` (``dry-run`` in a dry
    run, which reads but writes nothing and keeps no journal). ``result.journal_id``
    names the run for ``undo`` and ``resume``; ``on_start`` gets it before any change is
    sent (the first reads may be on their way). ``force`` overwrites records changed since. ``progress`` is True (a
    ``tqdm.auto`` bar), False, or a callable ``(done, total)``. ``provider_names`` (registration id -> name)
    are kept with the run, for the history.

    Example: ``apply(client, diff(before, edited)).summary()``
    """
    todo = list(plans)
    kept, rows, finals = _rows_for(todo, checked_plans(todo))
    options = dict(force=force, progress=progress, concurrency=concurrency, retry=retry, recheck_after=recheck_after)
    if dry_run:
        return _run(client, rows, journal=None, start=None, dry_run=True, **options)  # type: ignore[arg-type]
    book = _journal(journal)
    service = client.service()

    def start() -> str:
        run_id = book.start(
            "apply",
            kept,
            force=force,
            graph_url=service.graph_url,
            tenant=service.tenant_id,
            source=source,
            outcomes=finals,
            provider_names=provider_names,
        )
        return _started(run_id, on_start)

    return _run(client, rows, journal=book, start=start, dry_run=False, **options)  # type: ignore[arg-type]


def apply_frame(client: GraphClient, before: pd.DataFrame, after: pd.DataFrame, **options: Any) -> BulkResult:
    """``apply(client, diff(before, after), ...)``: the cells edited in a frame read with ``read_activities``.

    Example: ``apply_frame(client, df, edited, dry_run=True)``
    """
    return apply(client, diff(before, after), **options)


def apply_csv(client: GraphClient, path: str | Path, *, provider: str | None = None, **options: Any) -> BulkResult:
    """Validate a CSV or workbook and apply the cells edited since the export that differ from the service.

    Rows whose cells all still match their ``@learnkit.etag`` are neither read nor sent. A sheet of
    keys (``id`` or ``externalcourseActivityId``) and new values has its records read first, from
    ``provider`` unless it has a ``learningProviderId`` column (``learnkit.bulk.keyed.plan_sheet``).

    Example: ``apply_csv(client, "edits.csv", dry_run=True)``
    """
    edits = plan_sheet(client, path, provider=provider)
    if edits.extra_columns:
        warn_extra_columns(edits.extra_columns, stacklevel=2)
    options.setdefault("source", str(path))
    return apply(client, edits.plans, **options)


def _rows_of(entries: Sequence[JournalRow], *, retry_failed: bool) -> list[Row]:
    rows = []
    for entry in entries:
        row = Row(
            entry.index,
            entry.plan,
            state=entry.state,
            before=entry.before,
            body=entry.body,
            code=entry.code,
            message=entry.message,
            sends=entry.attempts,
            retryable=entry.retryable,
        )
        if row.state in ("planned", "sending") or (retry_failed and row.state == "failed" and row.retryable):
            row.state, row.stage, row.prior = "planned", "check", row.before is not None and row.body is not None
        rows.append(row)
    return rows


def resume(
    client: GraphClient,
    journal_id: str,
    *,
    journal: Journal | str | Path | None = None,
    progress: Progress = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry: RetryPolicy | None = None,
    retry_failed: bool = True,
    recheck_after: float = 10.0,
    provider: str | None = None,
    on_start: Callable[[str], object] | None = None,
) -> BulkResult:
    """Finish a run whose process stopped: every row not final is read again and sent only if still needed.

    A row whose PATCH may have landed is confirmed by reading it back, not sent twice;
    rows that failed with a retryable error (throttled for too long, dropped) are
    tried again when ``retry_failed``. Returns the results of every row of the run.
    A client on another service than the run's (or a ``provider`` the run did not
    write to) is refused with ``ServiceMismatchError`` before anything is sent; ``on_start``
    gets the run's id once it is taken over.

    Example: ``resume(client, "20240501T101500-ab12cd")``
    """
    book = _journal(journal)
    _bound_to(book, journal_id, client, provider)
    entries = book.rows(journal_id)  # checked (checksums) before the run is claimed or anything sent
    info = book.claim(journal_id)
    rows = _rows_of(entries, retry_failed=retry_failed)
    return _run(
        client,
        rows,
        journal=book,
        start=lambda: _started(journal_id, on_start),
        force=info.force,
        dry_run=False,
        progress=progress,
        concurrency=concurrency,
        retry=retry,
        recheck_after=recheck_after,
    )


def undo(
    client: GraphClient,
    journal_id: str,
    *,
    journal: Journal | str | Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry: RetryPolicy | None = None,
    on_start: Callable[[str], object] | None = None,
    provider: str | None = None,
) -> BulkResult:
    """Revert a finished apply (or redo): patch back the values each applied row replaced, as a journaled
    ``undo`` run of its own.

    A record whose properties the run wrote have changed since is a conflict, left as it
    is, unless ``force``; one that already holds the old values is ``unchanged`` (undoing
    twice is harmless). Rows the run did not apply are not touched. A client on another
    service than the run's (or a ``provider`` the run did not write to) is refused with
    ``ServiceMismatchError`` before anything is sent. An undo run is not undone: ``redo`` it.
    ``Journal.runs().last_in_effect()`` is the newest run still to undo.

    Example: ``undo(client, result.journal_id)``
    """
    return _revert(
        client,
        journal_id,
        "undo",
        journal=journal,
        force=force,
        dry_run=dry_run,
        progress=progress,
        concurrency=concurrency,
        retry=retry,
        on_start=on_start,
        provider=provider,
    )


def redo(
    client: GraphClient,
    journal_id: str,
    *,
    journal: Journal | str | Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry: RetryPolicy | None = None,
    on_start: Callable[[str], object] | None = None,
    provider: str | None = None,
) -> BulkResult:
    """Re-apply what an undo run put back: patch each of its rows to the values the undone run had written,
    as a journaled ``redo`` run (which ``undo`` can revert in turn). Checked as ``undo`` is.

    ``Journal.runs().last_undone()`` is the newest undo still to redo.

    Example: ``redo(client, undo(client, result.journal_id).journal_id)``
    """
    return _revert(
        client,
        journal_id,
        "redo",
        journal=journal,
        force=force,
        dry_run=dry_run,
        progress=progress,
        concurrency=concurrency,
        retry=retry,
        on_start=on_start,
        provider=provider,
    )


def _revert(
    client: GraphClient,
    journal_id: str,
    kind: str,
    *,
    journal: Journal | str | Path | None,
    force: bool,
    dry_run: bool,
    progress: Progress,
    concurrency: int,
    retry: RetryPolicy | None,
    on_start: Callable[[str], object] | None,
    provider: str | None,
) -> BulkResult:
    """An ``undo`` of an apply or redo run, or a ``redo`` of an undo run: its rows' replaced values put back."""
    book = _journal(journal)
    info, service = _bound_to(book, journal_id, client, provider)
    if info.state != "finished":
        raise JournalError(f"run {journal_id} is {info.state}, not finished: resume it first, then {kind} it")
    if kind == "undo" and info.kind == "undo":
        raise JournalError(
            f"run {journal_id} is an undo: to put its changes back, redo it (`learnkit redo {journal_id}`)"
        )
    if kind == "redo" and info.kind != "undo":
        raise JournalError(f"run {journal_id} is an {info.kind}, not an undo: only an undo run can be redone")
    plans = []
    for entry in book.rows(journal_id):
        if entry.state != "applied" or entry.before is None or entry.body is None:
            continue
        written = {k: v for k, v in entry.body.items() if k != "@odata.type"}
        restore = {k: entry.before.get(k) for k in written}
        read = canonical({"@odata.type": entry.plan.odata_type, **written})
        plans.append(
            PatchPlan(
                row=entry.plan.row,
                registration_id=entry.plan.registration_id,
                activity_id=entry.plan.activity_id,
                odata_type=entry.plan.odata_type,
                changes=restore,
                base_etag=fingerprint(read, only=written),
                base={k: read.get(k) for k in written},
            )
        )
    # A value Graph would refuse (a time zone it does not know, held before an audit's fix) cannot be
    # put back: its row fails here, named, and nothing is sent for it.
    finals = {i: ("failed", message) for i, plan in enumerate(plans) if (message := _unrestorable(plan, kind))}
    rows = [
        Row(i, plan, state="failed", message=finals[i][1]) if i in finals else Row(i, plan)
        for i, plan in enumerate(plans)
    ]
    options = dict(force=force, progress=progress, concurrency=concurrency, retry=retry, recheck_after=10.0)
    if dry_run:
        return _run(client, rows, journal=None, start=None, dry_run=True, **options)  # type: ignore[arg-type]

    def start() -> str:
        run_id = book.start(
            kind,
            plans,
            parent=journal_id,
            force=force,
            graph_url=service.graph_url,
            tenant=service.tenant_id,
            source=f"{kind} of {journal_id}",
            outcomes=finals,
            provider_names=info.provider_names,
        )
        return _started(run_id, on_start)

    return _run(client, rows, journal=book, start=start, dry_run=False, **options)  # type: ignore[arg-type]
