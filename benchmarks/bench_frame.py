"""Loading 100,000 activities into a DataFrame: learnkit vs raw ``json`` + ``pandas.json_normalize``.

The pages are fetched once from the sandbox (``$top=999``) and both sides build their
frame from the same page texts, best of ``--repeat``: the baseline does
``json.loads`` of each page and ``pd.json_normalize`` of all items (flat columns,
nothing typed); learnkit does the same ``json.loads`` and ``activities_frame``
(flat columns typed: Int64, aware UTC date-times, naive local due dates). A third
line, ``pd.DataFrame`` of the items, is the cheapest frame pandas makes (nested
values left as dicts). The end-to-end line fetches the pages over HTTPS each time (one run each).

Run: ``python -m benchmarks.bench_frame [--activities 100000]``
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import pandas as pd
import requests

from benchmarks.common import Server, environment, table, timed
from learnkit import GraphClient
from learnkit.bulk.frame import activities_frame, read_activities


def fetch_pages(info: dict[str, Any], registration: str) -> list[bytes]:
    """Every page of the provider's activities, as the service sent them."""
    session = requests.Session()
    session.trust_env = False
    answer = session.post(
        info["token_url"],
        verify=info["ca_cert"],
        timeout=30,
        data={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "scope": info["scope"],
        },
    )
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    url: str | None = (
        info["graph_url"] + f"/employeeExperience/learningProviders/{registration}/learningCourseActivities?$top=999"
    )
    pages = []
    while url:
        response = session.get(url, headers=headers, verify=info["ca_cert"], timeout=120)
        response.raise_for_status()
        pages.append(response.content)
        url = json.loads(response.content).get("@odata.nextLink")
    session.close()
    return pages


def baseline(pages: list[bytes]) -> pd.DataFrame:
    items = [item for page in pages for item in json.loads(page)["value"]]
    return pd.json_normalize(items)


def plain_frame(pages: list[bytes]) -> pd.DataFrame:
    items = [item for page in pages for item in json.loads(page)["value"]]
    return pd.DataFrame(items)


def learnkit_frame(pages: list[bytes]) -> pd.DataFrame:
    items = [item for page in pages for item in json.loads(page)["value"]]
    return activities_frame(items)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with Server() as server:
        registration = server.demo["registration_id"]
        total = int(server.command(f"seed {args.activities}").split()[1])
        pages = fetch_pages(server.info, registration)
        base_times, plain_times, ours_times = [], [], []
        for _ in range(args.repeat):
            seconds, base = timed(lambda: baseline(pages))
            base_times.append(seconds)
            seconds, _ = timed(lambda: plain_frame(pages))
            plain_times.append(seconds)
            seconds, ours = timed(lambda: learnkit_frame(pages))
            ours_times.append(seconds)
        assert len(base) == len(ours) == total, (len(base), len(ours), total)
        client = GraphClient.for_sandbox(server.info)
        started = time.perf_counter()
        fetched = fetch_pages(server.info, registration)
        e2e_base = time.perf_counter() - started + min(base_times)
        e2e_ours, frame = timed(lambda: read_activities(client, registration))
        assert len(frame) == total and len(fetched) == len(pages)
    b, p, o = min(base_times), min(plain_times), min(ours_times)
    rows = [
        ["raw `json.loads` + `pd.json_normalize` (flat, untyped)", total, len(pages), f"{b:.2f}", "1.00"],
        [
            "raw `json.loads` + `pd.DataFrame` (nested dicts left in cells, untyped)",
            total,
            len(pages),
            f"{p:.2f}",
            f"{p / b:.2f}",
        ],
        [
            "learnkit `activities_frame` (flat, typed)",
            total,
            len(pages),
            f"{o:.2f}",
            f"**{o / b:.2f}** ({o / p:.2f} of `pd.DataFrame`)",
        ],
        ["end to end: `requests` pages + `json_normalize`", total, len(pages), f"{e2e_base:.2f}", "1.00"],
        ["end to end: learnkit `read_activities`", total, len(pages), f"{e2e_ours:.2f}", f"{e2e_ours / e2e_base:.2f}"],
    ]
    text = "\n".join(
        [
            f"### (c) {total:,} activities into a DataFrame (same pages; best of {args.repeat} for the first two)\n",
            table(["how", "activities", "pages", "seconds", "ratio to baseline"], rows),
            f"\n_{environment()}._\n",
        ]
    )
    print(text)
    return text


if __name__ == "__main__":
    main()
