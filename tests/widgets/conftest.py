"""Widget tests fail on any exception a widget callback swallowed into the UI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learnkit.widgets import CALLBACK_ERRORS


@pytest.fixture(autouse=True)
def no_callback_errors() -> Iterator[None]:
    CALLBACK_ERRORS.clear()
    yield
    errors = list(CALLBACK_ERRORS)
    CALLBACK_ERRORS.clear()
    assert not errors, "widget callbacks raised:\n" + "\n".join(e.traceback for e in errors)
