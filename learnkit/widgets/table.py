"""``ActivityTable``: many activities in an editable grid, with filter, sort, selection and pending changes.

The data lives in a pandas DataFrame in the kernel (one row per activity, flat
columns such as ``dueDateTime.dateTime``); filtering and sorting run there,
and the grid (ipydatagrid) shows one page of the result, so the widget stays
quick with 100,000 rows. Only the updatable columns of each row's type take an
edit, and every edit is validated against the update model at once: a refused
edit is put back, and marked with its field's message. Accepted edits wait in
``pending`` until ``apply()`` (or the button) sends one minimal PATCH per row.

ipydatagrid has no in-cell dropdown, so an enum cell is picked from its
values in the cell editor under the grid (click a cell, pick, Set); typing a
value into the grid works too and is checked the same way.

Example::

    table = ActivityTable(client.list_provider_activities_json(reg), client=client, registration_id=reg)
    table.set_cell(activity_id, "completionPercentage", 80)
    table.apply()
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import ipywidgets as widgets
import pandas as pd
from ipydatagrid import DataGrid  # type: ignore[import-untyped]

from learnkit.client import GraphClient
from learnkit.errors import InvalidInputError, LearnkitError
from learnkit.models import normalize_odata_type
from learnkit.plans import PatchPlan, activity_etag
from learnkit.update import UpdateResult, minimal_patch, update_activity
from learnkit.widgets._common import ui_client
from learnkit.widgets._flat import column_specs, editable_columns, unflatten_changes
from learnkit.widgets._safe import guarded
from learnkit.widgets.explain import explain_error

__all__ = ["ActivityTable", "activities_frame"]

#: Columns shown first, when present; any other column follows.
_FIRST = (
    "@odata.type", "learnerUserId", "learningContentId", "status", "completionPercentage", "completedDateTime",
    "assignedDateTime", "startedDateTime", "dueDateTime.dateTime", "dueDateTime.timeZone", "notes.content",
    "notes.contentType", "assignmentType", "externalcourseActivityId",
)
_OPERATORS = ("contains", "=", "!=", "<", "<=", ">", ">=", "empty", "not empty")


def activities_frame(activities: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Graph's activity JSON as a frame indexed by id, nested properties flattened with dots.

    >>> activities_frame([{"id": "a", "status": "completed", "notes": {"content": "x"}}]).loc["a", "notes.content"]
    'x'
    """
    frame = pd.json_normalize([dict(a) for a in activities], sep=".")
    if "externalCourseActivityId" in frame.columns:
        frame = frame.rename(columns={"externalCourseActivityId": "externalcourseActivityId"})
    frame = frame.set_index("id")
    if "completionPercentage" in frame.columns:
        frame["completionPercentage"] = frame["completionPercentage"].astype("Int64")
    order = [c for c in _FIRST if c in frame.columns] + [c for c in frame.columns if c not in _FIRST]
    return cast(pd.DataFrame, frame[order])


def _row_json(activity_id: str, row: Mapping[Any, Any]) -> dict[str, Any]:
    """One frame row back as Graph's nested JSON (an all-empty nested property reads as null)."""
    flat: dict[str, Any] = {str(k): (None if _missing(v) else v) for k, v in row.items()}
    parts = {k: v for k, v in flat.items() if k in column_specs() and column_specs()[k][1] is not None}
    nested = {k: v for k, v in flat.items() if k not in parts}
    nested.update(unflatten_changes(parts))
    for name, value in list(nested.items()):
        if isinstance(value, dict) and all(v is None for v in value.values()):
            nested[name] = None
    nested["id"] = activity_id
    return nested


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, dict, str)) and bool(pd.isna(value)))


class ActivityTable(widgets.VBox):  # type: ignore[misc]
    """A grid of activities: filter, sort, select, edit updatable cells, review and send the pending changes.

    ``activities`` is Graph's JSON (a list of dicts) or a frame from
    ``activities_frame``. ``client`` and ``registration_id`` are needed only to send.

    Example: ``ActivityTable(activities).pending_frame()``
    """

    def __init__(
        self,
        activities: Iterable[Mapping[str, Any]] | pd.DataFrame,
        *,
        client: GraphClient | None = None,
        registration_id: str | None = None,
        page_size: int = 200,
        max_wait: float = 10.0,
    ) -> None:
        self._originals: dict[str, dict[str, Any]] = {}
        if isinstance(activities, pd.DataFrame):
            frame = activities.copy()
        else:
            activities = list(activities)
            frame = activities_frame(activities)
            self._originals = {str(a["id"]): dict(a) for a in activities}
        self.base = frame
        self.edited = frame.copy()
        self.client = ui_client(client, max_wait) if client is not None else None
        self.registration_id = registration_id
        self.page_size = page_size
        self.page = 0
        #: id -> {column: new value} for every accepted, unsent edit.
        self.pending: dict[str, dict[str, Any]] = {}
        #: (id, column, value typed, message) for every refused edit, oldest first.
        self.refused: list[tuple[str, str, Any, str]] = []
        self.view_index: pd.Index = frame.index
        self._page_ids: list[str] = []
        self._reverting = False
        self._listeners: list[Callable[[ActivityTable], None]] = []

        columns = list(frame.columns)
        self.filter_column = widgets.Dropdown(
            options=columns, description="filter", layout=widgets.Layout(width="280px")
        )
        self.filter_op = widgets.Dropdown(options=_OPERATORS, value="=", layout=widgets.Layout(width="110px"))
        self.filter_value = widgets.Text(placeholder="value", layout=widgets.Layout(width="200px"))
        self.filter_button = widgets.Button(description="Filter", icon="filter")
        self.clear_filter_button = widgets.Button(description="Show all")
        self.sort_column = widgets.Dropdown(
            options=["(none)", *columns], value="(none)", description="sort", layout=widgets.Layout(width="280px")
        )
        self.sort_ascending = widgets.ToggleButtons(options=[("↑", True), ("↓", False)], value=True,
                                                    style={"button_width": "36px"})
        self.prev_button = widgets.Button(description="◀", layout=widgets.Layout(width="40px"))
        self.next_button = widgets.Button(description="▶", layout=widgets.Layout(width="40px"))
        self.page_label = widgets.HTML()
        self.select_all = widgets.Checkbox(description="select every filtered row", indent=False, value=False)
        self.grid = DataGrid(
            self._page_frame(),
            editable=True,
            selection_mode="row",
            layout=widgets.Layout(height="360px"),
            base_column_size=120,
            index_name="id",
        )
        self.message = widgets.HTML()
        self.message.add_class("lk-table-message")
        # The cell editor: picks enum values from their list (ipydatagrid has no in-cell dropdown).
        self.cell_id = widgets.Text(description="row id", layout=widgets.Layout(width="360px"))
        self.cell_column = widgets.Dropdown(options=[], description="column", layout=widgets.Layout(width="300px"))
        self.cell_choice = widgets.Dropdown(options=[], layout=widgets.Layout(width="200px"))
        self.cell_text = widgets.Text(layout=widgets.Layout(width="200px"))
        self.cell_value = widgets.Box([self.cell_text])
        self.cell_set = widgets.Button(description="Set", icon="check")
        self.pending_view = widgets.HTML()
        self.apply_button = widgets.Button(description="PATCH pending", button_style="primary", icon="upload")
        self.discard_button = widgets.Button(description="Discard pending", icon="trash")
        self.result = widgets.HTML()

        show = self.message
        self.filter_button.on_click(guarded(lambda _: self.set_filter(
            self.filter_column.value, self.filter_op.value, self.filter_value.value), show))
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
        self.apply_button.on_click(guarded(lambda _: self.apply(), self.result))
        self.discard_button.on_click(guarded(lambda _: self.discard(), show))

        self._filter: tuple[str, str, str] | None = None
        self._sort: tuple[str, bool] | None = None
        super().__init__([
            widgets.HBox([self.filter_column, self.filter_op, self.filter_value, self.filter_button,
                          self.clear_filter_button]),
            widgets.HBox([self.sort_column, self.sort_ascending, self.prev_button, self.page_label,
                          self.next_button, self.select_all]),
            self.grid,
            self.message,
            widgets.HBox([self.cell_id, self.cell_column, self.cell_value, self.cell_set]),
            widgets.HTML("<b>Pending changes</b>"),
            self.pending_view,
            widgets.HBox([self.apply_button, self.discard_button]),
            self.result,
        ])
        self.add_class("lk-activity-table")
        self._render()

    def __repr__(self) -> str:
        return f"ActivityTable(rows={len(self.base)}, shown={len(self.view_index)}, pending={len(self.pending)})"

    # --- view: filter, sort, page -----------------------------------------

    def set_filter(self, column: str, op: str, value: Any = None) -> int:
        """Keep the rows where ``column op value`` holds; returns how many match.

        >>> t = ActivityTable([{"id": "a", "status": "completed"}, {"id": "b", "status": "inProgress"}])
        >>> t.set_filter("status", "=", "completed")
        1
        """
        if column not in self.edited.columns:
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
        self.page = 0
        self._recompute()

    def sort_by(self, column: str | None, ascending: bool = True) -> None:
        """Order the rows by ``column`` (None: original order); missing values go last."""
        if column is not None and column not in self.edited.columns:
            raise InvalidInputError("sort column", "invalid", f"{column!r} is not a column of the table")
        self._sort = None if column is None else (column, ascending)
        self.page = 0
        self._recompute()

    def _sort_changed(self) -> None:
        column = None if self.sort_column.value == "(none)" else self.sort_column.value
        self.sort_by(column, self.sort_ascending.value)

    def _mask(self, column: str, op: str, typed: str) -> Any:
        series: Any = self.edited[column]
        if op == "empty":
            return series.isna()
        if op == "not empty":
            return series.notna()
        if op == "contains":
            return series.astype("string").str.contains(typed, case=False, regex=False).fillna(False).astype(bool)
        numeric = pd.api.types.is_numeric_dtype(series.dtype)
        value: Any = typed
        if numeric:
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

    def _recompute(self) -> None:
        index = self.edited.index
        if self._filter is not None:
            index = index[self._mask(*self._filter).to_numpy()]
        if self._sort is not None:
            column, ascending = self._sort
            order = self.edited.loc[index, column].sort_values(ascending=ascending, na_position="last", kind="stable")
            index = order.index
        self.view_index = index
        self._render()

    def show_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped) of the filtered, sorted rows."""
        pages = max(1, -(-len(self.view_index) // self.page_size))
        self.page = min(max(page, 0), pages - 1)
        self._render()

    def _page_frame(self) -> pd.DataFrame:
        start = self.page * self.page_size
        ids = self.view_index[start:start + self.page_size]
        self._page_ids = [str(i) for i in ids]
        # Object columns: the grid edits every cell as text, and our check (not a dtype) decides what is valid.
        page = self.edited.loc[ids].astype(object)
        page = page.where(page.notna(), "")
        page.index.name = "id"
        return cast(pd.DataFrame, page)

    def _render(self) -> None:
        if hasattr(self, "grid"):
            self.grid.data = self._page_frame()
            self.grid.selections = []
        pages = max(1, -(-len(self.view_index) // self.page_size))
        self.page_label.value = (
            f"&nbsp;page {self.page + 1}/{pages} · {len(self.view_index)} of {len(self.base)} rows&nbsp;"
        )
        self._render_pending()

    # --- selection ---------------------------------------------------------

    def selected_ids(self) -> list[str]:
        """The ids of the selected rows (every filtered row when "select every filtered row" is ticked)."""
        if self.select_all.value:
            return [str(i) for i in self.view_index]
        rows: list[int] = []
        for rect in self.grid.selections:
            rows.extend(range(rect["r1"], rect["r2"] + 1))
        return [self._page_ids[r] for r in dict.fromkeys(rows) if 0 <= r < len(self._page_ids)]

    def select_rows(self, positions: Sequence[int]) -> None:
        """Select rows of the current page by position (what a click in the grid does)."""
        self.grid.selections = [{"r1": p, "r2": p, "c1": 0, "c2": len(self.edited.columns) - 1} for p in positions]

    # --- editing -----------------------------------------------------------

    def row_type(self, activity_id: str) -> str:
        """The row's ``@odata.type`` in its metadata form."""
        return normalize_odata_type(self.base.at[activity_id, "@odata.type"])

    def original(self, activity_id: str) -> dict[str, Any]:
        """The activity as Graph last gave it (or as last saved from here), as nested JSON."""
        if activity_id not in self._originals:
            self._originals[activity_id] = _row_json(activity_id, self.base.loc[activity_id].to_dict())
        return self._originals[activity_id]

    def set_cell(self, activity_id: str, column: str, value: Any) -> str | None:
        """Edit one cell: validated at once; returns None if accepted, else the message (and marks it refused)."""
        problem = self._check(activity_id, column, value)
        if problem is not None:
            self.refused.append((activity_id, column, value, problem))
            self.message.value = (
                f"<div class='lk-refused' style='color:#b00020'>✖ refused: row <code>{html.escape(activity_id)}"
                f"</code>, <b>{html.escape(column)}</b>: {html.escape(problem)}</div>"
            )
            self._show_cell(activity_id, column)
            return problem
        value = self._convert(column, value)
        changes = self.pending.setdefault(activity_id, {})
        original = self.base.at[activity_id, column] if column in self.base.columns else None
        if _same(original, value):
            changes.pop(column, None)
            if not changes:
                self.pending.pop(activity_id)
        else:
            changes[column] = value
        self.edited.at[activity_id, column] = pd.NA if value is None and column == "completionPercentage" else value
        self._show_cell(activity_id, column)
        self.message.value = (
            f"<div class='lk-accepted'>✔ row <code>{html.escape(activity_id)}</code>, <b>{html.escape(column)}</b> "
            f"= {html.escape(repr(value))} (pending)</div>"
        )
        self._render_pending()
        return None

    def _convert(self, column: str, value: Any) -> Any:
        spec, part = column_specs()[column]
        if _missing(value) or (isinstance(value, str) and not value.strip()):
            return None
        if spec.kind == "integer" and part is None:
            if isinstance(value, str):
                return int(value.strip())
            if isinstance(value, float) and value.is_integer():
                return int(value)
        return value.strip() if isinstance(value, str) else value

    def _check(self, activity_id: str, column: str, value: Any) -> str | None:
        if activity_id not in self.base.index:
            return f"no row has id {activity_id!r}"
        kind = self.row_type(activity_id)
        if column not in editable_columns(kind):
            return f"{column} can't be changed on a {kind.removeprefix('#microsoft.graph.')}: it is read-only"
        try:
            converted = self._convert(column, value)
        except ValueError:
            return f"{value!r} is not a whole number"
        original = self.original(activity_id)
        changes = {**self.pending.get(activity_id, {}), column: converted}
        try:
            minimal_patch(original, unflatten_changes(changes, original))
        except InvalidInputError as exc:
            field = column.split(".", 1)[0]
            detail = next((d for f, _, d in exc.problems if f == field), exc.problems[0][2])
            return detail
        return None

    def _show_cell(self, activity_id: str, column: str) -> None:
        if activity_id in self._page_ids:
            row = self._page_ids.index(activity_id)
            self._reverting = True
            try:
                value = self.edited.at[activity_id, column]
                self.grid.set_cell_value_by_index(column, row, "" if _missing(value) else value)
            finally:
                self._reverting = False

    def _grid_edited(self, cell: Mapping[str, Any]) -> None:
        if self._reverting:
            return
        row = int(cell["row"])
        if not 0 <= row < len(self._page_ids):
            return
        self.set_cell(self._page_ids[row], str(cell["column"]), cell["value"])

    def _grid_clicked(self, cell: Mapping[str, Any]) -> None:
        row = cell.get("row")
        if cell.get("region") != "body" or row is None or not 0 <= int(row) < len(self._page_ids):
            return
        self.cell_id.value = self._page_ids[int(row)]
        if cell.get("column") in self.cell_column.options:
            self.cell_column.value = cell["column"]

    def _cell_target_changed(self) -> None:
        activity_id = self.cell_id.value.strip()
        if activity_id not in self.base.index:
            self.cell_column.options = []
            return
        allowed = sorted(editable_columns(self.row_type(activity_id)))
        if list(self.cell_column.options) != allowed:
            self.cell_column.options = allowed
        column = self.cell_column.value
        if column is None:
            return
        current = self.edited.at[activity_id, column] if column in self.edited.columns else None
        choices = self._choices(activity_id, column)
        if choices:
            self.cell_choice.options = list(choices)
            self.cell_choice.value = current if current in choices else choices[0]
            self.cell_value.children = [self.cell_choice]
        else:
            self.cell_text.value = "" if _missing(current) else str(current)
            self.cell_value.children = [self.cell_text]

    def _choices(self, activity_id: str, column: str) -> tuple[str, ...]:
        from learnkit.models import UPDATE_MODELS
        from learnkit.widgets.fields import field_specs

        spec, part = column_specs()[column]
        own = {s.name: s for s in field_specs(UPDATE_MODELS[self.row_type(activity_id)])}.get(spec.name, spec)
        if own.kind == "choice" and part is None:
            return own.choices
        if own.kind == "body" and part == "contentType":
            return own.choices
        return ()

    def _cell_set_clicked(self) -> None:
        column = self.cell_column.value
        if column is None:
            self.message.value = "<div class='lk-refused'>Pick a row id and a column first.</div>"
            return
        widget = self.cell_value.children[0]
        self.set_cell(self.cell_id.value.strip(), column, widget.value)

    # --- pending changes and sending ---------------------------------------

    def pending_frame(self) -> pd.DataFrame:
        """One row per changed cell: id, column, old value, new value."""
        rows = [
            (activity_id, column, self._old(activity_id, column), new)
            for activity_id, changes in self.pending.items()
            for column, new in changes.items()
        ]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=pd.Index(["id", "column", "old", "new"]))
        return frame

    def _old(self, activity_id: str, column: str) -> Any:
        value = self.base.at[activity_id, column] if column in self.base.columns else None
        return None if _missing(value) else value

    def plans(self) -> list[tuple[str, dict[str, Any]]]:
        """(id, minimal PATCH body) for every row with pending changes that still differ from Graph."""
        out = []
        for activity_id, changes in self.pending.items():
            original = self.original(activity_id)
            body = minimal_patch(original, unflatten_changes(changes, original))
            if body is not None:
                out.append((activity_id, body))
        return out

    def patch_plans(self) -> list[PatchPlan]:
        """The pending changes as ``learnkit.frame.PatchPlan``s (for ``learnkit.bulk.apply``).

        Each plan is based on the row as Graph gave it (its etag), so a record changed
        elsewhere since is reported as a conflict rather than overwritten.
        """
        if self.registration_id is None:
            raise InvalidInputError("registration_id", "required", "the table needs registration_id= to make plans")
        out = []
        for row, (activity_id, _body) in enumerate(self.plans()):
            original = self.original(activity_id)
            changes = unflatten_changes(self.pending[activity_id], original)
            out.append(PatchPlan(row, self.registration_id, activity_id, self.row_type(activity_id), changes,
                                 base_etag=activity_etag(original)))
        return out

    def _render_pending(self) -> None:
        frame = self.pending_frame()
        self.apply_button.description = f"PATCH pending ({len(self.pending)} rows)"
        self.apply_button.disabled = not self.pending or self.client is None
        self.pending_view.value = (
            "<i>no pending changes</i>" if frame.empty else frame.to_html(index=False, classes="lk-pending", na_rep="")
        )

    def discard(self) -> None:
        """Forget every pending change and show Graph's values again."""
        self.pending.clear()
        self.edited = self.base.copy()
        self._recompute()

    def on_applied(self, callback: Callable[[ActivityTable], None]) -> None:
        """Call ``callback(table)`` after each apply."""
        self._listeners.append(callback)

    def apply(self) -> pd.DataFrame:
        """Send each pending row's minimal PATCH; returns (and shows) one result row per activity."""
        if self.client is None or self.registration_id is None:
            raise InvalidInputError("client", "required", "pass client= and registration_id= to send")
        records = []
        for activity_id, body in self.plans():
            try:
                result: UpdateResult | None = update_activity(self.client, self.registration_id, activity_id, body)
            except LearnkitError as exc:
                records.append({"id": activity_id, "status": getattr(exc, "status", None), "ok": False,
                                "error": getattr(exc, "message", str(exc)), "advice": getattr(exc, "advice", "")})
                continue
            assert result is not None
            self._accept(activity_id)
            records.append({"id": activity_id, "status": result.status, "ok": True, "error": "", "advice": ""})
        results: pd.DataFrame = pd.DataFrame(records, columns=pd.Index(["id", "status", "ok", "error", "advice"]))
        self.result.value = _results_html(results)
        self._render_pending()
        for listener in self._listeners:
            listener(self)
        return results

    def _accept(self, activity_id: str) -> None:
        """A row was saved: its pending values become the originals."""
        changes = self.pending.pop(activity_id, {})
        for column, value in changes.items():
            self.base.at[activity_id, column] = pd.NA if value is None and column == "completionPercentage" else value
        original = self.original(activity_id)
        original.update(unflatten_changes(changes, original))


def _same(a: Any, b: Any) -> bool:
    if _missing(a) and _missing(b):
        return True
    if _missing(a) or _missing(b):
        return False
    return bool(a == b)


def _results_html(results: pd.DataFrame) -> str:
    if results.empty:
        return "<i>nothing to send</i>"
    ok = int(results["ok"].sum())
    head = f"<b>{ok} saved, {len(results) - ok} failed</b>"
    return head + results.to_html(index=False, classes="lk-results", na_rep="")


def explain_first_error(exc: LearnkitError) -> str:
    """Kept for symmetry with the form: an error explained."""
    return explain_error(exc)
