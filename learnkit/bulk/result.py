"""What a bulk run did: ``BulkResult`` (one row per plan, the journal run, counts), built from the engine's rows.

Example: ``apply(client, plans).summary()`` is ``{'applied': 3, 'unchanged': 1}``
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .engine import Row

__all__ = ["RESULT_COLUMNS", "BulkResult", "collect_results", "summarize"]

#: The columns of the per-row result frame (its index is the plan's row).
RESULT_COLUMNS = ("id", "status", "code", "message", "attempts", "patch", "before")


@dataclass(frozen=True)
class BulkResult:
    """What a bulk run did: one row per plan (``frame``), the journal run, and counts.

    ``frame`` is indexed by the plan's row, with ``RESULT_COLUMNS``: ``status`` is
    ``applied``, ``unchanged``, ``conflict``, ``failed`` (or ``dry-run``), ``patch`` the
    body sent (or that would be), ``before`` the values it replaced (or would replace).
    ``stats`` counts the requests spent: ``requests`` as Graph counts them (each
    sub-request, each page), ``round_trips`` (HTTP requests), ``throttled``.

    >>> r = BulkResult(pd.DataFrame({"status": ["applied", "conflict"]}), None, False)
    >>> r.summary(), r.ok
    ({'applied': 1, 'conflict': 1}, False)
    """

    frame: pd.DataFrame
    journal_id: str | None
    dry_run: bool
    stats: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """How many rows ended in each status, e.g. ``{'applied': 3, 'unchanged': 1}``."""
        counts = self.frame["status"].value_counts()
        return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}

    @property
    def ok(self) -> bool:
        """True when no row failed or conflicted."""
        return not bool(self.frame["status"].isin(["failed", "conflict"]).any())

    def __len__(self) -> int:
        return len(self.frame)

    def changes(self) -> pd.DataFrame:
        """One line per property sent (or that would be): row, id, field, before, after.

        Example: ``print(apply_csv(client, "edits.csv", dry_run=True).changes().to_string())``
        """
        lines: list[tuple[Any, Any, str, Any, Any]] = []
        for row, entry in self.frame.iterrows():
            patch, before = entry.get("patch"), entry.get("before")
            if not isinstance(patch, Mapping):
                continue
            old = before if isinstance(before, Mapping) else {}
            for name, value in patch.items():
                if name == "@odata.type" or (name == "status" and old.get(name, value) == value):
                    continue
                lines.append((row, entry["id"], name, old.get(name), value))
        frame: pd.DataFrame = pd.DataFrame(lines, columns=["row", "id", "field", "before", "after"])
        return frame

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.summary().items()) or "no rows"
        kind = "dry run" if self.dry_run else f"journal {self.journal_id}"
        return f"BulkResult({len(self.frame)} rows: {counts}; {kind})"

    def _repr_html_(self) -> str:
        # JupyterLab's theme variables (with neutral fallbacks), so it reads in light and dark themes.
        counts = ", ".join(f"{html.escape(k)} <b>{v}</b>" for k, v in self.summary().items()) or "no rows"
        kind = (
            "dry run: nothing sent" if self.dry_run else f"journal run <code>{html.escape(str(self.journal_id))}</code>"
        )
        shown = self.frame.head(20)[["id", "status", "code", "message", "attempts"]]
        table = shown.to_html(na_rep="", border=0, escape=True)
        more = f"<p>... and {len(self.frame) - 20} more rows in <code>.frame</code></p>" if len(self.frame) > 20 else ""
        return (
            "<div style='color:var(--jp-content-font-color1, inherit)'>"
            f"<p>{len(self.frame)} rows: {counts}; {kind}</p>{table}{more}</div>"
        )


def summarize(results: BulkResult | pd.DataFrame) -> dict[str, int]:
    """How many rows ended in each status (``BulkResult.summary``; a result frame works too).

    >>> summarize(pd.DataFrame({"status": ["applied", "applied", "conflict"]}))
    {'applied': 2, 'conflict': 1}
    """
    frame = results.frame if isinstance(results, BulkResult) else results
    counts = frame["status"].value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}


def collect_results(
    rows: Sequence[Row], *, journal_id: str | None, dry_run: bool, stats: Mapping[str, int]
) -> BulkResult:
    shown = ("applied", "dry-run")
    frame: pd.DataFrame = pd.DataFrame(
        {
            "id": [r.plan.activity_id for r in rows],
            "status": [r.state for r in rows],
            "code": pd.array([r.code for r in rows], dtype="Int64"),
            "message": [r.message for r in rows],
            "attempts": [r.sends for r in rows],
            "patch": [r.body if r.state in shown else None for r in rows],
            "before": [
                {k: v for k, v in r.before.items() if k != "@odata.type"}
                if r.state in shown and r.before is not None
                else None
                for r in rows
            ],
        },
        index=pd.Index([r.plan.row for r in rows], name="row"),
    )
    return BulkResult(frame, journal_id, dry_run, dict(stats))
