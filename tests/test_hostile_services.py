"""A client that cannot be fooled: services on loopback that hang, trickle, drop or answer nonsense.

Each test points a real ``GraphClient`` (or a real msal sign-in) at a small socket server
that misbehaves in one way, and checks the outcome is a typed learnkit error, that what
may have been applied is never sent twice, and that nothing waits without bound.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

import learnkit
from learnkit import GraphClient, RetryPolicy, SecretSignIn
from learnkit.credentials import AccessToken
from learnkit.models import ASSIGNMENT_TYPE

ACTIVITY = {"@odata.type": ASSIGNMENT_TYPE, "id": "u:1", "status": "inProgress"}
BODY = {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"}
NEW = {
    **BODY,
    "externalcourseActivityId": "x-1",
    "learnerUserId": "u",
    "learningContentId": "c",
    "assignmentType": "required",
}


class Static:
    """A credential handing out one opaque token (no claims: no permission warning) of the kind it says."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("opaque-token", int(time.time()) + 3600)


def answer(status: str, body: bytes = b"", content_type: str | None = "application/json", **headers: str) -> bytes:
    # The server reads one request per connection: say so, or the client may reuse a connection it closes.
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Misbehaving(socketserver.ThreadingTCPServer):
    """Reads one request per connection and does what ``behave`` says with the socket."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behave: Callable[[socket.socket, int], None] = lambda sock, n: None
        self.requests: list[bytes] = []
        self.released = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1.0"

    def methods(self) -> list[str]:
        return [r.split(b" ", 1)[0].decode() for r in self.requests]


class _Handler(socketserver.BaseRequestHandler):
    server: Misbehaving

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            head += chunk
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        body = head.split(b"\r\n\r\n", 1)[1]
        while len(body) < length:
            body += self.request.recv(65536)
        with self.server._lock:
            self.server.requests.append(head)
            count = len(self.server.requests)
        with contextlib.suppress(OSError):  # the client gave up first: that is the point
            self.server.behave(self.request, count)


@pytest.fixture
def server() -> Iterator[Misbehaving]:
    srv = Misbehaving()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.released.set()
        srv.shutdown()
        srv.server_close()


def client_for(url: str, waits: list[float] | None = None, **options: Any) -> GraphClient:
    options.setdefault("retry", RetryPolicy(max_attempts=3))
    options.setdefault("timeout", (2.0, 2.0))
    return GraphClient(
        url,
        credential=Static("application"),  # type: ignore[arg-type]
        delegated=Static("delegated"),  # type: ignore[arg-type]
        trust_env=False,
        sleep=(waits if waits is not None else []).append,
        **options,
    )


def never_answer(srv: Misbehaving) -> Callable[[socket.socket, int], None]:
    def wait(sock: socket.socket, n: int) -> None:
        srv.released.wait(30)

    return wait


def drop(sock: socket.socket, n: int) -> None:
    sock.shutdown(socket.SHUT_RDWR)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- timeouts and dropped connections ----------------------------------------------------------


def test_a_service_that_never_answers_is_a_network_error_retried_for_a_get(server: Misbehaving) -> None:
    server.behave = never_answer(server)
    waits: list[float] = []
    with pytest.raises(learnkit.NetworkError) as info:
        client_for(server.url, waits, timeout=(2.0, 0.5)).get_activity("u:1")
    assert not isinstance(info.value, requests.RequestException)
    assert "timed out" in str(info.value) and info.value.attempts == 3
    assert server.methods() == ["GET"] * 3 and len(waits) == 2
    assert info.value.maybe_applied is False


def test_a_post_that_timed_out_is_never_sent_again(server: Misbehaving) -> None:
    server.behave = never_answer(server)
    with pytest.raises(learnkit.NetworkError, match="may or may not have been applied") as info:
        client_for(server.url, timeout=(2.0, 0.5)).create_activity("reg", NEW)
    assert server.methods() == ["POST"] and info.value.maybe_applied is True


def test_a_dropped_connection_is_retried_for_a_patch_but_not_for_a_post(server: Misbehaving) -> None:
    server.behave = drop
    with pytest.raises(learnkit.NetworkError, match="connection dropped"):
        client_for(server.url).patch_activity("reg", "u:1", BODY)
    assert server.methods() == ["PATCH"] * 3
    server.requests.clear()
    with pytest.raises(learnkit.NetworkError, match="may or may not have been applied"):
        client_for(server.url).create_activity("reg", NEW)
    assert server.methods() == ["POST"]


def test_a_post_that_never_connected_is_sent_again_since_it_cannot_have_arrived() -> None:
    waits: list[float] = []
    url = f"http://127.0.0.1:{closed_port()}/v1.0"
    with pytest.raises(learnkit.NetworkError, match="connection refused") as info:
        client_for(url, waits).create_activity("reg", NEW)
    assert info.value.attempts == 3 and len(waits) == 2
    assert info.value.maybe_applied is False and "try again" in str(info.value)


def test_a_service_that_trickles_is_cut_off_at_the_deadline(server: Misbehaving) -> None:
    body = b'{"@odata.type": "#microsoft.graph.learningAssignment", "id": "u:1"}'

    def trickle(sock: socket.socket, n: int) -> None:
        # A byte every 0.25 s: never a read timeout, and a whole answer 17 s later if nothing cuts it.
        sock.sendall(answer("200 OK", body)[: -len(body)])
        for byte in body:
            if server.released.wait(0.25):
                return
            sock.sendall(bytes([byte]))

    server.behave = trickle
    started = time.monotonic()
    with pytest.raises(learnkit.NetworkError, match="within the 1 s deadline") as info:
        client_for(server.url, retry=RetryPolicy(max_attempts=1), deadline=1.0).get_activity("u:1")
    # Cut off at the deadline, not when the whole answer has trickled in (an answer that closes its
    # connection detaches the socket from it while the body is still read).
    assert time.monotonic() - started < 3.0
    assert info.value.attempts == 1 and server.methods() == ["GET"]


def test_a_service_that_trickles_its_headers_is_cut_off_too(server: Misbehaving) -> None:
    def trickle(sock: socket.socket, n: int) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
            if server.released.wait(0.25):
                return
            sock.sendall(bytes([byte]))

    server.behave = trickle
    with pytest.raises(learnkit.NetworkError, match="deadline"):
        client_for(server.url, retry=RetryPolicy(max_attempts=1), deadline=1.0).patch_activity("r", "a", BODY)


# --- a success that is not the JSON the operation expects -------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "detail"),
    [
        (answer("200 OK", b"<html><body>Sign in to the Wi-Fi</body></html>", "text/html"), "text/html", "not JSON"),
        (answer("200 OK", b"[]"), "application/json", "JSON list where a JSON object"),
        (answer("200 OK", b""), "application/json", "empty body"),
        (answer("200 OK", b"{not json", "application/json"), "application/json", "does not parse"),
    ],
    ids=["html", "array", "empty", "broken"],
)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_activity("u:1"),
        lambda c: c.list_provider_activities("reg"),
        lambda c: c.list_provider_activities_json("reg"),
        lambda c: c.create_activity("reg", NEW),
        lambda c: c.get_provider("reg"),
        lambda c: c.batch([{"id": "1", "method": "GET", "url": "/x"}]),
    ],
    ids=["get", "list", "list-json", "create", "provider", "batch"],
)
def test_a_success_that_is_not_the_expected_json_is_a_typed_error(
    server: Misbehaving, raw: bytes, content_type: str, detail: str, call: Callable[[GraphClient], Any]
) -> None:
    server.behave = lambda sock, n: sock.sendall(raw)
    with pytest.raises(learnkit.UnexpectedResponseError) as info:
        call(client_for(server.url))
    error = info.value
    assert error.status == 200 and error.content_type == content_type
    assert error.url.startswith(server.url) and error.url in str(error)
    assert detail in str(error) and content_type in str(error) and "graph_url" in str(error)
    assert len(server.requests) == 1  # a nonsense answer is not retried


@pytest.mark.parametrize(
    ("call", "detail"),
    [
        (lambda c: c.get_activity("u:1"), "without an 'id'"),
        (lambda c: c.create_activity("reg", NEW), "without an 'id'"),
        (lambda c: c.get_content("reg", "c1"), "without an 'id'"),
        (lambda c: c.list_contents("reg"), "without a 'value' list"),
        (lambda c: c.batch([{"id": "1", "method": "GET", "url": "/x"}]), "without a 'responses' list"),
    ],
    ids=["get", "create", "content", "list", "batch"],
)
def test_a_json_object_of_the_wrong_shape_is_a_typed_error(
    server: Misbehaving, call: Callable[[GraphClient], Any], detail: str
) -> None:
    server.behave = lambda sock, n: sock.sendall(answer("200 OK", b'{"unexpected": [1]}'))
    with pytest.raises(learnkit.UnexpectedResponseError, match=detail) as info:
        call(client_for(server.url))
    assert info.value.url.startswith(server.url + "/") and info.value.url in str(info.value)


def test_an_activity_that_does_not_fit_its_model_is_a_typed_error(server: Misbehaving) -> None:
    bad = b'{"@odata.type": "#microsoft.graph.learningAssignment", "id": "u:1", "completionPercentage": "lots"}'
    server.behave = lambda sock, n: sock.sendall(answer("200 OK", bad))
    with pytest.raises(learnkit.UnexpectedResponseError, match="completionPercentage"):
        client_for(server.url).get_activity("u:1")


def test_a_patch_answered_by_an_html_page_is_not_a_success(server: Misbehaving) -> None:
    server.behave = lambda sock, n: sock.sendall(answer("200 OK", b"<html>proxy</html>", "text/html"))
    with pytest.raises(learnkit.UnexpectedResponseError, match="text/html") as info:
        client_for(server.url).patch_activity("reg", "u:1", BODY)
    assert info.value.url.endswith("/learningCourseActivities/u:1")
    with pytest.raises(learnkit.UnexpectedResponseError):
        learnkit.update_activity(client_for(server.url), "reg", "u:1", BODY)


def test_graph_answers_are_still_accepted(server: Misbehaving) -> None:
    import json

    activity = json.dumps(ACTIVITY).encode()
    odata = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
    server.behave = lambda sock, n: sock.sendall(answer("200 OK", activity, odata))
    assert client_for(server.url).get_activity("u:1").id == "u:1"
    server.behave = lambda sock, n: sock.sendall(answer("204 No Content", b"", None))
    assert client_for(server.url).patch_activity("reg", "u:1", BODY).status == 204


# --- Retry-After ----------------------------------------------------------------------------------------


def test_retry_after_as_an_http_date_is_waited_for(server: Misbehaving) -> None:
    def throttle_once(sock: socket.socket, n: int) -> None:
        if n == 1:
            when = email.utils.formatdate(time.time() + 30, usegmt=True)
            sock.sendall(answer("429 Too Many Requests", b"", None, Retry_After=when))
        else:
            sock.sendall(answer("204 No Content", b"", None))

    server.behave = throttle_once
    waits: list[float] = []
    assert client_for(server.url, waits).patch_activity("reg", "u:1", BODY).attempts == 2
    assert len(waits) == 1 and 25 <= waits[0] <= 30


@pytest.mark.parametrize(
    "header", ["-5", email.utils.formatdate(time.time() - 3600, usegmt=True)], ids=["negative", "an-hour-ago"]
)
def test_retry_after_in_the_past_or_negative_is_no_wait(server: Misbehaving, header: str) -> None:
    def throttle_once(sock: socket.socket, n: int) -> None:
        if n == 1:
            sock.sendall(answer("503 Service Unavailable", b"", None, Retry_After=header))
        else:
            sock.sendall(answer("204 No Content", b"", None))

    server.behave = throttle_once
    waits: list[float] = []
    assert client_for(server.url, waits).patch_activity("reg", "u:1", BODY).attempts == 2
    assert waits == [0.0]


@pytest.mark.parametrize("status", ["429 Too Many Requests", "503 Service Unavailable"])
def test_a_retry_after_past_the_deadline_is_raised_at_once(server: Misbehaving, status: str) -> None:
    server.behave = lambda sock, n: sock.sendall(answer(status, b"", None, Retry_After="90"))
    started = time.monotonic()
    # A real sleep: were the wait begun, this test would take 90 s.
    client = client_for(server.url, deadline=3.0)
    client._sleep = time.sleep
    with pytest.raises(learnkit.RetryableError) as info:
        client.patch_activity("reg", "u:1", BODY)
    assert time.monotonic() - started < 2.0 and len(server.requests) == 1
    assert info.value.retry_after == 90.0 and info.value.status == int(status[:3])


def test_waits_that_add_up_past_the_deadline_stop_there(server: Misbehaving) -> None:
    server.behave = lambda sock, n: sock.sendall(answer("503 Service Unavailable", b"", None, Retry_After="2"))
    waits: list[float] = []
    with pytest.raises(learnkit.ServiceUnavailableError):
        client_for(server.url, waits, deadline=5.0, retry=RetryPolicy(max_attempts=10)).patch_activity("r", "u", BODY)
    assert waits == [2.0, 2.0]  # a third wait of 2 s would end past the 5 s deadline: raised instead


# --- sign-in ------------------------------------------------------------------------------------------


def test_sign_in_at_an_unreachable_authority_is_a_sign_in_error_naming_it() -> None:
    authority = f"https://127.0.0.1:{closed_port()}/contoso"
    credential = SecretSignIn("contoso", "app", "secret-value-1", authority=authority)
    with pytest.raises(learnkit.SignInError) as info:
        credential.get_token()
    assert info.value.authority == authority and authority in str(info.value)
    assert isinstance(info.value, learnkit.TokenError) and not isinstance(info.value, requests.RequestException)
    assert "secret-value-1" not in str(info.value)


def test_sign_in_at_an_authority_that_never_answers_times_out(server: Misbehaving) -> None:
    server.behave = never_answer(server)  # TLS hello never answered either: the server only reads
    authority = f"https://127.0.0.1:{server.server_address[1]}/contoso"
    credential = SecretSignIn("contoso", "app", "secret-value-1", authority=authority, timeout=(1.0, 0.5), deadline=2.0)
    with pytest.raises(learnkit.SignInError, match=r"timed out|deadline") as info:
        credential.get_token()
    assert authority in str(info.value)


def test_sign_in_at_an_authority_that_trickles_is_cut_off(server: Misbehaving) -> None:
    def trickle(sock: socket.socket, n: int) -> None:
        while not server.released.wait(0.25):
            sock.sendall(b"\x16")  # a TLS record that never ends

    server.behave = trickle
    authority = f"https://127.0.0.1:{server.server_address[1]}/contoso"
    credential = SecretSignIn("contoso", "app", "secret-value-1", authority=authority, timeout=(1.0, 1.0), deadline=1.0)
    with pytest.raises(learnkit.SignInError, match="within the 1 s deadline"):
        credential.get_token()


def test_sign_in_for_an_unknown_tenant_names_the_authority(sandbox: Any) -> None:
    demo = {a["name"]: a for a in sandbox.to_json()["apps"]}["learnkit-demo"]
    bogus = sandbox.authority.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-00000000b0b0"
    credential = SecretSignIn(
        "00000000-0000-0000-0000-00000000b0b0",
        demo["client_id"],
        demo["client_secret"],
        authority=bogus,
        verify=sandbox.ca_cert,
    )
    with pytest.raises(learnkit.SignInError, match="tenant") as info:
        credential.get_token()
    assert info.value.authority == bogus and demo["client_secret"] not in str(info.value)


def test_a_batch_with_a_post_inside_is_not_resent_after_a_drop(server: Misbehaving) -> None:
    server.behave = drop
    patches = [
        {"id": "1", "method": "PATCH", "url": "/a", "body": BODY, "headers": {"Content-Type": "application/json"}}
    ]
    with pytest.raises(learnkit.NetworkError):
        client_for(server.url).batch(patches)
    assert server.methods() == ["POST"] * 3  # PATCHes only: resending the batch is harmless
    server.requests.clear()
    posts = [{**patches[0], "method": "POST"}]
    with pytest.raises(learnkit.NetworkError, match="may or may not have been applied"):
        client_for(server.url).batch(posts)
    assert server.methods() == ["POST"]


# --- the token stays at home ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.2:{port}/v1.0/employeeExperience/learningProviders/reg/learningCourseActivities?$skip=1",
        "http://localhost:{port}/v1.0/next",  # the same machine under another name is another host
        "http://127.0.0.1:1/v1.0/next",  # another port
        "https://127.0.0.1:{port}/v1.0/next",  # another scheme
        "//127.0.0.2:{port}/v1.0/next",
    ],
    ids=["other-host", "other-name", "other-port", "other-scheme", "scheme-relative"],
)
def test_a_next_link_to_another_origin_is_refused_and_gets_no_token(server: Misbehaving, link: str) -> None:
    # The page's next link names another origin: a second server listening there would get the token.
    elsewhere = Misbehaving()
    stranger = f"{elsewhere.server_address[0]}:{elsewhere.server_address[1]}"
    thread = threading.Thread(target=elsewhere.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        target = link.format(port=port).replace(f"127.0.0.2:{port}", stranger)
        page = f'{{"value": [{{"id": "u:1"}}], "@odata.nextLink": "{target}"}}'.encode()
        server.behave = lambda sock, n: sock.sendall(answer("200 OK", page))
        with pytest.raises(learnkit.UntrustedURLError) as info:
            client_for(server.url).list_provider_activities_json("reg")
        assert info.value.url == target and info.value.graph_url == server.url
        assert "token was not sent" in str(info.value) and "opaque-token" not in str(info.value)
        assert len(server.requests) == 1 and elsewhere.requests == []
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()


def test_a_next_link_on_the_client_origin_is_followed_with_the_token(server: Misbehaving) -> None:
    def pages(sock: socket.socket, n: int) -> None:
        link = f', "@odata.nextLink": "{server.url}/next?$skiptoken=2"' if n == 1 else ""
        sock.sendall(answer("200 OK", f'{{"value": [{{"id": "u:{n}"}}]{link}}}'.encode()))

    server.behave = pages
    items = client_for(server.url).list_provider_activities_json("reg")
    assert [item["id"] for item in items] == ["u:1", "u:2"]
    assert all(b"Authorization: Bearer opaque-token" in head for head in server.requests)


def test_an_absolute_url_given_by_a_caller_is_held_to_the_same_origin(server: Misbehaving) -> None:
    with pytest.raises(learnkit.UntrustedURLError):
        client_for(server.url).request("GET", "https://graph.microsoft.com/v1.0/me", operation="get_activity")
    assert server.requests == []
