"""Callbacks that cannot fail silently: an exception is shown in the widget and recorded.

ipywidgets only logs an exception raised in a callback when no IPython shell is
around (in tests, in Voila's log), so a broken button would look like a dead one.
``guarded`` wraps a callback: the error is rendered into the given HTML area
and appended to ``CALLBACK_ERRORS`` (the newest 100, so a kernel that runs for days does not keep every
traceback and the frames it holds), which the tests assert stays empty.

Example: ``button.on_click(guarded(self._on_patch, self.result))``
"""

from __future__ import annotations

import functools
import html
import logging
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import ipywidgets as widgets

__all__ = ["CALLBACK_ERRORS", "CallbackError", "guarded", "render_exception"]

log = logging.getLogger("learnkit.widgets")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CallbackError:
    """One exception raised inside a widget callback: where, what, and its traceback text."""

    callback: str
    error: BaseException
    traceback: str


#: The newest exceptions guarded callbacks raised in this process, oldest first (at most 100 kept).
CALLBACK_ERRORS: deque[CallbackError] = deque(maxlen=100)


def render_exception(area: widgets.HTML, callback: str, exc: BaseException) -> None:
    """Show an unexpected exception in ``area``: its type and message, and where it happened."""
    area.value = (
        '<div class="lk-callback-error" style="color:var(--jp-error-color1, #b00020)">'
        f"<b>Unexpected error in {html.escape(callback)}</b>: "
        f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</div>"
    )


def guarded(callback: F, area: widgets.HTML) -> F:
    """``callback``, but an exception it raises is shown in ``area`` and recorded, not lost.

    >>> area = widgets.HTML(); guarded(lambda: 1 / 0, area)(); "ZeroDivisionError" in area.value
    True
    """
    name = getattr(callback, "__qualname__", repr(callback))

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except Exception as exc:
            CALLBACK_ERRORS.append(CallbackError(name, exc, traceback.format_exc()))
            log.exception("widget callback %s failed", name)
            render_exception(area, name, exc)
            return None

    return wrapper  # type: ignore[return-value]
