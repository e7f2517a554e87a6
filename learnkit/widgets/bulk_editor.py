"""``BulkEditor``: set one field on the table's selected rows, preview the diff, save them as one run.

The value goes through the workbench's validated edit path on every row, so a value
a row's type refuses is reported for that row and never sent. Apply saves every
pending edit as one journal run (``Workbench.save``), with the engine's concurrency
and a progress bar driven by the engine.

Example::

    editor = BulkEditor(table)
    editor.field.value, editor.value_text.value = "completionPercentage", "100"
    editor.stage_button.click(); editor.apply_button.click()
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from learnkit.frame import ACTIVITY_COLUMNS
from learnkit.models import UPDATE_MODELS
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded
from learnkit.widgets.table import ActivityTable, _choices, _fit, _result_html
from learnkit.widgets.workbench import editable_columns

__all__ = ["BulkEditor"]


def _settable() -> list[str]:
    """Every column some activity type can change, in frame order."""
    allowed = {c for kind in UPDATE_MODELS for c in editable_columns(kind)}
    return [c for c in ACTIVITY_COLUMNS if c in allowed]


class BulkEditor(widgets.VBox):  # type: ignore[misc]
    """Bulk edits over an ``ActivityTable``'s selection: stage, preview the diff, save as one journal run.

    Example: ``BulkEditor(table).stage("status", "completed")``
    """

    def __init__(self, table: ActivityTable) -> None:
        self.table = table
        self.workbench = table.workbench
        self.field = widgets.Dropdown(options=_settable(), description="set", value="status")
        self.value_choice = widgets.Dropdown(options=[], layout=widgets.Layout(width="180px"))
        self.value_text = widgets.Text(placeholder="value (empty: clear)", layout=widgets.Layout(width="180px"))
        # Not squeezed to nothing beside the other controls in a narrow column: the row wraps instead.
        self.value_box = widgets.Box([self.value_choice], layout=widgets.Layout(flex="0 0 auto"))
        self.stage_button = widgets.Button(description="Stage on selected rows", icon="pencil", layout=_fit())
        self.preview = widgets.HTML()
        self.apply_button = widgets.Button(description="Apply", button_style="primary", icon="upload", layout=_fit())
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="")
        self.results = widgets.HTML()
        #: The last apply's result (a ``learnkit.bulk`` result).
        self.last_result: Any = None
        self.field.observe(guarded(lambda _: self._field_changed(), self.preview), "value")
        self.stage_button.on_click(guarded(lambda _: self.stage(self.field.value, self._typed()), self.preview))
        self.apply_button.on_click(guarded(lambda _: self.apply(), self.results))
        self._handlers = {"progress": guarded(lambda _: self._show_progress(), self.results)}
        for name, handler in self._handlers.items():
            self.workbench.observe(handler, name)
        super().__init__(
            [
                style_sheet(),
                widgets.HBox(
                    [self.field, self.value_box, self.stage_button], layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.preview,
                widgets.HBox([self.apply_button, self.progress]),
                self.results,
            ]
        )
        self.add_class("lk-bulk-editor")
        self._field_changed()

    def __repr__(self) -> str:
        return f"BulkEditor(pending={len(self.workbench.pending)})"

    def close(self) -> None:
        """Stop observing the workbench, then close the widget."""
        for name, handler in self._handlers.items():
            self.workbench.unobserve(handler, name)
        super().close()

    def _field_changed(self) -> None:
        column = self.field.value
        choices = next((c for kind in UPDATE_MODELS if (c := _choices(kind, column))), ())
        if choices:
            self.value_choice.options = list(choices)
            self.value_box.children = [self.value_choice]
        else:
            self.value_box.children = [self.value_text]

    def _typed(self) -> Any:
        return self.value_box.children[0].value

    def stage(self, column: str, value: Any) -> dict[str, str]:
        """Set ``column`` to ``value`` on every selected row; returns id -> message for the rows that refused it."""
        ids = self.table.selected_ids()
        refused = self.workbench.edit_many(ids, column, value)
        self._show_preview(len(ids), refused)
        return refused

    def _show_preview(self, selected: int, refused: dict[str, str]) -> None:
        parts = [f"<b>{selected} selected, {len(self.workbench.pending)} rows pending</b>"]
        if refused:
            items = "".join(
                f"<li><code>{html.escape(i)}</code>: {html.escape(m)}</li>" for i, m in list(refused.items())[:20]
            )
            parts.append(f"<div class='lk-refused'>✖ {len(refused)} refused:<ul>{items}</ul></div>")
        diff = self.workbench.pending_frame()
        if not diff.empty:
            parts.append(diff.head(50).to_html(index=False, classes="lk-diff", na_rep=""))
        self.preview.value = "".join(parts)

    def _show_progress(self) -> None:
        done, total = self.workbench.progress
        self.progress.max = max(1, total)
        self.progress.value = done
        self.progress.description = f"{done}/{total}" if total else ""

    def apply(self) -> Any:
        """Save every pending edit as one journal run; shows and returns the result."""
        result = self.workbench.save(source="learnkit.widgets.BulkEditor")
        self.last_result = result
        self.results.value = self.workbench.message_html() + _result_html(result)
        return result
