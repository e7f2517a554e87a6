"""``ProviderCharts``: a provider's records at a glance, each chart a filter of the activity table.

Four bqplot charts over a table's workbench frame: status by content (stacked bars),
completion distribution (bars of ten points, 100 on its own), overdue assignments by
due month, and findings by rule (``learnkit.audit``). Clicking a bar (status, findings)
or brushing a range (completion, due month) keeps only those rows in the table
(``ActivityTable.show_only``); "Show all rows" or an empty selection brings every row
back. They redraw when the workbench's frame changes (a save, an undo, a reload).

Why bqplot: it is a widget library, so a selection is a synced trait (``Bars.selected``,
``BrushIntervalSelector.selected``) that the kernel observes, exactly as a test sets it;
its front end ships in the wheel as a JupyterLab extension (also used by Notebook 7 and
Voila), so nothing is loaded from a CDN; and it is installed already (ipydatagrid needs
it). A notebook output is a widget view (a model id), which nbval compares as such.

Example::

    bench = Workbench(client, registration_id=reg)
    table = ActivityTable(bench)
    charts = ProviderCharts(table)           # display(charts, table)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import bqplot  # type: ignore[import-untyped]
import ipywidgets as widgets
import numpy as np
import pandas as pd

from learnkit.audit import SEVERITIES, AuditResult, audit
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded
from learnkit.widgets.table import ActivityTable

__all__ = ["COMPLETION_BINS", "STATUS_ORDER", "ProviderCharts"]

#: Statuses in the order they stack; any other value a service returns stacks after them.
STATUS_ORDER = ("notStarted", "inProgress", "completed")
_STATUS_COLOURS = {"notStarted": "#9e9e9e", "inProgress": "#1f77b4", "completed": "#2ca02c"}
_OTHER_COLOUR = "#d62728"
#: The findings chart colours a bar by its rule's severity (red, amber, grey read on both themes).
_SEVERITY_COLOURS = {"error": "#d32f2f", "warning": "#f0a30a", "info": "#8c8c8c"}
#: The completion bars: (label, lowest, highest) percentages, both included; 100 stands alone.
COMPLETION_BINS: tuple[tuple[str, int, int], ...] = (
    *((f"{low}–{low + 9}", low, low + 9) for low in range(0, 100, 10)),
    ("100", 100, 100),
)
_FIGURE = {"height": "260px", "width": "480px"}
#: Learners named under a selection, the ones with most rows first; the rest are counted.
_LEARNERS_SHOWN = 8


def _figure(mark: Any, x: Any, y: Any, title: str, x_label: str, **options: Any) -> Any:
    """A figure of one bar mark; ``horizontal=True`` puts the categories down the left, with room for names."""
    horizontal = options.pop("horizontal", False)
    axes = [
        bqplot.Axis(scale=x, label="" if horizontal else x_label, side="left" if horizontal else "bottom",
                    tick_values=options.pop("tick_values", None)),
        bqplot.Axis(scale=y, side="bottom" if horizontal else "left", label="activities", tick_format="d"),
    ]  # fmt: skip
    margin = {"top": 40, "bottom": 45, "left": 190 if horizontal else 55, "right": 15}
    return bqplot.Figure(
        marks=[mark], axes=axes, title=title, layout=widgets.Layout(**_FIGURE), fig_margin=margin, **options
    )


def _legend(names: Sequence[str], colours: Mapping[str, str] | None = None) -> str:
    """The status (or severity) colours, as HTML under the chart (bqplot's own legend would cover bars)."""
    colours = _STATUS_COLOURS if colours is None else colours
    items = "".join(
        f"<span style='display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;"
        f"background:{colours.get(n, _OTHER_COLOUR)}'></span>{_escape(n)}"
        for n in names
    )
    return f"<div class='lk-chart-legend'>{items}</div>"


class ProviderCharts(widgets.VBox):  # type: ignore[misc]
    """Status by content, completion, overdue by due month and findings by rule, linked to an ``ActivityTable``.

    ``now`` and ``audit_options`` (``rules``, ``disable``, ``extra``) go to ``learnkit.audit.audit``;
    ``findings`` is its latest result.

    Example: ``ProviderCharts(table, now="2025-01-01T00:00:00Z").status_bars.selected = [0]``
    """

    def __init__(
        self,
        table: ActivityTable,
        *,
        now: datetime | str | None = None,
        audit_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.workbench = table.workbench
        self.now = now
        self.audit_options = dict(audit_options or {})
        self.findings: AuditResult | None = None
        self._quiet = False
        self._contents: list[str] = []
        self._months: list[pd.Timestamp] = []
        self._rules: list[str] = []
        self._overdue = pd.DataFrame()

        x, y = bqplot.OrdinalScale(), bqplot.LinearScale(min=0)
        self.status_bars = bqplot.Bars(
            x=[], y=[], scales={"x": x, "y": y}, type="stacked", orientation="horizontal",
            labels=list(STATUS_ORDER), interactions={"click": "select"},
            selected_style={"stroke": "black", "stroke-width": 2}, unselected_style={"opacity": 0.45},
            tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["content", "activities"]),
        )  # fmt: skip
        self.status_figure = _figure(self.status_bars, x, y, "Status by content (click)", "content", horizontal=True)
        self.status_legend = widgets.HTML(_legend(STATUS_ORDER))

        x, y = bqplot.LinearScale(min=-5, max=105), bqplot.LinearScale(min=0)
        self.completion_bars = bqplot.Bars(
            x=[], y=[], scales={"x": x, "y": y}, colors=["#1f77b4"], padding=0.15,
            tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["completion %", "activities"]),
        )  # fmt: skip
        self.completion_brush = bqplot.interacts.BrushIntervalSelector(scale=x, marks=[self.completion_bars])
        self.completion_figure = _figure(
            self.completion_bars, x, y, "Completion (brush a range)", "completionPercentage",
            interaction=self.completion_brush, tick_values=np.arange(0, 101, 10),
        )  # fmt: skip

        x, y = bqplot.DateScale(), bqplot.LinearScale(min=0)
        self.overdue_bars = bqplot.Bars(
            x=np.array([], dtype="datetime64[ms]"), y=[], scales={"x": x, "y": y}, colors=["#ff7f0e"],
            tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["due month", "overdue"], formats=["%Y-%m", ""]),
        )  # fmt: skip
        self.overdue_brush = bqplot.interacts.BrushIntervalSelector(scale=x, marks=[self.overdue_bars])
        self.overdue_figure = _figure(
            self.overdue_bars, x, y, "Overdue assignments by due month (brush)", "due month",
            interaction=self.overdue_brush,
        )  # fmt: skip

        x, y = bqplot.OrdinalScale(), bqplot.LinearScale(min=0)
        # One colour per severity and each bar's count beside it: 13 errors stay readable beside 196 notes.
        self.findings_bars = bqplot.Bars(
            x=[], y=[], scales={"x": x, "y": y}, colors=["#9467bd"], color_mode="no_group",
            label_display=True, label_display_format="d", interactions={"click": "select"},
            orientation="horizontal",
            selected_style={"stroke": "black", "stroke-width": 2}, unselected_style={"opacity": 0.45},
            tooltip=bqplot.Tooltip(fields=["x", "y"], labels=["rule", "findings"]),
        )  # fmt: skip
        self.findings_figure = _figure(
            self.findings_bars, x, y, "Findings by rule, errors first (click)", "rule", horizontal=True
        )
        self.findings_legend = widgets.HTML(_legend(SEVERITIES, _SEVERITY_COLOURS))

        self.selection = widgets.HTML()
        self.selection.add_class("lk-chart-selection")
        #: Who the selected rows belong to, by name where the token may read users.
        self.learners = widgets.HTML()
        self.learners.add_class("lk-chart-learners")
        self._selected_ids: Sequence[str] | None = None
        self.show_all_button = widgets.Button(description="Show all rows", icon="times", layout={"width": "auto"})
        self.message = widgets.HTML()

        show = self.message
        self.status_bars.observe(guarded(lambda _: self._selected("status"), show), "selected")
        self.findings_bars.observe(guarded(lambda _: self._selected("findings"), show), "selected")
        self.completion_brush.observe(guarded(lambda _: self._selected("completion"), show), "selected")
        self.overdue_brush.observe(guarded(lambda _: self._selected("overdue"), show), "selected")
        self.show_all_button.on_click(guarded(lambda _: self.show_all(), show))
        self._on_frame = guarded(lambda _: self.refresh(), show)
        self.workbench.observe(self._on_frame, "frame")
        self.workbench.observe(self._on_frame, "content_titles")
        self._on_names = guarded(lambda _: self._show_learners(), show)
        self.workbench.observe(self._on_names, "user_names")

        super().__init__(
            [
                style_sheet(),
                widgets.HBox([widgets.VBox([self.status_figure, self.status_legend]), self.completion_figure]),
                widgets.HBox([self.overdue_figure, widgets.VBox([self.findings_figure, self.findings_legend])]),
                widgets.HBox([self.show_all_button, self.selection]),
                self.learners,
                self.message,
            ]
        )
        self.add_class("lk-provider-charts")
        self.refresh()

    def __repr__(self) -> str:
        shown = len(self.table.view_index)
        return (
            f"ProviderCharts(rows={len(self.workbench.frame)}, table shows {shown}, selection={self.selection_text!r})"
        )

    def close(self) -> None:
        """Stop observing the workbench, then close the widget."""
        self.workbench.unobserve(self._on_frame, "frame")
        self.workbench.unobserve(self._on_frame, "content_titles")
        self.workbench.unobserve(self._on_names, "user_names")
        super().close()

    @property
    def selection_text(self) -> str:
        """What the table is narrowed to, in words ('' when it shows every row)."""
        return str(self.selection.value and self.selection.value.replace("<b>", "").replace("</b>", ""))

    # --- data ------------------------------------------------------------------------------

    def _content_label(self, content_id: str) -> str:
        title = self.workbench.content_titles.get(content_id)
        return f"{title} ({content_id[:8]})" if title else content_id[:8]

    def _content_labels(self, contents: Sequence[str]) -> list[str]:
        """Short labels, unless two would read the same (an ordinal axis would merge their bars): then the ids."""
        short = [self._content_label(c) for c in contents]
        return short if len(set(short)) == len(short) else list(contents)

    def refresh(self) -> None:
        """Redraw every chart from the workbench's frame (and audit it again); any selection is cleared."""
        frame = self.workbench.frame
        self.findings = audit(frame, now=self.now, **self.audit_options)
        self._quiet = True
        try:
            with self.status_bars.hold_sync():
                self._draw_status(frame)
            self._draw_completion(frame)
            self._draw_overdue(frame, self.findings)
            self._draw_findings(self.findings)
            for bars in (self.status_bars, self.findings_bars):
                bars.selected = None
            for brush in (self.completion_brush, self.overdue_brush):
                brush.selected = None
        finally:
            self._quiet = False
        self._narrow(None, "")

    def _draw_status(self, frame: pd.DataFrame) -> None:
        counts = (
            frame.assign(content=frame["learningContentId"].fillna("(none)").astype(str),
                         status=frame["status"].fillna("(none)").astype(str))
            .groupby(["content", "status"]).size().unstack(fill_value=0)
        )  # fmt: skip
        statuses = [s for s in STATUS_ORDER if s in counts.columns] + sorted(
            s for s in counts.columns if s not in STATUS_ORDER
        )
        counts = counts.reindex(columns=statuses)
        self._contents = [str(c) for c in counts.index]
        labels = self._content_labels(self._contents)
        self.status_bars.labels = statuses
        self.status_legend.value = _legend(statuses)
        self.status_bars.colors = [_STATUS_COLOURS.get(s, _OTHER_COLOUR) for s in statuses]
        self.status_bars.x = labels
        self.status_bars.y = counts.T.to_numpy(dtype=float) if len(counts) else np.zeros((0, 0))
        # bqplot sizes a stacked scale by the largest part, not the largest stack: give it the stack's top.
        self.status_bars.scales["y"].max = float(counts.sum(axis=1).max()) * 1.05 if len(counts) else None

    def _draw_completion(self, frame: pd.DataFrame) -> None:
        percentage = pd.to_numeric(frame["completionPercentage"], errors="coerce")
        counts = [int(((percentage >= low) & (percentage <= high)).sum()) for _, low, high in COMPLETION_BINS]
        self.completion_bars.x = [low + (high - low) / 2 for _, low, high in COMPLETION_BINS]
        self.completion_bars.y = counts

    def _draw_overdue(self, frame: pd.DataFrame, result: AuditResult) -> None:
        rows = result.findings.index[result.findings["rule"] == "overdue"]
        due = frame.loc[rows, "dueDateTime.dateTime"]
        self._overdue = pd.DataFrame(
            {"id": frame.loc[rows, "id"].astype(str), "month": due.dt.to_period("M").dt.start_time}, index=rows
        )
        counts = self._overdue.groupby("month").size().sort_index()
        self._months = [pd.Timestamp(m) for m in counts.index]
        self.overdue_bars.x = np.array([m.to_datetime64() for m in self._months], dtype="datetime64[ms]")
        self.overdue_bars.y = counts.to_numpy(dtype=float)
        _whole_ticks(self.overdue_figure, counts.max() if len(counts) else 0)

    def _draw_findings(self, result: AuditResult) -> None:
        counts = result.findings.groupby("rule").size()
        found = [r for r in result.rules if counts.get(r.id, 0)]
        # Errors at the top, then warnings, then notes: a horizontal ordinal axis draws its first value at the bottom.
        found.sort(key=lambda r: SEVERITIES.index(r.severity) if r.severity in SEVERITIES else 9, reverse=True)
        self._rules = [r.id for r in found]
        with self.findings_bars.hold_sync():
            self.findings_bars.x = self._rules
            self.findings_bars.y = [int(counts[r]) for r in self._rules]
            self.findings_bars.colors = [_SEVERITY_COLOURS.get(r.severity, _OTHER_COLOUR) for r in found] or ["#9467bd"]
        _whole_ticks(self.findings_figure, max(self.findings_bars.y, default=0))

    # --- selections -------------------------------------------------------------------------

    def _selected(self, source: str) -> None:
        if self._quiet:
            return
        self._quiet = True
        try:
            # One selection at a time: the others are cleared, as a person would expect from "filter by this".
            if source != "status":
                self.status_bars.selected = None
            if source != "findings":
                self.findings_bars.selected = None
            if source != "completion":
                self.completion_brush.selected = None
            if source != "overdue":
                self.overdue_brush.selected = None
        finally:
            self._quiet = False
        ids, label = self._selection(source)
        self._narrow(ids, label)

    def _selection(self, source: str) -> tuple[list[str] | None, str]:
        frame = self.workbench.frame
        if source == "status":
            picked = _indices(self.status_bars.selected, len(self._contents))
            if not picked:
                return None, ""
            contents = [self._contents[i] for i in picked]
            mask = frame["learningContentId"].fillna("(none)").astype(str).isin(contents)
            names = ", ".join(self._content_labels(self._contents)[i] for i in picked)
            return frame.loc[mask, "id"].astype(str).tolist(), f"content: {names}"
        if source == "findings":
            picked = _indices(self.findings_bars.selected, len(self._rules))
            if not picked or self.findings is None:
                return None, ""
            rules = [self._rules[i] for i in picked]
            found = self.findings.findings
            ids = found.loc[found["rule"].isin(rules), "id"].astype(str).unique().tolist()
            return ids, f"findings of {', '.join(rules)}"
        if source == "completion":
            span = _span(self.completion_brush.selected)
            if span is None:
                return None, ""
            low, high = float(span[0]), float(span[1])
            # The bars the brush covers (by their centre), whole: what a person sees selected.
            bins = [(lo, hi) for _, lo, hi in COMPLETION_BINS if low <= lo + (hi - lo) / 2 <= high]
            if not bins:
                return [], f"completion {low:.0f}–{high:.0f} % (no bar)"
            percentage = pd.to_numeric(frame["completionPercentage"], errors="coerce")
            covered = np.zeros(len(frame), dtype=bool)
            for lo, hi in bins:
                within = (percentage >= lo) & (percentage <= hi)
                covered |= within.fillna(False).to_numpy(dtype=bool)
            return frame.loc[covered, "id"].astype(str).tolist(), f"completion {bins[0][0]}–{bins[-1][1]} %"
        span = _span(self.overdue_brush.selected)
        if span is None:
            return None, ""
        start, end = pd.Timestamp(span[0]).tz_localize(None), pd.Timestamp(span[1]).tz_localize(None)
        # Months whose bar the brush touches: [month start, next month start) overlaps [start, end].
        months = [m for m in self._months if m <= end and m + pd.offsets.MonthBegin(1) > start]
        ids = self._overdue.loc[self._overdue["month"].isin(months), "id"].tolist()
        shown = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}" if months else f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
        return ids, f"overdue, due {shown}"

    def _narrow(self, ids: Sequence[str] | None, label: str) -> None:
        shown = self.table.show_only(ids, label)
        if ids is None:
            self.selection.value = ""
        else:
            self.selection.value = f"<b>{_escape(label)}</b>: {shown} of {len(self.workbench.frame)} rows"
        self._selected_ids = ids
        self._show_learners()

    @property
    def learners_text(self) -> str:
        """The learners of the selected rows, most rows first, by name where known ('' when nothing is selected)."""
        return str(self.learners.value and self.learners.value.replace("<b>", "").replace("</b>", ""))

    def _show_learners(self) -> None:
        ids = self._selected_ids
        if not ids:
            self.learners.value = ""
            return
        frame = self.workbench.frame
        learners = frame.loc[frame["id"].astype(str).isin(set(ids)), "learnerUserId"].dropna().astype(str)
        counts = learners.value_counts(sort=True)
        shown = [
            f"{_escape(found.label if (found := self.workbench.user_name(u)) is not None else u)} ({n})"
            for u, n in counts.head(_LEARNERS_SHOWN).items()
        ]
        more = len(counts) - len(shown)
        self.learners.value = (
            f"<b>learners</b>: {', '.join(shown)}" + (f" and {more} more" if more > 0 else "") if shown else ""
        )

    def show_all(self) -> None:
        """Clear every chart's selection: the table shows all its rows again."""
        self._quiet = True
        try:
            self.status_bars.selected = None
            self.findings_bars.selected = None
            self.completion_brush.selected = None
            self.overdue_brush.selected = None
        finally:
            self._quiet = False
        self._narrow(None, "")


def _whole_ticks(figure: Any, top: float) -> None:
    """Ticks at whole counts when the tallest bar is short (bqplot's own would read "0 0 1 1 2" once rounded)."""
    figure.axes[1].tick_values = np.arange(0, int(top) + 1) if 0 < top <= 10 else None


def _indices(selected: Any, count: int) -> list[int]:
    if selected is None:
        return []
    return [int(i) for i in np.asarray(selected).ravel() if 0 <= int(i) < count]


def _span(selected: Any) -> tuple[Any, Any] | None:
    """A brush's [low, high], or None when nothing is brushed."""
    if selected is None:
        return None
    values = np.asarray(selected).ravel()
    if len(values) != 2:
        return None
    low, high = values[0], values[1]
    return (low, high) if low <= high else (high, low)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
