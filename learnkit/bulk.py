"""Many patches at once: ``$batch`` of 20, adaptive concurrency, per-row retries, a journal, undo and resume.

Each plan goes through two steps, each a sub-request in some ``$batch``: a GET of
the record as the service holds it now, then (unless it changed since the plan
was based on it, or nothing differs) a PATCH of the smallest body. Sub-requests
are retried on their own for 429, 503, 5xx and dropped connections, after the
wait their own ``Retry-After`` asks for (``RetryPolicy``). Batches go out on a
few threads sharing the client's connection pool; how many at once, and how
fast, adapts (AIMD): halved when the service throttles most of a batch, grown
back on each clean one.

Every plan is written to the journal (``learnkit.journal``) before anything is
sent, with the values each PATCH replaced, so ``undo`` can put them back and
``resume`` can finish a run whose process died.

Example::

    results = apply(client, diff(before, edited))      # one row per plan: status, code, message, attempts
    undo(client, results.attrs["journal_id"])
"""

from __future__ import annotations

import copy
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import pandas as pd
from tqdm.auto import tqdm

from learnkit.csvfile import plans_from_frame, read_csv
from learnkit.errors import (
    GraphError,
    NetworkError,
    RetryableError,
    error_from_response,
)
from learnkit.frame import diff
from learnkit.journal import Journal, JournalError, JournalRow
from learnkit.plans import PatchPlan, activity_etag, decide, overlay, validate_plans
from learnkit.retry import RetryPolicy

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = [
    "RESULT_COLUMNS",
    "AdaptiveLimit",
    "apply",
    "apply_csv",
    "apply_frame",
    "resume",
    "summarize",
    "undo",
]

#: The columns of the per-row result frame (its index is the plan's row).
RESULT_COLUMNS = ("id", "status", "code", "message", "attempts", "patch")
#: The statuses a row can end in; in a dry run, a row that would be sent ends in ``dry-run``.
FINAL = frozenset({"applied", "unchanged", "conflict", "failed", "dry-run"})
BATCH_SIZE = 20
# Above this share of throttled sub-requests, a batch means "the service's rate is reached"
# rather than the odd throttled request; once paced, a smaller share means "past it".
_OVERLOAD = 0.5
_PAST_RATE = 0.25


# --- adaptive concurrency --------------------------------------------------------


@dataclass
class AdaptiveLimit:
    """AIMD limits: how many batches in flight (``limit``) and, once throttled, how many sub-requests a second.

    The first batch most of whose sub-requests were throttled means the service's rate
    is reached: sending holds for the ``Retry-After`` it gave, and the pace is set just
    under what the service delivered in the last second. After that, a throttled batch
    halves ``limit`` and brings the pace back under what was delivered (once per round
    trip: batches already in flight do not cut again), and gives back its place in the
    pace, since it used none of the service's budget; each clean batch grows both back a
    little, probing for more.

    >>> aimd = AdaptiveLimit(maximum=8, limit=8)
    >>> aimd.on_batch(aimd.epoch, size=20, throttled=20, now=0.0, wait=1.0); aimd.limit, aimd.wait_for(0.5)
    (4.0, 0.5)
    """

    maximum: int = 8
    limit: float = 4.0
    pace: float | None = None
    minimum_pace: float = float(BATCH_SIZE)
    epoch: int = 0
    slow_start: bool = True
    _delivered: deque[tuple[float, int]] = field(default_factory=deque, repr=False)
    _next_at: float = 0.0
    _hold_until: float = 0.0

    def on_batch(self, epoch: int, *, size: int, throttled: int, now: float, wait: float | None = None) -> None:
        """Feed one batch's outcome: its size, how many were throttled, and the shortest Retry-After given."""
        self._delivered.append((now, size - throttled))
        while self._delivered and self._delivered[0][0] < now - 1.0:
            self._delivered.popleft()
        if not size:
            return
        if throttled and self.pace is None:
            if throttled / size < _OVERLOAD or size < BATCH_SIZE // 2:
                return  # the odd throttled request, not the service's rate
            self.epoch += 1
            self.slow_start = False
            self.limit = max(1.0, self.limit / 2)
            self.pace = max(self.minimum_pace, 0.97 * sum(n for _, n in self._delivered))
            self._hold_until = now + (wait if wait is not None else 1.0)
            return
        if throttled:
            assert self.pace is not None
            self._next_at -= throttled / self.pace
            if epoch == self.epoch and throttled / size >= _PAST_RATE:
                self.epoch += 1
                self.limit = max(1.0, self.limit / 2)
                delivered = sum(n for _, n in self._delivered)
                self.pace = max(self.minimum_pace, min(self.pace, 0.97 * delivered))
            return
        self.limit = min(float(self.maximum), self.limit + (1.0 if self.slow_start else 1.0 / self.limit))
        if self.pace is not None:
            self.pace *= 1.002

    def wait_for(self, now: float) -> float:
        """Seconds to wait before sending the next batch (0: now)."""
        return max(0.0, self._hold_until - now, (self._next_at - now) if self.pace is not None else 0.0)

    def sent(self, size: int, now: float) -> None:
        """Record that a batch of ``size`` went out."""
        if self.pace is not None:
            self._next_at = max(now, self._next_at) + size / self.pace


# --- the engine ------------------------------------------------------------------


@dataclass
class _Row:
    index: int
    plan: PatchPlan
    state: str = "planned"
    stage: Literal["check", "send"] = "check"
    before: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    prior: bool = False
    tries: int = 0
    sends: int = 0
    code: int | None = None
    message: str = ""
    retryable: bool = False


@dataclass
class _Batch:
    rows: list[_Row]
    epoch: int


def _path(value: str) -> str:
    return quote(value, safe=":@")


def _subrequest(row: _Row) -> dict[str, Any]:
    plan = row.plan
    if row.stage == "check":
        return {
            "id": str(row.index),
            "method": "GET",
            "url": f"/employeeExperience/learningCourseActivities/{_path(plan.activity_id)}",
        }
    return {
        "id": str(row.index),
        "method": "PATCH",
        "url": f"/employeeExperience/learningProviders/{_path(plan.registration_id)}"
        f"/learningCourseActivities/{_path(plan.activity_id)}",
        "headers": {"Content-Type": "application/json"},
        "body": row.body,
    }


class _Engine:
    """Runs rows through check and send until each is final, journaling as it goes."""

    def __init__(
        self,
        client: GraphClient,
        rows: list[_Row],
        *,
        journal: Journal | None,
        run_id: str | None,
        force: bool,
        dry_run: bool,
        retry: RetryPolicy,
        concurrency: int,
        progress: bool,
        recheck_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A copy sharing the session (one pool) whose own retries are off: each sub-request is
        # retried here, on its own, and the limits must see every throttled answer.
        self.sender = copy.copy(client)
        self.sender.retry = RetryPolicy(max_attempts=1)
        self.rows = rows
        self.journal, self.run_id = journal, run_id
        self.force, self.dry_run = force, dry_run
        self.retry = retry
        self.recheck_after = recheck_after
        self.limits = AdaptiveLimit(maximum=max(1, concurrency), limit=float(min(4, max(1, concurrency))))
        self.clock = clock
        self.concurrency = max(1, concurrency)
        self.bar = tqdm(total=len(rows), disable=not progress, unit="row", desc="dry run" if dry_run else "bulk")
        self._seq = itertools.count()
        self._ready: list[tuple[float, int, _Row]] = []

    # -- scheduling

    def _push(self, row: _Row, at: float) -> None:
        heapq.heappush(self._ready, (at, next(self._seq), row))

    def _take(self, now: float) -> list[_Row]:
        taken: list[_Row] = []
        while self._ready and self._ready[0][0] <= now and len(taken) < BATCH_SIZE:
            taken.append(heapq.heappop(self._ready)[2])
        return taken

    def run(self) -> None:
        """Drive every row to a final state."""
        for row in self.rows:
            if row.state not in FINAL:
                self._push(row, 0.0)
            else:
                self.bar.update(1)
        inflight: dict[Future[list[dict[str, Any]]], _Batch] = {}
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="learnkit-bulk")
        try:
            while self._ready or inflight:
                now = self.clock()
                wake: float | None = None
                while len(inflight) < int(self.limits.limit) and self._ready:
                    if self._ready[0][0] > now:
                        wake = self._ready[0][0] - now
                        break
                    pause = self.limits.wait_for(now)
                    if pause > 0:
                        wake = pause
                        break
                    rows = self._take(now)
                    self._before_send(rows)
                    self.limits.sent(len(rows), now)
                    future = pool.submit(self.sender.batch, [_subrequest(r) for r in rows])
                    inflight[future] = _Batch(rows, self.limits.epoch)
                if not inflight:
                    time.sleep(max(0.0, wake or 0.0))
                    continue
                done, _ = wait(inflight, timeout=wake, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = inflight.pop(future)
                    self._after(batch, future)
        finally:
            for future in inflight:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            self.bar.close()

    # -- journal hooks

    def _before_send(self, rows: Sequence[_Row]) -> None:
        if self.journal is None or self.run_id is None:
            return
        sending = [(r.index, r.before, r.body) for r in rows if r.stage == "send"]
        attempts = [(r.index, "PATCH" if r.stage == "send" else "GET") for r in rows]
        self.journal.mark_sending(self.run_id, sending, attempts)

    # -- outcomes

    def _after(self, batch: _Batch, future: Future[list[dict[str, Any]]]) -> None:
        now = self.clock()
        outcomes: list[tuple[_Row, int | None, Any, GraphError | None]] = []
        try:
            answers = {str(a.get("id")): a for a in future.result()}
        except NetworkError:
            answers = None
            outcomes = [(row, None, None, None) for row in batch.rows]
        except GraphError as exc:
            answers = None
            outcomes = [(row, exc.status, None, exc) for row in batch.rows]
        if answers is not None:
            for row in batch.rows:
                answer = answers.get(str(row.index))
                if answer is None:
                    missing = error_from_response(500, {"error": {"code": "", "message": "no sub-response"}}, {})
                    outcomes.append((row, 500, None, missing))
                    continue
                code = int(answer.get("status", 500))
                content = answer.get("body")
                failure = None if code < 400 else error_from_response(code, content, answer.get("headers") or {})
                outcomes.append((row, code, content, failure))
        throttled = sum(1 for _, status, _, _ in outcomes if status in (429, 503))
        waits = [e.retry_after for _, status, _, e in outcomes if status in (429, 503) and e and e.retry_after]
        self.limits.on_batch(
            batch.epoch, size=len(outcomes), throttled=throttled, now=now, wait=min(waits) if waits else None
        )
        finals: list[_Row] = []
        records: list[tuple[int, int | None, str, float | None]] = []
        for row, status, body, error in outcomes:
            records.append(
                (
                    row.index,
                    status,
                    "" if error is None else str(error)[:500],
                    error.retry_after if error is not None else None,
                )
            )
            if status is None or error is not None:
                self._failed_try(row, error, now, finals)
            elif row.stage == "check":
                self._checked(row, body if isinstance(body, Mapping) else {}, now, finals)
            else:
                row.sends += 1
                self._final(row, "applied", status, "applied", finals)
        if self.journal is not None and self.run_id is not None:
            self.journal.record(self.run_id, [_outcome(r) for r in finals], records)
        self.bar.update(len(finals))
        if finals:
            self.bar.set_postfix(concurrency=int(self.limits.limit), refresh=False)

    def _final(
        self, row: _Row, state: str, code: int | None, message: str, finals: list[_Row], retryable: bool = False
    ) -> None:
        row.state, row.code, row.message, row.retryable = state, code, message, retryable
        finals.append(row)

    def _failed_try(self, row: _Row, error: GraphError | None, now: float, finals: list[_Row]) -> None:
        if row.stage == "send":
            row.sends += 1
        row.tries += 1
        delay = self.retry.delay(error, row.tries)
        if delay is None:
            if error is None:
                message = f"connection lost {row.tries} time(s): gave up; resume retries it"
                self._final(row, "failed", None, message, finals, retryable=True)
            else:
                retryable = isinstance(error, RetryableError)
                advice = "; resume retries it" if retryable else ""
                self._final(row, "failed", error.status, f"{error.code}: {error.message}{advice}", finals, retryable)
            return
        if row.stage == "send" and delay >= self.recheck_after:
            # After a long wait the GET is stale: read the record again before sending.
            row.stage, row.prior, row.tries = "check", True, 0
        self._push(row, now + delay)

    def _checked(self, row: _Row, current: Mapping[str, Any], now: float, finals: list[_Row]) -> None:
        prior = (row.before, row.body) if row.prior and row.before is not None and row.body is not None else None
        decision = decide(row.plan, current, prior=prior, force=self.force)
        if decision.action == "send":
            row.body, row.before = decision.body, decision.before
            if self.dry_run:
                self._final(row, "dry-run", None, "would send this patch", finals)
                return
            row.stage, row.tries = "send", 0
            self._push(row, now)
        elif decision.action == "applied":
            row.body, row.before = decision.body, decision.before
            self._final(row, "applied", 200, decision.message, finals)
        elif decision.action == "refuse":
            self._final(row, "failed", None, decision.message, finals)
        else:
            self._final(row, decision.action, None, decision.message, finals)


def _outcome(row: _Row) -> tuple[int, str, int | None, str, int, bool, dict[str, Any] | None, dict[str, Any] | None]:
    return (row.index, row.state, row.code, row.message, row.sends, row.retryable, row.before, row.body)


def _results(rows: Sequence[_Row], *, journal_id: str | None, dry_run: bool) -> pd.DataFrame:
    frame: pd.DataFrame = pd.DataFrame(
        {
            "id": [r.plan.activity_id for r in rows],
            "status": [r.state for r in rows],
            "code": pd.array([r.code for r in rows], dtype="Int64"),
            "message": [r.message for r in rows],
            "attempts": [r.sends for r in rows],
            "patch": [r.body if r.state in ("applied", "dry-run") else None for r in rows],
        },
        index=pd.Index([r.plan.row for r in rows], name="row"),
    )
    frame.attrs["journal_id"] = journal_id
    frame.attrs["dry_run"] = dry_run
    return frame


def summarize(results: pd.DataFrame) -> dict[str, int]:
    """How many rows ended in each status.

    >>> summarize(pd.DataFrame({"status": ["applied", "applied", "conflict"]}))
    {'applied': 2, 'conflict': 1}
    """
    counts = results["status"].value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}


# --- entry points ------------------------------------------------------------------


def _policy(client: GraphClient, retry: RetryPolicy | None) -> RetryPolicy:
    # Throttled sub-requests are the normal case in bulk: allow more tries than one call gets.
    return retry or RetryPolicy(max_attempts=10, max_retry_wait=client.retry.max_retry_wait)


def _journal(journal: Journal | str | Path | None) -> Journal:
    return journal if isinstance(journal, Journal) else Journal(journal)


def _run(
    client: GraphClient,
    rows: list[_Row],
    *,
    journal: Journal | None,
    run_id: str | None,
    force: bool,
    dry_run: bool,
    progress: bool,
    concurrency: int,
    retry: RetryPolicy | None,
    recheck_after: float,
) -> pd.DataFrame:
    engine = _Engine(
        client,
        rows,
        journal=journal,
        run_id=run_id,
        force=force,
        dry_run=dry_run,
        retry=_policy(client, retry),
        concurrency=concurrency,
        progress=progress,
        recheck_after=recheck_after,
    )
    try:
        engine.run()
    except BaseException:
        if journal is not None and run_id is not None:
            journal.finish(run_id, "interrupted")
        raise
    if journal is not None and run_id is not None:
        journal.finish(run_id, "finished")
    return _results(rows, journal_id=run_id, dry_run=dry_run)


def apply(
    client: GraphClient,
    plans: Iterable[PatchPlan],
    *,
    journal: Journal | str | Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: bool = True,
    concurrency: int = 8,
    retry: RetryPolicy | None = None,
    source: str | None = None,
    on_start: Callable[[str], object] | None = None,
    recheck_after: float = 10.0,
) -> pd.DataFrame:
    """Apply patch plans over ``$batch``; one result row per plan, indexed by the plan's row.

    Every plan is validated first (``InvalidRowsError`` names each bad row and field,
    nothing sent). The result's columns are ``RESULT_COLUMNS``; ``status`` is ``applied``,
    ``unchanged``, ``conflict`` or ``failed`` (``dry-run`` in a dry run, which
    reads but writes nothing and keeps no journal). ``results.attrs["journal_id"]``
    names the run for ``undo`` and ``resume``; ``on_start`` gets it before anything
    is sent. ``force`` overwrites records changed since the plans were based on them.

    Example: ``apply(client, diff(before, edited)).status.value_counts()``
    """
    todo = list(plans)
    validate_plans(todo)
    rows = [_Row(i, plan) for i, plan in enumerate(todo)]
    if dry_run:
        return _run(
            client,
            rows,
            journal=None,
            run_id=None,
            force=force,
            dry_run=True,
            progress=progress,
            concurrency=concurrency,
            retry=retry,
            recheck_after=recheck_after,
        )
    book = _journal(journal)
    run_id = book.start("apply", todo, force=force, graph_url=client.graph_url, source=source)
    if on_start is not None:
        on_start(run_id)
    return _run(
        client,
        rows,
        journal=book,
        run_id=run_id,
        force=force,
        dry_run=False,
        progress=progress,
        concurrency=concurrency,
        retry=retry,
        recheck_after=recheck_after,
    )


def apply_frame(client: GraphClient, before: pd.DataFrame, after: pd.DataFrame, **options: Any) -> pd.DataFrame:
    """``apply(client, diff(before, after), ...)``: the cells edited in a frame read with ``read_activities``.

    Example: ``apply_frame(client, df, edited, dry_run=True)``
    """
    return apply(client, diff(before, after), **options)


def apply_csv(client: GraphClient, path: str | Path, **options: Any) -> pd.DataFrame:
    """Validate a CSV (``read_csv``) and apply the cells that differ from the service.

    Example: ``apply_csv(client, "edits.csv", dry_run=True)``
    """
    options.setdefault("source", str(path))
    return apply(client, plans_from_frame(read_csv(path)), **options)


def _rows_of(entries: Sequence[JournalRow], *, retry_failed: bool) -> list[_Row]:
    rows = []
    for entry in entries:
        row = _Row(
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
        if row.state == "sending" or (retry_failed and row.state == "failed" and row.retryable):
            row.state, row.stage, row.prior = "planned", "check", row.before is not None and row.body is not None
        rows.append(row)
    return rows


def resume(
    client: GraphClient,
    journal_id: str,
    *,
    journal: Journal | str | Path | None = None,
    progress: bool = True,
    concurrency: int = 8,
    retry: RetryPolicy | None = None,
    retry_failed: bool = True,
    recheck_after: float = 10.0,
) -> pd.DataFrame:
    """Finish a run whose process stopped: every row not final is read again and sent only if still needed.

    A row whose PATCH may have landed is confirmed by reading it back, not sent twice;
    rows that failed with a retryable error (throttled for too long, dropped) are
    tried again when ``retry_failed``. Returns the results of every row of the run.

    Example: ``resume(client, "20240501T101500-ab12cd")``
    """
    book = _journal(journal)
    info = book.claim(journal_id)
    rows = _rows_of(book.rows(journal_id), retry_failed=retry_failed)
    return _run(
        client,
        rows,
        journal=book,
        run_id=journal_id,
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
    progress: bool = True,
    concurrency: int = 8,
    retry: RetryPolicy | None = None,
    on_start: Callable[[str], object] | None = None,
) -> pd.DataFrame:
    """Revert a finished run: patch back the values each applied row replaced (itself a journaled run).

    A record changed since the run applied its update is a conflict, left as it is,
    unless ``force``. Rows the run did not apply are not touched.

    Example: ``undo(client, results.attrs["journal_id"])``
    """
    book = _journal(journal)
    info = book.info(journal_id)
    if info.state != "finished":
        raise JournalError(f"run {journal_id} is {info.state}, not finished: resume it first, then undo it")
    plans = []
    for entry in book.rows(journal_id):
        if entry.state != "applied" or entry.before is None or entry.body is None:
            continue
        restore = {k: entry.before.get(k) for k in entry.body if k != "@odata.type"}
        plans.append(
            PatchPlan(
                row=entry.plan.row,
                registration_id=entry.plan.registration_id,
                activity_id=entry.plan.activity_id,
                odata_type=entry.plan.odata_type,
                changes=restore,
                base_etag=activity_etag(overlay(entry.before, entry.body)),
            )
        )
    rows = [_Row(i, plan) for i, plan in enumerate(plans)]
    if dry_run:
        return _run(
            client,
            rows,
            journal=None,
            run_id=None,
            force=force,
            dry_run=True,
            progress=progress,
            concurrency=concurrency,
            retry=retry,
            recheck_after=10.0,
        )
    run_id = book.start(
        "undo", plans, parent=journal_id, force=force, graph_url=client.graph_url, source=f"undo of {journal_id}"
    )
    if on_start is not None:
        on_start(run_id)
    return _run(
        client,
        rows,
        journal=book,
        run_id=run_id,
        force=force,
        dry_run=False,
        progress=progress,
        concurrency=concurrency,
        retry=retry,
        recheck_after=10.0,
    )
