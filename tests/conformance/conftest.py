"""Fixtures of the conformance suite: msgraph-sdk clients on a clean sandbox (see ``graph_sdk``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.graph_sdk import SDK
from learnkit.sandbox import Sandbox


@pytest.fixture
def sdk(clean_sandbox: Sandbox) -> Iterator[SDK]:
    """Runs SDK coroutines against the session's sandbox, demo tenant rebuilt, answering every request the
    metadata declares (contract ``metadata``): the SDK builds one for each."""
    clean_sandbox.set_contract("metadata")
    yield SDK(clean_sandbox)
