"""What Microsoft support asks for: every request names learnkit and has its own ``client-request-id``; every
answer is one DEBUG line on the ``learnkit`` logger with both ids; every error carries both."""

from __future__ import annotations

import http.server
import json
import logging
import pickle
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import learnkit
from learnkit import GraphClient
from learnkit.credentials import AccessToken
from learnkit.errors import error_from_response

LINE = re.compile(
    r"^(?P<method>[A-Z]+) (?P<path>\S+) -> (?P<status>\d{3}) in \d+\.\d{3} s"
    r" \[request-id (?P<rid>[^,\]]+), client-request-id (?P<crid>[^\]]+)\]$"
)


class Recorder(http.server.ThreadingHTTPServer):
    """A plain HTTP service on loopback that keeps each request's headers and answers ``answer``."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.answer: tuple[int, str, bytes] = (200, "application/json", b'{"id": "a-1", "status": "inProgress"}')
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1.0"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers.items()))
        status, content_type, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Fixed:
    """A credential with one opaque token (nothing here checks it)."""

    kind = "application"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("opaque", 4102444800)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_every_request_names_learnkit_and_carries_a_fresh_client_request_id(recorder: Recorder) -> None:
    client = GraphClient(recorder.url, credential=Fixed(), trust_env=False)  # type: ignore[arg-type]
    for _ in range(2):
        client.request("GET", "/employeeExperience/learningCourseActivities/a-1", operation="get_activity")
    agents = {headers["User-Agent"] for headers in recorder.seen}
    assert agents == {f"learnkit/{learnkit.__version__}"}
    ids = [headers["client-request-id"] for headers in recorder.seen]
    assert len(set(ids)) == 2 and all(uuid.UUID(i).version == 4 for i in ids)


def test_sign_in_requests_name_learnkit_too(sb: Any) -> None:
    demo = sb.apps["learnkit-demo"]
    sign_in = learnkit.SecretSignIn(
        sb.tenant_id, demo.client_id, demo.client_secret, authority=sb.authority, verify=sb.ca_cert
    )
    sent: list[str] = []
    sign_in._http.hooks["response"].append(
        lambda response, *a, **k: sent.append(response.request.headers["User-Agent"])
    )
    sign_in.get_token()
    assert sent and set(sent) == {f"learnkit/{learnkit.__version__}"}


def test_one_debug_line_per_answer_with_both_ids_and_no_query(
    sb: Any, client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.credentials.access_token("application")  # signed in before the lines are counted
    activity = sb.demo["assignment_id"]
    path = f"/employeeExperience/learningCourseActivities/{activity}"
    with caplog.at_level(logging.DEBUG, logger="learnkit"):
        answer = client.request("GET", path, operation="get_activity", params={"$select": "id,status"})
        with pytest.raises(learnkit.ActivityNotFoundError) as info:
            client.get_activity("no-such-activity")
    lines = [r.getMessage() for r in caplog.records if r.name == "learnkit.http"]
    assert len(lines) == 2, lines
    first, second = (LINE.match(line) for line in lines)
    assert first and second, lines
    assert (first["method"], first["path"], first["status"]) == ("GET", "/v1.0" + path, "200")
    assert (first["rid"], first["crid"]) == (answer.request_id, answer.client_request_id)
    assert "$select" not in lines[0] and "?" not in lines[0]
    assert second["status"] == "404"
    assert (second["rid"], second["crid"]) == (info.value.request_id, info.value.client_request_id)


def test_sign_in_answers_are_logged_with_the_authoritys_request_id(sb: Any, caplog: pytest.LogCaptureFixture) -> None:
    demo = sb.apps["learnkit-demo"]
    sign_in = learnkit.SecretSignIn(
        sb.tenant_id, demo.client_id, demo.client_secret, authority=sb.authority, verify=sb.ca_cert
    )
    with caplog.at_level(logging.DEBUG, logger="learnkit.http"):
        access = sign_in.get_token()
    lines = [r.getMessage() for r in caplog.records if r.name == "learnkit.http"]
    assert any(line.startswith("POST ") and "/oauth2/v2.0/token -> 200" in line for line in lines), lines
    assert demo.client_secret not in caplog.text and access.token not in caplog.text


def test_a_graph_error_carries_both_ids_in_its_text_and_attributes_and_keeps_them_pickled(client: GraphClient) -> None:
    with pytest.raises(learnkit.ActivityNotFoundError) as info:
        client.get_activity("no-such-activity")
    error = info.value
    assert error.request_id and error.client_request_id and error.request_id != error.client_request_id
    assert f"[request-id {error.request_id}, client-request-id {error.client_request_id}]" in str(error)
    assert "client-request-id" in error._repr_html_()
    again = pickle.loads(pickle.dumps(error))
    assert (again.request_id, again.client_request_id, str(again)) == (
        error.request_id,
        error.client_request_id,
        str(error),
    )


def test_an_unexpected_answer_carries_the_client_request_id(recorder: Recorder) -> None:
    recorder.answer = (200, "text/html", b"<html>sign in to the proxy</html>")
    client = GraphClient(recorder.url, credential=Fixed(), trust_env=False)  # type: ignore[arg-type]
    with pytest.raises(learnkit.UnexpectedResponseError) as info:
        client.get_activity("a-1")
    sent = recorder.seen[-1]["client-request-id"]
    assert info.value.client_request_id == sent and f"client-request-id {sent}" in str(info.value)


def test_ids_come_from_the_body_then_the_headers_then_the_request() -> None:
    body = {"error": {"code": "notFound", "message": "x", "innerError": {"request-id": "r-body"}}}
    error = error_from_response(404, body, {"request-id": "r-head", "client-request-id": "c-head"})
    assert (error.request_id, error.client_request_id) == ("r-body", "c-head")
    # A proxy that echoes nothing: the request's own id stands in; the request id stays unknown.
    bare = error_from_response(
        502, json.loads('{"error": {"code": "", "message": "bad gateway"}}'), {}, client_request_id="c-mine"
    )
    assert (bare.request_id, bare.client_request_id) == (None, "c-mine")
    assert str(bare).endswith("[client-request-id c-mine]")
