"""Resolving 1,000 distinct learner names: learnkit's ``$batch`` lookups against one GET per user.

The target (issue 11): at most 50 HTTP requests for 1,000 names. The baseline is what a script
without learnkit does: ``GET /users/{id}?$select=...`` one by one with ``requests``, 8 threads.
Both are counted where they leave (a response hook on each HTTP session) and timed in the same
run, on the same users, at 0 and 50 ms of added latency per request.

Run: ``python -m benchmarks.bench_names [--users 1000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from benchmarks.common import Server, environment, table, timed
from learnkit import GraphClient
from learnkit.names import CONCURRENCY, SELECT, Names

THREADS = 8


class Counter:
    """How many HTTP requests went to Graph through the sessions it is attached to (thread-safe)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.count += 1


def learnkit_names(client: GraphClient, ids: list[str]) -> tuple[int, int, int]:
    """(names found, HTTP requests, requests of a second look), with a fresh session cache on a signed-in client."""
    counter = Counter()
    client.session.hooks["response"] = [counter.hook]
    names = Names(client)
    found = names.resolve(ids)
    first = counter.count
    names.resolve(ids)
    return sum(v is not None for v in found.values()), first, counter.count - first


def one_by_one(info: dict[str, Any], token: str, ids: list[str]) -> tuple[int, int]:
    """(names found, HTTP requests): one GET per user, ``THREADS`` at once, a session per thread."""
    counter = Counter()
    local = threading.local()
    query = {"$select": ",".join(SELECT)}

    def get(user_id: str) -> bool:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.verify = info["ca_cert"]
            session.trust_env = False
            session.headers["Authorization"] = f"Bearer {token}"
            session.hooks["response"].append(counter.hook)
        answer = session.get(f"{info['graph_url']}/users/{user_id}", params=query, timeout=30)
        return answer.status_code == 200 and bool(answer.json().get("displayName"))

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        found = sum(pool.map(get, ids))
    return found, counter.count


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    with Server() as server:
        ids = server.command(f"users {args.users}").split(" ", 1)[1].split(",")
        assert len(set(ids)) == args.users
        client = GraphClient.for_sandbox(server.info)
        token = client.token_for("get_user")[1]  # both sides signed in before the clock starts
        for latency in (0, 50):
            server.command(f"latency {latency}")
            ours, base = [], []
            for _ in range(args.repeat):
                seconds, (found, sent, again) = timed(lambda: learnkit_names(client, ids))
                assert found == args.users and sent <= args.users / 20 and again == 0, (found, sent, again)
                ours.append(seconds)
                seconds, (base_found, base_sent) = timed(lambda: one_by_one(server.info, token, ids))
                assert base_found == args.users and base_sent == args.users, (base_found, base_sent)
                base.append(seconds)
            b, o = min(base), min(ours)
            rows.append([f"{latency} ms", f"`requests`, one GET per user, {THREADS} threads", base_sent,
                         f"{b:.2f}", "1.00"])  # fmt: skip
            rows.append([f"{latency} ms", f"learnkit `Names.resolve` (`$batch` of 20, {CONCURRENCY} in flight)",
                         f"**{sent}** (again: {again})", f"{o:.2f}", f"**{o / b:.2f}**"])  # fmt: skip
    text = "\n".join(
        [
            f"### (g) {args.users:,} distinct learner names (best of {args.repeat}; target: at most "
            f"{args.users // 20} requests)\n",
            table(["added latency", "how", "HTTP requests", "seconds", "time ratio to baseline"], rows),
            "\n`again`: requests made by a second look at the same ids (the session cache answers).",
            f"\n_{environment()}._\n",
        ]
    )
    print(text)
    return text


if __name__ == "__main__":
    main()
