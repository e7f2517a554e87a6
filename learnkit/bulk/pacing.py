"""How fast to send under a service's rate limit: AIMD concurrency and a pace just under the rate.

Pure and clock-driven (the engine passes the time in), so tests feed it outcomes and read its
decisions without a server.

Example: ``limit = AdaptiveLimit(maximum=16); limit.on_batch(limit.epoch, size=20, throttled=0, now=0.0)``
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from learnkit.limits import BATCH_LIMIT

__all__ = ["AdaptiveLimit"]

# Above this share of throttled sub-requests, a batch means "the service's rate is reached"
# rather than the odd throttled request (once paced, any throttled batch means "past it").
_OVERLOAD = 0.5
# Paced, how far under the service's rate (as estimated) to send: a batch arrives whole, so any
# jitter past the rate throttles all of it; 2% leaves room for a few ms of it at 100 requests/s.
_UNDER = 0.98


@dataclass
class AdaptiveLimit:
    """AIMD limits: how many batches in flight (``limit``) and, once throttled, how many sub-requests a second.

    The first batch most of whose sub-requests were throttled means the service's rate
    is reached: ``limit`` halves, sending holds for the ``Retry-After`` it gave (the
    burst's throttled requests count against the service's window too, as Graph's do),
    and the pace is set 2% under what the service let through in the last second,
    raised by the burst's answers still coming back. From then on a throttled
    sub-request keeps its place in the pace and waits only its own ``Retry-After``:
    no global hold (it would idle a second of the service's budget for one batch).
    Past the rate, the pace that was too fast becomes the ceiling and the pace drops
    a twentieth under it, once per ``Retry-After`` (sooner, the service's window has
    not seen the cut yet), deeper when still throttled right after. Each clean batch
    grows ``limit`` back, and the pace quickly to 2% under the ceiling, then very
    slowly above it.

    >>> aimd = AdaptiveLimit(maximum=8, limit=8)
    >>> aimd.on_batch(aimd.epoch, size=20, throttled=20, now=0.0, wait=1.0); aimd.limit, aimd.wait_for(0.5)
    (4.0, 0.5)
    """

    maximum: int = 8
    limit: float = 4.0
    pace: float | None = None
    ceiling: float | None = None
    minimum_pace: float = float(BATCH_LIMIT)
    epoch: int = 0
    slow_start: bool = True
    _delivered: deque[tuple[float, int]] = field(default_factory=deque, repr=False)
    _next_at: float = 0.0
    _hold_until: float = 0.0
    _cut_until: float = 0.0  # the last cut shows in the service's window from then on
    _capped: bool = False  # a pace was found too fast: the first burst's estimate no longer applies

    def on_batch(self, epoch: int, *, size: int, throttled: int, now: float, wait: float | None = None) -> None:
        """Feed one batch's outcome: its size, how many were throttled, and the shortest Retry-After given."""
        self._delivered.append((now, size - throttled))
        while self._delivered and self._delivered[0][0] < now - 1.0:
            self._delivered.popleft()
        if not size:
            return
        if throttled and self.pace is None:
            if throttled / size < _OVERLOAD or size < BATCH_LIMIT // 2:
                return  # the odd throttled request, not the service's rate
            self.epoch += 1
            self.slow_start = False
            self.limit = max(1.0, self.limit / 2)
            self.pace = self.minimum_pace
            self._hold_until = now + (wait if wait is not None else 1.0)
            self._cut_until = self._hold_until
        if self.pace is not None and epoch < self.epoch and now < self._cut_until and not self._capped:
            # Answers to the burst that found the rate: what the service let through in the last
            # second is the estimate of its rate (a lower bound), the pace just under it.
            self.ceiling = max(self.minimum_pace, float(sum(n for _, n in self._delivered)))
            self.pace = max(self.pace, _UNDER * self.ceiling)
            if throttled and wait is not None:
                # Its throttled requests count in the service's window too: wait until they leave it.
                self._hold_until = self._cut_until = max(self._hold_until, now + wait)
            return
        if throttled:
            assert self.pace is not None
            # Paced, a throttled request keeps its place in the pace (Graph counts it against the
            # limit too, so the window drains at the pace) and waits only its own Retry-After: a
            # global hold would idle a whole second of the service's budget for one batch.
            if now >= self._cut_until:
                # Past the rate: the pace that was too fast is the ceiling; settle under it. A cut
                # shows only once the service's window has moved on (its Retry-After), so no other
                # cut before then; a cut right after the last one means the rate dropped: cut deeper.
                again = self._capped and now < self._cut_until + 2 * (wait or 1.0)
                self.epoch += 1
                self.ceiling, self._capped = self.pace, True
                self.pace = max(self.minimum_pace, self.pace * (0.8 if again else 0.95))
                self.limit = max(1.0, self.limit / 2)
                self._cut_until = now + (wait or 1.0)
            return
        self.limit = min(float(self.maximum), self.limit + (1.0 if self.slow_start else 1.0 / self.limit))
        if self.pace is not None and epoch == self.epoch:
            # Back quickly to just under the ceiling (the pace found too fast, or the first estimate),
            # then probe above it only slowly: past the rate a whole batch comes back throttled, it
            # and the next one wait a Retry-After, and at the end of a run that wait is its tail.
            if self.ceiling is not None and self.pace < _UNDER * self.ceiling:
                self.pace = min(self.pace * 1.03, _UNDER * self.ceiling)
            else:
                self.pace *= 1.0001

    def wait_for(self, now: float) -> float:
        """Seconds to wait before sending the next batch (0: now)."""
        return max(0.0, self._hold_until - now, (self._next_at - now) if self.pace is not None else 0.0)

    def sent(self, size: int, now: float) -> None:
        """Record that a batch of ``size`` went out."""
        if self.pace is not None:
            self._next_at = max(now, self._next_at) + size / self.pace
