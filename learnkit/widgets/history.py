"""``HistoryPanel``: the journal's runs (every save from any view, and the CSV commands), each undoable.

"Undo last save" reverts the workbench's last run; each listed run has its own
Undo. An undo is itself a journaled run, read back into every view.

Example: ``HistoryPanel(bench)``
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pandas as pd

from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded
from learnkit.widgets.table import _fit
from learnkit.widgets.workbench import Workbench

__all__ = ["HistoryPanel"]


class HistoryPanel(widgets.VBox):  # type: ignore[misc]
    """The latest journal runs with an Undo for each, and an "Undo last save" button.

    Example: ``HistoryPanel(bench).undo_last_button.click()``
    """

    def __init__(
        self,
        workbench: Workbench,
        *,
        shown: int = 10,
        runner: Callable[[str, Callable[[], Any], Callable[[Any], None]], object] | None = None,
    ) -> None:
        self.workbench = workbench
        self.shown = shown
        #: How an undo runs: ``runner(task, work, done)``; None runs it at once (an app passes its background runner).
        self.runner = runner
        self.undo_last_button = widgets.Button(description="Undo last save", icon="undo", layout=_fit())
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", layout=_fit())
        self.runs_box = widgets.VBox()
        self.result = widgets.HTML()
        self.undo_last_button.on_click(guarded(lambda _: self.undo(None), self.result))
        self.refresh_button.on_click(guarded(lambda _: self.refresh(), self.result))
        self._handlers = {
            "last_run": guarded(lambda _: self.refresh(), self.result),
            "busy": guarded(lambda _: self._enable(), self.result),
        }
        for name, handler in self._handlers.items():
            workbench.observe(handler, name)
        super().__init__(
            [
                style_sheet(),
                widgets.HTML("<b>History</b> (newest first)"),
                widgets.HBox([self.undo_last_button, self.refresh_button]),
                self.runs_box,
                self.result,
            ]
        )
        self.add_class("lk-history")
        self.refresh()

    def __repr__(self) -> str:
        return f"HistoryPanel(runs={len(self.runs_box.children)})"

    def close(self) -> None:
        """Stop observing the workbench, then close the widget."""
        for name, handler in self._handlers.items():
            self.workbench.unobserve(handler, name)
        super().close()

    def runs(self) -> pd.DataFrame:
        """The runs listed (the journal's newest ``shown``)."""
        runs: pd.DataFrame = self.workbench.history().head(self.shown).reset_index()
        return runs

    def refresh(self) -> None:
        """Read the journal's runs again and list them."""
        rows = []
        for run in self.runs().to_dict("records"):
            run_id = str(run.get("id") or run.get("run_id"))
            label = widgets.HTML(_run_html(run))
            button = widgets.Button(description="Undo", icon="undo", tooltip=f"undo run {run_id}", layout=_fit())
            button.add_class("lk-undo-run")
            button.on_click(guarded(lambda _, rid=run_id: self.undo(rid), self.result))
            button.disabled = run.get("state") != "finished" or self.workbench.busy
            rows.append(widgets.HBox([button, label]))
        self.runs_box.children = rows or [widgets.HTML("<i>nothing saved yet</i>")]
        self._enable()

    def _enable(self) -> None:
        self.undo_last_button.disabled = self.workbench.last_run is None or self.workbench.busy

    def undo(self, run_id: str | None) -> Any:
        """Undo a run (the workbench's last save when None); the views show the values put back.

        With a ``runner``, the undo runs through it (in the background) and this returns None.
        """

        def done(_: Any) -> None:
            self.result.value = self.workbench.message_html()
            self.refresh()

        if self.runner is not None:
            self.runner(f"Undoing run {run_id or self.workbench.last_run}", lambda: self.workbench.undo(run_id), done)
            return None
        result = self.workbench.undo(run_id)
        done(result)
        return result


_OUTCOMES = ("applied", "unchanged", "conflict", "failed", "planned", "sending")


def _run_html(run: dict[Any, Any]) -> str:
    when = str(run.get("created") or "")[:19].replace("T", " ")
    counts = ", ".join(f"{int(run[k])} {k}" for k in _OUTCOMES if k in run and not pd.isna(run[k]) and run[k])
    parts = [
        when,
        str(run.get("kind") or ""),
        counts or "no rows",
        str(run.get("state") or ""),
        str(run.get("source") or ""),
        str(run.get("id") or ""),
    ]
    return f"<span class='lk-run'>{html.escape(' · '.join(p for p in parts if p))}</span>"
