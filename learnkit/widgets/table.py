"""``ActivityTable``: a workbench's activities in an editable grid, with filter, sort, paging and pending edits.

The rows are the workbench's frame (``learnkit.bulk.frame``'s, in the kernel); filtering
and sorting run there and the grid (ipydatagrid) shows one page, so the widget stays
quick with 100,000 rows. A typed cell goes to ``Workbench.edit``: accepted, it is
pending (and listed under the grid); refused, the cell keeps its value and the
field's message shows. "Save changes" saves through the workbench: one journal run.
Clicking a row selects it, which loads it into any form on the same workbench.

ipydatagrid has no in-cell dropdown, so an enum cell is picked from its values in
the cell editor under the grid (click a cell, pick, Set).

Example::

    table = ActivityTable(Workbench(client, registration_id=reg))
    table.set_cell(activity_id, "completionPercentage", 80)
    table.apply()
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import ipywidgets as widgets
import pandas as pd
from ipydatagrid import DataGrid  # type: ignore[import-untyped]

from learnkit.client import GraphClient
from learnkit.errors import InvalidInputError
from learnkit.models import UPDATE_MODELS
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded
from learnkit.widgets.fields import field_specs
from learnkit.widgets.words import TABLE, plural, short_id
from learnkit.widgets.workbench import Workbench, editable_columns, short_type

__all__ = ["ActivityTable"]

_OPERATORS = ("contains", "=", "!=", "<", "<=", ">", ">=", "empty", "not empty")
#: What the grid calls a column when it is not the property's own name.
_SHOWN_AS = {"@odata.type": "type"}
#: A column shown beside learningContentId, not part of the frame: the content's title.
_TITLE = "content title"
#: Columns shown beside a user id, not part of the frame: the user's display name (``Workbench.user_names``).
_NAMES = {"learner": "learnerUserId", "assigner": "assignerUserId"}
#: The columns a person reads first, in this order; the others follow in the frame's order.
_FIRST = (
    "type",
    "status",
    "completionPercentage",
    _TITLE,
    "learner",
    "dueDateTime.dateTime",
    "dueDateTime.timeZone",
    "completedDateTime",
    "startedDateTime",
    "assignedDateTime",
    "notes.content",
    "notes.contentType",
)


class ActivityTable(widgets.VBox):  # type: ignore[misc]
    """A grid over a ``Workbench``: filter, sort, select, edit updatable cells, save the pending edits.

    ``source`` is a ``Workbench``, or (for a quick look) Graph JSON / a ``learnkit.bulk.frame``
    frame, with ``client`` to save. ``messages`` is where the workbench's message shows (an app's one
    message area); without it the table shows it under the grid.

    Example: ``ActivityTable(bench).pending_frame()``
    """

    def __init__(
        self,
        source: Workbench | Iterable[Mapping[str, Any]] | pd.DataFrame,
        *,
        client: GraphClient | None = None,
        page_size: int = 200,
        messages: widgets.HTML | None = None,
    ) -> None:
        self.workbench = source if isinstance(source, Workbench) else Workbench(client, activities=source)
        self.page_size = page_size
        self.page = 0
        self.view_index: pd.Index = self.workbench.frame.index
        self._page_ids: list[str] = []
        self._reverting = False
        # Cells put back after a refusal: the front-end echoes each one back as an edit, which is not one.
        self._echoes: set[tuple[int, str, str]] = set()
        self._filter: tuple[str, str, str] | None = None
        #: A linked view's selection (a chart's bar or range): only these ids, with what was selected.
        self._only: tuple[frozenset[str], str] | None = None
        self._sort: tuple[str, bool] | None = None

        columns = self._columns()
        self.filter_column = widgets.Dropdown(
            options=columns, description="filter", layout=widgets.Layout(width="300px")
        )
        self.filter_op = widgets.Dropdown(options=_OPERATORS, value="=", layout=widgets.Layout(width="110px"))
        self.filter_value = widgets.Text(placeholder="value", layout=widgets.Layout(width="200px"))
        self.filter_button = widgets.Button(description="Filter", icon="filter", layout=_fit())
        self.clear_filter_button = widgets.Button(description="Show all", layout=_fit())
        self.sort_column = widgets.Dropdown(
            options=["(none)", *columns], value="(none)", description="sort", layout=widgets.Layout(width="300px")
        )
        self.sort_ascending = widgets.ToggleButtons(
            options=[("↑", True), ("↓", False)], value=True, style={"button_width": "36px"}
        )
        self.prev_button = widgets.Button(description="◀", layout=widgets.Layout(width="40px"))
        self.next_button = widgets.Button(description="▶", layout=widgets.Layout(width="40px"))
        self.page_label = widgets.HTML()
        self.select_all = widgets.Checkbox(description="select every filtered row", indent=False, value=False)
        first_page = self._page_frame()
        self.grid = DataGrid(
            first_page,
            editable=True,
            selection_mode="row",
            layout=widgets.Layout(height="360px"),
            base_column_size=110,
            index_name="id",
            column_widths=_widths(first_page),
        )
        own_messages = messages is None
        self.message = widgets.HTML() if messages is None else messages
        if own_messages:
            self.message.add_class("lk-table-message")
        self.cell_id = widgets.Text(description="row id", layout=widgets.Layout(width="380px"))
        self.cell_column = widgets.Dropdown(options=[], description="column", layout=widgets.Layout(width="320px"))
        self.cell_choice = widgets.Dropdown(options=[], layout=widgets.Layout(width="200px"))
        self.cell_text = widgets.Text(layout=widgets.Layout(width="200px"))
        self.cell_value = widgets.Box([self.cell_text])
        self.cell_set = widgets.Button(description="Set", icon="check", layout=_fit())
        self.pending_view = widgets.HTML()
        self.apply_button = widgets.Button(description=SAVE, button_style="primary", icon="upload", layout=_fit())
        self.apply_button.add_class("lk-save")
        self.discard_button = widgets.Button(description="Discard pending", icon="trash", layout=_fit())
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="200px"))
        self.progress.layout.visibility = "hidden"

        show = self.message
        self.filter_button.on_click(
            guarded(
                lambda _: self.set_filter(self.filter_column.value, self.filter_op.value, self.filter_value.value), show
            )
        )
        self.clear_filter_button.on_click(guarded(lambda _: self.clear_filter(), show))
        self.sort_column.observe(guarded(lambda _: self._sort_changed(), show), "value")
        self.sort_ascending.observe(guarded(lambda _: self._sort_changed(), show), "value")
        self.prev_button.on_click(guarded(lambda _: self.show_page(self.page - 1), show))
        self.next_button.on_click(guarded(lambda _: self.show_page(self.page + 1), show))
        self.grid.on_cell_change(guarded(self._grid_edited, show))
        self.grid.on_cell_click(guarded(self._grid_clicked, show))
        self.cell_id.observe(guarded(lambda _: self._cell_target_changed(), show), "value")
        self.cell_column.observe(guarded(lambda _: self._cell_target_changed(), show), "value")
        self.cell_set.on_click(guarded(lambda _: self._cell_set_clicked(), show))
        self.apply_button.on_click(guarded(lambda _: self.apply(), show))
        self.discard_button.on_click(guarded(lambda _: self.discard(), show))

        # The workbench's changes, whichever view made them; kept so close() can remove them.
        self._handlers = {
            "frame": guarded(lambda _: self._frame_changed(), show),
            "pending": guarded(lambda _: self._pending_changed(), show),
            "message": guarded(lambda _: self._show_message(), show),
            "progress": guarded(lambda _: self._show_progress(), show),
            "busy": guarded(lambda _: self._render_pending(), show),
            "content_titles": guarded(lambda _: self._names_changed(), show),
            "user_names": guarded(lambda _: self._names_changed(), show),
        }
        for name, handler in self._handlers.items():
            self.workbench.observe(handler, name)

        super().__init__(
            [
                style_sheet(),
                widgets.HBox(
                    [
                        self.filter_column,
                        self.filter_op,
                        self.filter_value,
                        self.filter_button,
                        self.clear_filter_button,
                    ]
                ),
                widgets.HBox(
                    [
                        self.sort_column,
                        self.sort_ascending,
                        self.prev_button,
                        self.page_label,
                        self.next_button,
                        self.select_all,
                    ]
                ),
                self.grid,
                *([self.message] if own_messages else []),
                widgets.HBox([self.cell_id, self.cell_column, self.cell_value, self.cell_set]),
                widgets.HTML("<b>Pending changes</b> (not saved yet)"),
                self.pending_view,
                widgets.HBox([self.apply_button, self.discard_button, self.progress]),
            ]
        )
        self.add_class("lk-activity-table")
        self._render()

    def __repr__(self) -> str:
        return (
            f"ActivityTable(rows={len(self.workbench.frame)}, shown={len(self.view_index)}, "
            f"pending={len(self.workbench.pending)})"
        )

    def close(self) -> None:
        """Stop observing the workbench, then close the widget."""
        for name, handler in self._handlers.items():
            self.workbench.unobserve(handler, name)
        super().close()

    # --- shortcuts to the shared state --------------------------------------

    @property
    def pending(self) -> dict[str, dict[str, Any]]:
        """The workbench's pending edits: id -> {column: value}."""
        return dict(self.workbench.pending)

    @property
    def refused(self) -> list[tuple[str, str, Any, str]]:
        """The workbench's most recent refused edits: (id, column, value, message)."""
        return list(self.workbench.refused)

    def pending_frame(self) -> pd.DataFrame:
        """One row per pending cell: id, column, old, new."""
        return self.workbench.pending_frame()

    # --- view: filter, sort, page -----------------------------------------

    def _columns(self) -> list[str]:
        """What filter and sort offer: the frame's columns, and the name columns once names are known."""
        names = [shown for shown, column in _NAMES.items() if column in self.workbench.frame.columns]
        titles = [_TITLE] if self.workbench.content_titles else []  # a course is found by its title
        return [str(c) for c in self.workbench.frame.columns] + (names if self.workbench.user_names else []) + titles

    def _column(self, frame: pd.DataFrame, column: str) -> pd.Series:
        """A frame column, or for a name column the names of its ids ('' where unknown)."""
        if column == _TITLE:
            titles: dict[str, str] = dict(self.workbench.content_titles)
            named = [titles.get(str(c), "") for c in frame["learningContentId"]]
            return pd.Series(named, index=frame.index, dtype="string")
        if column in _NAMES and column not in frame.columns:
            labels = [n.label if (n := self.workbench.user_name(u)) is not None else "" for u in frame[_NAMES[column]]]
            return pd.Series(labels, index=frame.index, dtype="string")
        return frame[column]

    def _names_changed(self) -> None:
        columns = self._columns()
        if list(self.filter_column.options) != columns:
            chosen, sorted_by = self.filter_column.value, self.sort_column.value
            self.filter_column.options = columns
            self.sort_column.options = ["(none)", *columns]
            # New options reset a dropdown's value: keep what the person had picked.
            self.filter_column.value = chosen if chosen in columns else columns[0]
            self.sort_column.value = sorted_by if sorted_by in columns else "(none)"
        self._render()

    def set_filter(self, column: str, op: str, value: Any = None) -> int:
        """Keep the rows where ``column op value`` holds; returns how many match.

        >>> t = ActivityTable([{"id": "a", "status": "completed"}, {"id": "b", "status": "inProgress"}])
        >>> t.set_filter("status", "=", "completed")
        1
        """
        if column not in self._columns():
            raise InvalidInputError("filter column", "invalid", f"{column!r} is not a column of the table")
        if op not in _OPERATORS:
            raise InvalidInputError("filter operator", "invalid", f"{op!r} is not one of {', '.join(_OPERATORS)}")
        self._filter = (column, op, "" if value is None else str(value))
        self.page = 0
        self._recompute()
        return len(self.view_index)

    def clear_filter(self) -> None:
        """Show every row again."""
        self._filter = None
        self._only = None
        self.page = 0
        self._recompute()

    def show_only(self, activity_ids: Iterable[str] | None, label: str = "") -> int:
        """Keep only these rows, on top of the filter (a linked view's selection); None: all again.

        ``label`` says what was selected, beside the row count. Returns how many rows show.

        >>> t = ActivityTable([{"id": "a", "status": "completed"}, {"id": "b", "status": "inProgress"}])
        >>> t.show_only(["b"], "chart: in progress")
        1
        """
        self._only = None if activity_ids is None else (frozenset(str(i) for i in activity_ids), label)
        self.page = 0
        self._recompute()
        return len(self.view_index)

    def sort_by(self, column: str | None, ascending: bool = True) -> None:
        """Order the rows by ``column`` (None: as read); missing values go last."""
        if column is not None and column not in self._columns():
            raise InvalidInputError("sort column", "invalid", f"{column!r} is not a column of the table")
        self._sort = None if column is None else (column, ascending)
        self.page = 0
        self._recompute()

    def _sort_changed(self) -> None:
        column = None if self.sort_column.value == "(none)" else self.sort_column.value
        self.sort_by(column, self.sort_ascending.value)

    def _mask(self, frame: pd.DataFrame, column: str, op: str, typed: str) -> Any:
        series: Any = self._column(frame, column)
        if op == "empty":
            return series.isna()
        if op == "not empty":
            return series.notna()
        if op == "contains":
            return series.astype("string").str.contains(typed, case=False, regex=False).fillna(False).astype(bool)
        value: Any = typed
        if pd.api.types.is_numeric_dtype(series.dtype):
            try:
                value = float(typed)
            except ValueError:
                raise InvalidInputError(
                    "filter value", "invalid", f"{column} holds numbers; {typed!r} is not one"
                ) from None
        else:
            series = series.astype("string")
        compare = {"=": series.eq, "!=": series.ne, "<": series.lt, "<=": series.le, ">": series.gt, ">=": series.ge}
        return compare[op](value).fillna(op == "!=").astype(bool)

    def _frame_changed(self) -> None:
        # Another provider, or the same read again: a cell target whose record is gone is not left behind.
        frame = self.workbench.frame
        if self.cell_id.value and ("id" not in frame or self.cell_id.value not in set(frame["id"].astype(str))):
            self.cell_id.value = ""
            self.cell_text.value = ""
        self._recompute()

    def _recompute(self) -> None:
        frame = self.workbench.edited_frame()
        index = frame.index
        if self._filter is not None:
            index = index[self._mask(frame, *self._filter).to_numpy()]
        if self._only is not None:
            index = index[frame.loc[index, "id"].astype(str).isin(self._only[0]).to_numpy()]
        if self._sort is not None:
            column, ascending = self._sort
            values = self._column(frame.loc[index], column)
            order = values.sort_values(ascending=ascending, na_position="last", kind="stable")
            index = order.index
        self.view_index = index
        pages = max(1, -(-len(index) // self.page_size))
        self.page = min(self.page, pages - 1)
        self._render()

    def show_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped) of the filtered, sorted rows."""
        pages = max(1, -(-len(self.view_index) // self.page_size))
        self.page = min(max(page, 0), pages - 1)
        self._render()

    def _page_frame(self) -> pd.DataFrame:
        start = self.page * self.page_size
        labels = self.view_index[start : start + self.page_size]
        rows = self.workbench.edited_frame().loc[labels]
        page = rows.astype(object).where(rows.notna(), "")
        for column in rows.columns[[pd.api.types.is_datetime64_any_dtype(t) for t in rows.dtypes]]:
            # Shown and edited as ISO 8601 text: what a person reads, and what the edit path parses.
            page[column] = [t.isoformat() if isinstance(t, pd.Timestamp) else t for t in page[column]]
        page["@odata.type"] = [short_type(str(t)) if t else "" for t in page["@odata.type"]]
        if self.workbench.content_titles:
            titles = self.workbench.content_titles
            where = list(page.columns).index("learningContentId") + 1
            page.insert(where, _TITLE, [titles.get(str(c), "") for c in page["learningContentId"]])
        if self.workbench.user_names:
            for shown, column in _NAMES.items():
                if column in page.columns:
                    where = list(page.columns).index(column)  # the name first: what a person reads
                    found = [self.workbench.user_name(u) for u in page[column]]
                    page.insert(where, shown, [n.label if n is not None else "" for n in found])
        self._page_ids = [str(i) for i in page["id"]]
        ends = [short_id(i) for i in self._page_ids]
        # The end of each id tells the rows apart (the form shows the whole id of the row clicked); the whole
        # ids only where two ends would read the same.
        page["id"] = ends if len(set(ends)) == len(ends) else self._page_ids
        page = page.set_index("id").rename(columns=_SHOWN_AS)
        order = [c for c in _FIRST if c in page.columns] + [c for c in page.columns if c not in _FIRST]
        return cast(pd.DataFrame, page[order])

    def _render(self) -> None:
        if hasattr(self, "grid"):
            page = self._page_frame()
            widths = _widths(page)
            if widths != self.grid.column_widths:
                self.grid.column_widths = widths
            self.grid.data = page
            self.grid.selections = []
            self._echoes.clear()
        pages = max(1, -(-len(self.view_index) // self.page_size))
        only = f" · {html.escape(self._only[1])}" if self._only is not None and self._only[1] else ""
        self.page_label.value = (
            f"&nbsp;page {self.page + 1}/{pages} · {len(self.view_index)} of {len(self.workbench.frame)} rows"
            f"{only}&nbsp;"
        )
        self._render_pending()
        self._cell_target_changed()  # the cell editor under the grid shows the value after a save or undo too

    # --- selection ---------------------------------------------------------

    def selected_ids(self) -> list[str]:
        """The ids of the selected rows (every filtered row when "select every filtered row" is ticked)."""
        if self.select_all.value:
            return [str(i) for i in self.workbench.frame.loc[self.view_index, "id"]]
        rows: list[int] = []
        for rect in self.grid.selections:
            rows.extend(range(rect["r1"], rect["r2"] + 1))
        return [self._page_ids[r] for r in dict.fromkeys(rows) if 0 <= r < len(self._page_ids)]

    def select_rows(self, positions: Sequence[int]) -> None:
        """Select rows of the current page by position (what a click in the grid does); the first loads the form."""
        width = len(self.workbench.frame.columns) - 2
        self.grid.selections = [{"r1": p, "r2": p, "c1": 0, "c2": width} for p in positions]
        if positions and 0 <= positions[0] < len(self._page_ids):
            self.workbench.selected_id = self._page_ids[positions[0]]

    # --- editing -----------------------------------------------------------

    def set_cell(self, activity_id: str, column: str, value: Any) -> str | None:
        """Edit one cell through the workbench: None if accepted (pending), else the field's message."""
        column = {shown: name for name, shown in _SHOWN_AS.items()}.get(column, column)
        if column == _TITLE:
            column = "learningContentId"  # refused as read-only, with the reason, like the id it names
        column = _NAMES.get(column, column)  # a name is display only: refused like the id it stands for
        problem = self.workbench.edit(activity_id, column, value)
        if problem is not None:
            self._show_cell(activity_id, column)
        return problem

    def _show_cell(self, activity_id: str, column: str) -> None:
        if activity_id not in self._page_ids:
            return
        row = self._page_ids.index(activity_id)
        value: Any = self.workbench.edited_frame().at[self.workbench.position(activity_id), column]
        shown = "" if pd.isna(value) else value.isoformat() if isinstance(value, pd.Timestamp) else value
        name = _SHOWN_AS.get(column, column)
        self._echoes.add((row, name, str(shown)))
        self._reverting = True
        try:
            self.grid.set_cell_value_by_index(name, row, shown)
        finally:
            self._reverting = False

    def _grid_edited(self, cell: Mapping[str, Any]) -> None:
        if self._reverting:
            return
        row = int(cell["row"])
        echo = (row, str(cell["column"]), str(cell["value"]))
        if echo in self._echoes:
            self._echoes.discard(echo)
            return
        if 0 <= row < len(self._page_ids):
            self.set_cell(self._page_ids[row], str(cell["column"]), cell["value"])

    def _grid_clicked(self, cell: Mapping[str, Any]) -> None:
        row = cell.get("row")
        if cell.get("region") != "body" or row is None or not 0 <= int(row) < len(self._page_ids):
            return
        activity_id = self._page_ids[int(row)]
        self.workbench.selected_id = activity_id
        self.cell_id.value = activity_id
        if cell.get("column") in self.cell_column.options:
            self.cell_column.value = cell["column"]

    def _cell_target_changed(self) -> None:
        activity_id = self.cell_id.value.strip()
        try:
            kind = self.workbench.row_type(activity_id)
        except InvalidInputError:
            self.cell_column.options = []
            return
        allowed = list(editable_columns(kind))
        if list(self.cell_column.options) != allowed:
            self.cell_column.options = allowed
        column = self.cell_column.value
        if column is None:
            return
        current: Any = self.workbench.edited_frame().at[self.workbench.position(activity_id), column]
        choices = _choices(kind, column)
        if choices:
            self.cell_choice.options = list(choices)
            self.cell_choice.value = current if current in choices else choices[0]
            self.cell_value.children = [self.cell_choice]
        else:
            self.cell_text.value = "" if pd.isna(current) else str(current)
            self.cell_value.children = [self.cell_text]

    def _cell_set_clicked(self) -> None:
        column = self.cell_column.value
        if column is None:
            self.workbench.say("pick a row (click it in the table) and a column first", "refused")
            return
        widget = self.cell_value.children[0]
        self.set_cell(self.cell_id.value.strip(), column, widget.value)

    # --- the workbench changed ----------------------------------------------

    def _pending_changed(self) -> None:
        # A refused edit or a discard leaves cells to put back; a save leaves read-back values: redraw the page.
        self._render()

    def _show_message(self) -> None:
        self.message.value = self.workbench.message_html()

    def _show_progress(self) -> None:
        show_progress(self.progress, self.workbench.progress)

    def _render_pending(self) -> None:
        count = len(self.workbench.pending)
        self.apply_button.description = save_label(count)
        self.apply_button.disabled = not count or self.workbench.client is None or self.workbench.busy
        self.discard_button.disabled = not count or self.workbench.busy
        self.pending_view.value = pending_html(self.workbench)

    # --- saving ------------------------------------------------------------

    def discard(self) -> None:
        """Forget every pending edit: the service's values show again."""
        self.workbench.discard()

    def apply(self) -> Any:
        """Save every pending edit as one journal run (``Workbench.save``); its outcome is the workbench's message."""
        return self.workbench.save(source=TABLE)


#: The save action's one name, on every surface (the table, the bulk editor, the app, the form).
SAVE = "Save changes"


def save_label(rows: int) -> str:
    """The save button's text: its one name, and how many rows it saves.

    >>> save_label(0), save_label(3)
    ('Save changes', 'Save changes (3 rows)')
    """
    return f"{SAVE} ({plural(rows, 'row')})" if rows else SAVE


def show_progress(bar: widgets.IntProgress, progress: tuple[int, int]) -> None:
    """Show a run's ``(done, total)`` on ``bar`` while it runs; hidden when no run is going (total 0)."""
    done, total = progress
    bar.max = max(1, total)
    bar.value = done
    bar.description = f"{done}/{total}" if total else ""
    bar.layout.visibility = "visible" if total else "hidden"


def pending_html(bench: Workbench, limit: int = 50) -> str:
    """The pending edits as a person reads them: each activity by learner and course, the field, now → pending."""
    frame = bench.pending_frame()
    if frame.empty:
        return "<i class='lk-empty'>No pending changes: edit a cell, the form or use Bulk edit.</i>"
    rows = "".join(
        f"<tr><td>{bench.describe_html(str(row.id))}</td><td><code>{html.escape(str(row.column))}</code></td>"
        f"<td>{_shown(row.old)}</td><td>→ <b>{_shown(row.new)}</b></td></tr>"
        for row in frame.head(limit).itertuples()
    )
    more = len(frame) - limit
    tail = f"<tr><td colspan='4'><i>and {more} more</i></td></tr>" if more > 0 else ""
    head = "<tr><th>activity (learner · course · id)</th><th>field</th><th>now</th><th>pending</th></tr>"
    return f"<table class='lk-pending'>{head}{rows}{tail}</table>"


def _shown(value: Any) -> str:
    return "<i>empty</i>" if value is None else html.escape(str(value))


def _choices(kind: str, column: str) -> tuple[str, ...]:
    name, _, part = column.partition(".")
    spec = {s.name: s for s in field_specs(UPDATE_MODELS[kind])}.get(name)
    if spec is None:
        return ()
    if (spec.kind == "choice" and not part) or (spec.kind == "body" and part == "contentType"):
        return spec.choices
    return ()


def _fit() -> widgets.Layout:
    """A button as wide as its label (ipywidgets' default cuts longer labels), not squeezed in a row."""
    return widgets.Layout(width="auto", flex="0 0 auto")


def _widths(page: pd.DataFrame) -> dict[str, int]:
    """Column widths that show each header whole, ids as shown (their end), and other values whole up to a cap."""

    def text(values: Iterable[Any], cap: int) -> int:
        # ipydatagrid draws 12px sans-serif: about 6.5 px a character, plus the cell's padding.
        return min(cap, int(6.5 * max((len(str(v)) for v in values), default=0)) + 16)

    widths = {str(c): max(90, 8 * len(str(c)) + 24, text(page[c], 320)) for c in page.columns}
    widths["id"] = max(90, text(page.index, 1000))
    return widths
