"""No input makes the sandbox answer 500, a bug never breaks a keep-alive connection, and the sandbox keeps its secrets.

Each test is one reproduction of issue 12 (and issue 9's gone-client tracebacks, issue 13's throttling count),
over HTTP against a live sandbox.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import ssl
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings, strategies as st

from learnkit.errors import error_from_response
from learnkit.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, check_json, json_depth
from learnkit.sandbox import DatabaseInUse, RemoteWarning, Sandbox, start
from learnkit.sandbox.faults import Faults
from learnkit.sandbox.payload import plainly_within_limits
from tests.conftest import sandbox_cli

GOOD = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress", "completionPercentage": 40}
ASSIGNMENT = "#microsoft.graph.learningAssignment"


def assert_graph_error(answer: requests.Response, status: int, *, field: str | None = None) -> dict[str, Any]:
    """``answer`` has ``status`` and Graph's error body (code, message, innerError with the request ids)."""
    assert answer.status_code == status, answer.text[:500]
    error = answer.json()["error"]
    assert error["code"] and error["message"]
    assert set(error["innerError"]) == {"request-id", "client-request-id", "date"}
    if field is not None:
        assert error["message"] == f"Input field {field} is invalid"
        assert error_from_response(status, answer.json()).field == field
    return dict(error)


def nested_objects(depth: int) -> str:
    """JSON text of ``depth`` objects nested in one another (built as text: json.dumps itself would recurse)."""
    return '{"content": ' * depth + '"deep"' + "}" * depth


def batch_of(*requests_: dict[str, Any]) -> dict[str, Any]:
    return {"requests": list(requests_)}


# --- 1. no 500 from input --------------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400_in_a_patch_and_in_a_batch(graph: Any) -> None:
    path = graph.activity_path(graph.sb.demo["assignment_id"])
    headers = {"Content-Type": "application/json"}
    good = json.dumps(GOOD)[:-1]
    too_deep_notes = f'{good}, "notes": {nested_objects(5000)}}}'
    just_too_deep = f'{good}, "notes": {nested_objects(MAX_JSON_DEPTH)}}}'
    for raw in ("[" * 100_000, too_deep_notes, just_too_deep):
        assert_graph_error(graph.request("PATCH", path, data=raw.encode(), headers=headers), 400)
        assert_graph_error(graph.request("POST", "/$batch", data=raw.encode(), headers=headers), 400)
        sub = {"id": "1", "method": "PATCH", "url": path, "headers": headers, "body": "BODY"}
        wrapped = json.dumps(batch_of(sub)).replace('"BODY"', raw)
        assert_graph_error(graph.request("POST", "/$batch", data=wrapped.encode(), headers=headers), 400)
    assert graph.activity(graph.sb.demo["assignment_id"])["status"] == "notStarted"
    shallow = {**GOOD, "notes": {"contentType": "text", "content": "fine"}}
    assert graph.patch(path, shallow).status_code == 204


def test_an_empty_registration_id_or_key_is_a_400(graph: Any) -> None:
    # Found by test_sandbox_fuzz: an empty registration id skipped the provider check and hit an assertion.
    body = {**GOOD}
    for path in (
        "/employeeExperience/learningProviders//learningCourseActivities(externalcourseActivityId='')",
        "/employeeExperience/learningProviders//learningCourseActivities(externalcourseActivityId='x')",
        f"/employeeExperience/learningProviders//learningCourseActivities/{graph.sb.demo['assignment_id']}",
    ):
        assert_graph_error(graph.get(path), 400)
        assert_graph_error(graph.patch(path, body), 400)
    rid = graph.sb.demo["registration_id"]
    missing = f"/employeeExperience/learningProviders/{rid}/learningCourseActivities(externalcourseActivityId='')"
    assert_graph_error(graph.get(missing), 404)


@pytest.mark.parametrize(
    "query",
    [
        "$top=²",
        "$top=٣",  # Arabic-Indic three: str.isdigit() and int() both accept it
        "$skip=99999999999999999999999999",
        "$top=2147483648",
        "$skiptoken=é",
        "$skiptoken=" + base64.urlsafe_b64encode(b"seq:99999999999999999999999999").decode(),
        "$skiptoken=" + base64.urlsafe_b64encode(b"seq:\xff\xfe").decode(),
        "$skiptoken=" + base64.urlsafe_b64encode("seq:²".encode()).decode(),
    ],
)
def test_odd_query_numbers_are_a_400(listing_sb: Any, graph: Any, query: str) -> None:
    path = f"/employeeExperience/learningProviders/{graph.sb.demo['registration_id']}/learningCourseActivities"
    error = assert_graph_error(graph.get(f"{path}?{query}"), 400)
    assert "$" in error["message"]


def test_the_largest_query_numbers_still_page(listing_sb: Any, graph: Any) -> None:
    path = f"/employeeExperience/learningProviders/{graph.sb.demo['registration_id']}/learningCourseActivities"
    answer = graph.get(f"{path}?$skip=2147483647&$top=2147483647")
    assert answer.status_code == 200 and answer.json()["value"] == []


def test_a_batch_sub_request_with_a_euro_in_its_url_or_header(graph: Any) -> None:
    rid = graph.sb.demo["registration_id"]
    by_key = f"/employeeExperience/learningProviders/{rid}/learningCourseActivities(externalcourseActivityId='€')"
    answer = graph.post(
        "/$batch", batch_of({"id": "1", "method": "GET", "url": by_key}, {"id": "2", "method": "GET", "url": "/€uro"})
    )
    assert answer.status_code == 200
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"1": 404, "2": 400}  # the url is percent-encoded as UTF-8, as an HTTP client would send it
    header = {"id": "1", "method": "GET", "url": by_key, "headers": {"x-note": "5 €"}}
    error = assert_graph_error(graph.post("/$batch", batch_of(header)), 400)
    assert "x-note" in error["message"]
    for bad in ({"x-bad\nname": "1"}, {"x-split": "a\r\nInjected: yes"}):
        assert_graph_error(graph.post("/$batch", batch_of({**header, "headers": bad})), 400)


@pytest.mark.parametrize("field", ["assignedDateTime", "completedDateTime", "dueDateTime"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_date_times_outside_the_utc_calendar_are_refused_naming_the_field(graph: Any, field: str, value: str) -> None:
    aid = graph.sb.demo["assignment_id"]
    before = graph.activity(aid)
    assert_graph_error(graph.patch(graph.activity_path(aid), {**GOOD, field: value}), 400, field=field)
    assert graph.activity(aid) == before
    sub = {
        "id": "1",
        "method": "PATCH",
        "url": graph.activity_path(aid),
        "body": {**GOOD, field: value},
        "headers": {"Content-Type": "application/json"},
    }
    answer = graph.post("/$batch", batch_of(sub)).json()["responses"][0]
    assert answer["status"] == 400 and answer["body"]["error"]["message"] == f"Input field {field} is invalid"


def test_a_due_date_in_a_zone_that_leaves_the_calendar_is_refused(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    due = {"dateTime": "0001-01-01T00:30:00.0000000", "timeZone": "Tokyo Standard Time"}
    assert_graph_error(graph.patch(graph.activity_path(aid), {**GOOD, "dueDateTime": due}), 400, field="dueDateTime")


def test_the_calendar_edges_in_utc_are_kept_and_read_back(listing_sb: Any, graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    body = {
        **GOOD,
        "assignedDateTime": "0001-01-01T00:00:00Z",
        "completedDateTime": "9999-12-31T23:59:59Z",
        "dueDateTime": {"dateTime": "9999-12-31T23:59:59.0000000", "timeZone": "UTC"},
    }
    assert graph.patch(graph.activity_path(aid), body).status_code == 204
    stored = graph.activity(aid)
    assert stored["assignedDateTime"] == "0001-01-01T00:00:00Z"
    assert stored["completedDateTime"] == "9999-12-31T23:59:59Z"
    assert stored["dueDateTime"] == body["dueDateTime"]
    listed = graph.get(
        f"/employeeExperience/learningProviders/{graph.sb.demo['registration_id']}/learningCourseActivities"
    )
    assert listed.status_code == 200


def test_a_lone_surrogate_is_refused_at_the_door_and_nothing_becomes_unreadable(listing_sb: Any, graph: Any) -> None:
    aid, rid = graph.sb.demo["assignment_id"], graph.sb.demo["registration_id"]
    path = graph.activity_path(aid)
    before = graph.activity(aid)
    headers = {"Content-Type": "application/json"}
    raw = b'{"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress", "notes": "\\ud800"}'
    assert_graph_error(graph.request("PATCH", path, data=raw, headers=headers), 400, field="notes")
    nested = raw.replace(b'"\\ud800"', b'{"contentType": "text", "content": "ok \\udfff"}')
    assert_graph_error(graph.request("PATCH", path, data=nested, headers=headers), 400, field="notes")
    as_key = b'{"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress", "\\ud83d": 1}'
    assert_graph_error(graph.request("PATCH", path, data=as_key, headers=headers), 400)
    sub = json.dumps(batch_of({"id": "1", "method": "PATCH", "url": path, "headers": headers, "body": "BODY"}))
    answer = graph.request("POST", "/$batch", data=sub.replace('"BODY"', raw.decode()).encode(), headers=headers)
    assert answer.status_code == 200
    assert answer.json()["responses"][0]["body"]["error"]["message"] == "Input field notes is invalid"
    odd_id = b'{"requests": [{"id": "\\ud800", "method": "GET", "url": "/me"}]}'
    assert_graph_error(graph.request("POST", "/$batch", data=odd_id, headers=headers), 400)
    # Nothing was stored: the record, its provider's list and a pair that is a real character all still work.
    assert graph.activity(aid) == before
    assert graph.get(f"/employeeExperience/learningProviders/{rid}/learningCourseActivities").status_code == 200
    assert graph.patch(path, {**GOOD, "notes": "ok \ud83d\ude00"}).status_code == 204
    assert graph.activity(aid)["notes"]["content"] == "ok 😀"


def test_a_lone_surrogate_in_raw_bytes_or_utf16_is_refused_too(graph: Any) -> None:
    # json.loads decodes UTF-8 with surrogatepass and reads UTF-16: a surrogate can come without a \\u escape.
    path = graph.activity_path(graph.sb.demo["assignment_id"])
    headers = {"Content-Type": "application/json"}
    body = '{"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress", "notes": "\ud800"}'
    for raw in (body.encode("utf-8", "surrogatepass"), body.encode("utf-16", "surrogatepass")):
        assert_graph_error(graph.request("PATCH", path, data=raw, headers=headers), 400, field="notes")
    assert graph.activity(graph.sb.demo["assignment_id"])["status"] == "notStarted"


_ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=4)  # lone surrogates included
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_TEXT, inner, max_size=3),
    max_leaves=20,
)


def _nested_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


_DEEP = st.integers(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 3).map(_nested_lists)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_JSON, _DEEP), st.sampled_from(["ascii", "utf-8", "utf-16", "utf-16-le", "utf-32"]))
def test_a_body_whose_bytes_show_nothing_to_refuse_has_nothing_to_refuse(value: Any, encoding: str) -> None:
    # The sandbox skips its walks of a body whose bytes pass plainly_within_limits: the walks would find nothing.
    text = json.dumps(value, ensure_ascii=encoding == "ascii")
    raw = text.encode("utf-8" if encoding == "ascii" else encoding, "surrogatepass")
    if plainly_within_limits(raw):
        parsed = json.loads(raw)
        assert json_depth(parsed) <= MAX_JSON_DEPTH
        check_json(parsed)  # InvalidInputError for a lone surrogate


def test_a_body_past_four_megabytes_is_graphs_413(graph: Any) -> None:
    path = graph.activity_path(graph.sb.demo["assignment_id"])
    huge = {**GOOD, "notes": "x" * (10 * 1024 * 1024)}
    error = assert_graph_error(graph.patch(path, huge), 413)
    assert "4MB" in error["message"]
    # Without a Content-Length (chunked), the limit holds as the body streams in.
    chunks = (b"x" * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 2))
    assert_graph_error(graph.request("POST", "/$batch", data=chunks, headers={"Content-Type": "application/json"}), 413)
    assert graph.activity(graph.sb.demo["assignment_id"])["status"] == "notStarted"
    assert graph.patch(path, {**GOOD, "notes": "y" * (1024 * 1024)}).status_code == 204  # 1 MB is fine


# --- keep-alive after an error --------------------------------------------------------------------------------


@pytest.fixture
def connections(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """The HTTPS connections urllib3 opens during the test (one line each)."""
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    opened: list[str] = []

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "Starting new HTTPS connection" in record.getMessage():
                opened.append(record.getMessage())

    counter = Counter()
    logging.getLogger("urllib3.connectionpool").addHandler(counter)
    yield opened
    logging.getLogger("urllib3.connectionpool").removeHandler(counter)


def test_after_any_error_the_same_keep_alive_connection_serves_the_next_post(
    graph: Any, connections: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sb, aid = graph.sb, graph.sb.demo["assignment_id"]
    path = graph.activity_path(aid)
    good_post = batch_of({"id": "1", "method": "GET", "url": f"/employeeExperience/learningCourseActivities/{aid}"})
    bad_inputs: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", path, {"data": b"[" * 100_000}),
        ("PATCH", path, {"data": b'{"notes": "\\ud800", "status": "inProgress"}'}),
        ("GET", path.rsplit("/", 1)[0] + "?$top=²", {}),
        ("POST", "/$batch", {"data": b"{"}),
        ("PATCH", path, {"json": {**GOOD, "assignedDateTime": "0001-01-01T00:00:00+01:00"}}),
    ]
    for method, url, kwargs in bad_inputs:
        assert graph.request(method, url, headers={"Content-Type": "application/json"}, **kwargs).status_code < 500
        assert graph.post("/$batch", good_post).status_code == 200
    # A bug (the store failing underneath) is Graph's 500, logged once, and the connection stays usable.
    caplog.set_level(logging.ERROR, logger="learnkit.sandbox")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sb._store, "get_activity", broken)
    for _ in range(10):
        assert_graph_error(graph.get(f"/employeeExperience/learningCourseActivities/{aid}"), 500)
        answer = graph.post("/$batch", good_post)
        assert answer.status_code == 200 and answer.json()["responses"][0]["status"] == 500
    monkeypatch.undo()
    assert graph.post("/$batch", good_post).json()["responses"][0]["status"] == 200
    assert len(connections) <= 1  # every request above went over one connection (opened earlier, or here once)
    bugs = [r for r in caplog.records if r.name == "learnkit.sandbox" and r.levelno >= logging.ERROR]
    assert len(bugs) == 20 and all(r.exc_info for r in bugs)  # each GET, alone and as a sub-request


# --- 3. a client that went away ---------------------------------------------------------------------------------


def _half_sent_request(sb: Sandbox, token: str) -> None:
    """Open a TLS connection, send a PATCH's headers and half its body, and vanish."""
    context = ssl.create_default_context(cafile=sb.ca_cert)
    raw = socket.create_connection(("127.0.0.1", sb.port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        path = (
            f"/v1.0/employeeExperience/learningProviders/{sb.demo['registration_id']}"
            f"/learningCourseActivities/{sb.demo['assignment_id']}"
        )
        tls.sendall(
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"status": '.encode()
        )
        time.sleep(0.05)  # let the server start reading the body before the client is gone
    # (leaving the with block closes the socket: the client is gone mid-body)


def test_a_client_that_went_away_is_one_quiet_line(
    sb: Sandbox, app_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(5):
        _half_sent_request(sb, app_token)
    deadline = time.monotonic() + 10
    gone: list[logging.LogRecord] = []
    while time.monotonic() < deadline and len(gone) < 5:
        time.sleep(0.05)
        gone = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(gone) == 5
    assert all(r.levelno == logging.INFO and r.exc_info is None and "\n" not in r.getMessage() for r in gone)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    with sb.session() as http:  # and the sandbox serves on
        answer = http.get(
            f"{sb.graph_url}/employeeExperience/learningCourseActivities/{sb.demo['assignment_id']}",
            headers={"Authorization": f"Bearer {app_token}"},
            timeout=10,
        )
    assert answer.status_code == 200


@pytest.mark.slow  # starts learnkit in a process of its own
def test_the_cli_prints_a_gone_client_as_one_line_and_no_traceback(tmp_path: Path) -> None:
    proc = sandbox_cli("--json", "--db", str(tmp_path / "cli.db"))
    try:
        assert proc.stdout is not None
        shown = json.loads(proc.stdout.readline())
        with requests.Session() as http:
            http.trust_env = False
            token = http.post(
                shown["token_url"],
                verify=shown["ca_cert"],
                timeout=10,
                data={
                    "grant_type": "client_credentials",
                    "client_id": shown["client_id"],
                    "client_secret": shown["client_secret"],
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
        port = int(shown["url"].rsplit(":", 1)[1])
        context = ssl.create_default_context(cafile=shown["ca_cert"])
        for _ in range(3):
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(
                    f"PATCH /v1.0/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    f"{token.json()['access_token']}\r\nContent-Length: 500\r\n\r\n{{".encode()
                )
                time.sleep(0.05)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    gone = [line for line in err.splitlines() if "went away" in line]
    assert len(gone) == 3 and all(line.startswith("learnkit sandbox: client 127.0.0.1:") for line in gone)
    assert "Traceback" not in err and "Exception in ASGI" not in err and shown["client_secret"] not in err


# --- 2. $batch without a token, nested $batch ------------------------------------------------------------------


def test_a_batch_without_a_token_is_a_401(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    payload = batch_of({"id": "1", "method": "GET", "url": f"/employeeExperience/learningCourseActivities/{aid}"})
    for token in (None, "not-a-jwt"):
        answer = graph.post("/$batch", payload, token=token)
        assert_graph_error(answer, 401)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("url", ["/$batch", "/%24batch", "%24batch/", "/%24BATCH?x=1", "//$batch"])
def test_a_batch_inside_a_batch_is_refused(graph: Any, url: str) -> None:
    aid = graph.sb.demo["assignment_id"]
    inner = batch_of(
        {
            "id": "a",
            "method": "PATCH",
            "url": graph.activity_path(aid),
            "body": GOOD,
            "headers": {"Content-Type": "application/json"},
        }
    )
    answer = graph.post(
        "/$batch",
        batch_of(
            {"id": "1", "method": "POST", "url": url, "body": inner, "headers": {"Content-Type": "application/json"}}
        ),
    )
    if answer.status_code == 200:  # refused as the sub-request's own answer
        assert answer.json()["responses"][0]["status"] == 400
    else:
        assert_graph_error(answer, 400)
    assert graph.activity(aid)["status"] == "notStarted"


# --- 4. throttled requests count ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_throttled_requests_count_against_the_rate_limit() -> None:
    clock = Clock()
    faults = Faults(clock=clock)
    faults.set_rate_limit(2)
    assert faults.decide(allow_drop=True) is None and faults.decide(allow_drop=True) is None
    waits = []
    for _ in range(9):  # a client that keeps sending while throttled...
        clock.now += 0.1
        fault = faults.decide(allow_drop=True)
        assert fault is not None and fault.kind == "429"
        waits.append(fault.retry_after)
    clock.now += 0.15  # 1.05 s after the two admitted ones
    fault = faults.decide(allow_drop=True)
    assert fault is not None and fault.kind == "429"  # ...stays throttled: its 429s filled the window
    assert all(w == 1.0 for w in [*waits, fault.retry_after])  # whole seconds, as Graph sends Retry-After
    clock.now += fault.retry_after + 1.0  # one that waits as told gets through
    assert faults.decide(allow_drop=True) is None


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(limit=st.integers(1, 5), gaps=st.lists(st.floats(0, 1.5), min_size=1, max_size=40))
def test_waiting_as_retry_after_says_is_always_enough(limit: int, gaps: list[float]) -> None:
    clock = Clock()
    faults = Faults(clock=clock)
    faults.set_rate_limit(limit)
    last = None
    for gap in gaps:
        clock.now += gap
        last = faults.decide(allow_drop=True)
    if last is not None:  # the last request was throttled: sending nothing for Retry-After seconds is enough
        assert last.retry_after == int(last.retry_after) >= 1
        clock.now += last.retry_after
        assert faults.decide(allow_drop=True) is None


def test_the_429_message_agrees_with_retry_after(graph: Any) -> None:
    path = f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}"
    graph.sb.set_rate_limit(1)
    answers = [graph.get(path) for _ in range(3)]
    graph.sb.set_rate_limit(None)
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled
    for answer in throttled:
        seconds = answer.headers["Retry-After"]
        assert seconds.isdigit()
        expected = "Retry after 1 second" if seconds == "1" else f"Retry after {seconds} seconds"
        assert answer.json()["error"]["message"] == expected
        assert error_from_response(429, answer.json(), answer.headers).retry_after == float(seconds)
    for wait, message in ((1, "Retry after 1 second"), (90, "Retry after 90 seconds"), (120, "Retry after 2 minutes")):
        graph.sb.set_faults({"429": 1.0}, retry_after=wait)
        answer = graph.get(path)
        assert answer.headers["Retry-After"] == str(wait) and answer.json()["error"]["message"] == message
    graph.sb.set_faults(None)


# --- 2. the sandbox keeps its secrets -----------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_state_file_is_private(tmp_path: Path) -> None:
    db = tmp_path / "made-for-it" / "graph.db"
    os.umask(old := os.umask(0o022))
    try:
        with start(db=db) as sb:
            with sb.session() as http:
                assert http.get(sb.url + "/", timeout=10).status_code == 200
            files = [p for p in [db, *db.parent.rglob("*")] if p.is_file()]
            dirs = [db.parent, *(p for p in db.parent.rglob("*") if p.is_dir())]
            assert Path(sb.ca_cert) in files and any(p.name.endswith(".pfx") for p in files)
            assert any(p.name == "graph.db-wal" for p in files)
            assert {str(p): oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}
            assert {str(p): oct(_mode(p)) for p in dirs if _mode(p) != 0o700} == {}
    finally:
        os.umask(old)


def test_an_existing_world_readable_db_is_narrowed(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    tmp_path.chmod(0o755)
    with start(db=db):
        pass
    db.chmod(0o644)
    with start(db=db):
        assert _mode(db) == 0o600
    assert _mode(tmp_path) == 0o755  # a folder that was there before is the user's: left alone


def test_reset_rotates_the_signing_key_and_every_secret(tmp_path: Path, graph_for: Any) -> None:
    db = tmp_path / "rotate.db"
    some = "/employeeExperience/learningCourseActivities/8ba2228a-e020-11ec-9d64-0242ac120003"
    with start(db=db) as first:
        old = graph_for(first, None)
        token = old.token_for("learnkit-demo")
        secret, port = first.client_secret, first.port
        thumbprint = first.apps["learnkit-demo"]["certificate"]["thumbprint"]
        passphrase = first.apps["learnkit-demo"]["certificate"]["pfx_passphrase"]
    with start(db=db, port=port) as kept:  # without --reset, keys survive a restart
        assert graph_for(kept, token).get(some).status_code == 200
    with start(db=db, port=port, reset=True) as rotated:
        graph = graph_for(rotated, token)
        assert_graph_error(graph.get(some), 401)
        assert rotated.client_secret != secret
        assert rotated.apps["learnkit-demo"]["certificate"]["thumbprint"] != thumbprint
        assert rotated.apps["learnkit-demo"]["certificate"]["pfx_passphrase"] != passphrase
        refused = graph.http.post(
            rotated.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": rotated.client_id,
                "client_secret": secret,
                "scope": rotated.scope,
            },
            timeout=10,
        )
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        graph.token = graph.token_for("learnkit-demo")
        assert graph.get(some).status_code == 200


@pytest.mark.slow  # starts learnkit in a process of its own
def test_one_sandbox_per_database(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with start(db=db) as first:
        ca = Path(first.ca_cert).read_bytes()
        with pytest.raises(DatabaseInUse, match=first.url.replace(".", r"\.")) as refused:
            start(db=db)
        assert str(db) in str(refused.value)
        assert Path(first.ca_cert).read_bytes() == ca  # the running sandbox's CA file was not touched
        with first.session() as http:
            assert http.get(first.url + "/", timeout=10).status_code == 200
        proc = sandbox_cli("--db", str(db))
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and "another sandbox is already running" in err and "Traceback" not in err
    with start(db=db) as second:  # once the first has stopped, the database is free
        assert second.running


@pytest.mark.slow  # starts learnkit in a process of its own
def test_a_remote_bind_warns_and_the_banner_shows_the_real_address(tmp_path: Path) -> None:
    with pytest.warns(RemoteWarning, match=r"0\.0\.0\.0"), start(host="0.0.0.0", allow_remote=True) as sb:
        assert sb.bind_host == "0.0.0.0"
        assert "0.0.0.0" in sb._repr_html_()
        with sb.session() as http:
            assert http.get(sb.url + "/", timeout=10).status_code == 200
    proc = sandbox_cli("--host", "0.0.0.0", "--allow-remote", "--db", str(tmp_path / "remote.db"))
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "warning" in err and "0.0.0.0" in err and "published credentials" in err
    listening = [line for line in banner if line.strip().startswith("listening")]
    assert listening and "0.0.0.0:" in listening[0]


# --- 5. the handle in a notebook ----------------------------------------------------------------------------------


def test_the_handle_shows_itself_without_secrets(sandbox: Sandbox) -> None:
    page, text = sandbox._repr_html_(), repr(sandbox)
    for shown in (sandbox.graph_url, sandbox.tenant_id, sandbox.db_path, *sandbox.demo.values()):
        assert shown in page
    assert sandbox.url in text and sandbox.tenant_id in text and sandbox.db_path in text
    secrets = [app.client_secret for app in sandbox.apps.values() if app.client_secret]
    cert = sandbox.apps["learnkit-demo"].certificate
    assert cert is not None and secrets
    signing_key = sandbox._store.get_meta("signing_key")
    assert signing_key
    for secret in [*secrets, cert.pfx_passphrase, signing_key, "PRIVATE KEY"]:
        assert secret not in page and secret not in text
    assert page.startswith("<table>") and "<script" not in page
