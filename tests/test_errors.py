"""The error table: every row parses to its class and renders back to Graph's body."""

from __future__ import annotations

import pytest

import learnkit
from learnkit.errors import (
    ERROR_TABLE,
    ActivityNotFoundError,
    AuthenticationError,
    BadRequestError,
    FieldInvalidError,
    GraphError,
    RetryableError,
    ServiceUnavailableError,
    TooManyRequestsError,
    error_body,
    error_from_response,
    parse_retry_after,
)

FILL = {"fieldName": "completionPercentage", "noOfMinutes": 2}


@pytest.mark.parametrize("cls", ERROR_TABLE, ids=lambda c: c.__name__)
def test_every_row_round_trips(cls: type[GraphError]) -> None:
    assert cls.row is not None
    body = error_body(cls, request_id="req-1", **FILL)
    error = error_from_response(cls.row.status, body, {"request-id": "req-1"})
    assert type(error) is cls
    assert error.status == cls.row.status and error.code == cls.row.code
    assert error.request_id == "req-1"
    assert error.advice and error.advice in str(error)
    if "{fieldName}" in cls.row.message:
        assert error.field == "completionPercentage"
        assert "completionPercentage" in str(error)
    else:
        assert error.field is None


def test_every_row_is_a_distinct_condition() -> None:
    rows = [(c.row.status, c.row.code, c.row.message) for c in ERROR_TABLE if c.row]
    assert len(set(rows)) == len(ERROR_TABLE) == 14


def test_the_seed_spells_not_found_with_a_typographic_apostrophe_and_both_match() -> None:
    for message in ("The assignment ID requested doesn’t exist.", "The assignment ID requested doesn't exist."):
        error = error_from_response(404, {"error": {"code": "notFound", "message": message}})
        assert isinstance(error, ActivityNotFoundError)


def test_retry_after_from_header_seconds_wins_over_message_minutes() -> None:
    body = error_body(TooManyRequestsError, request_id="r", noOfMinutes=3)
    assert error_from_response(429, body).retry_after == 180
    assert error_from_response(429, body, {"Retry-After": "7"}).retry_after == 7
    unavailable = error_from_response(503, error_body(ServiceUnavailableError, request_id="r", noOfMinutes=1))
    assert isinstance(unavailable, RetryableError) and unavailable.retry_after == 60
    assert "retry after 60 s" in str(unavailable)


def test_parse_retry_after_edge_cases() -> None:
    assert parse_retry_after(None, "") is None
    assert parse_retry_after("not a number", "Retry after 1 minutes") == 60
    assert parse_retry_after("-5") == 0


def test_unknown_errors_fall_back_by_status() -> None:
    assert type(error_from_response(400, {"error": {"code": "weird", "message": "x"}})) is BadRequestError
    assert type(error_from_response(401, {"error": {"code": "InvalidAuthenticationToken", "message": "x"}})) is (
        AuthenticationError
    )
    assert type(error_from_response(418, None)) is GraphError
    assert isinstance(error_from_response(502, "<html>"), learnkit.InternalServerError)


def test_field_rows_are_typed_by_message() -> None:
    error = error_from_response(400, error_body(FieldInvalidError, request_id="r", fieldName="status"))
    assert isinstance(error, learnkit.FieldError) and error.field == "status"


def test_invalid_input_is_a_value_error_naming_the_field() -> None:
    error = learnkit.InvalidInputError("completionPercentage", "invalid", "must be 0..100")
    assert isinstance(error, ValueError) and error.field == "completionPercentage"
    assert str(error) == "completionPercentage: must be 0..100"


def test_retry_after_as_an_http_date_counts_from_now_and_is_never_negative() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 1, 5, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Mon, 05 Jan 2026 12:01:30 GMT", now=now) == 90
    assert parse_retry_after("Mon, 05 Jan 2026 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("Monday, 05-Jan-26 12:00:10 GMT", now=now) == 10  # the obsolete RFC 850 form
    for unusable in ("inf", "nan", "soon", ""):
        assert parse_retry_after(unusable, "Retry after 1 minutes") == 60
        assert parse_retry_after(unusable) is None
