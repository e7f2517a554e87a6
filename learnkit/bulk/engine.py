"""The bulk engine: rows driven through read, decide and send until each is final, journaled as they go.

``learnkit.bulk``'s entry points build the rows and call ``Engine.run``; the result of a run is a
``BulkResult``. Reading what the service holds goes by ``$batch`` GETs of each record by id (what Graph
documents), or by the page for a provider with many rows whose list a probe showed served
(``learnkit.bulk.sources.list_served``); sending is ``$batch``es of PATCHes paced by ``learnkit.bulk.pacing``.

Example: ``Engine(client, rows, journal=book, run_id=run, ...).run()``
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import functools
import heapq
import itertools
import queue
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tqdm.auto import tqdm

from learnkit import paths
from learnkit.errors import (
    GraphError,
    LearnkitError,
    NetworkError,
    RetryableError,
    error_from_response,
)
from learnkit.limits import BATCH_LIMIT
from learnkit.models import UPDATE_MODELS
from learnkit.retry import RetryPolicy

from . import sources
from .journal import Answer, Journal, Outcome, Sending
from .pacing import AdaptiveLimit
from .plans import PatchPlan, decide
from .result import RESULT_COLUMNS, BulkResult, collect_results, summarize

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = [
    "DEFAULT_CONCURRENCY",
    "FINAL",
    "RESULT_COLUMNS",
    "BulkResult",
    "Engine",
    "Row",
    "collect_results",
    "summarize",
]

#: The statuses a row can end in; in a dry run, a row that would be sent ends in ``dry-run``.
FINAL = frozenset({"applied", "unchanged", "conflict", "failed", "dry-run"})
#: Requests in flight at most (batches and pages alike). Measured on the sandbox at 50 ms latency
#: (benchmarks/RESULTS.md): 16 was 1.3x as fast as 8, and more gained little; pacing brings
#: it down when throttled.
DEFAULT_CONCURRENCY = 16
#: Records per page when reading a provider's list (Graph's largest ``$top`` for it).
PAGE_SIZE = 999
# A provider's list is read when at least this many of its records are to be checked (one
# page costs one request, as one GET does); beyond the first page, paging goes on while
# each remaining page is expected to find at least a batch's worth of them.
_LIST_AT_LEAST = BATCH_LIMIT
# Pages and batches share the requests in flight (``concurrency``: what a caller compares with another
# client's threads). Pages go first while no row is ready to send (nothing else could use the slots);
# after that they take at most this share of them, so PATCHes keep going out while later pages are read.
_PAGE_SHARE = 0.5
# Outcomes are written with the next batch's "sending" marks, or on their own past this many.
_FLUSH_ROWS = 500
_UPDATABLE = tuple(sorted({name for model in UPDATE_MODELS.values() for name in model.UPDATABLE}))

Progress = bool | Callable[[int, int], object]


class _Progress:
    """A ``tqdm.auto`` bar (``True``), nothing (``False``), or a ``(done, total)`` callable."""

    def __init__(self, progress: Progress, total: int, desc: str) -> None:
        self.total, self.done = total, 0
        self.call: Callable[[int, int], object] | None = None
        self.bar: Any = None
        if callable(progress):
            self.call = progress
        elif progress:
            self.bar = tqdm(total=total, unit="row", desc=desc)

    def update(self, n: int) -> None:
        if not n:
            return
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if self.call is not None:
            self.call(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- the engine ------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    index: int
    plan: PatchPlan
    state: str = "planned"
    stage: Literal["check", "send"] = "check"
    before: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    prior: bool = False
    wanted: dict[str, Any] | None = None  # canonical(plan.changes), computed once
    wire: dict[str, Any] | None = None  # the changes as validated, in wire form
    marked: bool = False  # the journal holds its "sending" mark with this before and body
    tries: int = 0
    sends: int = 0
    code: int | None = None
    message: str = ""
    retryable: bool = False


@dataclass
class _Batch:
    rows: list[Row]
    epoch: int

    @property
    def writes_only(self) -> bool:
        """Whether every sub-request is a PATCH (no answer in it decides a row to send)."""
        return all(row.stage == "send" for row in self.rows)


@dataclass
class _Listing:
    """Reading one provider's list for the rows waiting on it: the first page, then the rest at once."""

    registration_id: str
    waiting: dict[str, Row]
    outstanding: int = 0
    total: int | None = None
    select: str = ""  # what the decisions read: less for the service to send
    asked: set[int] = field(default_factory=set)  # the $skip of each page asked for besides the first


@dataclass
class _Page:
    listing: _Listing
    skip: int | None = None  # None: the first page (it says how many there are)
    next_path: str | None = None  # a nextLink, when the service gave no count
    tries: int = 0
    top: int = PAGE_SIZE  # 1: a probe that only asks how many there are


@functools.lru_cache(maxsize=64)
def _select(expected: tuple[str, ...]) -> str:
    """What a conflict check reads of a record (``$select``): less for the service to write and this client to parse."""
    return ",".join(["id", *_UPDATABLE, *sorted(set(expected) - {"id", *_UPDATABLE})])


def _subrequest(row: Row) -> dict[str, Any]:
    plan = row.plan
    if row.stage == "check":
        # Graph documents $select on a read by id (learningcourseactivity-get): the decisions need no more.
        url = f"{paths.activity(plan.activity_id)}?$select={_select(tuple(plan.expect))}"
        return {"id": str(row.index), "method": "GET", "url": url}
    return {
        "id": str(row.index),
        "method": "PATCH",
        # paths.provider_activity, with the provider's part quoted once (paths keeps it)
        "url": f"{paths.provider_activities(plan.registration_id)}/{paths.segment(plan.activity_id, 'activity_id')}",
        "headers": {"Content-Type": "application/json"},
        "body": row.body,
    }


class Engine:
    """Runs rows through check and send until each is final, journaling as it goes."""

    def __init__(
        self,
        client: GraphClient,
        rows: list[Row],
        *,
        journal: Journal | None,
        run_id: str | None,
        force: bool,
        dry_run: bool,
        retry: RetryPolicy,
        concurrency: int,
        progress: Progress,
        recheck_after: float,
        clock: Callable[[], float] = time.monotonic,
        list_served: Callable[[str], bool] | None = None,
    ) -> None:
        # A copy sharing the session (one pool) whose own retries are off: each sub-request is
        # retried here, on its own, and the limits must see every throttled answer.
        self.sender = client.with_options(retry=RetryPolicy(max_attempts=1))
        self.rows = rows
        # Whether a provider's list may be read (Graph documents reads by id; the list is metadata-only and
        # read only where a probe showed it served): asked only for a provider with a page's worth of rows.
        self.list_served = list_served or functools.partial(sources.list_served, client)
        self.journal, self.run_id = journal, run_id
        self.force, self.dry_run = force, dry_run
        self.retry = retry
        self.recheck_after = recheck_after
        self.concurrency = max(1, concurrency)
        self.limits = AdaptiveLimit(maximum=self.concurrency, limit=float(self.concurrency))
        self.clock = clock
        self.bar = _Progress(progress, len(rows), "dry run" if dry_run else "bulk")
        self.stats = {"requests": 0, "round_trips": 0, "throttled": 0, "pages": 0}
        self._seq = itertools.count()
        # Rows due to go out, PATCHes apart from reads: a decided row goes before the next read, so the time
        # from the read that checked a record to the write is short, and writes start while reads go on.
        self._sends: list[tuple[float, int, Row]] = []
        self._checks: list[tuple[float, int, Row]] = []
        self._listings: list[tuple[float, int, _Page]] = []
        self._outcomes: list[Outcome] = []
        self._failures: list[Answer] = []
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: dict[Future[Any], _Batch | _Page] = {}
        self._pages = 0  # of those in flight
        self._decided: list[Row] = []  # rows decided to send since the last "sending" mark
        # Each finished request lands here (a done-callback): cheaper than wait() over every future in flight.
        self._finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    # -- scheduling

    def _push(self, row: Row, at: float) -> None:
        heapq.heappush(self._sends if row.stage == "send" else self._checks, (at, next(self._seq), row))

    def _due(self, now: float) -> bool:
        return bool(self._sends and self._sends[0][0] <= now) or bool(self._checks and self._checks[0][0] <= now)

    def _take(self, now: float) -> list[Row]:
        taken: list[Row] = []
        # PATCHes go first (a record is written soon after the read that checked it), until the reads left
        # fit in one round of the slots: then those go first, so their PATCHes leave with the others in the
        # last round instead of needing a round of their own (one round trip less: 25 for 2,000 rows at 8).
        last_reads = len(self._checks) <= BATCH_LIMIT * max(1, int(self.limits.limit))
        for ready in (self._checks, self._sends) if last_reads else (self._sends, self._checks):
            while ready and ready[0][0] <= now and len(taken) < BATCH_LIMIT:
                taken.append(heapq.heappop(ready)[2])
        return taken

    def _plan_reads(self) -> None:
        """Rows to check go to their provider's list when enough share one, else to GET sub-requests."""
        by_provider: dict[str, dict[str, Row]] = {}
        for row in self.rows:
            if row.state in FINAL:
                continue
            if row.prior:  # an earlier send's outcome is unknown: read it back on its own, now
                self._push(row, 0.0)
                continue
            by_provider.setdefault(row.plan.registration_id, {})[row.plan.activity_id] = row
        for registration_id, waiting in by_provider.items():
            if len(waiting) >= _LIST_AT_LEAST and self._may_list(registration_id):
                select = _select(tuple({name for row in waiting.values() for name in row.plan.expect}))
                # Each row is a record of the list, so the list has at least this many pages: those are
                # read with the first (which says how many there are), not after it. When there are
                # more than one, a one-record probe asks how many there are: its answer comes back a
                # page's worth of work sooner than the first page's, and the rest are asked for then.
                known = range(PAGE_SIZE, len(waiting), PAGE_SIZE)
                listing = _Listing(registration_id, waiting, select=select, asked=set(known))
                pages = [_Page(listing, top=1)] if known else []
                pages += [_Page(listing), *(_Page(listing, skip=skip) for skip in known)]
                listing.outstanding = len(pages)
                for page in pages:
                    self._schedule(page, 0.0)
            else:
                for row in waiting.values():
                    self._push(row, 0.0)

    def _may_list(self, registration_id: str) -> bool:
        try:
            return self.list_served(registration_id)
        except LearnkitError:
            return False  # the probe met another mistake (an unknown provider): each row meets it on its own

    def read_ahead(self) -> None:
        """Send the reads the run starts with (each provider's first page, the rows read on their own)
        while the caller still journals the run: a read changes nothing, and every PATCH waits for it.

        ``run`` does it if no one did; ``close`` stops a run that will not happen.
        """
        if self._pool is not None:
            return
        self._plan_reads()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="learnkit-bulk")
        self._dispatch(self.clock())

    def settled(self, rows: Sequence[Row]) -> None:
        """Journal the outcomes of rows made final before the run (leased by another run), with the next write."""
        self._journal_outcomes(rows, [])

    def run(self) -> None:
        """Drive every row to a final state."""
        self.bar.update(sum(1 for row in self.rows if row.state in FINAL))
        try:
            self.read_ahead()
            while self._sends or self._checks or self._listings or self._inflight:
                wake = self._dispatch(self.clock())
                if not self._inflight:
                    time.sleep(max(0.0, wake or 0.0))
                    continue
                try:
                    done = [self._finished.get(timeout=wake)]
                except queue.Empty:
                    done = []
                while not self._finished.empty():
                    done.append(self._finished.get_nowait())
                jobs = [(self._inflight.pop(future), future) for future in done]
                self._pages -= sum(1 for job, _ in jobs if isinstance(job, _Page))
                # A slot freed by the answer to writes alone is refilled at once (a read, or a PATCH journaled
                # already): taking the answers in (decisions, the journal) takes a millisecond or two, and a slot
                # left idle that long after every answer adds up to most of a round trip over a run. A slot freed
                # by reads waits for the PATCHes decided from them, so a record is written soon after its read.
                writes = sum(1 for job, _ in jobs if isinstance(job, _Batch) and job.writes_only)
                if writes:
                    self._dispatch(self.clock(), at_most=writes)
                for job, future in jobs:
                    if isinstance(job, _Page):
                        self._after_page(job, future)
                    else:
                        self._after(job, future)
                # The PATCHes decided from every answer just taken in are marked in one transaction, before
                # the first of them goes out: answers that arrive together (they do, the slots fill and
                # drain together) cost one commit, not one per batch sent, between each other's PATCHes.
                self._mark(self._decided)
                self._decided = []
                if not self._inflight and self._outcomes:
                    self._flush([])  # idle (waiting on a pace or a retry): nothing to share a write with
        finally:
            self.close()
            self._flush([])
            self.bar.close()

    def close(self) -> None:
        """Stop: cancel what has not started, wait for what has (idempotent)."""
        for future in self._inflight:
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _dispatch(self, now: float, at_most: int | None = None) -> float | None:
        """Send what is due and fits (pages first, within their share: they unblock rows), ``at_most`` requests
        if given; the seconds until more is due, if known."""
        assert self._pool is not None
        while at_most is None or at_most > 0:
            if at_most is not None:
                at_most -= 1
            pause = self.limits.wait_for(now)
            if pause > 0:
                return pause
            job: _Batch | _Page
            future: Future[Any]
            slots = int(self.limits.limit)
            free = len(self._inflight) < slots
            rows_due = self._due(now)
            if (
                free
                and self._listings
                and self._listings[0][0] <= now
                and (not rows_due or self._pages < max(1, int(slots * _PAGE_SHARE)))
            ):
                job = heapq.heappop(self._listings)[2]
                self.limits.sent(1, now)
                future = self._pool.submit(self._page, job)
                self._pages += 1
            elif free and rows_due:
                rows = self._take(now)
                self._before_send(rows)
                self.limits.sent(len(rows), now)
                job = _Batch(rows, self.limits.epoch)
                future = self._pool.submit(self.sender.batch, [_subrequest(r) for r in rows])
            else:
                # Full, or nothing due yet: wait for an answer, or until the next row or page is due.
                due = [q[0][0] for q in (self._sends, self._checks, self._listings) if q and q[0][0] > now]
                return max(0.0, min(due) - now) if due else None
            self._inflight[future] = job
            future.add_done_callback(self._finished.put)
        return None

    # -- reading by the page

    def _page(self, page: _Page) -> dict[str, Any]:
        params: dict[str, Any] | None = None
        if page.next_path is not None:
            path = page.next_path
        else:
            path = paths.provider_activities(page.listing.registration_id)
            # Only what the decisions read ($select): less for the service to write and for this client to parse.
            params = {"$top": page.top, "$select": page.listing.select}
            if page.skip is None:
                params["$count"] = "true"
            else:
                params["$skip"] = page.skip
        answer = self.sender.request("GET", path, operation="list_provider_activities", params=params)
        body = answer.body
        if not isinstance(body, Mapping) or not isinstance(body.get("value"), list):
            raise NetworkError("GET", path, 1, True)  # not the list it asked for: read again, as if dropped
        return dict(body)

    def _schedule(self, page: _Page, at: float) -> None:
        heapq.heappush(self._listings, (at, next(self._seq), page))

    def _after_page(self, page: _Page, future: Future[dict[str, Any]]) -> None:
        now = self.clock()
        listing = page.listing
        self.stats["requests"] += 1
        self.stats["round_trips"] += 1
        self.stats["pages"] += 1
        try:
            body = future.result()
        except LearnkitError as exc:
            error = exc if isinstance(exc, GraphError) else None
            throttled = error is not None and error.status in (429, 503)
            self.stats["throttled"] += int(throttled)
            self.limits.on_batch(
                self.limits.epoch,
                size=1,
                throttled=int(throttled),
                now=now,
                wait=error.retry_after if error is not None else None,
            )
            page.tries += 1
            delay = self.retry.delay(error, page.tries)
            if delay is not None:
                self._schedule(page, now + delay)
                return
            self._page_done(listing, now)  # its rows are read one by one instead
            return
        self.limits.on_batch(self.limits.epoch, size=1, throttled=0, now=now)
        items = body["value"]
        finals: list[Row] = []
        waiting = listing.waiting
        sends = self._decided
        for item in items:
            # dict: what JSON gives (isinstance against Mapping costs more than the rest, a thousand times a page)
            row = waiting.pop(str(item.get("id")), None) if isinstance(item, dict) else None
            if row is not None:
                self._checked(row, item, now, finals, sends)
        self._journal_outcomes(finals, [])
        self.bar.update(len(finals))
        next_path = body.get("@odata.nextLink")
        if page.skip is None and listing.waiting and isinstance(next_path, str) and items:
            count = body.get("@odata.count")
            if isinstance(count, int):
                # The rest of the pages at once ($skip), each in its own slot (after the probe, a page
                # is as long as asked; after the first page, as long as it came).
                step = len(items) if page.top == PAGE_SIZE else PAGE_SIZE
                skips = [skip for skip in range(step, count, step) if skip not in listing.asked]
                if len(skips) * BATCH_LIMIT <= len(listing.waiting) * 4 or len(skips) <= 1:
                    for skip in skips:
                        listing.outstanding += 1
                        listing.asked.add(skip)
                        self._schedule(_Page(listing, skip=skip), now)
            elif len(listing.waiting) >= _LIST_AT_LEAST and page.top == PAGE_SIZE:
                listing.outstanding += 1
                self._schedule(_Page(listing, next_path=next_path), now)
        self._page_done(listing, now)

    def _page_done(self, listing: _Listing, now: float) -> None:
        listing.outstanding -= 1
        if listing.outstanding <= 0 and listing.waiting:
            # Not in the pages read (another provider's record, gone, or not worth the pages): read on its own.
            for row in listing.waiting.values():
                self._push(row, now)
            listing.waiting = {}

    # -- journal hooks

    def _before_send(self, rows: Sequence[Row]) -> None:
        # The values a PATCH replaces are durable before it goes out (most were marked with their page).
        self._mark([r for r in rows if r.stage == "send" and not r.marked])

    def _mark(self, rows: Sequence[Row]) -> None:
        # "sending" with the values each PATCH replaces and its body; outcomes buffered since the
        # last write go in the same transaction (a killed run re-reads those rows on resume).
        if not rows or self.journal is None or self.run_id is None:
            return
        self._flush([Sending(r.index, r.plan, r.before, r.body) for r in rows])
        for row in rows:
            row.marked = True

    def _journal_outcomes(self, finals: Sequence[Row], failures: Sequence[Answer]) -> None:
        if self.journal is None or self.run_id is None:
            return
        self._outcomes.extend(_outcome(r) for r in finals)
        self._failures.extend(failures)
        if len(self._outcomes) >= _FLUSH_ROWS:
            self._flush([])

    def _flush(self, sending: Sequence[Sending]) -> None:
        if self.journal is None or self.run_id is None:
            return
        outcomes, failures = self._outcomes, self._failures
        self._outcomes, self._failures = [], []
        self.journal.write(self.run_id, sending=sending, outcomes=outcomes, answers=failures)

    # -- outcomes

    def _after(self, batch: _Batch, future: Future[list[dict[str, Any]]]) -> None:
        now = self.clock()
        self.stats["round_trips"] += 1
        self.stats["requests"] += len(batch.rows)
        outcomes: list[tuple[Row, int | None, Any, GraphError | None]] = []
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
        self.stats["throttled"] += throttled
        waits = [e.retry_after for _, status, _, e in outcomes if status in (429, 503) and e and e.retry_after]
        self.limits.on_batch(
            batch.epoch, size=len(outcomes), throttled=throttled, now=now, wait=min(waits) if waits else None
        )
        finals: list[Row] = []
        failures: list[Answer] = []
        for row, status, body, error in outcomes:
            method = "PATCH" if row.stage == "send" else "GET"
            if status is None or error is not None:
                detail = "connection lost" if error is None else str(error)[:300]
                failures.append(Answer(row.index, method, status, detail, error.retry_after if error else None))
                self._failed_try(row, error, now, finals)
            elif row.stage == "check":
                self._checked(row, body if isinstance(body, Mapping) else {}, now, finals, self._decided)
            else:
                row.sends += 1
                self._final(row, "applied", status, "applied", finals)
        self._journal_outcomes(finals, failures)
        self.bar.update(len(finals))

    def _final(
        self, row: Row, state: str, code: int | None, message: str, finals: list[Row], retryable: bool = False
    ) -> None:
        row.state, row.code, row.message, row.retryable = state, code, message, retryable
        finals.append(row)

    def _failed_try(self, row: Row, error: GraphError | None, now: float, finals: list[Row]) -> None:
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
        if row.stage == "send":
            # The outcome of a failed send is not certain (a dropped connection may have landed it):
            # from here on, the record's state is judged against what this run sent.
            row.prior = True
            if delay >= self.recheck_after:
                # After a long wait the read is stale: read the record again before sending.
                row.stage, row.tries = "check", 0
        self._push(row, now + delay)

    def _checked(self, row: Row, current: Mapping[str, Any], now: float, finals: list[Row], sends: list[Row]) -> None:
        prior = (row.before, row.body) if row.prior and row.before is not None and row.body is not None else None
        decision = decide(row.plan, current, prior=prior, force=self.force, wanted=row.wanted, wire=row.wire)
        if decision.action == "send":
            row.body, row.before, row.marked = decision.body, decision.before, False
            if self.dry_run:
                self._final(row, "dry-run", None, "would send this patch", finals)
                return
            row.stage, row.tries = "send", 0
            self._push(row, now)
            sends.append(row)  # marked in the journal with the others decided from the same answers
        elif decision.action == "applied":
            row.body, row.before = decision.body, decision.before
            self._final(row, "applied", 200, decision.message, finals)
        elif decision.action == "refuse":
            self._final(row, "failed", None, decision.message, finals)
        else:
            self._final(row, decision.action, None, decision.message, finals)


def _outcome(row: Row) -> Outcome:
    return Outcome(
        row.index, row.plan, row.state, row.code, row.message, row.sends, row.retryable, row.before, row.body
    )
