"""How an outcome reads on screen: a refused value, or Graph's error row with what to do.

Pure functions from results and exceptions to short HTML, shared by the form,
the table and the bulk editor, so every view explains an error the same way.

Example: ``html = explain_error(exc)``  # status, code, message, advice, request-id and client-request-id
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from learnkit.errors import (
    GraphError,
    InvalidInputError,
    LearnkitError,
    RetryableError,
    request_ids,
)

__all__ = ["explain_error", "format_wait", "json_block", "problem_html"]

_BAD = "var(--jp-error-color1, #b00020)"
_WAIT = "var(--jp-warn-color1, #8a5a00)"


def format_wait(seconds: float) -> str:
    """A wait in words.

    >>> format_wait(150.0)
    '2 min 30 s'
    """
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if not minutes:
        return f"{secs} s"
    return f"{minutes} min" + (f" {secs} s" if secs else "")


def json_block(body: Mapping[str, Any] | None) -> str:
    """A JSON body as a <pre> block (``None`` reads as no change)."""
    if body is None:
        return "<pre class='lk-json'>(no change: nothing to send)</pre>"
    return f"<pre class='lk-json'>{html.escape(json.dumps(body, indent=2))}</pre>"


def problem_html(detail: str) -> str:
    """A field's validation message, shown next to the field."""
    return f"<span class='lk-problem' style='color:{_BAD}'>⚠ {html.escape(detail)}</span>"


def explain_error(exc: BaseException) -> str:
    """An exception explained: for a Graph error its row (status, code, message) and ``.advice``.

    A 429 or 503 shows how long Graph asks to wait; nothing here shows a traceback.

    >>> from learnkit.errors import TooManyRequestsError
    >>> "wait 2 min" in explain_error(TooManyRequestsError("Retry after 2 minutes", retry_after=120.0))
    True
    """
    if isinstance(exc, InvalidInputError):
        rows = "".join(
            f"<li><b>{html.escape(field)}</b>: {html.escape(detail)}</li>" for field, _, detail in exc.problems
        )
        return (
            f"<div class='lk-refused' style='color:{_BAD}'><b>Not sent</b>: a value was refused before "
            f"any request.<ul>{rows}</ul></div>"
        )
    if isinstance(exc, RetryableError):
        wait = (
            f"Graph asks to wait {format_wait(exc.retry_after)} before sending again."
            if exc.retry_after is not None
            else "Graph gave no wait; try again in a little while."
        )
        return (
            f"<div class='lk-wait' style='color:{_WAIT}'><b>⏳ {exc.status} {html.escape(exc.code)}</b>: "
            f"{html.escape(wait)} Nothing was changed. <i>{html.escape(exc.advice)}</i>"
            f"{_request_id(exc)}</div>"
        )
    if isinstance(exc, GraphError):
        field = f"<tr><th>field</th><td>{html.escape(exc.field)}</td></tr>" if exc.field else ""
        return (
            f"<div class='lk-error' style='color:{_BAD}'><b>✖ {exc.status} {html.escape(exc.code)}</b>"
            "<table class='lk-error-row'>"
            f"<tr><th>message</th><td>{html.escape(exc.message)}</td></tr>{field}"
            f"<tr><th>what to do</th><td>{html.escape(exc.advice)}</td></tr>"
            f"</table>{_request_id(exc)}</div>"
        )
    if isinstance(exc, LearnkitError):
        name = type(exc).__name__
        return f"<div class='lk-error' style='color:{_BAD}'><b>✖ {name}</b>: {html.escape(str(exc))}</div>"
    raise TypeError(f"not a learnkit error: {type(exc).__name__}")


def _request_id(exc: GraphError) -> str:
    """Both ids, what Microsoft support asks for: ``request-id R, client-request-id C``.

    >>> _request_id(GraphError("x", request_id="r", client_request_id="c"))
    "<div class='lk-request-id'>request-id r, client-request-id c</div>"
    """
    ids = request_ids(exc.request_id, exc.client_request_id).strip(" []")
    return f"<div class='lk-request-id'>{html.escape(ids)}</div>" if ids else ""
