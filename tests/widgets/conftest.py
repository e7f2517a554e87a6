"""Widget tests fail on any exception a widget callback swallowed into the UI.

They read the demo provider by its activity ids (``demo_source``), the documented way, which every contract
serves; a test that reads the provider's list, or is refused it, sets the sandbox's contract itself
(``contract``). What ``learnkit.bulk.sources`` learnt of a service's list is forgotten around each test: the
session's sandbox changes contract between tests, at one address.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from learnkit import GraphClient
from learnkit.bulk.sources import ActivityIds, forget_probes
from learnkit.sandbox import Sandbox
from learnkit.widgets import CALLBACK_ERRORS


@pytest.fixture(autouse=True)
def no_remembered_probes() -> Iterator[None]:
    forget_probes()
    yield
    forget_probes()


def contract(sandbox: Sandbox, name: str) -> Sandbox:
    """The sandbox answering by ``name`` (``documented`` or ``metadata``) from now on, nothing remembered of before."""
    sandbox.set_contract(name)
    forget_probes()
    return sandbox


def demo_source(sandbox: Sandbox) -> ActivityIds:
    """The demo provider's records by their ids, as its own system lists them: every contract serves this."""
    return ActivityIds(sandbox.activity_ids())


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
