"""HTTP sessions that cannot hang: a (connect, read) timeout on every request, and an overall deadline.

requests bounds each socket operation only, so a server that trickles a byte every
quarter second never trips its read timeout. ``TimedSession`` also bounds the whole
request: a watchdog shuts the request's socket down when the deadline passes, in
whatever phase the request is (connecting, sending, waiting for headers, reading
the body), and the request raises ``DeadlineExceeded`` (a ``requests.Timeout``).
``GraphClient`` and the msal sign-in both send through it.

The watch learns which connection (and socket) a request uses from urllib3's pools: ``_TrackedPool``
overrides their private ``_get_conn``, ``_new_conn`` and ``_put_conn``. urllib3 offers no public hook
that says when a pooled connection changes hands (``ConnectionCls`` sees a connection used, never
handed back, so a late watch could shut a socket another request has just taken). So the range of
urllib3 is pinned to the releases tested (``pyproject.toml``), and
``tests/test_transport.py::test_urllib3_still_has_the_pool_methods_the_deadline_hooks`` fails
loudly, naming the method, when a urllib3 release changes them.

Every request says ``User-Agent: learnkit/<version>``, and every answer is one line at DEBUG on
the ``learnkit.http`` logger: method, path (never the query, which may hold what is not the
log's to keep), status, seconds, and the answer's ``request-id`` and the request's
``client-request-id`` (the ids Microsoft support asks for). ``logging.getLogger("learnkit")``
at DEBUG shows them with the rest of learnkit's log.

Example::

    session = TimedSession(timeout=(5.0, 30.0), deadline=60.0)
    session.get("https://graph.microsoft.com/v1.0/$metadata")
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.hooks import dispatch_hook
from requests.structures import CaseInsensitiveDict
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError

from learnkit.errors import request_ids

__all__ = [
    "DeadlineExceeded",
    "TimedSession",
    "Timeout",
    "cause_name",
    "failure_reason",
    "log_answer",
    "never_sent",
    "user_agent",
]

#: One DEBUG line per HTTP answer (``log_answer``).
http_log = logging.getLogger("learnkit.http")

#: (connect, read) seconds, or one number for both: what requests takes.
Timeout = float | tuple[float, float]

# The watch of the request this thread is sending, for the pools to hand it the connection in use.
_current = threading.local()


class DeadlineExceeded(requests.exceptions.Timeout):
    """No complete answer arrived within the session's overall deadline."""


class _Watch:
    """Shuts down the socket of one request if that request outlives its deadline (``_WATCHDOG`` keeps time)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = 0.0
        self.conn: Any = None
        # The connection's socket as last seen: an answer with "Connection: close" detaches it from the
        # connection (http.client sets ``sock`` to None) while its body is still being read from it.
        self.sock: socket.socket | None = None
        self.expired = False

    def start(self) -> None:
        self.at = time.monotonic() + self.seconds
        _WATCHDOG.add(self)

    def stop(self) -> None:
        _WATCHDOG.discard(self)

    def shut(self) -> None:
        self.expired = True
        sock = getattr(self.conn, "sock", None) or self.sock
        if isinstance(sock, socket.socket):
            # socket.socket's own shutdown: SSLSocket.shutdown would also drop its TLS state
            # under the feet of the thread blocked reading it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread keeps every request's deadline: it sleeps until the nearest one and shuts down the socket
    of each request past its own, again every 50 ms until that request gives up (the socket may not exist
    yet while it connects). A thread per request cost more CPU than a ``$batch`` request's own work."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._watches: set[_Watch] = set()
        self._next = math.inf  # the deadline the thread sleeps until
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._cond:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="learnkit-deadline", daemon=True)
                self._thread.start()
            elif watch.at < self._next:
                self._cond.notify()

    def discard(self, watch: _Watch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                late = [w for w in self._watches if w.at <= now]
                self._next = min((w.at for w in self._watches if w.at > now), default=math.inf)
                if not late:
                    self._cond.wait(None if self._next == math.inf else self._next - now)
                    continue
            for watch in late:
                watch.shut()
            with self._cond:
                self._cond.wait(min(0.05, max(0.0, self._next - time.monotonic())))


_WATCHDOG = _Watchdog()


#: The private pool methods ``_TrackedPool`` overrides, with the parameters it calls them with (tested).
HOOKED_POOL_METHODS = {"_get_conn": ("self", "timeout"), "_new_conn": ("self",), "_put_conn": ("self", "conn")}


class _TrackedPool:
    """A urllib3 pool that tells the current request's watch which connection it is using."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.conn, watch.sock = conn, getattr(conn, "sock", None)
        return conn

    def _new_conn(self) -> Any:
        conn = super()._new_conn()  # type: ignore[misc]
        # Its socket is made as the request is sent: the watch hears of it then.
        connect = conn.connect

        def connect_and_tell() -> None:
            connect()
            watch = getattr(_current, "watch", None)
            if watch is not None and watch.conn is conn:
                watch.sock = conn.sock

        conn.connect = connect_and_tell
        return conn

    def _put_conn(self, conn: Any) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None and watch.conn is conn:
            # Back in the pool: another request's now, never to be shut by this watch.
            watch.conn = watch.sock = None
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_TrackedPool, HTTPConnectionPool):
    pass


class _HTTPSPool(_TrackedPool, HTTPSConnectionPool):
    pass


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


class TimedSession(requests.Session):
    """A ``requests.Session`` whose every request has a timeout and an overall deadline.

    ``timeout`` is the default (connect, read) seconds of a request that passes none;
    ``deadline`` bounds a whole request, body included (``None``: no bound). Responses
    read with ``stream=True`` are bounded up to their headers only. No retries at this
    level: the caller decides what is safe to send again. ``transport`` replaces the
    connection adapter for both schemes (a test's that answers without a socket, say:
    ``GraphClient``'s ``transport``); the deadline's watch has no socket to shut there.

    >>> TimedSession(timeout=(3.0, 10.0), deadline=20.0).deadline
    20.0
    """

    def __init__(
        self,
        *,
        timeout: Timeout = (10.0, 60.0),
        deadline: float | None = 120.0,
        pool_size: int = 10,
        transport: BaseAdapter | None = None,
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.deadline = deadline
        adapter = transport or _Adapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.headers["User-Agent"] = user_agent()
        self.hooks["response"].append(log_answer)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """``requests.Session.request`` with the session's timeout and deadline."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return self._watched(method, url, lambda: super(TimedSession, self).request(method, url, *args, **kwargs))

    def send_body(
        self,
        method: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: Timeout | None = None,
        verify: bool | str | None = True,
    ) -> requests.Response:
        """Send a body already encoded (JSON, say), with ``request``'s timeout, deadline and errors, straight
        to the session's connection adapter.

        What ``requests.Session.request`` adds per request (merging cookies and hooks, following
        redirects, keeping cookies the answer sets) costs a ``$batch`` POST a third of its CPU and
        serves no Graph call: this skips it. Session headers and response hooks, proxies and CA
        settings from the environment (when ``trust_env``), mounted adapters and the deadline still apply.

        Example: ``session.send_body("POST", url, b'{"requests":[]}', {"Content-Type": "application/json"})``
        """
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.prepare_url(url, None)
        merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict()
        merged.update((k, v) for k, v in self.headers.items() if v is not None)  # None unsets, as in requests
        merged.update(headers)
        if body or method.upper() not in ("GET", "HEAD"):
            merged["Content-Length"] = str(len(body))
        prepared.headers = merged
        prepared.body = body
        settings: dict[str, Any] = dict(self.merge_environment_settings(prepared.url or url, {}, False, verify, None))
        adapter = self.get_adapter(prepared.url or url)

        def send() -> requests.Response:
            response = adapter.send(
                prepared,
                stream=False,
                timeout=timeout if timeout is not None else self.timeout,
                verify=settings["verify"],
                cert=settings["cert"],
                proxies=settings["proxies"],
            )
            hooked: requests.Response = dispatch_hook("response", self.hooks, response)  # type: ignore[no-untyped-call]
            _ = hooked.content  # the whole body within the deadline, as ``request`` reads it
            return hooked

        return self._watched(method, url, send)

    def _watched(
        self, method: str | bytes, url: str | bytes, call: Callable[[], requests.Response]
    ) -> requests.Response:
        if self.deadline is None:
            return call()
        watch = _Watch(self.deadline)
        outer = getattr(_current, "watch", None)
        _current.watch = watch
        watch.start()
        try:
            response = call()
        except requests.RequestException as exc:
            if watch.expired:
                raise self._late(method, url) from exc
            raise
        finally:
            watch.stop()
            _current.watch = outer
        if watch.expired:
            # The shutdown can look like the end of a body sent without a length: never trust it.
            response.close()
            raise self._late(method, url)
        return response

    def _late(self, method: str | bytes, url: str | bytes) -> DeadlineExceeded:
        method = method.decode() if isinstance(method, bytes) else method
        url = url.decode() if isinstance(url, bytes) else url
        return DeadlineExceeded(f"{method} {url}: no complete answer within the {self.deadline:g} s deadline")


@functools.cache
def user_agent() -> str:
    """What every request of learnkit's says it is: ``learnkit/<version>``.

    >>> user_agent().startswith("learnkit/")
    True
    """
    from learnkit import _version

    return f"learnkit/{_version()}"


def log_answer(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """Log one line for an HTTP answer at DEBUG (a ``requests`` response hook; every ``TimedSession`` has it).

    Example line: ``GET /v1.0/employeeExperience/learningProviders -> 200 in 0.041 s [request-id 5a1c...,
    client-request-id 9f2e...]``. The sign-in service names its request id ``x-ms-request-id``: read as well.
    """
    if http_log.isEnabledFor(logging.DEBUG):
        request = response.request
        http_log.debug(
            "%s %s -> %d in %.3f s%s",
            request.method,
            urlsplit(request.url or "").path,
            response.status_code,
            response.elapsed.total_seconds(),
            request_ids(
                response.headers.get("request-id") or response.headers.get("x-ms-request-id"),
                response.headers.get("client-request-id") or request.headers.get("client-request-id"),
            ),
        )
    return response


def failure_reason(exc: requests.RequestException) -> str:
    """What went wrong under a requests error, in a few words a person and a script can both read.

    >>> failure_reason(requests.ReadTimeout())
    'timed out waiting for the answer'
    """
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(exc, DeadlineExceeded):
        return str(exc).split(": ", 1)[-1]
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(reason or exc)
        return (
            "its certificate is not trusted (CERTIFICATE_VERIFY_FAILED)"
            if "CERTIFICATE_VERIFY_FAILED" in text
            else (f"TLS failed ({cause_name(exc)})")
        )
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, requests.ReadTimeout):
        return "timed out waiting for the answer"
    if isinstance(reason, NameResolutionError):
        return "unknown host (Name or service not known)"
    if isinstance(reason, NewConnectionError):
        return (
            "connection refused"
            if isinstance(reason.__context__, ConnectionRefusedError)
            else (f"could not connect ({cause_name(exc)})")
        )
    return f"the connection dropped ({cause_name(exc)})"


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the service: the connection was never made."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def cause_name(exc: BaseException) -> str:
    """The class name of what really failed under a requests error: short, and free of URLs and headers.

    >>> cause_name(requests.ConnectionError(ConnectionRefusedError()))
    'ConnectionError'
    """
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason if isinstance(reason, BaseException) else exc).__name__
