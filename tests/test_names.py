"""``learnkit.names`` on the real sandbox: batched lookups, the session cache, the fallback without the permission.

Requests are counted where they leave: a response hook on the client's HTTP session.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import requests

from learnkit import GraphClient, RetryPolicy
from learnkit.errors import PermissionWarning
from learnkit.limits import BATCH_LIMIT
from learnkit.names import Names, UserName, names_for
from learnkit.sandbox import Sandbox


class Counter:
    """Counts the HTTP requests a client sends to Graph (sign-in requests aside)."""

    def __init__(self, client: GraphClient) -> None:
        self.urls: list[str] = []
        self.graph_url = client.graph_url
        client.session.hooks["response"].append(self._seen)

    def _seen(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request.url and response.request.url.startswith(self.graph_url):
            self.urls.append(response.request.url)

    def __len__(self) -> int:
        return len(self.urls)


@pytest.fixture
def counted(client: GraphClient) -> Counter:
    return Counter(client)


def test_a_thousand_learners_take_at_most_fifty_requests(sb: Sandbox, client: GraphClient, counted: Counter) -> None:
    ids = sb.seed_users(1000)
    names = Names(client)
    found = names.resolve(ids)
    assert len(found) == 1000 and all(isinstance(v, UserName) for v in found.values())
    # seed_users numbers on from the users an earlier test of this process seeded
    number = str(found[ids[0]].displayName).removeprefix("Learner ")
    assert found[ids[0]] == UserName(ids[0], f"Learner {number}", *[f"learner.{number}@contoso.example"] * 2)
    assert len({name.displayName for name in found.values()}) == 1000
    assert len(counted) <= 1000 // BATCH_LIMIT == 50
    assert all(url.endswith("/$batch") for url in counted.urls)
    assert names.round_trips == len(counted) and names.note is None


def test_a_cached_id_costs_no_request_whatever_its_case(sb: Sandbox, client: GraphClient, counted: Counter) -> None:
    learner = sb.demo["learner_id"]
    names = Names(client)
    assert names.resolve([learner])[learner] is not None
    sent = len(counted)
    assert sent == 1
    again = names.resolve([learner.upper(), learner, None, "", float("nan")])
    assert len(counted) == sent  # nothing asked: the cache answered
    assert list(again) == [learner.upper()] and names.label(learner.upper()) == "Adele Vance"
    assert names.get(learner) is not None and names.get(learner).mail == "adele.vance@contoso.example"  # type: ignore[union-attr]


def test_an_unknown_user_is_none_and_remembered(sb: Sandbox, client: GraphClient, counted: Counter) -> None:
    names = Names(client)
    ghost = "00000000-0000-0000-0000-0000000000aa"
    found = names.resolve([ghost, sb.demo["assigner_id"], "not a/valid id"])
    assert found[ghost] is None and found["not a/valid id"] is None
    assert found[sb.demo["assigner_id"]] == UserName(
        sb.demo["assigner_id"], "Megan Bowen", "megan.bowen@contoso.example", "megan.bowen@contoso.example"
    )
    sent = len(counted)
    assert names.resolve([ghost])[ghost] is None and names.known(ghost)
    assert len(counted) == sent and names.label(ghost) == ghost


def test_the_session_cache_is_the_clients(client: GraphClient, sb: Sandbox) -> None:
    assert names_for(client) is names_for(client)
    other = GraphClient.for_sandbox(sb)
    assert names_for(other) is not names_for(client)


def test_without_the_permission_ids_stay_and_one_note_names_it(sb: Sandbox) -> None:
    weak = GraphClient.for_sandbox(sb, app="learnkit-nonames")
    counted = Counter(weak)
    ids = sb.seed_users(100)
    names = Names(weak)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = names.resolve(ids)
        names.resolve(ids[:10])
        names.resolve([sb.demo["learner_id"]])
    assert set(found) == set(ids) and all(v is None for v in found.values())
    assert [names.label(i) for i in ids] == ids
    assert len(counted) == 1  # the first batch's 403 stopped every other request, then and later
    notes = [w for w in caught if issubclass(w.category, PermissionWarning)]
    assert len(notes) == 1, [str(w.message) for w in caught]
    assert "User.ReadBasic.All" in str(notes[0].message) and names.note == str(notes[0].message)
    assert names.denied


def test_throttled_lookups_are_asked_again_after_the_wait(sb: Sandbox) -> None:
    client = GraphClient.for_sandbox(sb, retry=RetryPolicy(max_retry_wait=5))
    waits: list[float] = []
    names = Names(client, sleep=waits.append)
    sb.fail_next("429")  # the first sub-request of the first batch
    found = names.resolve([sb.demo["learner_id"], sb.demo["assigner_id"]])
    assert all(v is not None for v in found.values())
    assert names.round_trips == 2 and waits == [1.0]


def test_a_failure_other_than_the_permission_leaves_ids_to_ask_again(sb: Sandbox) -> None:
    client = GraphClient.for_sandbox(sb, retry=RetryPolicy(max_attempts=1))
    names = Names(client)
    sb.fail_next("drop")  # the $batch connection is cut: no answer at all
    learner = sb.demo["learner_id"]
    assert names.resolve([learner]) == {learner: None}
    assert names.note is not None and not names.known(learner) and not names.denied
    assert names.resolve([learner])[learner] is not None  # asked again, answered


def test_lookups_from_two_threads_ask_for_each_user_once(sb: Sandbox, client: GraphClient, counted: Counter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ids = sb.seed_users(60)
    names = Names(client)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(names.resolve, [ids, list(reversed(ids))]))
    assert all(v is not None for result in results for v in result.values())
    assert len(counted) == 3  # 60 ids, 20 to a batch, asked once whichever thread came first
