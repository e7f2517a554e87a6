"""Auditing 100,000 activities against building their frame: the target is a ratio of at most 1.

The activities are the demo tenant's generator (``learnkit.sandbox.seed.bulk_activities``),
with a deterministic share made inconsistent the ways the rules look for (about 1 in 50
each: completed below 100 %, 100 % not completed, notStarted with progress, HTML notes
marked text, completed without a date, in the future, a repeated external id, an unknown
zone). Both sides run in this process on the same items, alternately, best of
``--repeat``: "build" is ``activities_frame(items)`` (what ``read_activities`` does after
the pages arrive); "audit" is ``audit(frame, now=...)``: every built-in rule, the findings
with their current and proposed values. Building the fixes' patch plans (``result.plans``,
done on first use: a validation and a fingerprint per fixed record) is timed on its own line.

Run: ``python -m benchmarks.bench_audit [--activities 100000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from benchmarks.common import table, timed
from learnkit.audit import audit
from learnkit.bulk.frame import activities_frame
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.sandbox.seed import CONTENT_ID, LEARNER_ID, REGISTRATION_ID, bulk_activities

NOW = "2025-06-01T00:00:00Z"


def _spoil(items: list[dict[str, Any]], seed: int = 11) -> None:
    """Make about 1 in 50 of the items inconsistent in each way (deterministic)."""
    rng = random.Random(seed)
    for n, item in enumerate(items):
        roll = rng.randrange(50)
        kind = item["@odata.type"]
        if roll == 0 and item["status"] == "completed":
            item["completionPercentage"] = rng.randint(1, 99)
        elif roll == 1 and item["status"] == "inProgress":
            item["completionPercentage"] = 100
            item["completedDateTime"] = "2023-05-01T10:00:00Z"
        elif roll == 2 and kind == ASSIGNMENT_TYPE and item["status"] == "notStarted":
            item["completionPercentage"] = rng.randint(1, 99)
        elif roll == 3 and kind == ASSIGNMENT_TYPE:
            item["notes"] = {"contentType": "text", "content": "<p>Finish <b>part 2</b> first</p>"}
        elif roll == 4 and item["status"] == "completed":
            item["completedDateTime"] = None
        elif roll == 5 and item["status"] == "completed":
            item["completedDateTime"] = "2031-01-01T00:00:00Z"
        elif roll == 6 and n > 0:
            item["externalcourseActivityId"] = items[n - 1]["externalcourseActivityId"]
        elif roll == 7 and kind == ASSIGNMENT_TYPE:
            item["dueDateTime"] = {"dateTime": "2024-05-15T17:00:00.0000000", "timeZone": "pacific standard time"}


def make_items(count: int) -> list[dict[str, Any]]:
    """``count`` activities of one provider, spoiled as ``_spoil`` says."""
    learners = [LEARNER_ID, *(f"{n:08d}-0000-4000-8000-000000000000" for n in range(200))]
    contents = [CONTENT_ID, *(f"{n:08d}-1111-4000-8000-000000000000" for n in range(30))]
    items = bulk_activities(count, REGISTRATION_ID, learners, contents, start=1)
    _spoil(items)
    return items


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    items = make_items(args.activities)
    builds, audits, plannings = [], [], []
    result = None
    for _ in range(args.repeat):
        seconds, frame = timed(lambda: activities_frame(items))
        builds.append(seconds)
        seconds, result = timed(lambda: audit(frame, now=NOW))  # noqa: B023 - called at once
        audits.append(seconds)
        seconds, _ = timed(lambda: result.plans)  # noqa: B023 - called at once
        plannings.append(seconds)
    assert result is not None
    build, check, plan = min(builds), min(audits), min(plannings)
    counts = result.counts()
    rows = [
        ["build the frame: `activities_frame(items)`", f"{args.activities:,}", f"{build:.2f}", "1.00"],
        [
            "audit it: `audit(frame)` (11 rules: findings, current and proposed values)",
            f"{args.activities:,}",
            f"{check:.2f}",
            f"**{check / build:.2f}**",
        ],
        [
            f"then build the {len(result.plans):,} fix plans: `result.plans`",
            f"{result.fixable['id'].nunique():,} fixed",
            f"{plan:.2f}",
            f"{plan / build:.2f}",
        ],
    ]
    found = table(
        ["rule", "findings", "fixes proposed"],
        [[rule, int(row["findings"]), int(row["fixes"])] for rule, row in counts.iterrows()],
    )
    text = "\n".join(
        [
            f"### Audit of {args.activities:,} activities against building their frame (best of {args.repeat})\n",
            table(["step", "activities", "seconds", "ratio to build"], rows),
            f"\n{result.summary()}; {len(result.plans):,} plans ({len(result.unplanned):,} proposals that cannot "
            "be planned).\n",
            found,
            "",
        ]
    )
    print(text)
    return text


if __name__ == "__main__":
    main()
