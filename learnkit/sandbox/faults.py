"""Fault injection: random 429/503/500 answers and dropped connections, queued faults, latency, a rate limit.

Faults are decided per Graph request (each ``$batch`` sub-request on its own)
after the request has been checked and before it is applied, so a faulted
request never changes the tenant. The random source is seedable.

>>> parse_faults("429=0.1,drop=0.01")
{'429': 0.1, 'drop': 0.01}
"""

from __future__ import annotations

import collections
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["FAULT_KINDS", "Fault", "Faults", "format_seconds", "parse_faults", "throttle_message"]

#: What a fault can be: an answer with that status, or a connection cut before the answer is complete.
FAULT_KINDS = ("429", "503", "500", "drop")


def parse_faults(spec: str | Mapping[str, float] | Mapping[int, float] | None) -> dict[str, float]:
    """Fault rates from ``"429=0.1,503=0.05,drop=0.01"`` or a mapping; each 0..1, together at most 1.

    >>> parse_faults({429: 0.5})
    {'429': 0.5}
    """
    if spec is None:
        return {}
    if isinstance(spec, str):
        pairs: list[tuple[str, str]] = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"fault {part!r} should look like KIND=RATE, e.g. 429=0.1")
            pairs.append((kind.strip(), value.strip()))
        items: list[tuple[str, object]] = list(pairs)
    else:
        items = [(str(k), v) for k, v in spec.items()]
    rates: dict[str, float] = {}
    for kind, raw in items:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}: choose from {', '.join(FAULT_KINDS)}")
        try:
            rate = float(str(raw))
        except (TypeError, ValueError):
            raise ValueError(f"rate of fault {kind} must be a number, got {raw!r}") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate of fault {kind} must be between 0 and 1, got {rate}")
        rates[kind] = rate
    if sum(rates.values()) > 1.0 + 1e-9:
        raise ValueError(f"fault rates add up to {sum(rates.values()):g}, more than 1")
    return rates


def format_seconds(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds when whole, else one decimal.

    >>> format_seconds(1.0), format_seconds(0.25)
    ('1', '0.3')
    """
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{math.ceil(seconds * 10) / 10:g}"


def throttle_message(seconds: float) -> str:
    """The message of a 429 or 503 that agrees with its ``Retry-After``.

    Graph's table words it in minutes; a wait that is not whole minutes is said in seconds.

    >>> throttle_message(120), throttle_message(1), throttle_message(0.25)
    ('Retry after 2 minutes', 'Retry after 1 second', 'Retry after 0.3 seconds')
    """
    if seconds >= 60 and float(seconds / 60).is_integer():
        return f"Retry after {int(seconds // 60)} minutes"
    shown = format_seconds(seconds)
    return f"Retry after {shown} second" + ("" if shown == "1" else "s")


@dataclass(frozen=True)
class Fault:
    """A decided fault: its kind (one of FAULT_KINDS) and, for 429 and 503, the wait in seconds."""

    kind: str
    retry_after: float


class Faults:
    """The fault settings of one sandbox, and the decision for each request. Thread-safe.

    Example: ``faults.configure({"503": 0.5}, retry_after=0.1, seed=1); faults.decide(allow_drop=True)``
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # seconds; a test passes its own to step through the rate-limit window
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.rates: dict[str, float] = {}
        self.retry_after = 1.0
        self.latency_ms = 0
        self.rate_limit: int | None = None
        self._queue: collections.deque[str] = collections.deque()
        self._admitted: collections.deque[float] = collections.deque()

    def configure(
        self,
        rates: str | Mapping[str, float] | Mapping[int, float] | None = None,
        *,
        retry_after: float = 1.0,
        seed: int | None = None,
    ) -> None:
        """Set the random fault rates (None: none), the Retry-After they carry, and the RNG seed."""
        parsed = parse_faults(rates)
        if retry_after < 0:
            raise ValueError("retry_after must be 0 or more seconds")
        with self._lock:
            self.rates = parsed
            self.retry_after = float(retry_after)
            self._rng = random.Random(seed)

    def fail_next(self, *kinds: str) -> None:
        """Queue faults for the next requests, one each, in order (before any random one)."""
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}: choose from {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._queue.extend(kinds)

    def set_rate_limit(self, per_second: int | None) -> None:
        """Allow at most ``per_second`` Graph requests in any one second (None: no limit)."""
        if per_second is not None and per_second < 1:
            raise ValueError("rate limit must be at least 1 request per second, or None")
        with self._lock:
            self.rate_limit = per_second
            self._admitted.clear()

    def set_latency(self, ms: int) -> None:
        """Delay every Graph HTTP request by ``ms`` milliseconds."""
        if ms < 0:
            raise ValueError("latency must be 0 or more milliseconds")
        self.latency_ms = int(ms)

    def clear(self) -> None:
        """No faults, no latency, no rate limit, nothing queued."""
        self.configure(None)
        self.set_rate_limit(None)
        self.set_latency(0)
        with self._lock:
            self._queue.clear()

    def decide(self, *, allow_drop: bool) -> Fault | None:
        """The fault for one request, or None to let it through. Counts it against the rate limit.

        As Graph's throttling guidance says, a throttled request counts too: a client
        that keeps sending while throttled stays throttled. The 429's ``Retry-After``
        is whole seconds, as Graph sends it: the time until the window has room again
        if nothing more is sent.
        """
        with self._lock:
            if self._queue and (allow_drop or self._queue[0] != "drop"):
                return Fault(self._queue.popleft(), self.retry_after)
            if self.rate_limit is not None:
                now = self._clock()
                while self._admitted and self._admitted[0] <= now - 1.0:
                    self._admitted.popleft()
                self._admitted.append(now)
                over = len(self._admitted) - self.rate_limit
                if over > 0:
                    # The next request fits once the window holds at most rate_limit - 1: the oldest over + 1
                    # (this one among them) must have left it.
                    wait = self._admitted[over] + 1.0 - now
                    return Fault("429", float(max(1, math.ceil(wait))))
            if not self.rates:
                return None
            roll = self._rng.random()
            for kind in FAULT_KINDS:
                rate = self.rates.get(kind, 0.0)
                if roll < rate:
                    return Fault(kind, self.retry_after) if allow_drop or kind != "drop" else None
                roll -= rate
            return None

    def decide_drop(self) -> bool:
        """For a ``$batch`` request as a whole: whether to cut its connection (queued or random)."""
        with self._lock:
            if self._queue and self._queue[0] == "drop":
                self._queue.popleft()
                return True
            rate = self.rates.get("drop", 0.0)
            return rate > 0 and self._rng.random() < rate
