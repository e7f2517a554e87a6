"""Reading a provider's activities from a documented source (ids, external ids, learners) or from its list where
served: against the sandbox, with the wire watched where it matters (batch sizes, the probe, a refused list).

A tenant that refuses the provider's list is played by wrapping the client's HTTP session: the list's GETs get
the answer the sandbox itself gives for a path it does not serve (400 "Resource not found for the segment"),
everything else goes to the sandbox as it is.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pandas as pd
import pytest
import requests

from learnkit import GraphClient, RetryPolicy
from learnkit.bulk.csvfile import write_csv
from learnkit.bulk.frame import read_activities
from learnkit.bulk.sources import (
    NOT_FOUND,
    OTHER_PROVIDER,
    SOURCE,
    ActivityIds,
    ExternalIds,
    Learners,
    ProviderList,
    forget_probes,
    list_served,
    next_path,
    read_keys,
    read_records,
)
from learnkit.bulk.xlsxfile import write_xlsx
from learnkit.cli import DELEGATED_CLIENT_VARIABLE, build_parser, client_from_args, main
from learnkit.cli.sources import FLAGS
from learnkit.errors import (
    BadRequestError,
    InvalidInputError,
    InvalidRegistrationError,
    SourceRequiredError,
    TokenError,
    TooManyRequestsError,
    UnexpectedResponseError,
    error_body,
)
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.sandbox import Sandbox
from learnkit.sandbox.cli import write_keys

_LIST_PATH = re.compile(r"/v1\.0/employeeExperience/learningProviders/[^/()]+/learningCourseActivities/?$", re.I)
FAST = RetryPolicy(backoff=0.01, max_backoff=0.05)


@pytest.fixture(autouse=True)
def _no_remembered_probes() -> Iterator[None]:
    """Each test probes afresh, and leaves nothing remembered for the next (other files' tests read the list)."""
    forget_probes()
    yield
    forget_probes()


@pytest.fixture(autouse=True)
def _the_list_served(request: pytest.FixtureRequest) -> None:
    """These tests compare every source with the provider's list, so the sandbox serves it (contract
    ``metadata``); a tenant refusing it is the ``Wire``'s refusal, or ``documented`` where a test asks."""
    if "sb" in request.fixturenames and "documented" not in request.keywords:
        request.getfixturevalue("sb").set_contract("metadata")


class Wire:
    """Watches a client's HTTP session: each ``$batch`` (its sub-requests' urls) and each other request.

    With ``refuse_list``, the provider's list is refused as by a tenant that does not serve it.
    """

    def __init__(self, client: GraphClient, *, refuse_list: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.requests: list[tuple[str, str]] = []
        self.refuse_list = refuse_list
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        session = client.session
        send_body, request = session.send_body, session.request

        def watched_send_body(method: str, url: str, body: bytes, headers: Any, **options: Any) -> requests.Response:
            refused = self._seen(method, url, body)
            if refused is not None:
                return refused
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return send_body(method, url, body, headers, **options)
            finally:
                with self._lock:
                    self.in_flight -= 1

        def watched_request(method: str, url: str, *args: Any, **options: Any) -> requests.Response:
            query = "&".join(f"{k}={v}" for k, v in (options.get("params") or {}).items())
            refused = self._seen(method, f"{url}?{query}" if query else url, b"")
            return refused if refused is not None else request(method, url, *args, **options)

        session.send_body = watched_send_body  # type: ignore[method-assign]
        session.request = watched_request  # type: ignore[method-assign]

    def _seen(self, method: str, url: str, body: bytes) -> requests.Response | None:
        if url.endswith("/$batch"):
            self.batches.append([r["url"] for r in json.loads(body)["requests"]])
            return None
        self.requests.append((method, url))
        if self.refuse_list and method == "GET" and _LIST_PATH.search(urlsplit(url).path):
            return refusal(url)
        return None

    def lists(self) -> list[str]:
        """The GETs of the provider's list (probes and pages)."""
        return [url for method, url in self.requests if method == "GET" and _LIST_PATH.search(urlsplit(url).path)]


def refusal(url: str) -> requests.Response:
    """What the sandbox answers for a path it does not serve."""
    answer = requests.Response()
    answer.status_code = 400
    answer.url = url
    answer.headers["Content-Type"] = "application/json"
    message = "Resource not found for the segment 'learningCourseActivities'."
    answer._content = json.dumps(error_body(BadRequestError, request_id="r-1", message=message)).encode()
    return answer


def the_list(client: GraphClient, registration_id: str) -> pd.DataFrame:
    return read_activities(client, registration_id, source=ProviderList())


def unique_keys(frame: pd.DataFrame) -> list[str]:
    """The provider's external ids that name one record each (the demo tenant uses one twice), in list order."""
    keys = frame["externalcourseActivityId"].dropna()
    return keys[~keys.duplicated(keep=False)].tolist()


def new_activity(sb: Sandbox, client: GraphClient, external_id: str, registration_id: str | None = None) -> str:
    registration_id = registration_id or sb.demo["registration_id"]
    content = sb.demo["content_id"] if registration_id == sb.demo["registration_id"] else sb.demo["other_content_id"]
    body = {
        "@odata.type": ASSIGNMENT_TYPE,
        "externalcourseActivityId": external_id,
        "learnerUserId": sb.demo["learner_id"],
        "learningContentId": content,
        "assignmentType": "required",
        "status": "notStarted",
    }
    return str(client.create_activity(registration_id, body).id)


@pytest.fixture
def reg(sb: Sandbox) -> str:
    return sb.demo["registration_id"]


@pytest.fixture
def learner_client(sb: Sandbox) -> GraphClient:
    """A client with the demo learner signed in too (learners' lists are served to delegated tokens only)."""
    return GraphClient.for_sandbox(sb, delegated=True, retry=FAST)


# --- by external id ------------------------------------------------------------------------------


def test_by_external_ids_gives_the_rows_the_list_gives(sb: Sandbox, client: GraphClient, reg: str) -> None:
    listed = the_list(client, reg)
    keys = unique_keys(listed)
    assert len(keys) > 300
    wire = Wire(client)
    frame = read_activities(client, reg, source=ExternalIds(keys))
    expected = listed[listed["externalcourseActivityId"].isin(keys)].reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.attrs == {NOT_FOUND: (), OTHER_PROVIDER: (), SOURCE: "ExternalIds"}
    # 20 GETs to a $batch, the last one the rest; nothing else sent (no list, no probe).
    assert sorted(map(len, wire.batches), reverse=True) == [20] * (len(keys) // 20) + [len(keys) % 20]
    assert wire.requests == [] and wire.lists() == []
    assert all(url.startswith("/employeeExperience/learningProviders/") for b in wire.batches for url in b)


def test_external_ids_with_quotes_spaces_and_unicode(sb: Sandbox, client: GraphClient, reg: str) -> None:
    keys = ["o'hara", "''", "two  spaces", "ünï € 中文", "a/b?c#d%20&x=1", "(paren)", "=1+1", " lead"]
    ids = [new_activity(sb, client, key) for key in keys]
    missing = ["no'such", "nor this one", "ñ"]
    asked = [missing[0], *keys[:4], missing[1], *keys[4:], missing[2]]
    frame = read_activities(client, reg, source=ExternalIds(asked))
    assert frame["externalcourseActivityId"].tolist() == keys  # in the order asked
    assert frame["id"].tolist() == ids
    assert frame.attrs[NOT_FOUND] == tuple(missing)


def test_not_found_keys_are_reported_not_raised(sb: Sandbox, client: GraphClient, reg: str) -> None:
    keys = unique_keys(the_list(client, reg))[:45]
    unknown = [f"unknown-{n}" for n in range(30)]
    asked = [k for pair in zip(keys, unknown, strict=False) for k in pair] + keys[30:]
    frame = read_activities(client, reg, source=ExternalIds(asked))
    assert frame["externalcourseActivityId"].tolist() == keys
    assert frame.attrs[NOT_FOUND] == tuple(unknown)
    records = read_records(client, reg, ExternalIds(unknown))
    assert records.items == [] and records.not_found == tuple(unknown) and records.round_trips == 2


def test_an_unknown_provider_is_an_error_not_a_list_of_missing_keys(client: GraphClient) -> None:
    with pytest.raises(InvalidRegistrationError):
        read_activities(client, "00000000-0000-0000-0000-000000000000", source=ExternalIds(["k-1"]))


# --- by id ---------------------------------------------------------------------------------------


def test_by_ids_leaves_out_another_providers_records(sb: Sandbox, client: GraphClient, reg: str) -> None:
    mine = the_list(client, reg)["id"].tolist()[:25]
    others = the_list(client, sb.demo["other_registration_id"])["id"].tolist()[:3]
    asked = [others[0], *mine[:10], "no-such-id", others[1], *mine[10:], others[2]]
    wire = Wire(client)
    frame = read_activities(client, reg, source=ActivityIds([*asked, mine[0]]))  # one asked twice: read once
    assert frame["id"].tolist() == mine
    assert set(frame["learningProviderId"]) == {reg}
    assert frame.attrs[OTHER_PROVIDER] == tuple(others)
    assert frame.attrs[NOT_FOUND] == ("no-such-id",)
    assert sorted(map(len, wire.batches)) == [9, 20]
    assert all(url.startswith("/employeeExperience/learningCourseActivities/") for b in wire.batches for url in b)


def test_by_ids_with_a_delegated_token_alone(sb: Sandbox, reg: str) -> None:
    learner = GraphClient.for_sandbox(sb, app="learnkit-delegated", retry=FAST)
    frame = read_activities(learner, reg, source=ActivityIds([sb.demo["assignment_id"]]))
    assert frame["id"].tolist() == [sb.demo["assignment_id"]]


def test_batches_are_in_flight_together_up_to_the_concurrency(sb: Sandbox, client: GraphClient, reg: str) -> None:
    keys = unique_keys(the_list(client, reg))[:100]
    sb.set_latency(200)  # each $batch on the wire long enough for the others to join it
    wire = Wire(client)
    assert len(read_records(client, reg, ExternalIds(keys)).items) == 100
    assert wire.most_in_flight == 5
    wire.most_in_flight = 0
    assert len(read_records(client, reg, ExternalIds(keys), concurrency=2).items) == 100
    assert wire.most_in_flight == 2 and len(wire.batches) == 10


# --- throttling ----------------------------------------------------------------------------------


def test_progress_is_heard_as_pages_and_batches_arrive_growing_from_one_thread_at_a_time(
    sb: Sandbox, client: GraphClient, learner_client: GraphClient, reg: str
) -> None:
    sb.set_contract("metadata")  # the list is read too
    sb.set_latency(30)  # batches overlap: their answers come back out of order
    keys = sb.external_ids()
    calls: list[int] = []
    inside = threading.Semaphore(1)

    def heard(count: int) -> None:
        assert inside.acquire(blocking=False), "two calls at once"
        try:
            calls.append(count)
        finally:
            inside.release()

    frame = read_activities(client, reg, source=ExternalIds([*keys, "no-such-key"]), on_records=heard)
    assert calls == sorted(set(calls)) and calls[-1] == len(frame) == len(keys)
    assert len(calls) > len(keys) // 20 // 2  # a count per batch or so, not one at the end
    sb.set_latency(0)
    calls.clear()
    mine = read_activities(learner_client, reg, source=Learners([sb.demo["learner_id"]]), on_records=heard)
    assert calls[-1] == len(mine) > 0 and calls == sorted(set(calls))
    calls.clear()
    listed = read_records(client, reg, ProviderList(), page_size=100, on_records=heard)
    assert calls == [*range(100, len(listed.items), 100), len(listed.items)]


def test_throttled_subrequests_are_sent_again_after_their_wait(sb: Sandbox, client: GraphClient, reg: str) -> None:
    keys = unique_keys(the_list(client, reg))[:30]
    sb.set_faults(None, retry_after=0.05)
    sb.fail_next("429", "503", "429")
    wire = Wire(client)
    frame = read_activities(client, reg, source=ExternalIds(keys))
    assert frame["externalcourseActivityId"].tolist() == keys
    assert sum(map(len, wire.batches)) == 33  # three of them twice, in batches after the first two
    assert sorted(map(len, wire.batches[:2])) == [10, 20] and sum(map(len, wire.batches[2:])) == 3


def test_a_wait_longer_than_the_policy_allows_is_raised(sb: Sandbox, reg: str) -> None:
    client = GraphClient.for_sandbox(sb, retry=RetryPolicy(max_retry_wait=0.5))
    sb.set_faults(None, retry_after=5)
    sb.fail_next("429")
    with pytest.raises(TooManyRequestsError) as info:
        read_activities(client, reg, source=ExternalIds([sb.demo["assignment_external_id"]]))
    assert info.value.retry_after == 5


# --- by learner ----------------------------------------------------------------------------------


def test_learners_pages_and_more_than_20_learners(sb: Sandbox, learner_client: GraphClient, reg: str) -> None:
    sb.seed_users(12)
    sb.seed_bulk(250)  # over every licensed user: the demo's and the 12 new ones
    listed = the_list(learner_client, reg)
    learners = sorted(set(listed["learnerUserId"]))
    assert len(learners) > 25
    wire = Wire(learner_client)
    asked = [learners[0].upper(), "00000000-0000-4000-8000-00000000dead", *learners[1:]]
    frame = read_activities(learner_client, reg, source=Learners(asked), page_size=10)
    assert sorted(frame["id"]) == sorted(listed["id"])
    assert set(frame["learningProviderId"]) == {reg}  # their records of other providers kept out
    assert frame.attrs[NOT_FOUND] == ("00000000-0000-4000-8000-00000000dead",)
    assert frame.attrs[SOURCE] == "Learners"
    # First pages 20 learners to a batch; then next links, relative to the version root, batched too.
    firsts = [b for b in wire.batches if not any("skiptoken" in u for u in b)]
    follows = [b for b in wire.batches if all("skiptoken" in u for u in b)]
    assert len(firsts) + len(follows) == len(wire.batches)  # first pages went together, before any next one
    assert sorted(map(len, firsts)) == sorted([20] * (len(asked) // 20) + [len(asked) % 20])
    assert sum(map(len, follows)) >= len(learners) and max(map(len, follows)) > 1
    assert max(map(len, wire.batches)) == 20
    assert all(u.startswith("/users/") and "$top=10" in u for b in wire.batches for u in b)
    # Each learner's records in the order of their pages, learners in the order asked.
    by_learner = frame.groupby("learnerUserId", sort=False).size()
    assert [u.lower() for u in by_learner.index] == [u.lower() for u in asked if "dead" not in u]


def test_a_learner_named_twice_gives_each_record_once(sb: Sandbox, learner_client: GraphClient, reg: str) -> None:
    learner = sb.demo["learner_id"]
    once = read_activities(learner_client, reg, source=Learners([learner]))
    twice = read_activities(learner_client, reg, source=Learners(["me", learner]))  # "me" is the demo learner
    assert len(once) > 0 and twice["id"].tolist() == once["id"].tolist()


def test_learners_lists_need_a_delegated_token(sb: Sandbox, client: GraphClient, reg: str) -> None:
    wire = Wire(client)
    with pytest.raises(TokenError, match="delegated"):
        read_activities(client, reg, source=Learners([sb.demo["learner_id"]]))
    assert wire.batches == [] and wire.requests == []


def test_a_next_link_to_another_host_is_not_followed(sb: Sandbox, learner_client: GraphClient, reg: str) -> None:
    session = learner_client.session
    send_body = session.send_body

    def elsewhere(method: str, url: str, body: bytes, headers: Any, **options: Any) -> requests.Response:
        answer = send_body(method, url, body, headers, **options)
        if url.endswith("/$batch"):
            answer._content = answer.content.replace(sb.graph_url.encode(), b"https://elsewhere.example/v1.0")
        return answer

    session.send_body = elsewhere  # type: ignore[method-assign]
    with pytest.raises(UnexpectedResponseError, match=r"elsewhere\.example"):
        read_activities(learner_client, reg, source=Learners([sb.demo["learner_id"]]), page_size=2)


def test_next_path() -> None:
    root = "https://graph.microsoft.com/v1.0"
    assert next_path(root, f"{root}/users/u%201/x?$top=5&$skiptoken=abc") == "/users/u%201/x?$top=5&$skiptoken=abc"
    assert next_path(root, "https://GRAPH.microsoft.com:443/v1.0/me/x") == "/me/x"
    assert next_path(root + "/", f"{root}/me/x") == "/me/x"
    for link in (
        "https://graph.microsoft.com/beta/me/x",  # another version
        "https://graph.microsoft.com/v1.0evil/me/x",
        "http://graph.microsoft.com/v1.0/me/x",  # another scheme
        "https://graph.microsoft.com:8443/v1.0/me/x",
        "https://evil.example/v1.0/me/x",
        "/v1.0/me/x",
        "https://graph.microsoft.com:x/v1.0/me/x",
        "https://graph.microsoft.com/v1.0/../beta/me/x",
    ):
        assert next_path(root, link) is None, link
    assert next_path("https://:x/v1.0", "https://:x/v1.0/me/x") is None


# --- the provider's list, where served -----------------------------------------------------------


def test_without_a_source_the_list_is_read_where_a_probe_shows_it_served(client: GraphClient, reg: str) -> None:
    wire = Wire(client)
    frame = read_activities(client, reg)
    assert len(frame) == 417 and frame.attrs[SOURCE] == "ProviderList" and frame.attrs[NOT_FOUND] == ()
    probe, *pages = wire.lists()
    assert "$top=1" in probe and "$select=id" in probe and len(pages) == 1
    again = read_activities(client, reg, page_size=100)  # remembered: no probe
    assert len(again) == 417 and len(wire.lists()) == 2 + 5
    assert list_served(client, reg) and len(wire.lists()) == 7


def test_without_a_source_a_tenant_without_the_list_is_one_line_naming_the_sources(
    client: GraphClient, reg: str
) -> None:
    wire = Wire(client, refuse_list=True)
    with pytest.raises(SourceRequiredError) as info:
        read_activities(client, reg)
    text = str(info.value)
    assert "\n" not in text and "does not serve the list" in text and reg in text
    assert "400 badRequest" in text and info.value.reason.startswith("400 badRequest")
    for name in ("ExternalIds([...])", "ActivityIds", "Learners", "--external-ids FILE", "--ids FILE", "--learners"):
        assert name in text
    assert len(wire.lists()) == 1
    with pytest.raises(SourceRequiredError):  # remembered: not asked again
        read_activities(client, reg)
    assert len(wire.lists()) == 1 and not list_served(client, reg)
    # The documented ways still read, and ProviderList() insists (and gets the service's refusal).
    assert len(read_activities(client, reg, source=ExternalIds(["13a2228a-e020-11ec-9d64-0242ac120002"]))) == 1
    with pytest.raises(BadRequestError):
        read_activities(client, reg, source=ProviderList())


def test_the_probe_is_remembered_per_token_kind(sb: Sandbox, client: GraphClient, reg: str) -> None:
    application = Wire(client, refuse_list=True)
    assert not list_served(client, reg)
    learner = GraphClient.for_sandbox(sb, app="learnkit-delegated", retry=FAST)
    delegated = Wire(learner)
    assert list_served(learner, reg) and list_served(learner, reg)
    assert len(delegated.lists()) == 1 and len(application.lists()) == 1
    other = GraphClient.for_sandbox(sb, retry=FAST)  # another client, the same service, tenant and kind
    watched = Wire(other)
    assert not list_served(other, reg) and watched.lists() == []


def test_a_list_refused_after_the_probe_served_it_says_so_once(client: GraphClient, reg: str) -> None:
    assert list_served(client, reg)
    wire = Wire(client, refuse_list=True)
    with pytest.raises(SourceRequiredError, match="400 badRequest"):
        read_activities(client, reg)
    assert not list_served(client, reg) and len(wire.lists()) == 1


def test_other_errors_of_the_probe_are_raised_and_not_remembered(client: GraphClient, reg: str) -> None:
    with pytest.raises(InvalidRegistrationError):
        read_activities(client, "00000000-0000-0000-0000-000000000000")
    wire = Wire(client)
    assert list_served(client, reg) and len(wire.lists()) == 1


def test_a_source_must_be_one_of_the_four(client: GraphClient, reg: str) -> None:
    with pytest.raises(InvalidInputError, match="not a source"):
        read_records(client, reg, ["k-1"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="registration_id"):
        read_records(client, " ", ExternalIds(["k"]))


# --- the sources themselves ----------------------------------------------------------------------


def test_sources_keep_order_drop_repeats_and_refuse_what_is_not_a_key() -> None:
    assert ExternalIds(["b", "a", "b", "B"]).keys == ("b", "a", "B")  # keys are the provider's: case counts
    assert Learners(["U1", "u1", "u2"]).user_ids == ("U1", "u2")  # GUIDs: case does not
    assert ActivityIds(x for x in ["x", "y"]).ids == ("x", "y") and len(ActivityIds(["x", "y", "x"])) == 2
    assert ExternalIds(["a"]) == ExternalIds(("a",)) and hash(ExternalIds(["a"])) == hash(ExternalIds(["a"]))
    assert repr(ExternalIds([f"k{n}" for n in range(100)])) == "ExternalIds('k0', 'k1', 'k2', ... (100 in all))"
    with pytest.raises(InvalidInputError, match="not one string"):
        ExternalIds("k-1")
    with pytest.raises(InvalidInputError, match="empty"):
        ActivityIds(["a", " "])
    with pytest.raises(InvalidInputError, match="not a string"):
        Learners([None])  # type: ignore[list-item]
    with pytest.raises(AttributeError):
        ExternalIds(["a"]).keys = ("b",)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("content", "kind", "expected"),
    [
        ("# exported 2024-05-01\nk-1\n\n   \nk 2 \r\n  # indented comment\n'k3\n", ExternalIds, ["k-1", "k 2", "'k3"]),
        ("\ufeffk-1\nk-2", ExternalIds, ["k-1", "k-2"]),
        ("u1\r\nu2\r\nU1\r\n", Learners, ["u1", "u2"]),
    ],
)
def test_text_files(tmp_path: Path, content: str, kind: Any, expected: list[str]) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(content, encoding="utf-8")
    assert astuple(kind.from_file(path))[0] == tuple(expected)


@pytest.mark.parametrize(
    ("content", "kind", "expected"),
    [
        ("id,externalCourseActivityId\nu:1,k-1\nu:2,\nu:3,'=k3\n", ExternalIds, ("k-1", "=k3")),
        ("ID,other\nu:1,x\n u:2 ,y\n", ActivityIds, ("u:1", "u:2")),
        ("learnerUserId,id\nL1,a1\nL2,a2\n", Learners, ("L1", "L2")),
        ("userId,learnerUserId\nU1,L1\n", Learners, ("U1",)),
        ('anything\n"k,1"\nk2\n', ExternalIds, ("k,1", "k2")),  # the only column, a quoted comma
        ('key\n"k, with comma"\n"multi\nline"\n', ExternalIds, ("k, with comma", "multi\nline")),
    ],
)
def test_csv_files(tmp_path: Path, content: str, kind: Any, expected: tuple[str, ...]) -> None:
    path = tmp_path / "keys.csv"
    path.write_text(content, encoding="utf-8")
    assert astuple(kind.from_file(path))[0] == expected


def test_encodings(tmp_path: Path) -> None:
    (tmp_path / "utf16.txt").write_bytes("k-ü\nk-2\n".encode("utf-16"))
    (tmp_path / "cp1252.csv").write_bytes("externalcourseActivityId\nk-é\n".encode("cp1252"))
    assert ExternalIds.from_file(tmp_path / "utf16.txt").keys == ("k-ü", "k-2")
    assert ExternalIds.from_file(tmp_path / "cp1252.csv").keys == ("k-é",)


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("missing.txt", None, "no such file"),
        ("empty.txt", b"", "holds no external ids"),
        ("comments.txt", b"# nothing\n\n  \n", "holds no external ids"),
        ("header-only.csv", b"externalcourseActivityId\n", "holds no external ids"),
        ("columns.csv", b"id,status\nu:1,completed\n", "has no column externalcourseActivityId among 'id', 'status'"),
        ("book.xlsx", b"PK\x03\x04rest of a workbook", "is not an Excel workbook (.xlsx) learnkit can read"),
        ("binary.txt", b"\x81\x8d junk", "is not text"),
        ("utf32.txt", b"\xff\xfe\x00\x00\x00\x81junk", "starts as UTF-32 but is not"),
        ("utf16-no-bom.txt", "k-1\n".encode("utf-16-le"), "looks like UTF-16 without a byte-order mark"),
        ("nul.txt", b"k-1\n" * 2000 + b"k\x00\n", "NUL"),
        ("folder", "dir", "is a folder"),
    ],
)
def test_bad_files_are_one_line_naming_the_file(tmp_path: Path, name: str, content: Any, said: str) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInputError) as info:
        ExternalIds.from_file(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and said in text, text
    assert info.value.field == str(path)


def test_an_exported_csv_is_a_file_of_keys(sb: Sandbox, client: GraphClient, reg: str, tmp_path: Path) -> None:
    listed = the_list(client, reg)
    write_csv(listed, tmp_path / "activities.csv")
    keys = tuple(dict.fromkeys(listed["externalcourseActivityId"].dropna()))
    assert ExternalIds.from_file(tmp_path / "activities.csv").keys == keys
    assert ActivityIds.from_file(tmp_path / "activities.csv").ids == tuple(listed["id"])
    assert set(Learners.from_file(tmp_path / "activities.csv").user_ids) == set(listed["learnerUserId"])
    assert read_keys(tmp_path / "activities.csv", ["status"], "statuses")[:1] == [listed["status"].iloc[0]]


def test_an_exported_workbook_is_a_file_of_keys_as_its_csv_is(
    sb: Sandbox, client: GraphClient, reg: str, tmp_path: Path
) -> None:
    listed = the_list(client, reg)
    write_csv(listed, tmp_path / "activities.csv")
    write_xlsx(listed, tmp_path / "activities.xlsx")
    for kind in (ExternalIds, ActivityIds, Learners):
        from_csv = kind.keys_in_file(tmp_path / "activities.csv")
        assert kind.keys_in_file(tmp_path / "activities.xlsx") == from_csv and len(from_csv) == len(listed), kind
    # Told by its content, not its name; a cell holding a formula is named, its key not guessed.
    (tmp_path / "keys").write_bytes((tmp_path / "activities.xlsx").read_bytes())
    assert ActivityIds.from_file(tmp_path / "keys").ids == tuple(listed["id"])
    book = openpyxl.Workbook()
    book.active.append(["externalcourseActivityId"])
    book.active.append(["k-1"])
    book.active.append(["=A2"])
    book.save(tmp_path / "formula.xlsx")
    with pytest.raises(InvalidInputError) as info:
        ExternalIds.from_file(tmp_path / "formula.xlsx")
    assert str(
        info.value
    ) == f"{tmp_path / 'formula.xlsx'}: row 3, externalcourseActivityId: holds a formula (=A2): " + (
        "type its value, or ' before a text"
    )


def test_learners_are_not_read_from_the_id_column_of_a_file_of_activities(tmp_path: Path) -> None:
    # learnkit sandbox --keys-out writes id and externalcourseActivityId: its ids are activities'.
    (tmp_path / "keys.csv").write_text("id,externalcourseActivityId\nu1:a,k-1\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as info:
        Learners.from_file(tmp_path / "keys.csv")
    assert "its id column holds activity ids, not learner ids (the file has a column 'externalcourseActivityId'" in str(
        info.value
    )
    # A file of users (an Entra export) names them by id; an export of activities by learnerUserId.
    (tmp_path / "users.csv").write_text("id,displayName\nU-1,Ada\n", encoding="utf-8")
    assert Learners.from_file(tmp_path / "users.csv").user_ids == ("U-1",)
    (tmp_path / "export.csv").write_text("id,externalcourseActivityId,learnerUserId\nu1:a,k-1,U-2\n", encoding="utf-8")
    assert Learners.from_file(tmp_path / "export.csv").user_ids == ("U-2",)
    assert ActivityIds.from_file(tmp_path / "keys.csv").ids == ("u1:a",)


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def connection(sb: Sandbox, tmp_path: Path) -> list[str]:
    path = tmp_path / "sb.json"
    path.write_text(json.dumps(sb.to_json()))
    return ["--sandbox-json", str(path)]


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> list[Wire]:
    """The command line's clients, on a tenant that does not serve the provider's list."""
    import learnkit.cli.sources

    made: list[Wire] = []
    original = learnkit.cli.sources.client_from_args

    def client_from_args(args: Any, *more: Any, **options: Any) -> GraphClient:
        client = original(args, *more, **options)
        made.append(Wire(client, refuse_list=True))
        return client

    monkeypatch.setattr(learnkit.cli.sources, "client_from_args", client_from_args)
    return made


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_export_by_external_ids_writes_the_csv_the_list_writes_for_them(
    sb: Sandbox,
    client: GraphClient,
    reg: str,
    connection: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = the_list(client, reg)
    keys = unique_keys(listed)[5:60]
    (tmp_path / "keys.txt").write_text("# the keys\n" + "\n".join(keys) + "\n", encoding="utf-8")
    status, _out, err = run(
        [
            "export",
            "--provider",
            reg,
            "--external-ids",
            str(tmp_path / "keys.txt"),
            "-o",
            str(tmp_path / "some.csv"),
            *connection,
        ],
        capsys,
    )
    assert status == 0 and err == f"exported {len(keys)} activities to {tmp_path / 'some.csv'}\n"
    expected = io.StringIO(newline="")
    write_csv(listed[listed["externalcourseActivityId"].isin(keys)].reset_index(drop=True), expected)
    assert (tmp_path / "some.csv").read_bytes() == expected.getvalue().encode("utf-8-sig")  # a file: with the mark


def test_export_says_what_was_not_found_in_one_line(
    reg: str, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ["12a2228a-e020-11ec-9d64-0242ac120002", *(f"gone-{n}" for n in range(7)), "o'no"]
    (tmp_path / "keys.txt").write_text("\n".join(keys), encoding="utf-8")
    status, out, err = run(
        ["export", "--provider", reg, "--external-ids", str(tmp_path / "keys.txt"), *connection], capsys
    )
    assert status == 0 and len(pd.read_csv(io.StringIO(out))) == 1
    assert err == "8 of 9 external ids not found: 'gone-0', 'gone-1', 'gone-2', 'gone-3', 'gone-4' and 3 more\n"


def test_export_says_how_many_keys_were_repeated(
    sb: Sandbox, reg: str, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "12a2228a-e020-11ec-9d64-0242ac120002"
    (tmp_path / "keys.txt").write_text(f"{key}\n{key}\n{key}\n", encoding="utf-8")
    status, out, err = run(
        ["export", "--provider", reg, "--external-ids", str(tmp_path / "keys.txt"), *connection], capsys
    )
    assert status == 0 and len(pd.read_csv(io.StringIO(out))) == 1
    assert err == f"{tmp_path / 'keys.txt'} repeats 2 of its external ids: each is read once\n"
    # A file whose id column gives a key to two records (the demo's --keys-out file): reading by the key reaches
    # one of them, and the line says which option reads both.
    keys = tmp_path / "keys.csv"
    write_keys(sb, keys)
    shared = pd.read_csv(keys)["externalcourseActivityId"].duplicated().sum()
    assert shared >= 1
    status, out, err = run(["export", "--provider", reg, "--external-ids", str(keys), *connection], capsys)
    assert status == 0 and err == (
        f"{keys} repeats {shared} of its external ids: each is read once, and a key held by several records reaches "
        f"one of them (--ids {keys} reads each by its id)\n"
    )
    status, out, err = run(["export", "--provider", reg, "--ids", str(keys), *connection], capsys)
    assert status == 0 and err == "" and len(pd.read_csv(io.StringIO(out))) == len(pd.read_csv(keys))


def test_export_by_ids_learners_and_list(
    sb: Sandbox,
    client: GraphClient,
    reg: str,
    connection: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = the_list(client, reg)
    other = the_list(client, sb.demo["other_registration_id"])["id"].iloc[0]
    (tmp_path / "ids.csv").write_text("id\n" + "\n".join([*listed["id"][:30], other]) + "\n", encoding="utf-8")
    status, out, err = run(["export", "--provider", reg, "--ids", str(tmp_path / "ids.csv"), *connection], capsys)
    assert status == 0 and len(pd.read_csv(io.StringIO(out))) == 30
    assert err == f"1 records of another provider left out: {other!r}\n"
    (tmp_path / "team.txt").write_text(f"{sb.demo['learner_id']}\n", encoding="utf-8")
    status, out, err = run(["export", "--provider", reg, "--learners", str(tmp_path / "team.txt"), *connection], capsys)
    mine = listed[listed["learnerUserId"] == sb.demo["learner_id"]]
    assert status == 0 and sorted(pd.read_csv(io.StringIO(out))["id"]) == sorted(mine["id"]) and err == ""
    status, out, err = run(["export", "--provider", reg, "--list", *connection], capsys)
    assert status == 0 and len(pd.read_csv(io.StringIO(out))) == len(listed)
    # Ids none of which is the named provider's: a mistyped --provider, one line and no file.
    other_reg = sb.demo["other_registration_id"]
    output = tmp_path / "theirs.csv"
    argv = ["export", "--provider", other_reg, "--ids", str(tmp_path / "team.txt"), "-o", str(output), *connection]
    (tmp_path / "team.txt").write_text("\n".join(listed["id"][:3]) + "\n", encoding="utf-8")
    status, out, err = run(argv, capsys)
    assert status == 2 and out == "" and not output.exists()
    assert err == (
        f"learnkit export: none of the 3 records read is provider {other_reg}'s, all are another provider's: "
        "check --provider\n"
    )


def test_export_on_a_tenant_without_the_list_is_one_line_naming_the_options(
    reg: str, connection: list[str], refusing: list[Wire], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["export", "--provider", reg, "-o", str(tmp_path / "all.csv"), *connection], capsys)
    assert status == 2 and out == "" and not (tmp_path / "all.csv").exists()
    assert err.count("\n") == 1 and err.startswith(
        "learnkit export: this tenant does not serve the provider's whole list"
    )
    assert "(400 badRequest" in err and "--external-ids FILE, --ids FILE or --learners FILE" in err
    (tmp_path / "keys.txt").write_text("13a2228a-e020-11ec-9d64-0242ac120002\n", encoding="utf-8")
    status, out, err = run(
        ["export", "--provider", reg, "--external-ids", str(tmp_path / "keys.txt"), *connection], capsys
    )
    assert status == 0 and len(pd.read_csv(io.StringIO(out))) == 1
    for command in ("export", "audit"):  # --list insists: refused, it says so, and what to name instead
        status, out, err = run([command, "--provider", reg, "--list", *connection], capsys)
        assert status == 2 and out == "" and err.count("\n") == 1
        assert err.startswith(
            f"learnkit {command}: this tenant does not serve the provider's whole list (400 badRequest"
        )
        assert "which --list insists on" in err and FLAGS in err
    assert sum(len(w.lists()) for w in refusing) == 3  # the probe, then each --list's own try


def test_the_refusal_names_the_options_the_command_line_has(capsys: pytest.CaptureFixture[str]) -> None:
    assert FLAGS in str(SourceRequiredError("r")) and FLAGS in SourceRequiredError.SOURCES
    for command in ("export", "audit"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        shown = capsys.readouterr().out
        for option in re.findall(r"--[a-z-]+ FILE", FLAGS):
            assert f"{option}  " in shown, option


def test_learners_on_a_tenant_need_a_public_client_for_a_delegated_sign_in(
    reg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = {"AZURE_TENANT_ID": "contoso", "AZURE_CLIENT_ID": "app", "AZURE_CLIENT_SECRET": "s"}
    for name, value in tenant.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(DELEGATED_CLIENT_VARIABLE, raising=False)
    (tmp_path / "team.txt").write_text("u1\n", encoding="utf-8")
    status, _out, err = run(["export", "--provider", reg, "--learners", str(tmp_path / "team.txt")], capsys)
    assert status == 2 and err.count("\n") == 1 and f"set {DELEGATED_CLIENT_VARIABLE}" in err
    args = build_parser(["export"]).parse_args(["export", "--provider", reg])
    client = client_from_args(args, {**tenant, DELEGATED_CLIENT_VARIABLE: "public"}, delegated=True)
    assert client.credential is not None and client.delegated is not None and client.delegated.kind == "delegated"
    assert client_from_args(args, {**tenant, DELEGATED_CLIENT_VARIABLE: "public"}).delegated is None


def test_export_refuses_a_bad_file_of_keys_in_one_line(
    reg: str, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _out, err = run(["export", "--provider", reg, "--ids", str(tmp_path / "nope.txt"), *connection], capsys)
    assert status == 2 and err == f"learnkit export: --ids {tmp_path / 'nope.txt'}: no such file\n"
    with pytest.raises(SystemExit) as info:
        main(["export", "--provider", reg, "--ids", "a.txt", "--external-ids", "b.txt", *connection])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_audit_reads_from_each_source(
    sb: Sandbox,
    client: GraphClient,
    reg: str,
    connection: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = the_list(client, reg)
    (tmp_path / "keys.txt").write_text("\n".join([*unique_keys(listed)[:50], "gone"]), encoding="utf-8")
    (tmp_path / "ids.txt").write_text("\n".join(listed["id"][:40]), encoding="utf-8")
    (tmp_path / "team.txt").write_text(sb.demo["learner_id"], encoding="utf-8")
    audit = ["audit", "--provider", reg, "--now", "2024-01-01T00:00:00Z", *connection]
    status, out, err = run([*audit, "--external-ids", str(tmp_path / "keys.txt")], capsys)
    assert status == 0 and " of 50 records" in out and err == "1 of 51 external ids not found: 'gone'\n"
    status, out, err = run([*audit, "--ids", str(tmp_path / "ids.txt")], capsys)
    assert status == 0 and " of 40 records" in out and err == ""
    mine = int((listed["learnerUserId"] == sb.demo["learner_id"]).sum())
    status, out, err = run([*audit, "--learners", str(tmp_path / "team.txt")], capsys)
    assert status == 0 and f" of {mine} records" in out
    status, out, err = run([*audit, "--list"], capsys)
    assert status == 0 and f" of {len(listed)} records" in out


def test_audit_on_a_tenant_without_the_list_is_one_line_naming_the_options(
    reg: str, connection: list[str], refusing: list[Wire], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["audit", "--provider", reg, *connection], capsys)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("learnkit audit: this tenant does not serve") and "--learners FILE" in err


@pytest.mark.documented
def test_on_graphs_documented_contract_a_source_reads_and_none_is_one_line(
    sb: Sandbox, client: GraphClient, reg: str
) -> None:
    assert sb.contract == "documented" and not list_served(client, reg)
    with pytest.raises(SourceRequiredError, match="--external-ids FILE, --ids FILE or --learners FILE"):
        read_activities(client, reg)
    by_key = read_activities(client, reg, source=ExternalIds(sb.external_ids(reg)))
    by_id = read_activities(client, reg, source=ActivityIds(sb.activity_ids(reg)))
    sb.set_contract("metadata")
    listed = read_activities(client, reg, source=ProviderList())
    assert by_id["id"].tolist() == listed["id"].tolist()
    # A key held by two records (the seeded duplicate) reaches the first: every other record is read by key.
    assert set(by_key["id"]) <= set(listed["id"]) and len(by_key) == len(sb.external_ids(reg))
