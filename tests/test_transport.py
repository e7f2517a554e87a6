"""learnkit._transport: one deadline thread for every request, and bodies sent straight to the adapter
with the session's headers, hooks and deadline (against a small echoing server on loopback)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from learnkit._transport import _WATCHDOG, HOOKED_POOL_METHODS, DeadlineExceeded, TimedSession


class Echo(BaseHTTPRequestHandler):
    """Answers with what it received: method, headers, body; ``/slow`` first waits 1.5 s."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/slow":
            time.sleep(1.5)
        seen = {"method": self.command, "headers": dict(self.headers.items()), "body": body.decode()}
        out = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        # /slow: the client has given up first (what the deadline test wants); no traceback in the run's output.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(out)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def deadline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "learnkit-deadline"]


def test_one_thread_keeps_every_request_s_deadline(url: str) -> None:
    session = TimedSession(deadline=30.0, pool_size=8)
    session.trust_env = False
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: session.get(f"{url}/{i}").status_code, range(40)))
    assert answers == [200] * 40
    assert len(deadline_threads()) == 1  # not one per request
    assert not _WATCHDOG._watches  # every finished request let go of its watch


def test_send_body_carries_the_session_s_headers_and_hooks_and_only_the_body_given(url: str) -> None:
    session = TimedSession(deadline=30.0)
    session.trust_env = False
    session.headers["X-Session"] = "kept"
    seen: list[int] = []
    session.hooks["response"].append(lambda response, *a, **k: seen.append(response.status_code))
    answer = session.send_body("POST", f"{url}/batch", b'{"requests":[]}', {"Content-Type": "application/json"})
    echoed = answer.json()
    assert echoed["method"] == "POST" and echoed["body"] == '{"requests":[]}'
    assert echoed["headers"]["X-Session"] == "kept" and echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["headers"]["Content-Length"] == "15"
    got = session.send_body("GET", f"{url}/list?$top=5", b"", {"Accept": "application/json"}).json()
    assert got["method"] == "GET" and "Content-Length" not in got["headers"]  # a GET without a body says nothing
    assert seen == [200, 200]


def test_send_body_is_cut_off_at_the_deadline(url: str) -> None:
    session = TimedSession(timeout=(5.0, 5.0), deadline=0.5)
    session.trust_env = False
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"within the 0\.5 s deadline"):
        session.send_body("POST", f"{url}/slow", b"{}", {"Content-Type": "application/json"})
    assert time.monotonic() - started < 1.4  # the socket was shut at the deadline, not when the answer came
    assert isinstance(DeadlineExceeded("x"), requests.Timeout)


def test_urllib3_still_has_the_pool_methods_the_deadline_hooks() -> None:
    # The deadline overrides private methods of urllib3's pools (learnkit/_transport.py says why): a release
    # that renames one or changes its parameters must fail here, not leave requests unwatched.
    import inspect
    from importlib.metadata import version

    from packaging.requirements import Requirement
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.poolmanager import PoolManager

    for pool in (HTTPConnectionPool, HTTPSConnectionPool):
        for name, wanted in HOOKED_POOL_METHODS.items():
            method = getattr(pool, name, None)
            assert callable(method), f"urllib3 {version('urllib3')}: {pool.__name__}.{name} is gone"
            found = tuple(inspect.signature(method).parameters)
            assert found == wanted, f"urllib3 {version('urllib3')}: {pool.__name__}.{name}{found}, not {wanted}"
    assert isinstance(PoolManager().pool_classes_by_scheme, dict)
    # The pin in pyproject.toml is what this test was run against.
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    pinned = next(Requirement(line.strip().strip('",')) for line in pyproject.splitlines() if '"urllib3' in line)
    assert pinned.specifier.contains(version("urllib3")), f"urllib3 {version('urllib3')} is outside {pinned}"
