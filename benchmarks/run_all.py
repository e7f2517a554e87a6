"""Run every benchmark, one after the other, and write their tables to ``benchmarks/RESULTS.md``.

Run: ``python -m benchmarks.run_all`` (about twenty minutes on 2 quiet cores; needs
``pip install -e ".[widgets,sandbox]" --group bench`` for the msgraph-sdk and aiohttp baselines).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import (
    bench_audit,
    bench_csv,
    bench_documented,
    bench_footprint,
    bench_frame,
    bench_names,
    bench_scale,
    bench_sources,
    bench_updates,
)

COMMAND = "python -m benchmarks.run_all"
TARGETS = """Targets, ratios in one run on this machine. Issue 24: (a) with every contender at 8 requests in flight
(learnkit's page reads count among its 8), learnkit with its journal, leases and conflict check >= 1.0x the fastest
client doing the same work (a `requests` `$batch` client that reads the provider's list before it writes what still
holds the value it read; msgraph-sdk doing that work is no contender, see below), at 50 ms and at 200 ms of latency,
and its client CPU per update <= 2x that client's; the same at 16, a sweep of 4/8/16/32 with each contender's best,
and the clients that write without looking (`requests`, `aiohttp`, msgraph-sdk with `asyncio.gather`) beside them
for what the check costs; (b) under R = 100 requests/s, landed updates/s >= 90% of R, nothing lost, the baselines'
resends jittered.
Issue 13: (e) a 100,000-row apply of 38,000
changed rows: Graph requests <= changed + rows/1,000 + a small constant, round trips <= changed/20 + rows/1,000
+ a small constant, journal <= ~300 bytes per row; (d) CSV export and validation within 2x pandas. (c) and (f)
are the frame and footprint figures. Issue 11: (g) resolving 1,000 learner names takes at most 50 requests
(and is timed against one GET per user on 8 threads); (h) auditing 100,000 activities takes no longer than
building their frame; (i) reading 2,000 activities by external id (`learnkit.bulk.sources`) is no slower than a
hand-written `$batch` reader on as many threads (the provider's list, where served, for scale). Issue 18: (i) at
10,000 activities and 50 ms, reading by key at least as fast as that reader; (j) an apply of 2,000 changed rows
without the list at least as fast as a hand-written client that reads each record before writing it, at the same
concurrency (8 and 16), at 50 ms (and, for issue 24, at 200 ms)."""

SDK_NOTES = """### What stood in the way of msgraph-sdk, and what was done

- `msgraph-core` imports `deprecated` without declaring it: `pip install msgraph-sdk` alone gives
  `ModuleNotFoundError: No module named 'deprecated'` at `from msgraph_core.requests...`; the `bench`
  dependency group installs it.
- `BatchRequestItem` puts the absolute URL in each sub-request (microsoftgraph/msgraph-sdk-python#1015,
  open): Graph and the sandbox answer 400 for every sub-request. The benchmark applies the workaround
  from that issue (`item.url = item.url.replace(base_url, "")`); with it, every update lands.
- The SDK's auth provider only attaches tokens for Graph's own hosts: the benchmark passes
  `allowed_hosts=["127.0.0.1"]`, points `GraphRequestAdapter.base_url` at the sandbox and gives
  httpx and azure-identity the sandbox's CA. Otherwise the SDK is used as its docs show, two ways:
  one `BatchRequestContent` of 20 per `client.batch.post(...)`, N posts in flight with `asyncio.gather`
  (the strong usage), and one `BatchRequestContentCollection` (msgraph-core posts its batches one after
  another). Neither resends throttled sub-requests (Microsoft's SDKs leave that to the caller), which is
  why the SDK is not in the rate-limited table.
- `BatchRequestContent(requests={})` has a mutable default: every instance made without an argument shares
  one dict. The benchmark passes a fresh dict to each.
- Reading the provider's list with the SDK's request builder (`$select`, `$top=999`, pages by `$skip`) took
  about 4 ms a record to parse into its models (`Entity.get_field_deserializers` builds its table of every
  entity's fields for each record): 8.5 s for 2,117 records in a trial run, where the provider of (a) holds
  over 6,400 and a whole update of 2,000 takes 1 to 3 s. A checked SDK client is therefore not among the
  contenders of (a).
"""


def main() -> None:
    started = time.monotonic()
    load = os.getloadavg()
    parts = [
        bench_updates.main([]),
        bench_frame.main([]),
        bench_csv.main([]),
        bench_scale.main([]),
        bench_footprint.main([]),
        bench_names.main([]),
        bench_audit.main([]).replace("### Audit", "### (h) Audit", 1),
        bench_sources.main(["--records", "10000", "--repeat", "5"]),
        # Eleven paired rounds: (j)'s two clients are level within a few percent, and five rounds' median of the
        # pairs moved across 1.0 from run to run.
        bench_documented.main(["--repeat", "11"]),
    ]
    after = os.getloadavg()
    minutes = (time.monotonic() - started) / 60
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            "# Benchmarks\n",
            f"Latest run: {stamp}, {minutes:.1f} minutes in all; machine load average (1 min) "
            f"{load[0]:.1f} at the start, {after[0]:.1f} at the end (other work shares its 2 cores). "
            "Command, from the repository root:\n",
            f'    pip install -e ".[widgets,sandbox]" --group bench\n    {COMMAND}\n',
            TARGETS + "\n",
            *parts,
            SDK_NOTES,
        ]
    )
    path = Path(__file__).resolve().parent / "RESULTS.md"
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
