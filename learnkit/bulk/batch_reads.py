"""Many GETs read together: ``BATCH_LIMIT`` to a ``$batch``, several batches in flight, each throttled
sub-request sent again after its own wait (``learnkit.bulk.sources`` reads ids, keys and learners' pages with it).

Example: ``reads = BatchReads(client, "get_activity", on_found); reads.run([Get(key, url)]); reads.not_found``
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from learnkit.client import GraphClient
from learnkit.errors import UnexpectedResponseError, error_from_response
from learnkit.limits import BATCH_LIMIT

from .pacing import AdaptiveLimit

__all__ = ["BatchReads", "Get"]


@dataclass
class Get:
    """One GET sub-request: the key it reads (as the caller gave it) and its url under the version root."""

    key: str
    url: str
    tries: int = 0


class BatchReads:
    """GET sub-requests, ``BATCH_LIMIT`` to a ``$batch``, several batches in flight (``AdaptiveLimit``).

    ``on_found(get, body)`` takes each 200 answer and may return a GET to send next (a learner's next
    page). A 404 is noted in ``not_found``; a throttled or failed sub-request is sent again after its
    own wait (``client.retry``); any other error answer, or a batch that fails as a whole, ends the read
    and is raised. Each of ``concurrency`` threads takes the next batch itself as soon as its last one is
    answered (a dispatching thread would wait its turn for the GIL between every answer and the next
    batch), within what the limits allow; the answers are taken in under one lock.

    ``on_records(count())`` hears of each answered batch that raised ``count()`` (the records kept so far,
    counted under that lock), outside it: a slow listener holds back no other thread's next batch, and
    the counts it hears only grow.
    """

    def __init__(
        self,
        client: GraphClient,
        operation: str,
        on_found: Callable[[Get, dict[str, Any]], Get | None],
        *,
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
        count: Callable[[], int] | None = None,
        on_records: Callable[[int], object] | None = None,
    ) -> None:
        self.client = client
        self.operation = operation
        self.on_found = on_found
        self.count = count
        self.on_records = on_records
        self._heard = 0
        self._telling = threading.Lock()
        self.concurrency = max(1, concurrency)
        self.limits = AdaptiveLimit(maximum=self.concurrency, limit=float(self.concurrency))
        self.clock = clock
        self.not_found: list[str] = []
        #: ``$batch`` requests sent.
        self.round_trips = 0
        self._seq = itertools.count()
        self._ready: list[tuple[float, int, Get]] = []
        self._inflight = 0
        self._error: BaseException | None = None
        self._turn = threading.Condition()

    def _push(self, get: Get, at: float) -> None:
        heapq.heappush(self._ready, (at, next(self._seq), get))

    def run(self, gets: Iterable[Get]) -> None:
        """Read every GET (and those their answers lead to) to an answer; raises the first error that ends it."""
        for get in gets:
            self._push(get, 0.0)
        if not self._ready:
            return
        # Signed in once, here: a missing credential or a refused sign-in is said before any thread starts.
        self.client.token_for(self.operation)
        workers = min(self.concurrency, -(-len(self._ready) // BATCH_LIMIT))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="learnkit-sources")
        try:
            for worker in [pool.submit(self._work) for _ in range(workers)]:
                worker.result()
        except BaseException as exc:  # Ctrl+C: the threads stop after the batch each has on the wire
            with self._turn:
                self._error = self._error or exc
                self._turn.notify_all()
            raise
        finally:
            pool.shutdown(wait=True)
        if self._error is not None:
            raise self._error

    def _take(self) -> tuple[list[Get], int] | None:
        """The next batch to send and the limits' epoch, waiting for one; None when all is read (or failed)."""
        with self._turn:
            while self._error is None and (self._ready or self._inflight):
                now = self.clock()
                pause = self.limits.wait_for(now)
                due = self._ready[0][0] - now if self._ready else None
                if pause <= 0 and due is not None and due <= 0 and self._inflight < int(self.limits.limit):
                    gets: list[Get] = []
                    while self._ready and self._ready[0][0] <= now and len(gets) < BATCH_LIMIT:
                        gets.append(heapq.heappop(self._ready)[2])
                    self.limits.sent(len(gets), now)
                    self._inflight += 1
                    self.round_trips += 1
                    return gets, self.limits.epoch
                # Wait for an answer (it may bring more to send), or until the pace or a retry allows.
                waits = [w for w in (pause if pause > 0 else None, due if due is not None and due > 0 else None) if w]
                self._turn.wait(max(waits) if self._inflight < int(self.limits.limit) and waits else None)
            self._turn.notify_all()
            return None

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            gets, epoch = taken
            subrequests = [{"id": str(n), "method": "GET", "url": get.url} for n, get in enumerate(gets)]
            try:
                answers = self.client.batch(subrequests, operation=self.operation)
                with self._turn:
                    self._after(gets, epoch, answers)
                    counted = self.count() if self.count is not None else 0
                self._tell(counted)
            except BaseException as exc:  # handed to run(), which raises it in the caller
                with self._turn:
                    self._error = self._error or exc
            finally:
                with self._turn:
                    self._inflight -= 1
                    self._turn.notify_all()

    def _tell(self, counted: int) -> None:
        """``on_records(counted)`` unless a larger count was heard already (threads finish out of order)."""
        if self.on_records is None:
            return
        with self._telling:
            if counted > self._heard:
                self._heard = counted
                self.on_records(counted)

    def _after(self, gets: list[Get], epoch: int, answers: list[dict[str, Any]]) -> None:
        by_id = {str(a.get("id")): a for a in answers}
        now = self.clock()
        throttled, waits = 0, []
        for n, get in enumerate(gets):
            answer = by_id.get(str(n)) or {"status": 500, "body": {"error": {"message": "no sub-response"}}}
            status, body = answer.get("status"), answer.get("body")
            if status == 200 and isinstance(body, dict):
                following = self.on_found(get, body)
                if following is not None:
                    self._push(following, now)
                continue
            if status == 404:
                self.not_found.append(get.key)
                continue
            if isinstance(status, int) and 200 <= status < 300:
                headers = answer.get("headers") or {}
                raise UnexpectedResponseError(
                    self.client.graph_url + get.url,
                    status,
                    str(headers.get("Content-Type", "")),
                    "a sub-response without the JSON object expected",
                )
            error = error_from_response(status if isinstance(status, int) else 500, body, answer.get("headers"))
            if error.status in (429, 503):
                throttled += 1
                if error.retry_after is not None:
                    waits.append(error.retry_after)
            get.tries += 1
            delay = self.client.retry.delay(error, get.tries)
            if delay is None:
                raise error
            self._push(get, now + delay)
        self.limits.on_batch(epoch, size=len(gets), throttled=throttled, now=now, wait=min(waits) if waits else None)
