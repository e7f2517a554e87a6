"""The journal's history: each run's header (``RunInfo``) and the list of runs (``RunHistory`` of ``RunSummary``).

Plain values read from the journal (``Journal.info``, ``Journal.runs``): what "undo last" and "redo" pick
(``RunSummary.in_effect``, ``RunSummary.redoable``), and a table view for a notebook.

Example: ``Journal().runs().last_in_effect()``
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

import pandas as pd

from learnkit.service import Service

__all__ = ["RunHistory", "RunInfo", "RunSummary"]


@dataclass(frozen=True)
class RunInfo:
    """One run: its id, kind (``apply``/``undo``), the run it undoes, state, where it ran (this machine's
    ``host`` and ``pid``) and what it wrote to (``service``, ``providers``)."""

    id: str
    kind: str
    parent: str | None
    graph_url: str | None
    source: str | None
    force: bool
    state: str
    host: str | None
    pid: int | None
    created: str
    finished: str | None
    tenant: str | None = None
    providers: tuple[str, ...] = ()
    #: Provider registration id -> its name, where the run's caller knew it (the app does).
    provider_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def service(self) -> Service:
        """The Graph host and tenant the run wrote to."""
        return Service(self.graph_url or "", self.tenant)


_NO_SERVICE = Service("", None)


@dataclass(frozen=True)
class RunSummary:
    """One line of the history: when, what kind, from where, how many rows, how they ended, and the
    service and providers it wrote to.

    >>> RunSummary("r1", "apply", None, "edits.csv", "finished", "2024-05-01T10:15:00", None, 3,
    ...            {"applied": 2, "conflict": 1}).outcome
    'applied 2, conflict 1'
    """

    id: str
    kind: str
    parent: str | None
    source: str | None
    state: str
    created: str
    finished: str | None
    rows: int
    counts: Mapping[str, int]
    service: Service = _NO_SERVICE
    providers: tuple[str, ...] = ()
    provider_names: Mapping[str, str] = field(default_factory=dict)
    #: The undo run that reverted this run, and the redo run that re-applied this undo (None: not so).
    undone_by: str | None = None
    redone_by: str | None = None

    @property
    def provider_label(self) -> str:
        """Its provider by name where known, else by the start of its id (``+N`` for more).

        >>> RunSummary("r", "apply", None, None, "finished", "", None, 1, {}, providers=("01e8f81b-30",),
        ...            provider_names={"01e8f81b-30": "Contoso"}).provider_label
        'Contoso'
        """
        if not self.providers:
            return "-"
        first = self.providers[0]
        shown = self.provider_names.get(first) or first.split("-")[0]
        return shown + (f" +{len(self.providers) - 1}" if len(self.providers) > 1 else "")

    @property
    def in_effect(self) -> bool:
        """An apply or redo that finished, changed something, and is not undone: what an undo would revert."""
        return (
            self.kind in ("apply", "redo")
            and self.state == "finished"
            and self.counts.get("applied", 0) > 0
            and self.undone_by is None
        )

    @property
    def redoable(self) -> bool:
        """An undo that finished, put something back, and is not redone: what a redo would re-apply."""
        return (
            self.kind == "undo"
            and self.state == "finished"
            and self.counts.get("applied", 0) > 0
            and self.redone_by is None
        )

    @property
    def outcome(self) -> str:
        """The counts in words, e.g. ``applied 2, conflict 1``."""
        return ", ".join(f"{state} {n}" for state, n in sorted(self.counts.items())) or "no rows"


_HISTORY_COLUMNS = ("when", "kind", "source", "rows", "outcome", "state", "parent")


class RunHistory(Sequence[RunSummary]):
    """The journal's runs, newest first: a sequence of ``RunSummary`` with a table view.

    >>> len(RunHistory([]))
    0
    """

    def __init__(self, runs: Sequence[RunSummary]) -> None:
        self._runs = tuple(runs)

    @overload
    def __getitem__(self, index: int) -> RunSummary: ...
    @overload
    def __getitem__(self, index: slice) -> RunHistory: ...
    def __getitem__(self, index: int | slice) -> RunSummary | RunHistory:
        if isinstance(index, slice):
            return RunHistory(self._runs[index])
        return self._runs[index]

    def __len__(self) -> int:
        return len(self._runs)

    def __repr__(self) -> str:
        lines = [f"{r.created[:19]}  {r.kind:5}  {r.id}  {r.rows} rows: {r.outcome}" for r in self._runs[:20]]
        more = [f"... and {len(self) - 20} more"] if len(self) > 20 else []
        return "\n".join([f"RunHistory({len(self)} runs)", *lines, *more])

    def last_in_effect(self) -> RunSummary | None:
        """The newest change not yet undone (``RunSummary.in_effect``): what "undo last" reverts."""
        return next((run for run in self._runs if run.in_effect), None)

    def last_undone(self) -> RunSummary | None:
        """The newest undo not yet redone (``RunSummary.redoable``): what "redo" re-applies."""
        return next((run for run in self._runs if run.redoable), None)

    def to_frame(self) -> pd.DataFrame:
        """One row per run, indexed by id: kind, parent, state, created, finished, source, service, providers,
        undone_by, redone_by, rows and a column per final state with its count."""
        states = sorted({state for r in self._runs for state in r.counts})
        frame: pd.DataFrame = pd.DataFrame(
            {
                "kind": [r.kind for r in self._runs],
                "parent": [r.parent for r in self._runs],
                "state": [r.state for r in self._runs],
                "created": [r.created for r in self._runs],
                "finished": [r.finished for r in self._runs],
                "source": [r.source for r in self._runs],
                "service": [r.service.label for r in self._runs],
                "providers": [", ".join(r.providers) for r in self._runs],
                "provider": [r.provider_label for r in self._runs],
                "undone_by": [r.undone_by for r in self._runs],
                "redone_by": [r.redone_by for r in self._runs],
                "rows": [r.rows for r in self._runs],
                **{state: [int(r.counts.get(state, 0)) for r in self._runs] for state in states},
            },
            index=pd.Index([r.id for r in self._runs], name="id"),
        )
        return frame

    def _repr_html_(self) -> str:
        # Colours come from JupyterLab's theme variables, so the table reads in light and dark themes.
        cell = "padding:2px 8px;text-align:left;border-bottom:1px solid var(--jp-border-color2, #8884)"
        head = "".join(f"<th style='{cell}'>{name}</th>" for name in _HISTORY_COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='{cell}'>{html.escape(str(value))}</td>"
                for value in (
                    r.created[:19].replace("T", " "),
                    r.kind,
                    r.source or "",
                    r.rows,
                    r.outcome,
                    r.state,
                    r.parent or "",
                )
            )
            + "</tr>"
            for r in self._runs[:50]
        )
        more = f"<p>... and {len(self) - 50} more</p>" if len(self) > 50 else ""
        return (
            "<div style='color:var(--jp-content-font-color1, inherit)'>"
            f"<b>{len(self)} journal run(s)</b>, newest first"
            f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"{more}</div>"
        )
