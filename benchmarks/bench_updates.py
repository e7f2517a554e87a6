"""Updates per second, and updates landed under a rate limit: learnkit bulk vs the strongest fair baselines.

Every contender updates the same records (each run moves ``completionPercentage`` on
by one from what the service holds, so every update is a real change) against the
sandbox in its own process, and every run is verified by reading the provider back:
"landed" counts the records that hold the value the run meant to write.

The contenders, each written as its documentation recommends:

- learnkit ``bulk.apply`` of ``diff(before, edited)``: journaled, conflict-checked
  (reads the provider's list by the page), ``$batch`` of 20, adaptive concurrency.
  Every contender's clock starts with its requests built (learnkit's plans from ``diff``,
  the baselines' sub-request bodies), and stops when the last answer is in.
- plain ``requests``: ``$batch`` of 20 on a ``ThreadPoolExecutor`` of 8 threads sharing a
  ``Session``; throttled sub-requests are sent again after their ``Retry-After``.
- ``aiohttp``: ``$batch`` of 20, 8 in flight (a semaphore) on one ``ClientSession``;
  throttled sub-requests sent again the same way.
- msgraph-sdk: one ``BatchRequestContent`` per 20 updates, posted with ``client.batch.post``,
  8 in flight with ``asyncio.gather`` (a semaphore); and, for reference, the
  ``BatchRequestContentCollection`` usage (msgraph-core posts its batches one after another).

(a) ``--updates`` updates at ``LATENCY_MS`` latency per HTTP request, ``--repeat`` rounds;
    each round runs every contender once (in a rotating order), so ratios are paired.
(b) Under a sandbox rate limit of ``--rate`` requests/s (each sub-request and each page
    counts), ``--rate-updates`` updates: landed updates/s as a fraction of R, and the
    requests each client spent.

Run: ``python -m benchmarks.bench_updates [--updates 2000] [--repeat 5] [--rate 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from benchmarks.common import Server, environment, table
from learnkit import GraphClient
from learnkit.bulk import apply
from learnkit.frame import diff, read_activities
from learnkit.journal import Journal
from learnkit.models import ASSIGNMENT_TYPE

LATENCY_MS = 50
BATCH = 20
IN_FLIGHT = 8


@dataclass
class Outcome:
    """One contender's run: wall seconds, client CPU seconds, requests as Graph counts them, round trips."""

    seconds: float
    cpu: float
    requests: int
    round_trips: int
    landed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def pick(client: GraphClient, registration: str, n: int) -> pd.DataFrame:
    """The first n in-progress seeded activities of the provider (by id), as read now.

    Seeded ones only: the demo tenant's own include values left wrong on purpose for the audit (a time
    zone no one knows), which an edit of that record is rightly refused for.
    """
    frame = read_activities(client, registration)
    seeded = frame["externalcourseActivityId"].astype(str).str.startswith("bulk-")
    chosen = frame[(frame["status"] == "inProgress") & seeded].sort_values("id").iloc[:n]
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} in-progress activities to update; seed more")
    return chosen.reset_index(drop=True)


def targets(before: pd.DataFrame) -> pd.DataFrame:
    """The same records with completionPercentage moved on by one (never equal to the current value)."""
    edited = before.copy()
    edited["completionPercentage"] = edited["completionPercentage"] % 98 + 1
    return edited


def landed(client: GraphClient, registration: str, edited: pd.DataFrame) -> int:
    """How many records hold the value the run meant to write."""
    now = read_activities(client, registration).set_index("id")["completionPercentage"]
    wanted = edited.set_index("id")["completionPercentage"]
    return int((now.reindex(wanted.index) == wanted).sum())


def subrequests(registration: str, edited: pd.DataFrame) -> list[dict[str, Any]]:
    """One PATCH sub-request per record, as a hand-written client would build it."""
    base = f"/employeeExperience/learningProviders/{registration}/learningCourseActivities/"
    return [
        {
            "id": str(i),
            "method": "PATCH",
            "url": base + str(activity_id),
            "headers": {"Content-Type": "application/json"},
            "body": {"@odata.type": kind, "status": "inProgress", "completionPercentage": int(value)},
        }
        for i, (activity_id, kind, value) in enumerate(
            zip(edited["id"], edited["@odata.type"], edited["completionPercentage"], strict=True)
        )
    ]


def token(info: dict[str, Any]) -> str:
    answer = requests.post(
        info["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "scope": info["scope"],
        },
        verify=info["ca_cert"],
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def measured(call: Callable[[], tuple[int, int, dict[str, Any]]]) -> Outcome:
    wall, cpu = time.perf_counter(), time.process_time()
    spent, trips, extra = call()
    return Outcome(time.perf_counter() - wall, time.process_time() - cpu, spent, trips, extra=extra)


# --- the contenders --------------------------------------------------------------------


def run_learnkit(client: GraphClient, before: pd.DataFrame, edited: pd.DataFrame, folder: Path) -> Outcome:
    book = Journal(folder / f"journal-{time.monotonic_ns()}.sqlite")
    # Each contender's clock starts with its requests built: learnkit's plans, the baselines' bodies.
    plans = diff(before, edited)

    def go() -> tuple[int, int, dict[str, Any]]:
        result = apply(client, plans, journal=book, progress=False)
        return result.stats["requests"], result.stats["round_trips"], {"summary": result.summary()}

    outcome = measured(go)
    book.close()
    return outcome


def _throttled_wait(answers: list[dict[str, Any]]) -> float:
    waits = [float((a.get("headers") or {}).get("Retry-After", 1)) for a in answers if a.get("status") in (429, 503)]
    return max(waits, default=0.0)


def run_requests(info: dict[str, Any], registration: str, edited: pd.DataFrame) -> Outcome:
    """``requests``: $batch of 20 on 8 threads sharing one Session; throttled sub-requests sent again."""
    session = requests.Session()
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=IN_FLIGHT, pool_maxsize=IN_FLIGHT)
    session.mount("https://", adapter)
    session.headers["Authorization"] = f"Bearer {token(info)}"
    url = info["graph_url"] + "/$batch"
    work = subrequests(registration, edited)
    counts = {"requests": 0, "round_trips": 0}
    lock = threading.Lock()

    def send(chunk: list[dict[str, Any]]) -> None:
        while chunk:
            answer = session.post(url, json={"requests": chunk}, verify=info["ca_cert"], timeout=60)
            answer.raise_for_status()
            responses = answer.json()["responses"]
            with lock:
                counts["requests"] += len(chunk)
                counts["round_trips"] += 1
            again = {str(r["id"]) for r in responses if r.get("status") in (429, 503)}
            if again:
                time.sleep(_throttled_wait(responses))
            chunk = [r for r in chunk if r["id"] in again]

    def go() -> tuple[int, int, dict[str, Any]]:
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            list(pool.map(send, [work[i : i + BATCH] for i in range(0, len(work), BATCH)]))
        return counts["requests"], counts["round_trips"], {}

    outcome = measured(go)
    session.close()
    return outcome


def run_aiohttp(info: dict[str, Any], registration: str, edited: pd.DataFrame) -> Outcome:
    """``aiohttp``: $batch of 20, 8 in flight on one ClientSession; throttled sub-requests sent again."""
    import ssl

    import aiohttp

    work = subrequests(registration, edited)
    bearer = token(info)
    counts = {"requests": 0, "round_trips": 0}

    async def main() -> None:
        context = ssl.create_default_context(cafile=info["ca_cert"])
        connector = aiohttp.TCPConnector(ssl=context, limit=IN_FLIGHT)
        gate = asyncio.Semaphore(IN_FLIGHT)
        async with aiohttp.ClientSession(
            connector=connector, headers={"Authorization": f"Bearer {bearer}"}, trust_env=False
        ) as session:

            async def send(chunk: list[dict[str, Any]]) -> None:
                async with gate:
                    while chunk:
                        async with session.post(info["graph_url"] + "/$batch", json={"requests": chunk}) as answer:
                            answer.raise_for_status()
                            responses = (await answer.json(content_type=None))["responses"]
                        counts["requests"] += len(chunk)
                        counts["round_trips"] += 1
                        again = {str(r["id"]) for r in responses if r.get("status") in (429, 503)}
                        if again:
                            await asyncio.sleep(_throttled_wait(responses))
                        chunk = [r for r in chunk if r["id"] in again]

            await asyncio.gather(*(send(work[i : i + BATCH]) for i in range(0, len(work), BATCH)))

    def go() -> tuple[int, int, dict[str, Any]]:
        asyncio.run(main())
        return counts["requests"], counts["round_trips"], {}

    return measured(go)


def run_sdk(info: dict[str, Any], registration: str, edited: pd.DataFrame, *, collection: bool = False) -> Outcome:
    """msgraph-sdk: one BatchRequestContent per 20, 8 posts in flight with asyncio.gather (or, with
    ``collection``, one BatchRequestContentCollection posted as its docs show)."""
    import httpx
    from azure.identity.aio import ClientSecretCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.course_status import CourseStatus
    from msgraph.generated.models.learning_assignment import LearningAssignment
    from msgraph.generated.models.learning_self_initiated_course import LearningSelfInitiatedCourse
    from msgraph_core import GraphClientFactory
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_content_collection import BatchRequestContentCollection
    from msgraph_core.requests.batch_request_item import BatchRequestItem

    counts = {"requests": 0, "round_trips": 0, "statuses": {}}

    async def main() -> float:
        credential = ClientSecretCredential(
            info["tenant_id"],
            info["client_id"],
            info["client_secret"],
            authority=info["url"].split("://", 1)[1],
            connection_verify=info["ca_cert"],
            disable_instance_discovery=True,
        )
        # The sandbox is not a Graph host the SDK knows: name it, and trust its CA.
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[info["scope"]], allowed_hosts=["127.0.0.1"])
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=info["ca_cert"], trust_env=False, timeout=60)
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = info["graph_url"]
        client = GraphServiceClient(request_adapter=adapter)
        activities = client.employee_experience.learning_providers.by_learning_provider_id(
            registration
        ).learning_course_activities
        items = []
        for activity_id, kind, value in zip(
            edited["id"], edited["@odata.type"], edited["completionPercentage"], strict=True
        ):
            model_type = LearningAssignment if kind == ASSIGNMENT_TYPE else LearningSelfInitiatedCourse
            model = model_type(odata_type=kind, status=CourseStatus.InProgress, completion_percentage=int(value))
            request = activities.by_learning_course_activity_id(str(activity_id)).to_patch_request_information(model)
            item = BatchRequestItem(request_information=request)
            # msgraph-sdk-python#1015: the item's URL is absolute, which Graph (and the sandbox) refuse
            # with 400; the workaround from that issue makes it relative.
            item.url = item.url.replace(info["graph_url"], "")
            items.append(item)
        await credential.get_token(info["scope"])  # sign in before the clock starts, as the others do
        statuses: dict[int, int] = {}
        started = time.perf_counter()
        if collection:
            content = BatchRequestContentCollection()
            for item in items:
                content.add_batch_request_item(item)
            answer = await client.batch.post(batch_request_content=content)
            for part in answer._responses:  # BatchResponseContentCollection keeps them here
                for sub in (part.responses or {}).values():
                    statuses[int(sub.status or 0)] = statuses.get(int(sub.status or 0), 0) + 1
            counts["round_trips"] = len(answer._responses)
        else:
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def post(chunk: list[Any]) -> None:
                async with gate:
                    # A fresh dict each time: the constructor's default one is shared between instances.
                    batch = BatchRequestContent({item.id: item for item in chunk})
                    answer = await client.batch.post(batch_request_content=batch)
                    counts["round_trips"] += 1
                    for sub in (answer.responses or {}).values():
                        statuses[int(sub.status or 0)] = statuses.get(int(sub.status or 0), 0) + 1

            await asyncio.gather(*(post(items[i : i + BATCH]) for i in range(0, len(items), BATCH)))
        seconds = time.perf_counter() - started
        counts["requests"] = len(items)
        counts["statuses"] = statuses
        await credential.close()
        return seconds

    wall, cpu = time.perf_counter(), time.process_time()
    seconds = asyncio.run(main())
    cpu_used = time.process_time() - cpu
    # The SDK's model building and sign-in happen before its clock starts; its CPU share is scaled to the posting.
    share = seconds / max(1e-9, time.perf_counter() - wall)
    return Outcome(
        seconds,
        cpu_used * share,
        int(counts["requests"]),
        int(counts["round_trips"]),
        extra={"statuses": dict(sorted(counts["statuses"].items()))},
    )


# --- the benchmark -------------------------------------------------------------------


CONTENDERS = (
    ("learnkit `bulk.apply` (journal, conflict check)", "learnkit"),
    (f"plain `requests`, `$batch` of 20 on {IN_FLIGHT} threads, throttled sub-requests resent", "requests"),
    (f"`aiohttp`, `$batch` of 20, {IN_FLIGHT} in flight", "aiohttp"),
    (f"msgraph-sdk, one `BatchRequestContent` per 20, {IN_FLIGHT} posts in flight with `asyncio.gather`", "sdk"),
    ("msgraph-sdk `BatchRequestContentCollection` (posts its batches one after another)", "sdk-collection"),
)


def contender(name: str, server: Server, client: GraphClient, registration: str, n: int, folder: Path) -> Outcome:
    before = pick(client, registration, n)
    edited = targets(before)
    if name == "learnkit":
        outcome = run_learnkit(client, before, edited, folder)
    elif name == "requests":
        outcome = run_requests(server.info, registration, edited)
    elif name == "aiohttp":
        outcome = run_aiohttp(server.info, registration, edited)
    else:
        outcome = run_sdk(server.info, registration, edited, collection=name == "sdk-collection")
    outcome.landed = landed(client, registration, edited)
    return outcome


def _spread(values: list[float]) -> str:
    return f"{min(values):,.0f} / {statistics.median(values):,.0f} / {max(values):,.0f}"


def part_a(server: Server, client: GraphClient, registration: str, n: int, repeat: int, folder: Path) -> str:
    names = [name for _, name in CONTENDERS]
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    trips: dict[str, int] = {}
    lost: dict[str, int] = {name: 0 for name in names}
    skipped: dict[str, str] = {}
    for round_ in range(repeat):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            if name in skipped or (name == "sdk-collection" and round_ > 0):
                continue  # the sequential SDK usage is measured once: it is the slow reference
            try:
                outcome = contender(name, server, client, registration, n, folder)
            except ImportError as exc:
                skipped[name] = f"not measured: {exc} (pip install -e '.[bench]')"
                continue
            rates[name].append(n / outcome.seconds)
            cpu[name].append(outcome.cpu / n)
            trips[name] = outcome.round_trips
            lost[name] += n - outcome.landed
    rows = []
    for label, name in CONTENDERS:
        if name in skipped or not rates[name]:
            rows.append([label, skipped.get(name, "not measured"), "", "", "", ""])
            continue
        paired = [lk / other for lk, other in zip(rates["learnkit"], rates[name], strict=False)]
        rows.append(
            [
                label,
                _spread(rates[name]),
                f"{statistics.median(rates['learnkit']) / statistics.median(rates[name]):.2f}"
                if name == "sdk-collection"
                else f"{statistics.median(paired):.2f}",
                f"{statistics.median(cpu[name]) * 1e6:,.0f} µs",
                trips.get(name, ""),
                lost[name],
            ]
        )
    fastest = max(
        (statistics.median(rates[name]), name) for _, name in CONTENDERS if name != "learnkit" and rates[name]
    )
    ratio = statistics.median(rates["learnkit"]) / fastest[0]
    # The CPU target (issue 13): learnkit's client CPU per update within 2x the raw $batch clients'.
    mine = statistics.median(cpu["learnkit"])
    raw = [(statistics.median(cpu[name]), name) for name in ("requests", "aiohttp") if cpu[name]]
    cpu_lines = [
        f"learnkit's client CPU per update ÷ the `{name}` client's: **{mine / used:.1f}×** "
        f"({'target met' if mine <= 2 * used else 'target NOT met'}: ≤ 2×)."
        for used, name in raw
    ]
    head = [
        f"### (a) updates per second: {n:,} updates, {LATENCY_MS} ms latency per HTTP request, "
        f"{repeat} rounds (min / median / max)\n",
        table(
            [
                "contender",
                "updates/s",
                "learnkit ÷ contender (paired median)",
                "client CPU per update",
                "round trips",
                "not landed (read back)",
            ],
            rows,
        ),
        f"\nlearnkit (median) ÷ the fastest baseline ({fastest[1]}, median): **{ratio:.2f}×** "
        f"({'target met' if ratio >= 1.0 else 'target NOT met'}: ≥ 1.0×). The latency floor is "
        f"{BATCH} updates per round trip per batch in flight.",
        " ".join(cpu_lines) + "\n",
    ]
    return "\n".join(head)


def part_b(server: Server, client: GraphClient, registration: str, m: int, rate: int, folder: Path) -> str:
    rows = []
    share, lost = 0.0, 0
    for label, name in CONTENDERS[:3]:
        before = pick(client, registration, m)
        edited = targets(before)
        time.sleep(1.1)  # let the limiter's window empty
        server.command(f"rate {rate}")
        try:
            if name == "learnkit":
                outcome = run_learnkit(client, before, edited, folder)
            elif name == "requests":
                outcome = run_requests(server.info, registration, edited)
            else:
                outcome = run_aiohttp(server.info, registration, edited)
        finally:
            server.command("rate none")
        got = landed(client, registration, edited)
        per_second = got / outcome.seconds
        if name == "learnkit":
            share, lost = per_second / rate, m - got
        rows.append(
            [
                label,
                m,
                f"{outcome.seconds:.1f}",
                f"{per_second:.0f} = **{per_second / rate:.0%}**",
                outcome.requests,
                f"{outcome.requests / m:.2f}",
                m - got,
            ]
        )
    return "\n".join(
        [
            f"### (b) under a rate limit of R = {rate} requests/s ({m:,} updates, {LATENCY_MS} ms latency)\n",
            table(
                [
                    "contender",
                    "updates",
                    "seconds",
                    "landed updates/s = fraction of R",
                    "requests spent (each sub-request, each page)",
                    "requests per update",
                    "lost",
                ],
                rows,
            ),
            f"\nlearnkit landed **{share:.0%}** of R with {lost} lost "
            f"({'target met' if share >= 0.9 and lost == 0 else 'target NOT met'}: ≥ 90% of R, nothing lost). "
            "learnkit's requests include the pages it read for its conflict check; the baselines check nothing.\n",
        ]
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rate", type=int, default=100, help="the rate limit R of part (b), requests/s")
    parser.add_argument("--rate-updates", type=int, default=1000)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="learnkit-bench-"))
    out: list[str] = []
    with Server() as server:
        registration = server.demo["registration_id"]
        server.command(f"seed {int(max(args.updates, args.rate_updates) * 3.2)}")
        server.command(f"latency {LATENCY_MS}")
        client = GraphClient.for_sandbox(server.info)
        out.append(part_a(server, client, registration, args.updates, args.repeat, folder))
        if args.rate:
            out.append(part_b(server, client, registration, args.rate_updates, args.rate, folder))
    out.append(f"_{environment()}._\n")
    text = "\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    main()
