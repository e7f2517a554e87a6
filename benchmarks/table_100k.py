"""How the workbench's activity table behaves with 100,000 rows: build, filter, sort, edit, page.

Run: ``python benchmarks/table_100k.py`` (prints one line per step, median of 5 runs, in ms).
The rows are the sandbox seed's generator's, so the data has the real shape and mix.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from learnkit.bulk.frame import activities_frame
from learnkit.sandbox.seed import REGISTRATION_ID, build_tenant, bulk_activities
from learnkit.widgets import ActivityTable, Workbench

ROWS = 100_000
REPEAT = 5


def timed(step: Callable[[], Any]) -> float:
    """Median milliseconds of ``REPEAT`` runs of ``step``."""
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    tenant = build_tenant()
    learners = sorted({a["learnerUserId"] for a in tenant.activities})
    contents = sorted({a["learningContentId"] for a in tenant.activities if a["learningProviderId"] == REGISTRATION_ID})
    rows = bulk_activities(ROWS, REGISTRATION_ID, learners, contents, start=1)
    frame = activities_frame(rows)
    table = ActivityTable(Workbench(activities=frame, journal=":memory:"))
    ids = list(frame["id"])

    counter = iter(range(10**9))

    def edit() -> None:
        table.set_cell(ids[next(counter) * 7 % ROWS], "completionPercentage", 42)

    results = {
        "json -> frame (activities_frame)": timed(lambda: activities_frame(rows)),
        "build workbench + table from frame": timed(
            lambda: ActivityTable(Workbench(activities=frame, journal=":memory:"))
        ),
        "filter status = completed": timed(lambda: table.set_filter("status", "=", "completed")),
        "filter notes contains 'demo'": timed(lambda: table.set_filter("notes.content", "contains", "demo")),
        "sort by completionPercentage": timed(lambda: table.sort_by("completionPercentage", ascending=False)),
        "valid cell edit (validated)": timed(edit),
        "refused cell edit (150)": timed(lambda: table.set_cell(ids[3], "completionPercentage", 150)),
        "next page": timed(lambda: table.show_page(table.page + 1)),
    }
    print(f"ActivityTable, {ROWS:,} rows, page of {table.page_size}, median of {REPEAT} (ms)")
    for name, ms in results.items():
        print(f"  {name:34} {ms:9.1f}")
    interactive = max(v for k, v in results.items() if not k.startswith(("json", "build")))
    print(f"  slowest interactive step: {interactive:.1f} ms; pending edits: {len(table.pending)}")


if __name__ == "__main__":
    main()
