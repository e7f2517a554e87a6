"""CSV files at the speed of pandas: learnkit's export and validation vs ``DataFrame.to_csv`` / ``pandas.read_csv``.

For 1,000, 10,000 and 100,000 generated activities (two thirds assignments, one third
self-initiated, every column filled as Graph fills it), in one run and best of
``--repeat``:

* **export**: ``learnkit.bulk.csvfile.write_csv`` of the activity frame (ISO text, formula
  escaping, the etag of every row) against ``DataFrame.to_csv`` of the same frame;
* **validate, untouched**: ``learnkit.bulk.csvfile.plan_csv`` of the exported file (typed,
  every row's fingerprint checked: no plan) against ``pandas.read_csv`` of it;
* **validate, 38 % edited**: the same file with ``completionPercentage`` changed on
  38 % of the rows (every cell of every edited row validated), against ``pandas.read_csv``;
  ``plan_csv`` makes the ``PatchPlan`` objects on first use (``PlanList``), so a second
  row also times ``list(plan_csv(f).plans)``: what ``bulk.apply`` pays before its first request;
* **memory**: the peak Python allocation of that validation (``tracemalloc``), per row.

Nothing here touches the network. Run: ``python -m benchmarks.bench_csv [--sizes 1000 10000 100000]``
"""

from __future__ import annotations

import argparse
import io
import random
import tracemalloc
from collections.abc import Callable
from typing import Any

import pandas as pd

from benchmarks.common import environment, table, timed
from learnkit.bulk.csvfile import plan_csv, write_csv
from learnkit.bulk.frame import activities_frame
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE

EDITED_SHARE = 0.38


def activities(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Activities as Graph returns them: instants with seven fractional digits, Windows and IANA zones, notes."""
    rng = random.Random(seed)
    provider = "01e8f81b-3060-4dec-acf0-0389665a0a38"
    items: list[dict[str, Any]] = []
    for i in range(count):
        assignment = i % 3 != 0
        stamp = (
            f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
        )
        item: dict[str, Any] = {
            "@odata.type": ASSIGNMENT_TYPE if assignment else SELF_INITIATED_TYPE,
            "id": f"{rng.getrandbits(128):032x}",
            "learningProviderId": provider,
            "learnerUserId": f"{rng.getrandbits(64):016x}",
            "learningContentId": f"content-{i % 700}",
            "externalcourseActivityId": f"ext-{i}",
            "status": rng.choice(
                ["notStarted", "inProgress", "completed"] if assignment else ["inProgress", "completed"]
            ),
            "completionPercentage": rng.randint(0, 100),
            "completedDateTime": f"{stamp}:{rng.randint(0, 59):02d}.{rng.randint(0, 9_999_999):07d}Z"
            if rng.random() < 0.5
            else None,
        }
        if assignment:
            item |= {
                "assignedDateTime": f"2022-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T09:00:00Z",
                "assignmentType": "required",
                "assignerUserId": f"{rng.getrandbits(64):016x}",
                "dueDateTime": {
                    "dateTime": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T17:00:00.0000000",
                    "timeZone": rng.choice(["UTC", "Pacific Standard Time", "Europe/Paris", "W. Europe Standard Time"]),
                },
                "notes": {"contentType": "text", "content": f"Week {i % 52}: review, then sign off"},
            }
        else:
            item["startedDateTime"] = f"2021-05-{rng.randint(1, 28):02d}T22:57:17+00:00"
        items.append(item)
    return items


def edited(text: str, share: float, seed: int = 2) -> str:
    """The export with ``completionPercentage`` changed on ``share`` of the rows, written as a spreadsheet would."""
    rng = random.Random(seed)
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    rows = rng.sample(range(len(raw)), int(len(raw) * share))
    raw.loc[rows, "completionPercentage"] = [str((int(v) + 1) % 101) for v in raw.loc[rows, "completionPercentage"]]
    return raw.to_csv(index=False)


def best(call: Callable[[], object], repeat: int) -> float:
    return min(timed(call)[0] for _ in range(repeat))


def peak_bytes(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(count: int, repeat: int) -> list[list[str]]:
    frame = activities_frame(activities(count))
    buffer = io.StringIO()
    write_csv(frame, buffer)
    text = buffer.getvalue()
    changed = edited(text, EDITED_SHARE)
    untouched = plan_csv(io.StringIO(text))
    planned = plan_csv(io.StringIO(changed))
    assert not untouched.plans and untouched.unchanged == count, untouched.summary()
    assert len(planned.plans) == int(count * EDITED_SHARE), planned.summary()
    to_csv = best(lambda: frame.to_csv(io.StringIO(), index=False), repeat)
    export = best(lambda: write_csv(frame, io.StringIO()), repeat)
    read_plain = best(lambda: pd.read_csv(io.StringIO(text)), repeat)
    read_ours = best(lambda: plan_csv(io.StringIO(text)), repeat)
    read_plain_edited = best(lambda: pd.read_csv(io.StringIO(changed)), repeat)
    read_ours_edited = best(lambda: plan_csv(io.StringIO(changed)), repeat)
    made_ours_edited = best(lambda: list(plan_csv(io.StringIO(changed)).plans), repeat)
    memory = peak_bytes(lambda: list(plan_csv(io.StringIO(changed)).plans))
    return [
        [
            f"{count:,}",
            "export: `write_csv` vs `DataFrame.to_csv`",
            f"{export:.3f}",
            f"{to_csv:.3f}",
            f"**{export / to_csv:.2f}**",
            "",
        ],
        [
            f"{count:,}",
            "validate untouched: `plan_csv` vs `pd.read_csv`",
            f"{read_ours:.3f}",
            f"{read_plain:.3f}",
            f"**{read_ours / read_plain:.2f}**",
            f"{untouched.unchanged:,} skipped",
        ],
        [
            f"{count:,}",
            f"validate {EDITED_SHARE:.0%} edited: `plan_csv` vs `pd.read_csv`",
            f"{read_ours_edited:.3f}",
            f"{read_plain_edited:.3f}",
            f"**{read_ours_edited / read_plain_edited:.2f}**",
            f"{len(planned.plans):,} planned; peak {memory / count:,.0f} B/row",
        ],
        [
            f"{count:,}",
            f"validate {EDITED_SHARE:.0%} edited and make the plans: `list(plan_csv(f).plans)` vs `pd.read_csv`",
            f"{made_ours_edited:.3f}",
            f"{read_plain_edited:.3f}",
            f"**{made_ours_edited / read_plain_edited:.2f}**",
            f"{len(planned.plans):,} `PatchPlan` objects",
        ],
    ]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = [row for count in args.sizes for row in measure(count, args.repeat)]
    text = "\n".join(
        [
            f"### (d) CSV export and validation vs pandas (best of {args.repeat}; target: ratio <= 2)\n",
            table(["rows", "what", "learnkit s", "pandas s", "ratio", "notes"], rows),
            f"\n_{environment().split(';')[0]}._\n",
        ]
    )
    print(text)
    return text


if __name__ == "__main__":
    main()
