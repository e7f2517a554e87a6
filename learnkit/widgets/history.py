"""``HistoryPanel``: the journal's runs on the workbench's service (every save from any view, and the CSV
commands), each undoable.

"Undo last save" reverts the newest change not yet undone, so a second click steps further
back; "Redo" re-applies the newest undo not yet redone. Each listed change has its own Undo,
each undo its own Redo, and a run that was undone or redone says so. An undo or a redo is
itself a journaled run, read back into every view.

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
from learnkit.widgets.words import id_html, plural, source_words
from learnkit.widgets.workbench import Workbench

__all__ = ["HistoryPanel"]


#: What the runs list says before a client is set.
_NOT_CONNECTED = "Not connected: connect on page 1 to see this service's saves."


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
        messages: widgets.HTML | None = None,
    ) -> None:
        self.workbench = workbench
        self.shown = shown
        #: How an undo runs: ``runner(task, work, done)``; None runs it at once (an app passes its background runner).
        self.runner = runner
        self.undo_last_button = widgets.Button(description="Undo last save", icon="undo", layout=_fit())
        self.redo_button = widgets.Button(description="Redo", icon="repeat", layout=_fit())
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", layout=_fit())
        self.runs_box = widgets.VBox()
        self.runs_box.add_class("lk-runs")
        self._rows: list[widgets.HBox] = []  # every row made so far, shown or not (see _show_run)
        self._shown_runs: list[tuple[str, str]] = []  # (run id, kind) of each row
        self._note = widgets.HTML()
        own_messages = messages is None
        #: Where the workbench's message shows (an app's one message area, else under the list).
        self.result = widgets.HTML() if messages is None else messages
        self.undo_last_button.on_click(guarded(lambda _: self.undo(None), self.result))
        self.redo_button.on_click(guarded(lambda _: self.redo(None), self.result))
        self.refresh_button.on_click(guarded(lambda _: self.refresh(), self.result))
        self._handlers = {
            "last_run": guarded(lambda _: self.refresh(), self.result),
            "client": guarded(lambda _: self._connection_changed(), self.result),
            "busy": guarded(lambda _: self._enable(), self.result),
        }
        if own_messages:
            self._handlers["message"] = guarded(
                lambda _: setattr(self.result, "value", self.workbench.message_html()), self.result
            )
        for name, handler in self._handlers.items():
            workbench.observe(handler, name)
        super().__init__(
            [
                style_sheet(),
                widgets.HTML(
                    "<b>History</b> (newest first): every save, from this app and from the command line. "
                    "<i>Undo</i> puts back the values a save replaced; an undo is itself listed, with its Redo."
                ),
                widgets.HBox([self.undo_last_button, self.redo_button, self.refresh_button]),
                self.runs_box,
                *([self.result] if own_messages else []),
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
        """The runs listed (the newest ``shown`` of the workbench's service)."""
        if self.workbench.client is None:
            nothing: pd.DataFrame = pd.DataFrame()
            return nothing
        runs: pd.DataFrame = self.workbench.history().head(self.shown).reset_index()
        return runs

    def refresh(self) -> None:
        """Read the journal's runs again and list them."""
        runs = self.runs().to_dict("records")
        for i, run in enumerate(runs):
            self._show_run(i, run)
        if runs:
            self.runs_box.children = self._rows[: len(runs)]
        else:
            self._say(
                "Nothing saved yet: a save from the Activities, Bulk edit or Audit page shows here."
                if self.workbench.client is not None
                else _NOT_CONNECTED
            )
        self._enable()

    def _show_run(self, i: int, run: dict[Any, Any]) -> None:
        """Row ``i`` of the list shows ``run``. Rows are made once and then changed in place: a widget let go is
        closed when Python collects it, and a page still drawing the list (Voila runs every cell at once, so
        the next cell's undo refreshes it) would then meet a model that is gone."""
        while len(self._rows) <= i:
            at = len(self._rows)
            button = widgets.Button(layout=_fit())
            button.on_click(guarded(lambda _, at=at: self._act(at), self.result))
            self._rows.append(widgets.HBox([button, widgets.HTML()]))
            self._shown_runs.append(("", ""))
        button, label = self._rows[i].children
        run_id, kind = str(run.get("id") or run.get("run_id")), str(run.get("kind"))
        self._shown_runs[i] = (run_id, kind)
        label.value = _run_html(run)
        redo = kind == "undo"
        button.description, button.icon = ("Redo", "repeat") if redo else ("Undo", "undo")
        button.tooltip = f"{'redo' if redo else 'undo'} run {run_id}"
        button.remove_class("lk-undo-run" if redo else "lk-redo-run")
        button.add_class("lk-redo-run" if redo else "lk-undo-run")
        button.disabled = run.get("state") != "finished" or self.workbench.busy

    def _act(self, i: int) -> Any:
        run_id, kind = self._shown_runs[i]
        return self.redo(run_id) if kind == "undo" else self.undo(run_id)

    def _say(self, text: str) -> None:
        """The list's one line instead of runs (one widget, changed in place, as the rows are)."""
        self._note.value = f"<i class='lk-empty'>{text}</i>"
        self.runs_box.children = [self._note]

    def _connection_changed(self) -> None:
        # Listing this service's runs needs its tenant, so a sign-in: not at connect time (a tenant's first
        # token waits for the first read), but when the page is opened or Refresh pressed.
        text = (
            "Connected: this service's saves are listed when you open this page or press Refresh."
            if self.workbench.client is not None
            else _NOT_CONNECTED
        )
        self._say(text)
        self.undo_last_button.disabled = self.redo_button.disabled = True  # until the runs are read

    def _enable(self) -> None:
        bench = self.workbench
        runs = None if bench.busy or bench.client is None else bench.runs()
        self.undo_last_button.disabled = runs is None or runs.last_in_effect() is None
        self.redo_button.disabled = runs is None or runs.last_undone() is None

    def undo(self, run_id: str | None) -> Any:
        """Undo a run (the newest change not yet undone when None); the views show the values put back.

        With a ``runner``, the undo runs through it (in the background) and this returns None.
        """
        return self._revert("Undoing", lambda: self.workbench.undo(run_id), run_id)

    def redo(self, run_id: str | None) -> Any:
        """Redo an undo run (the newest undo not yet redone when None); the views show the values re-applied."""
        return self._revert("Redoing", lambda: self.workbench.redo(run_id), run_id)

    def _revert(self, verb: str, work: Callable[[], Any], run_id: str | None) -> Any:
        def done(_: Any) -> None:
            self.result.value = self.workbench.message_html()
            self.refresh()

        if self.runner is not None:
            self.runner(f"{verb} run {run_id}" if run_id else f"{verb} the last change", work, done)
            return None
        result = work()
        done(result)
        return result


_OUTCOMES = ("applied", "unchanged", "conflict", "failed", "planned", "sending")


#: A run's kind as a person says it.
_KINDS = {"apply": "save", "undo": "undo", "redo": "redo", "resume": "resumed save"}


def _run_html(run: dict[Any, Any]) -> str:
    """One run in words: when, what (from where), how many rows ended how, the provider; ids shortened.

    >>> "from the table" in _run_html({"created": "2026-01-02T03:04:05+00:00", "kind": "apply", "applied": 2,
    ...                                "state": "finished", "source": "learnkit.widgets.ActivityTable", "id": "r1"})
    True
    """
    when = html.escape(str(run.get("created") or "")[:16].replace("T", " "))
    kind = html.escape(_KINDS.get(str(run.get("kind")), str(run.get("kind") or "")))
    source = source_words(run.get("source"))
    counts = ", ".join(
        f"{plural(int(run[k]), 'row')} {k}" if i == 0 else f"{int(run[k])} {k}"
        for i, k in enumerate(k for k in _OUTCOMES if k in run and not pd.isna(run[k]) and run[k])
    )
    reverted = [
        f"{word} by run {id_html(run[key])}"
        for key, word in (("undone_by", "undone"), ("redone_by", "redone"))
        if isinstance(run.get(key), str)
    ]
    state = str(run.get("state") or "")
    parts = [
        f"<b>{when}</b>",
        f"{kind} from the {html.escape(source)}" if source and not source.startswith(("undo", "redo")) else kind,
        html.escape(counts or "no rows"),
        "" if state == "finished" else f"<i>{html.escape(state)}</i>",
        html.escape(str(run.get("provider") or "")),
        *reverted,
        f"run {id_html(run.get('id') or '')}",
    ]
    return f"<span class='lk-run'>{' · '.join(p for p in parts if p)}</span>"
