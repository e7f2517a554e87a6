"""``FindingsPanel``: what the audit found on a workbench's records, and its fixes to review, apply and undo.

The panel audits the workbench's frame (``learnkit.audit.audit``) and lists, per rule,
how many records break it and how many it can fix, then every proposed fix with a tick
box: untick one to drop it. "Apply fixes" stages the fixes kept as the workbench's pending
edits and saves them (``Workbench.save``): one journaled run, conflict-checked, read
back into every view, like a save from the table or the form. "Undo fixes" reverts that
run. The panel audits again whenever the workbench's frame changes, so after a save the
fixed findings are gone, and after an undo they are back.

Example::

    bench = Workbench(client, registration_id=reg)
    panel = FindingsPanel(bench, now="2024-01-01T00:00:00Z")
    panel.drop(panel.fixes().iloc[0]["id"])        # or untick it
    panel.apply_button.click()                      # one journal run; panel.undo_button reverts it
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import ipywidgets as widgets
import pandas as pd
import traitlets

from learnkit.audit import AuditResult, audit
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded
from learnkit.widgets.workbench import Workbench

__all__ = ["FindingsPanel"]

#: What a save from this panel is called in the journal (``learnkit runs``, the history panel).
SOURCE = "learnkit.widgets.FindingsPanel"

_CSS = """
<style>
.lk-findings .lk-fix-list { max-height: 260px; overflow-y: auto; border: 1px solid var(--jp-border-color2, #ccc);
  padding: 2px 6px; background: var(--jp-layout-color0, transparent); }
.lk-findings .lk-fix { color: var(--jp-ui-font-color1, inherit); font-size: var(--jp-ui-font-size1, 13px);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.lk-findings .lk-fix-rule { color: var(--jp-ui-font-color2, #616161); }
.lk-findings table.lk-rule-counts td { padding: 1px 6px; line-height: 1.3; }
.lk-findings table.lk-rule-counts code { white-space: nowrap; }
.lk-findings .lk-fix code { color: var(--jp-content-font-color1, inherit); }
.lk-findings .lk-fix-dropped { opacity: 0.55; text-decoration: line-through; }
.lk-findings td.lk-error { color: var(--jp-error-color1, #b00020); }
.lk-findings td.lk-warning { color: var(--jp-warn-color0, #8a5a00); }
body[data-jp-theme-light="false"] .lk-findings td.lk-error { color: var(--jp-error-color2); }
body[data-jp-theme-light="false"] .lk-findings td.lk-warning { color: var(--jp-warn-color1); }
</style>
"""


def _cell(value: Any) -> str:
    """A finding's value as short text (date-times in ISO 8601, missing as an empty mark)."""
    if value is None or (not isinstance(value, (str, list, dict)) and bool(pd.isna(value))):
        return "∅"
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return str(value)


def _key(finding: Mapping[Any, Any]) -> str:
    """One fix's key: record, rule and field (a record may have several fixes), as JSON text."""
    return json.dumps([str(finding["id"]), str(finding["rule"]), str(finding["field"])])


class FindingsPanel(widgets.VBox):  # type: ignore[misc]
    """A workbench's audit: findings by rule, the proposed fixes to review, Apply and Undo as journal runs.

    ``now`` and ``audit_options`` (``rules``, ``disable``, ``extra``) go to ``learnkit.audit.audit``.
    ``runner(task, work, done)`` runs a save or an undo (an app passes its background runner);
    None runs it at once.

    Example: ``FindingsPanel(bench, now="2024-01-01T00:00:00Z").apply_button.click()``
    """

    #: The latest audit of the workbench's frame.
    result = traitlets.Instance(AuditResult, allow_none=True)
    #: Keys (``["id", "rule", "field"]`` as JSON) of the fixes a person dropped; they stay dropped across re-audits.
    dropped = traitlets.List(traitlets.Unicode())
    #: The journal id of the last run this panel applied (what "Undo fixes" reverts), or None.
    last_run = traitlets.Unicode(None, allow_none=True)

    def __init__(
        self,
        workbench: Workbench,
        *,
        now: datetime | str | None = None,
        audit_options: Mapping[str, Any] | None = None,
        runner: Callable[[str, Callable[[], Any], Callable[[Any], None]], object] | None = None,
    ) -> None:
        self.workbench = workbench
        self.now = now
        self.audit_options = dict(audit_options or {})
        self.runner = runner
        self.summary = widgets.HTML()
        self.counts = widgets.HTML()
        self.fix_list = widgets.VBox()
        self.fix_list.add_class("lk-fix-list")
        self.apply_button = widgets.Button(
            description="Apply fixes", icon="check", button_style="primary", layout={"width": "auto"}
        )
        self.undo_button = widgets.Button(description="Undo fixes", icon="undo", layout={"width": "auto"})
        self.message = widgets.HTML()
        self._boxes: dict[str, widgets.Checkbox] = {}
        self._owners: dict[str, tuple[str, str]] = {}  # key -> (record id, rule)
        self.apply_button.on_click(guarded(lambda _: self.apply(), self.message))
        self.undo_button.on_click(guarded(lambda _: self.undo(), self.message))
        self._handlers = {
            "frame": guarded(lambda _: self.refresh(), self.message),
            "user_names": guarded(lambda _: self.refresh(), self.message),
            "busy": guarded(lambda _: self._enable(), self.message),
        }
        for name, handler in self._handlers.items():
            workbench.observe(handler, name)
        super().__init__(
            [
                style_sheet(),
                widgets.HTML(_CSS, layout=widgets.Layout(height="0px", overflow="hidden", margin="0")),
                self.summary,
                self.counts,
                widgets.HTML("<b>Proposed fixes</b> (untick one to drop it)"),
                self.fix_list,
                widgets.HBox([self.apply_button, self.undo_button]),
                self.message,
            ]
        )
        self.add_class("lk-findings")
        self.refresh()

    def __repr__(self) -> str:
        if self.result is None:
            return "FindingsPanel(not audited)"
        return f"FindingsPanel({self.result.summary()}; {len(self.fixes())} fixes kept)"

    def close(self) -> None:
        """Stop observing the workbench, then close the widget."""
        for name, handler in self._handlers.items():
            self.workbench.unobserve(handler, name)
        self._handlers = {}
        super().close()

    # --- the audit ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Audit the workbench's frame again and redraw (the dropped fixes stay dropped)."""
        self.result = audit(self.workbench.frame, now=self.now, **self.audit_options)
        result = self.result
        self.summary.value = (
            f"<div class='lk-audit'><b>Audit</b> at {html.escape(result.now.isoformat())}: "
            f"{html.escape(result.summary())}</div>"
        )
        counts = result.counts()
        counts = counts[counts["findings"] > 0]
        # The explanation is each rule's tooltip: the panel sits beside the charts, four short columns fit.
        rows = "".join(
            f"<tr title='{html.escape(str(row.explanation), quote=True)}'>"
            f"<td><code>{html.escape(str(rule))}</code></td>"
            f"<td class='lk-{html.escape(str(row.severity))}'>{html.escape(str(row.severity))}</td>"
            f"<td>{int(row.findings)}</td><td>{int(row.fixes)}</td></tr>"
            for rule, row in counts.iterrows()
        )
        self.counts.value = (
            "<table class='lk-results lk-rule-counts'><tr><th>rule (hover: what it means)</th><th>severity</th>"
            f"<th>found</th><th>fixable</th></tr>{rows}</table>"
            if rows
            else "<div class='lk-ok'>No findings.</div>"
        )
        self._boxes, self._owners = {}, {}
        items = []
        frame = self.workbench.frame
        for finding in result.fixable.reset_index().to_dict("records"):
            key = _key(finding)
            learner = self.workbench.user_name(frame.at[finding["row"], "learnerUserId"])
            who = f"<b>{html.escape(learner.label)}</b> " if learner is not None else ""
            box = widgets.Checkbox(value=key not in self.dropped, indent=False, layout={"width": "auto"})
            box.observe(guarded(lambda change, k=key: self._ticked(k, change["new"]), self.message), "value")
            # One line per fix: the learner's name when known, the end of the record's id (its tooltip is all of it).
            label = widgets.HTML(
                f"<div class='lk-fix' title='{html.escape(str(finding['id']), quote=True)}'>{who}"
                f"<code>…{html.escape(str(finding['id'])[-8:])}</code> {html.escape(str(finding['field']))}: "
                f"{html.escape(_cell(finding['current']))} → <b>{html.escape(_cell(finding['proposed']))}</b> "
                f"<span class='lk-fix-rule'>({html.escape(str(finding['rule']))})</span></div>"
            )
            if key in self.dropped:
                label.add_class("lk-fix-dropped")
            self._boxes[key] = box
            self._owners[key] = (str(finding["id"]), str(finding["rule"]))
            items.append(widgets.HBox([box, label]))
        self.fix_list.children = items or [widgets.HTML("<i>nothing to fix automatically</i>")]
        self._enable()

    def fixes(self) -> pd.DataFrame:
        """The fixable findings that are kept (ticked): what "Apply fixes" sends."""
        if self.result is None:
            empty: pd.DataFrame = pd.DataFrame()
            return empty
        fixable = self.result.fixable
        keys = [_key(f) for f in fixable.to_dict("records")]
        kept: pd.DataFrame = fixable[[k not in self.dropped for k in keys]]
        return kept

    def drop(self, activity_id: str, rule: str | None = None) -> int:
        """Drop the fixes of a record (of one rule, if given), as unticking them does; how many were dropped."""
        keys = [k for k, (owner, kind) in self._owners.items() if owner == activity_id and rule in (None, kind)]
        for key in keys:
            self._boxes[key].value = False
        return len(keys)

    def _ticked(self, key: str, kept: bool) -> None:
        dropped = [k for k in self.dropped if k != key]
        self.dropped = dropped if kept else [*dropped, key]
        self._enable()

    def _enable(self) -> None:
        busy = self.workbench.busy
        count = len(self.fixes())
        self.apply_button.description = f"Apply {count} fixes" if count else "Apply fixes"
        self.apply_button.disabled = busy or count == 0
        self.undo_button.disabled = busy or self.last_run is None

    # --- apply and undo, the workbench's one path ------------------------------------------------

    def apply(self) -> Any:
        """Stage the kept fixes as the workbench's pending edits and save them as one journal run.

        Returns the save's result (None when nothing is kept, or when a ``runner`` runs it).
        """
        kept = self.fixes()
        if kept.empty:
            self.message.value = "<div class='lk-info'>nothing to apply: no fix is kept</div>"
            return None
        ids: list[str] = []
        for activity_id, group in kept.groupby("id", sort=False):
            refused = self.workbench.stage(str(activity_id), dict(zip(group["field"], group["proposed"], strict=True)))
            if refused:
                column, problem = next(iter(refused.items()))
                self.message.value = (
                    f"<div class='lk-refused'>✖ not applied: {html.escape(str(activity_id))}: "
                    f"{html.escape(column)}: {html.escape(problem)}</div>"
                )
                self.workbench.discard(ids)
                return None
            ids.append(str(activity_id))

        def done(result: Any) -> None:
            if result is not None:
                self.last_run = result.journal_id
            self.message.value = self.workbench.message_html()
            self._enable()

        return self._run(f"Applying {len(kept)} fixes", lambda: self.workbench.save(ids, source=SOURCE), done)

    def undo(self) -> Any:
        """Revert the last run this panel applied (itself a journal run); the findings come back."""
        run_id = self.last_run
        if run_id is None:
            self.message.value = "<div class='lk-info'>nothing to undo: no fixes applied from this panel</div>"
            return None

        def done(_: Any) -> None:
            self.last_run = None
            self.message.value = self.workbench.message_html()
            self._enable()

        return self._run(f"Undoing run {run_id}", lambda: self.workbench.undo(run_id), done)

    def _run(self, task: str, work: Callable[[], Any], done: Callable[[Any], None]) -> Any:
        if self.runner is not None:
            self.runner(task, work, done)
            return None
        result = work()
        done(result)
        return result
