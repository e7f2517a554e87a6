"""The client's logic with no socket and no sandbox: ``GraphClient(transport=...)`` answers from a function.

The fast layer under the integration tests (``test_client.py``, ``test_hostile_services.py``, the
sandbox's), which keep the real sockets: here each answer is written by a handler (requests-mock's
``Adapter``, mounted as the client's transport, as httpx's ``MockTransport`` is), so every rule is
checked in milliseconds: error bodies to typed exceptions, what is retried, the deadline, ``$batch``
splitting and per-sub-request retry, next links off the client's origin, ``client-request-id``, and
the token kept out of every repr and message.
"""

from __future__ import annotations

import pickle
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import pytest
import requests
import requests_mock
from urllib3.exceptions import MaxRetryError, NewConnectionError

import learnkit
from learnkit import GraphClient, RetryPolicy
from learnkit.bulk.batch_reads import BatchReads, Get
from learnkit.credentials import AccessToken
from learnkit.errors import ERROR_TABLE, GraphError, error_body
from learnkit.limits import BATCH_LIMIT
from learnkit.models import ASSIGNMENT_TYPE

GRAPH = "https://graph.example.test/v1.0"
TOKEN = "eyJ-not-a-real-token-" + "s3cr3t" * 8
BODY = {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"}
if TYPE_CHECKING:
    from requests_mock import Request as Sent  # what a matcher is given (a name of the stubs only)

Handler: TypeAlias = "Callable[[Sent], requests.Response]"


class Static:
    """An application credential that hands out one token, never signing in."""

    kind = "application"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


class Wire:
    """A client whose every request is answered by ``handler``; ``sent`` keeps each request, ``waits`` each sleep."""

    def __init__(self, handler: Handler, **options: Any) -> None:
        self.sent: list[Sent] = []
        self.waits: list[float] = []

        def answer(request: Sent) -> requests.Response:
            self.sent.append(request)
            return handler(request)

        adapter = requests_mock.Adapter()
        adapter.add_matcher(answer)
        options.setdefault("sleep", self.waits.append)
        self.client = GraphClient(GRAPH, credential=Static(), transport=adapter, trust_env=False, **options)


def reply(request: Sent, status: int = 200, json: Any = None, **headers: str) -> requests.Response:
    if json is not None:
        headers.setdefault("Content-Type", "application/json")
    return requests_mock.create_response(request, status_code=status, json=json, headers=headers)


def replies(*answers: tuple[int, Any, dict[str, str]] | Exception) -> Handler:
    """A handler giving these answers in turn (an exception is raised as the transport's)."""
    queue = list(answers)

    def handle(request: Sent) -> requests.Response:
        next_ = queue.pop(0)
        if isinstance(next_, Exception):
            raise next_
        status, json, headers = next_
        return reply(request, status, json, **headers)

    return handle


ENTITY = {"id": "a1", "@odata.type": ASSIGNMENT_TYPE, "status": "notStarted", "learningProviderId": "reg"}
OK = (200, ENTITY, {"Content-Type": "application/json"})


# --- error bodies to typed exceptions ------------------------------------------------------------------


@pytest.mark.parametrize("cls", ERROR_TABLE, ids=lambda cls: cls.__name__)
def test_each_row_of_graphs_error_table_is_raised_as_its_class(cls: type[GraphError]) -> None:
    assert cls.row is not None
    body = error_body(cls, request_id="r-1", fieldName="status", noOfMinutes=1)
    wire = Wire(replies((cls.row.status, body, {})), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(GraphError) as info:
        wire.client.patch_activity("reg", "a1", BODY)
    error = info.value
    assert type(error) is cls and error.status == cls.row.status and error.request_id == "r-1"
    assert error.field == ("status" if "{fieldName}" in cls.row.message else None)
    if "{noOfMinutes}" in cls.row.message:
        assert error.retry_after == 60.0
    assert len(wire.sent) == 1


def test_an_answer_outside_the_table_is_the_statuss_class_and_a_proxys_page_its_text() -> None:
    wire = Wire(replies((401, {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}, {})))
    with pytest.raises(learnkit.AuthenticationError, match="expired"):
        wire.client.get_activity("a1")

    def html(request: Sent) -> requests.Response:
        return requests_mock.create_response(request, status_code=400, text="<html>Bad gateway page</html>")

    with pytest.raises(learnkit.BadRequestError, match="Bad gateway page"):
        Wire(html).client.get_activity("a1")


# --- what is retried ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_throttled_and_unavailable_are_retried_after_their_retry_after_whatever_the_method(
    status: int, method: str
) -> None:
    # Graph did not act on a 429 or 503: even a POST is safe to send again.
    wire = Wire(replies((status, None, {"Retry-After": "7"}), OK))
    assert wire.client.request(method, "/x", operation="create_activity", json={}).status == 200
    assert wire.waits == [7.0] and [r.method for r in wire.sent] == [method, method]


def test_a_500_is_retried_for_a_get_and_raised_for_a_post() -> None:
    failed = (500, error_body(learnkit.InternalServerError, request_id="r"), {})
    get = Wire(replies(failed, OK))
    assert get.client.get_activity("a1").id == "a1" and len(get.sent) == 2 and len(get.waits) == 1
    post = Wire(replies(failed, OK))
    with pytest.raises(learnkit.InternalServerError):
        post.client.request("POST", "/x", operation="create_activity", json={})
    assert len(post.sent) == 1 and post.waits == []


def test_a_4xx_is_never_retried() -> None:
    wire = Wire(replies((404, error_body(learnkit.ActivityNotFoundError, request_id="r"), {}), OK))
    with pytest.raises(learnkit.ActivityNotFoundError):
        wire.client.get_activity("a1")
    assert len(wire.sent) == 1


@pytest.mark.parametrize(("method", "resent"), [("GET", True), ("PATCH", True), ("DELETE", True), ("POST", False)])
def test_after_a_lost_answer_only_what_is_safe_twice_is_sent_again(method: str, resent: bool) -> None:
    lost = requests.ConnectionError("the connection dropped mid-answer")
    wire = Wire(replies(lost, (204, None, {})) if method != "GET" else replies(lost, OK))
    call = lambda: wire.client.request(method, "/x", operation="update_activity", json=None)  # noqa: E731
    if resent:
        assert call().status in (200, 204) and len(wire.sent) == 2
    else:
        with pytest.raises(learnkit.NetworkError) as info:
            call()
        assert info.value.maybe_applied and len(wire.sent) == 1 and wire.waits == []
        # The id the request left with: what Microsoft support can look for when no answer came back.
        sent_id = wire.sent[0].headers["client-request-id"]
        assert info.value.client_request_id == sent_id and sent_id in str(info.value)


def test_a_post_that_never_connected_is_sent_again() -> None:
    # What requests raises for a refused connection: the request never left, so even a POST may go again.
    refused = requests.ConnectionError(MaxRetryError(None, GRAPH, NewConnectionError(None, "refused")))  # type: ignore[arg-type]
    wire = Wire(replies(refused, OK))
    assert wire.client.request("POST", "/x", operation="create_activity", json={}).status == 200
    assert len(wire.sent) == 2


def test_retries_stop_at_max_attempts() -> None:
    wire = Wire(replies(*[(503, None, {"Retry-After": "1"})] * 3), retry=RetryPolicy(max_attempts=3))
    with pytest.raises(learnkit.ServiceUnavailableError):
        wire.client.get_activity("a1")
    assert len(wire.sent) == 3 and wire.waits == [1.0, 1.0]


# --- the deadline ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_a_wait_that_would_end_past_the_deadline_is_raised_at_once(status: int) -> None:
    wire = Wire(replies((status, None, {"Retry-After": "90"}), OK), deadline=30.0)
    with pytest.raises(learnkit.RetryableError) as info:
        wire.client.patch_activity("reg", "a1", BODY)
    assert info.value.retry_after == 90.0 and wire.waits == [] and len(wire.sent) == 1


def test_time_spent_waiting_for_answers_counts_toward_the_deadline() -> None:
    now = [0.0]

    def slow(request: Sent) -> requests.Response:
        now[0] += 2.5  # each answer takes 2.5 s by the client's clock
        return reply(request, 503, None, **{"Retry-After": "1"})

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    waits: list[float] = []
    wire = Wire(slow, deadline=3.0, clock=lambda: now[0], sleep=sleep)
    with pytest.raises(learnkit.ServiceUnavailableError):
        wire.client.get_activity("a1")
    assert len(wire.sent) == 1 and waits == []  # 2.5 s, and a 1 s wait would end past 3 s
    waits.clear()
    roomy = Wire(slow, deadline=10.0, clock=lambda: now[0], sleep=sleep, retry=RetryPolicy(max_attempts=9))
    with pytest.raises(learnkit.ServiceUnavailableError):
        roomy.client.get_activity("a1")
    assert len(roomy.sent) == 3 and waits == [1.0, 1.0]  # 3 answers and 2 waits are 9.5 s; a third wait ends at 10.5


# --- $batch ------------------------------------------------------------------------------------------


def test_a_batch_of_more_than_twenty_is_refused_unsent() -> None:
    wire = Wire(replies())
    gets = [{"id": str(n), "method": "GET", "url": f"/x/{n}"} for n in range(BATCH_LIMIT + 1)]
    with pytest.raises(learnkit.InvalidInputError, match="1 to 20"):
        wire.client.batch(gets, operation="get_activity")
    assert wire.sent == []


def test_reads_go_twenty_to_a_batch_and_a_throttled_sub_request_alone_again() -> None:
    throttled_once: set[str] = set()

    def batch(request: Sent) -> requests.Response:
        assert request.method == "POST" and request.path.endswith("/$batch")
        answers = []
        for sub in request.json()["requests"]:
            key = sub["url"].rsplit("/", 1)[1]
            if key == "k7" and key not in throttled_once:
                throttled_once.add(key)
                answers.append({"id": sub["id"], "status": 429, "headers": {"Retry-After": "0"}, "body": {}})
            elif key == "k9":
                answers.append(
                    {
                        "id": sub["id"],
                        "status": 404,
                        "body": error_body(learnkit.NotFoundError, request_id="r", message="gone"),
                    }
                )
            else:
                answers.append({"id": sub["id"], "status": 200, "body": {"id": key}})
        return reply(request, 200, {"responses": answers[::-1]})  # out of order, as Graph may answer

    wire = Wire(batch)
    found: list[str] = []
    reads = BatchReads(wire.client, "get_activity", lambda get, body: found.append(body["id"]), concurrency=1)
    reads.run(Get(f"k{n}", f"/employeeExperience/learningCourseActivities/k{n}") for n in range(45))
    batches = [[sub["url"].rsplit("/", 1)[1] for sub in r.json()["requests"]] for r in wire.sent]
    assert [len(keys) for keys in batches] == [20, 20, 6] and reads.round_trips == 3
    # The throttled sub-request alone goes again (with the last five), not the 19 answered beside it.
    assert batches[2] == [f"k{n}" for n in range(40, 45)] + ["k7"]
    assert sorted(found) == sorted(f"k{n}" for n in range(45) if n != 9) and reads.not_found == ["k9"]


def test_a_batch_answer_comes_back_in_the_order_sent() -> None:
    def batch(request: Sent) -> requests.Response:
        subs = request.json()["requests"]
        assert all(s["headers"]["Prefer"] for s in subs)  # each opts into evolvable enum members
        return reply(request, 200, {"responses": [{"id": s["id"], "status": 204} for s in reversed(subs)]})

    wire = Wire(batch)
    subs = [{"id": f"p{n}", "method": "PATCH", "url": f"/x/{n}", "body": BODY} for n in range(3)]
    for sub in subs:
        sub["headers"] = {"Content-Type": "application/json"}
    assert [a["id"] for a in wire.client.batch(subs)] == ["p0", "p1", "p2"]


# --- next links --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://graph.example.test/v1.0/page2",  # another scheme
        "https://evil.example/v1.0/page2",  # another host
        "https://graph.example.test:8443/v1.0/page2",  # another port
        "//evil.example/v1.0/page2",  # scheme-relative: another host
    ],
)
def test_a_next_link_off_the_clients_origin_is_refused_unsent(link: str) -> None:
    wire = Wire(replies((200, {"value": [ENTITY], "@odata.nextLink": link}, {})))
    with pytest.raises(learnkit.UntrustedURLError) as info:
        wire.client.list_provider_activities_json("reg")
    assert info.value.url == link and len(wire.sent) == 1 and TOKEN not in str(info.value)


def test_a_next_link_on_the_clients_origin_is_followed_with_the_token() -> None:
    link = f"{GRAPH}/employeeExperience/learningProviders/reg/learningCourseActivities?$skiptoken=2"
    wire = Wire(replies((200, {"value": [ENTITY], "@odata.nextLink": link}, {}), (200, {"value": [ENTITY]}, {})))
    assert len(wire.client.list_provider_activities_json("reg", top=1)) == 2
    assert wire.sent[1].url == link and wire.sent[1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "top=1" in wire.sent[0].url and "top" not in wire.sent[1].url  # the link carries its own query


# --- client-request-id and the token -----------------------------------------------------------------


def test_every_request_and_every_retry_has_its_own_client_request_id() -> None:
    def batch_or_throttle(request: Sent) -> requests.Response:
        if len(wire.sent) < 3:
            return reply(request, 429, None, **{"Retry-After": "0"})
        if request.path.endswith("/$batch"):
            return reply(request, 200, {"responses": [{"id": "1", "status": 204}]})
        # An answer that echoes no id: the error names the one the request was sent with.
        return reply(
            request, 404, {"error": {"code": "notFound", "message": "The assignment ID requested doesn't exist."}}
        )

    wire = Wire(batch_or_throttle)
    wire.client.batch(
        [{"id": "1", "method": "PATCH", "url": "/x", "body": BODY, "headers": {"Content-Type": "application/json"}}]
    )
    with pytest.raises(learnkit.ActivityNotFoundError) as info:
        wire.client.get_activity("a1")
    ids = [r.headers["client-request-id"] for r in wire.sent]
    assert len(ids) == 4 and len(set(ids)) == 4 and all(uuid.UUID(i) for i in ids)
    assert info.value.client_request_id == ids[-1] and ids[-1] in str(info.value)


def test_the_token_is_sent_and_never_shown() -> None:
    lost = requests.ConnectionError("dropped")
    wire = Wire(replies((403, error_body(learnkit.PermissionDeniedError, request_id="r"), {}), lost))
    with pytest.raises(learnkit.PermissionDeniedError) as denied:
        wire.client.get_activity("a1")
    with pytest.raises(learnkit.NetworkError) as network:
        wire.client.request("POST", "/x", operation="create_activity", json={})
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in wire.sent)
    shown = [repr(wire.client), str(wire.client.credentials.sources()), repr(Static().get_token())]
    for error in (denied.value, network.value):
        shown += [str(error), repr(error), repr(pickle.loads(pickle.dumps(error)))]
    assert not [text for text in shown if TOKEN in text or "s3cr3t" in text]
