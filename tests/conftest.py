"""Shared fixtures: one sandbox per test session, reset on demand, a client and tokens for it.

The one place tests get a sandbox; a test needing another (a database of its own, a short token
lifetime) starts it in the test itself.

``sandbox``: the session's running sandbox (a temporary database).
``clean_sandbox`` (alias ``sb``): the same, with the demo tenant rebuilt and every switch back to its default.
``listing_sb``: ``sb`` serving the provider's list (contract ``metadata``); ``sb`` answers as Graph's pages do.
``everything(client, sb)``: a provider's activities read by id, as Graph documents: what tests compare.
``keys_csv(sb, path)``: a provider's keys as a CSV, for the commands' ``--ids``/``--external-ids``.
``client``: a ``GraphClient`` signed in to ``sb`` with the demo app, backing off briefly between retries.
``app_token`` / ``delegated_token``: raw access tokens for the demo apps, fetched over HTTP
(``client_credentials_token`` and ``device_code_token`` fetch them from any sandbox).
``sandbox_cli(*args)``: ``learnkit sandbox`` in a subprocess, its output as text pipes.
``Clock``: a clock a test advances instead of sleeping, for a sandbox of its own (``start(clock=Clock())``: never
the session's, whose tokens other tests check against the system's clock).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from learnkit import GraphClient, RetryPolicy
from learnkit.bulk.frame import read_activities
from learnkit.bulk.sources import ActivityIds, forget_probes
from learnkit.sandbox import Sandbox, start


class Clock:
    """The system's time plus whatever the test has advanced it by: a token expires without a sleep.

    Thread-safe (the sandbox reads it from its server thread). Example: ``clock.advance(2)``.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        with self._lock:
            self._offset += seconds


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox for the whole session, on a temporary database."""
    folder: Path = tmp_path_factory.mktemp("sandbox")
    sb = start(db=folder / "graph.db")
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(autouse=True)
def _no_grace_for_a_missing_sandbox_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``--sandbox-json`` file that does not exist is reported after 0.1 s here, not the 3 s a shell needs."""
    import learnkit.settings

    monkeypatch.setattr(learnkit.settings, "SANDBOX_JSON_GRACE", 0.1)


@pytest.fixture
def clean_sandbox(sandbox: Sandbox) -> Sandbox:
    """The session's sandbox, demo tenant rebuilt; no faults, latency or rate limit; plan and auto-approve on."""
    sandbox.reset()
    forget_probes()  # whether the list is served is remembered per process: each test asks afresh
    return sandbox


@pytest.fixture
def sb(clean_sandbox: Sandbox) -> Sandbox:
    """``clean_sandbox`` under the short name the tests use."""
    return clean_sandbox


@pytest.fixture
def listing_sb(sb: Sandbox) -> Sandbox:
    """``sb`` answering as the metadata allows: the provider's list served (for tests of that path)."""
    sb.set_contract("metadata")
    forget_probes()
    return sb


def everything(client: GraphClient, sb: Sandbox, registration_id: str | None = None) -> pd.DataFrame:
    """Every activity of a provider (the demo one by default), read by id as Graph documents: what tests compare."""
    reg = registration_id or sb.demo["registration_id"]
    return read_activities(client, reg, source=ActivityIds(sb.activity_ids(reg)))


def keys_csv(sb: Sandbox, path: Path, registration_id: str | None = None) -> str:
    """A provider's keys (id, externalcourseActivityId) written to ``path`` as ``learnkit sandbox --keys-out`` does."""
    from learnkit.bulk.csvfile import write_table

    write_table(pd.DataFrame(sb.activity_keys(registration_id), columns=["id", "externalcourseActivityId"]), path)
    return str(path)


@pytest.fixture
def client(sb: Sandbox) -> GraphClient:
    """A client of the demo app on ``sb``; retries back off in milliseconds, not seconds."""
    return GraphClient.for_sandbox(sb, retry=RetryPolicy(backoff=0.01, max_backoff=0.05))


def client_credentials_token(sandbox: Sandbox, app: str = "learnkit-demo") -> str:
    """An application access token of a sandbox's demo app, from its token endpoint.

    ``learnkit-demo`` (the default) holds the learning permissions and ``User.ReadBasic.All``;
    ``learnkit-nonames`` the same without ``User.ReadBasic.All``; ``learnkit-noroles`` none.
    """
    chosen = sandbox.apps[app]
    with sandbox.session() as http:
        answer = http.post(
            sandbox.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": chosen.client_id,
                "client_secret": chosen.client_secret,
                "scope": sandbox.scope,
            },
            timeout=10,
        )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@pytest.fixture(scope="session")
def app_token(sandbox: Sandbox) -> str:
    """An application access token of the session sandbox's main demo app."""
    return client_credentials_token(sandbox)


def device_code_token(
    sandbox: Sandbox, scope: str = "https://graph.microsoft.com/.default offline_access openid profile"
) -> str:
    """A delegated access token of a sandbox's demo learner (``learnkit-delegated``), by device code."""
    app = sandbox.apps["learnkit-delegated"]
    with sandbox.session() as http:
        flow = http.post(
            f"{sandbox.authority}/oauth2/v2.0/devicecode",
            data={"client_id": app.client_id, "scope": scope},
            timeout=10,
        ).json()
        sandbox.approve_device_code(flow["user_code"])  # whatever auto-approve is set to just now
        answer = http.post(
            sandbox.token_url,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": app.client_id,
                "device_code": flow["device_code"],
            },
            timeout=10,
        )
    if answer.status_code != 200:
        raise requests.HTTPError(f"device code sign-in failed: {answer.json().get('error')}")
    return str(answer.json()["access_token"])


@pytest.fixture(scope="session")
def delegated_token(sandbox: Sandbox) -> str:
    """A delegated access token of the demo learner (``learnkit-delegated``, all its scopes), by device code."""
    return device_code_token(sandbox)


def sandbox_cli(*args: str) -> subprocess.Popen[str]:
    """``learnkit sandbox ARGS`` in a subprocess (unbuffered, so its first line can be read at once)."""
    code = (
        "import argparse; from learnkit.sandbox import cli; p = argparse.ArgumentParser(); "
        "cli.add_arguments(p); raise SystemExit(cli.run(p.parse_args()))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
