"""``BulkEditor``: set fields on the table's selected rows, preview the diff, apply with a progress bar.

The values are set through the table's own validated edit path, so a value a
row's type refuses is reported per row and never sent. Apply sends each row's
minimal PATCH and shows a per-row result table.

Example::

    bulk = BulkEditor(table)
    bulk.field.value, bulk.value_text.value = "completionPercentage", "100"
    bulk.preview_button.click(); bulk.apply_button.click()
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import pandas as pd

from learnkit import bulk
from learnkit.journal import Journal
from learnkit.widgets._flat import column_specs
from learnkit.widgets._safe import guarded
from learnkit.widgets.table import ActivityTable

__all__ = ["BulkEditor"]


class BulkEditor(widgets.VBox):  # type: ignore[misc]
    """Bulk edits over an ``ActivityTable``'s selection: stage, preview the diff, apply with progress.

    Sending goes through ``learnkit.bulk.apply``: ``$batch``, per-row retries, the journal (undo, resume).

    Example: ``BulkEditor(table).stage("status", "completed")``
    """

    def __init__(self, table: ActivityTable, *, journal: Journal | str | None = None) -> None:
        self.table = table
        #: Where bulk runs are journaled (None: learnkit's default journal, or LEARNKIT_JOURNAL).
        self.journal = journal
        #: The journal run ids of the last apply, for ``learnkit.bulk.undo``.
        self.journal_ids: list[str] = []
        self.field = widgets.Dropdown(options=sorted(column_specs()), description="set", value="status")
        self.value_choice = widgets.Dropdown(options=[])
        self.value_text = widgets.Text(placeholder="value (empty: clear)")
        self.value_box = widgets.Box([self.value_choice])
        self.stage_button = widgets.Button(description="Stage on selected rows", icon="pencil")
        self.preview = widgets.HTML()
        self.apply_button = widgets.Button(description="Apply", button_style="primary", icon="upload")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="0/0")
        self.results = widgets.HTML()
        #: The last apply's per-row outcomes (id, status, ok, error, advice).
        self.last_results: pd.DataFrame | None = None
        self.field.observe(guarded(lambda _: self._field_changed(), self.preview), "value")
        self.stage_button.on_click(guarded(lambda _: self.stage(self.field.value, self._typed()), self.preview))
        self.apply_button.on_click(guarded(lambda _: self.apply(), self.results))
        super().__init__(
            [
                widgets.HBox([self.field, self.value_box, self.stage_button]),
                self.preview,
                widgets.HBox([self.apply_button, self.progress]),
                self.results,
            ]
        )
        self.add_class("lk-bulk-editor")
        self._field_changed()

    def __repr__(self) -> str:
        return f"BulkEditor(pending={len(self.table.pending)})"

    def _field_changed(self) -> None:
        spec, part = column_specs()[self.field.value]
        choices = spec.choices if (spec.kind == "choice" and part is None) or part == "contentType" else ()
        if choices:
            self.value_choice.options = list(choices)
            self.value_box.children = [self.value_choice]
        else:
            self.value_box.children = [self.value_text]

    def _typed(self) -> Any:
        return self.value_box.children[0].value

    def stage(self, column: str, value: Any) -> dict[str, str]:
        """Set ``column`` to ``value`` on every selected row; returns id -> message for the refused rows."""
        ids = self.table.selected_ids()
        refused = {}
        for activity_id in ids:
            problem = self.table.set_cell(activity_id, column, value)
            if problem is not None:
                refused[activity_id] = problem
        self._show_preview(len(ids), refused)
        return refused

    def _show_preview(self, selected: int, refused: dict[str, str]) -> None:
        plans = self.table.plans()
        parts = [f"<b>{selected} selected, {len(plans)} rows to PATCH</b>"]
        if refused:
            items = "".join(
                f"<li><code>{html.escape(i)}</code>: {html.escape(m)}</li>" for i, m in list(refused.items())[:20]
            )
            parts.append(f"<div class='lk-refused' style='color:#b00020'>{len(refused)} refused:<ul>{items}</ul></div>")
        diff = self.table.pending_frame()
        if not diff.empty:
            parts.append(diff.head(50).to_html(index=False, classes="lk-diff", na_rep=""))
        self.preview.value = "".join(parts)

    def apply(self) -> pd.DataFrame:
        """Send every pending row through ``learnkit.bulk.apply`` (journaled), advancing the bar; shows the results.

        All the plans are one journal run, the bar driven by the engine's progress callback;
        ``journal_ids`` names that run (for ``learnkit.bulk.undo``).
        """
        table = self.table
        if table.client is None or table.registration_id is None:
            raise ValueError("the table has no client or registration_id: it cannot send")
        plans = table.patch_plans()
        self.progress.max = max(1, len(plans))
        self.progress.value = 0
        self.progress.description = f"0/{len(plans)}"
        book = self.journal if isinstance(self.journal, Journal) else Journal(self.journal)

        def advance(done: int, total: int) -> None:
            self.progress.value = done
            self.progress.description = f"{done}/{total}"

        # One journal run for the whole action, whatever its size (one undo puts it all back).
        outcome = bulk.apply(table.client, plans, journal=book, progress=advance, source="learnkit.widgets.BulkEditor")
        self.journal_ids = [str(outcome.journal_id)]
        for activity_id in outcome.frame.loc[outcome.frame["status"].isin(["applied", "unchanged"]), "id"]:
            table._accept(str(activity_id))
        columns = ["id", "status", "code", "message", "attempts"]
        results: pd.DataFrame = outcome.frame[columns]
        self.last_results = results
        counts = results["status"].value_counts().to_dict() if len(results) else {}
        summary = ", ".join(f"{n} {state}" for state, n in counts.items()) or "nothing to send"
        self.results.value = f"<b>{html.escape(summary)}</b>" + results.to_html(
            index=False, classes="lk-results", na_rep=""
        )
        table._render_pending()
        return results
