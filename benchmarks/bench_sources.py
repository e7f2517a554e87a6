"""Reading 2,000 activities by external id (``learnkit.bulk.sources``) against the list and a hand-made reader.

Three ways to the same typed frame, timed in the same run on the same records, at 0 and 50 ms of
added latency per HTTP request:

* the provider's list (undocumented; where a tenant serves it): ``read_activities(..., source=ProviderList())``;
* learnkit by external id: ``read_activities(..., source=ExternalIds(keys))``, ``$batch`` es of 20 GETs,
  ``CONCURRENCY`` in flight;
* the baseline a script without learnkit would be: the same ``$batch`` es posted with ``requests``, one
  session per thread, as many threads, the answers' bodies put into ``activities_frame``.

Run: ``python -m benchmarks.bench_sources [--records 2000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import requests

from benchmarks.common import Server, environment, table, timed
from learnkit import GraphClient
from learnkit.bulk.frame import activities_frame, read_activities
from learnkit.bulk.sources import CONCURRENCY, ExternalIds, ProviderList
from learnkit.paths import activity_by_external_id


def by_hand(info: dict[str, Any], token: str, registration_id: str, keys: list[str]) -> pd.DataFrame:
    """The baseline: ``$batch`` es of 20 GETs by external id, ``CONCURRENCY`` threads, a session each."""
    local = threading.local()
    chunks = [keys[i : i + 20] for i in range(0, len(keys), 20)]

    def post(chunk: list[str]) -> list[dict[str, Any]]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.verify = info["ca_cert"]
            session.trust_env = False
            session.headers["Authorization"] = f"Bearer {token}"
        body = {
            "requests": [
                {"id": str(n), "method": "GET", "url": activity_by_external_id(registration_id, key)}
                for n, key in enumerate(chunk)
            ]
        }
        answer = session.post(f"{info['graph_url']}/$batch", json=body, timeout=60)
        answer.raise_for_status()
        found = sorted(answer.json()["responses"], key=lambda r: int(r["id"]))
        return [{k: v for k, v in r["body"].items() if k != "@odata.context"} for r in found if r["status"] == 200]

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        records = [record for answer in pool.map(post, chunks) for record in answer]
    return activities_frame(records)


def unique_keys(frame: pd.DataFrame) -> list[str]:
    column = frame["externalcourseActivityId"].dropna()
    keys: list[str] = column[~column.duplicated(keep=False)].tolist()
    return keys


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    with Server() as server:
        registration_id = server.demo["registration_id"]
        client = GraphClient.for_sandbox(server.info)
        # Keys that name one record each (the demo tenant uses one twice), as many as asked for.
        keys = unique_keys(read_activities(client, registration_id, source=ProviderList()))
        server.command(f"seed {max(0, args.records - len(keys))} {registration_id}")
        listed = read_activities(client, registration_id, source=ProviderList())
        keys = unique_keys(listed)[: args.records]
        token = client.token_for("get_activity_by_external_id")[1]  # signed in before the clock starts
        for latency in (0, 50):
            server.command(f"latency {latency}")
            times: dict[str, list[float]] = {"list": [], "ours": [], "base": []}
            for round_ in range(args.repeat):
                seconds, frame = timed(lambda: read_activities(client, registration_id, source=ProviderList()))
                assert len(frame) >= len(keys)
                times["list"].append(seconds)
                # learnkit and the baseline take turns going first: neither always follows the list's read.
                for name in ("ours", "base") if round_ % 2 == 0 else ("base", "ours"):
                    if name == "ours":
                        seconds, frame = timed(
                            lambda: read_activities(client, registration_id, source=ExternalIds(keys))
                        )
                        assert len(frame) == len(keys) and frame.attrs["not_found"] == ()
                    else:
                        seconds, frame = timed(lambda: by_hand(server.info, token, registration_id, keys))
                        assert len(frame) == len(keys)
                    times[name].append(seconds)
            b = min(times["base"])
            rows.append([f"{latency} ms", f"the provider's list, {len(listed):,} records (999 a page)",
                         f"{min(times['list']):.2f}", f"{min(times['list']) / b:.2f}"])  # fmt: skip
            rows.append([f"{latency} ms", f"`requests`, `$batch` of 20 by external id, {CONCURRENCY} threads",
                         f"{b:.2f}", "1.00"])  # fmt: skip
            rows.append([f"{latency} ms", f"learnkit `ExternalIds` (`$batch` of 20, {CONCURRENCY} in flight)",
                         f"{min(times['ours']):.2f}", f"**{min(times['ours']) / b:.2f}**"])  # fmt: skip
    text = "\n".join(
        [
            f"### (i) {len(keys):,} activities by external id into a typed frame (best of {args.repeat})\n",
            table(["added latency", "how", "seconds", "time ratio to the hand-written reader"], rows),
            f"\n_{environment()}._\n",
        ]
    )
    print(text)
    return text


if __name__ == "__main__":
    main()
