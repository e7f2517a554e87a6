"""``BulkEditor``: set one field on the table's selected rows, preview the diff, save them as one run.

It says how many rows are selected before anything is staged, and what to do when none are. The value
goes through the workbench's validated edit path on every row, so a value a row's type refuses is
reported for that row and never sent. The preview is every pending edit (from any view: one state),
by learner and course, and empties once they are saved. "Save changes" saves them as one journal run
(``Workbench.save``), with the engine's concurrency and a progress bar driven by the engine.

Example::

    editor = BulkEditor(table)
    editor.field.value, editor.value_text.value = "completionPercentage", "100"
    editor.stage_button.click(); editor.apply_button.click()
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from learnkit.bulk.frame import ACTIVITY_COLUMNS
from learnkit.models import UPDATE_MODELS
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded
from learnkit.widgets.table import ActivityTable, _choices, _fit, pending_html, save_label, show_progress
from learnkit.widgets.words import BULK, plural
from learnkit.widgets.workbench import editable_columns

__all__ = ["BulkEditor"]


def _settable() -> list[str]:
    """Every column some activity type can change, in frame order."""
    allowed = {c for kind in UPDATE_MODELS for c in editable_columns(kind)}
    return [c for c in ACTIVITY_COLUMNS if c in allowed]


class BulkEditor(widgets.VBox):  # type: ignore[misc]
    """Bulk edits over an ``ActivityTable``'s selection: stage, preview the diff, save as one journal run.

    ``messages`` is where the workbench's message shows (an app's one message area); without it, under
    the editor.

    Example: ``BulkEditor(table).stage("status", "completed")``
    """

    def __init__(self, table: ActivityTable, *, messages: widgets.HTML | None = None) -> None:
        self.table = table
        self.workbench = table.workbench
        self.selection = widgets.HTML()
        self.selection.add_class("lk-bulk-selection")
        self.field = widgets.Dropdown(options=_settable(), description="set", value="status")
        self.value_choice = widgets.Dropdown(options=[], layout=widgets.Layout(width="180px"))
        self.value_choice.add_class("lk-bulk-value")
        self.value_text = widgets.Text(placeholder="value (empty: clear)", layout=widgets.Layout(width="180px"))
        # Not squeezed to nothing beside the other controls in a narrow column: the row wraps instead.
        self.value_box = widgets.Box([self.value_choice], layout=widgets.Layout(flex="0 0 auto"))
        self.stage_button = widgets.Button(description="Stage on selected rows", icon="pencil", layout=_fit())
        self.stage_button.add_class("lk-stage")
        self.preview = widgets.HTML()
        self.preview.add_class("lk-bulk-preview")
        self.apply_button = widgets.Button(
            description=save_label(0), button_style="primary", icon="upload", layout=_fit()
        )
        self.apply_button.add_class("lk-save")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="")
        self.progress.layout.visibility = "hidden"
        own_messages = messages is None
        self.results = widgets.HTML() if messages is None else messages
        #: The last apply's result (a ``learnkit.bulk`` result).
        self.last_result: Any = None
        self.field.observe(guarded(lambda _: self._field_changed(), self.results), "value")
        self.stage_button.on_click(guarded(lambda _: self.stage(self.field.value, self._typed()), self.results))
        self.apply_button.on_click(guarded(lambda _: self.apply(), self.results))
        self._handlers = {
            "progress": guarded(lambda _: show_progress(self.progress, self.workbench.progress), self.results),
            "pending": guarded(lambda _: self._show_preview(), self.results),
            "frame": guarded(lambda _: self._show_selection(), self.results),
            "busy": guarded(lambda _: self._show_preview(), self.results),
        }
        if own_messages:
            self._handlers["message"] = guarded(
                lambda _: setattr(self.results, "value", self.workbench.message_html()), self.results
            )
        for name, handler in self._handlers.items():
            self.workbench.observe(handler, name)
        self._on_selection = guarded(lambda _: self._show_selection(), self.results)
        table.grid.observe(self._on_selection, "selections")
        table.select_all.observe(self._on_selection, "value")
        super().__init__(
            [
                style_sheet(),
                self.selection,
                widgets.HBox(
                    [self.field, self.value_box, self.stage_button], layout=widgets.Layout(flex_flow="row wrap")
                ),
                widgets.HTML("<b>Pending changes</b> (from every page; not saved yet)"),
                self.preview,
                widgets.HBox([self.apply_button, self.progress]),
                *([self.results] if own_messages else []),
            ]
        )
        self.add_class("lk-bulk-editor")
        self._field_changed()
        self._show_selection()
        self._show_preview()

    def __repr__(self) -> str:
        return f"BulkEditor(pending={len(self.workbench.pending)})"

    def close(self) -> None:
        """Stop observing the workbench and the table's selection, then close the widget."""
        for name, handler in self._handlers.items():
            self.workbench.unobserve(handler, name)
        self.table.grid.unobserve(self._on_selection, "selections")
        self.table.select_all.unobserve(self._on_selection, "value")
        super().close()

    def _field_changed(self) -> None:
        column = self.field.value
        choices = next((c for kind in UPDATE_MODELS if (c := _choices(kind, column))), ())
        if choices:
            self.value_choice.options = list(choices)
            self.value_choice.value = choices[-1]  # a value is always chosen: new options leave none
            self.value_box.children = [self.value_choice]
        else:
            self.value_box.children = [self.value_text]

    def _typed(self) -> Any:
        return self.value_box.children[0].value

    def _show_selection(self) -> None:
        count = len(self.table.selected_ids())
        if not len(self.workbench.frame):
            said = "<i>No activities yet: load a provider's activities first (pages 1 and 2).</i>"
        elif count:
            said = (
                f"<b>{plural(count, 'row')} selected</b> on the Activities page: choose a field and a value, then "
                "<i>Stage on selected rows</i>; nothing is sent until you save."
            )
        else:
            said = (
                "<b>No rows selected.</b> On the Activities page click a row (Shift+click for a range, Ctrl+click "
                "for more), or filter and tick <i>select every filtered row</i>; then come back here."
            )
        self.selection.value = f"<div class='lk-note'>{said}</div>"
        self.stage_button.disabled = not count
        self.stage_button.description = (
            f"Stage on {plural(count, 'selected row')}" if count else "Stage on selected rows"
        )

    def stage(self, column: str, value: Any) -> dict[str, str]:
        """Set ``column`` to ``value`` on every selected row; returns id -> message for the rows that refused it."""
        ids = self.table.selected_ids()
        if not ids:
            self.workbench.say("select rows on the Activities page first: nothing was staged", "refused")
            return {}
        return self.workbench.edit_many(ids, column, value)

    def _show_preview(self) -> None:
        count = len(self.workbench.pending)
        self.preview.value = pending_html(self.workbench)
        self.apply_button.description = save_label(count)
        self.apply_button.disabled = not count or self.workbench.busy or self.workbench.client is None

    def apply(self) -> Any:
        """Save every pending edit as one journal run; returns the result (the workbench's message says it)."""
        result = self.workbench.save(source=BULK)
        self.last_result = result
        return result
