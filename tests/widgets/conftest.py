"""Widget tests fail on any exception a widget callback swallowed into the UI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from learnkit import GraphClient
from learnkit.widgets import CALLBACK_ERRORS


@pytest.fixture(autouse=True)
def no_callback_errors() -> Iterator[None]:
    CALLBACK_ERRORS.clear()
    yield
    errors = list(CALLBACK_ERRORS)
    CALLBACK_ERRORS.clear()
    assert not errors, "widget callbacks raised:\n" + "\n".join(e.traceback for e in errors)


@pytest.fixture
def reader(sb: Any) -> GraphClient:
    """A second client, to read the sandbox's state back over HTTP independently of the widget's."""
    return GraphClient.for_sandbox(sb)
