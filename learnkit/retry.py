"""When to send a request again, and after how long: pure, shared by the client and bulk.

>>> policy = RetryPolicy(max_retry_wait=60)
>>> policy.delay(TooManyRequestsError("Retry after 1 minutes", retry_after=60.0), attempt=1)
60.0
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from learnkit.errors import (
    GraphError,
    InternalServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
)

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how long, to retry.

    ``max_attempts`` counts the first try. ``max_retry_wait`` bounds one wait
    that Graph asks for (429/503): a longer one is not slept through but raised,
    with ``retry_after`` set. ``backoff`` and ``max_backoff`` shape the full-jitter
    exponential backoff for 500/502/504 and dropped connections.
    """

    max_attempts: int = 6
    max_retry_wait: float = 120.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
        return self.rng.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    def delay(self, error: GraphError | None, attempt: int) -> float | None:
        """Seconds to wait before sending again, or None to give up and raise.

        ``error`` is the typed Graph error, or None for a dropped connection;
        ``attempt`` is how many tries were made so far.
        """
        if attempt >= self.max_attempts:
            return None
        if isinstance(error, (TooManyRequestsError, ServiceUnavailableError)):
            if error.retry_after is None:
                return self.backoff_delay(attempt)
            return error.retry_after if error.retry_after <= self.max_retry_wait else None
        if error is None or isinstance(error, InternalServerError):
            return self.backoff_delay(attempt)
        return None
