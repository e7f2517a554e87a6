"""RetryPolicy: what is retried, after how long, and when learnkit gives up instead of sleeping."""

from __future__ import annotations

import random

from learnkit import RetryPolicy
from learnkit.errors import (
    ActivityNotFoundError,
    InternalServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
)


def test_graph_asked_wait_is_honoured_within_the_bound() -> None:
    policy = RetryPolicy(max_retry_wait=90)
    assert policy.delay(TooManyRequestsError("x", retry_after=60), attempt=1) == 60
    assert policy.delay(ServiceUnavailableError("x", retry_after=90), attempt=1) == 90


def test_a_wait_past_the_bound_is_raised_not_slept() -> None:
    policy = RetryPolicy(max_retry_wait=30)
    assert policy.delay(TooManyRequestsError("Retry after 60 minutes", retry_after=3600), attempt=1) is None


def test_server_errors_and_drops_back_off_with_jitter_up_to_a_cap() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=4.0, rng=random.Random(7))
    delays = [policy.delay(InternalServerError("x"), attempt=n) for n in range(1, 6)]
    assert all(d is not None and 0 <= d <= min(4.0, 2 ** (n - 1)) for n, d in enumerate(delays, 1))
    assert len({round(d or 0, 6) for d in delays}) > 1
    assert policy.delay(None, attempt=1) is not None


def test_client_errors_are_not_retried_and_attempts_are_bounded() -> None:
    assert RetryPolicy().delay(ActivityNotFoundError("x"), attempt=1) is None
    assert RetryPolicy(max_attempts=3).delay(InternalServerError("x"), attempt=3) is None
