"""``FindingsPanel``: what the audit found on a workbench's records, and its fixes to review, apply and undo.

The panel audits the workbench's frame (``learnkit.audit.audit``) at a clock the person
sees and may set (the README's figures are judged at the start of 2024; today's clock
makes every assignment due since then overdue), and lists, per rule, errors first, how
many records break it and how many it can fix, then every proposed fix (learner, course,
the end of the record's id) with a tick box: untick one to drop it. "Apply fixes" stages
the fixes kept as the workbench's pending edits and saves them (``Workbench.save``): one
journaled run, conflict-checked, read
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

from learnkit.audit import SEVERITIES, AuditResult, audit
from learnkit.bulk.cells import typed_cell
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded
from learnkit.widgets.words import FIXES, plural
from learnkit.widgets.workbench import Workbench

__all__ = ["FindingsPanel"]

#: What a save from this panel is called in the journal (``learnkit runs``, the history panel).
SOURCE = FIXES
#: Severities in the order a person deals with them: what decides the order of rules and fixes.
_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}

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
.lk-findings td.lk-error { color: var(--jp-error-color1, #b00020); font-weight: bold; }
.lk-findings td.lk-warning { color: var(--jp-warn-color0, #8a5a00); }
.lk-findings td.lk-info { color: var(--jp-ui-font-color2, #616161); }
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
        messages: widgets.HTML | None = None,
        reference_now: str | None = None,
    ) -> None:
        self.workbench = workbench
        self.now = now
        self.audit_options = dict(audit_options or {})
        self.runner = runner
        self._now_listeners = widgets.CallbackDispatcher()
        self.clock = widgets.Text(
            value="" if now is None else str(now),
            placeholder="now (or a date-time, e.g. 2024-01-01T00:00:00Z)",
            description="judge at",
            layout=widgets.Layout(width="420px"),
        )
        self.clock.add_class("lk-audit-clock")
        self.clock_button = widgets.Button(description="Audit at this time", icon="clock-o", layout={"width": "auto"})
        self.clock_note = widgets.HTML()
        self.clock_note.add_class("lk-audit-clock-note")
        self.summary = widgets.HTML()
        self.counts = widgets.HTML()
        self.fix_list = widgets.VBox()
        self.fix_list.add_class("lk-fix-list")
        self.apply_button = widgets.Button(
            description="Apply fixes", icon="check", button_style="primary", layout={"width": "auto"}
        )
        self.undo_button = widgets.Button(description="Undo fixes", icon="undo", layout={"width": "auto"})
        own_messages = messages is None
        #: Where the workbench's message shows (an app's one message area, else under the panel).
        self.message = widgets.HTML() if messages is None else messages
        self._boxes: dict[str, widgets.Checkbox] = {}
        self._owners: dict[str, tuple[str, str]] = {}  # key -> (record id, rule)
        self.reference_now = reference_now
        self.clock_button.on_click(guarded(lambda _: self.set_now(self.clock.value), self.message))
        self.apply_button.on_click(guarded(lambda _: self.apply(), self.message))
        self.undo_button.on_click(guarded(lambda _: self.undo(), self.message))
        self._handlers = {
            "frame": guarded(lambda _: self.refresh(), self.message),
            "user_names": guarded(lambda _: self.refresh(), self.message),
            "busy": guarded(lambda _: self._enable(), self.message),
            "content_titles": guarded(lambda _: self.refresh(), self.message),
        }
        if own_messages:
            self._handlers["message"] = guarded(
                lambda _: setattr(self.message, "value", self.workbench.message_html()), self.message
            )
        for name, handler in self._handlers.items():
            workbench.observe(handler, name)
        super().__init__(
            [
                style_sheet(),
                widgets.HTML(_CSS, layout=widgets.Layout(height="0px", overflow="hidden", margin="0")),
                widgets.HBox([self.clock, self.clock_button]),
                self.clock_note,
                self.summary,
                self.counts,
                widgets.HTML("<b>Proposed fixes</b> (untick one to drop it)"),
                self.fix_list,
                widgets.HBox([self.apply_button, self.undo_button]),
                *([self.message] if own_messages else []),
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

    def set_now(self, when: datetime | str | None) -> None:
        """Audit at ``when`` (ISO 8601 with a zone; ``None`` or ``""``: the current clock), and tell ``on_now``.

        A date-time without a zone, or not one, is refused in the message, naming the field.

        Example: ``panel.set_now("2024-01-01T00:00:00Z")``
        """
        text = when.isoformat() if isinstance(when, datetime) else (when or "").strip()
        if text and text.lower() != "now":
            try:
                typed_cell("now", text, kind="instant")
            except ValueError as exc:
                self.workbench.say(f"not audited: judge at: {exc}", "refused")
                return
        self.now = text if text and text.lower() != "now" else None
        self.clock.value = self.now or ""
        self.refresh()
        self.workbench.say(f"audited at {self._clock_text()}: {self.result.summary()}" if self.result else "", "info")
        self._now_listeners(self.now)

    def on_now(self, callback: Callable[[str | None], object], remove: bool = False) -> None:
        """Call ``callback(now)`` when the person sets the audit's clock (an app's charts follow it)."""
        self._now_listeners.register_callback(callback, remove=remove)

    def _clock_text(self) -> str:
        assert self.result is not None
        stamp = self.result.now.tz_convert("UTC")
        return str(stamp.strftime("%Y-%m-%d %H:%M UTC")) + ("" if self.now else " (now)")

    def refresh(self) -> None:
        """Audit the workbench's frame again and redraw (the dropped fixes stay dropped)."""
        self.result = audit(self.workbench.frame, now=self.now, **self.audit_options)
        result = self.result
        self.summary.value = (
            f"<div class='lk-audit'><b>Audit</b> at {html.escape(self._clock_text())}: "
            f"{html.escape(result.summary())}</div>"
        )
        reference = self.reference_now
        self.clock_note.value = (
            "<div class='lk-note'>Rules about time (overdue, completed in the future) depend on this clock. "
            + (
                f"The README's figures are judged at <code>{html.escape(reference)}</code>, before any random "
                "due date of the demo data; at today's clock every assignment due since then is overdue too, so "
                "you see more findings than the README shows. Type that time above to compare."
                if reference
                else "Set it above to judge the records as of another time."
            )
            + "</div>"
        )
        counts = result.counts()
        counts = counts[counts["findings"] > 0]
        counts = counts.iloc[sorted(range(len(counts)), key=lambda i: _RANK.get(str(counts["severity"].iloc[i]), 9))]
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
        fixable = result.fixable.reset_index()
        fixable = fixable.iloc[
            sorted(range(len(fixable)), key=lambda i: _RANK.get(str(fixable["severity"].iloc[i]), 9))
        ]
        for finding in fixable.to_dict("records"):
            key = _key(finding)
            box = widgets.Checkbox(value=key not in self.dropped, indent=False, layout={"width": "auto"})
            box.observe(guarded(lambda change, k=key: self._ticked(k, change["new"]), self.message), "value")
            # One line per fix: learner, course and the end of the record's id (hover: all of it).
            label = widgets.HTML(
                f"<div class='lk-fix'>{self.workbench.describe_html(str(finding['id']))}: "
                f"{html.escape(str(finding['field']))}: "
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
        kept = self.fixes()
        count = len(kept)
        records = kept["id"].nunique() if count else 0
        # Two fixes of one record are one row saved: the button says both counts, so "5 applied" reads right.
        self.apply_button.description = (
            f"Apply {plural(count, 'fix')} to {plural(records, 'record')}" if count else "Apply fixes"
        )
        self.apply_button.disabled = busy or count == 0
        self.undo_button.disabled = busy or self.last_run is None

    # --- apply and undo, the workbench's one path ------------------------------------------------

    def apply(self) -> Any:
        """Stage the kept fixes as the workbench's pending edits and save them as one journal run.

        Returns the save's result (None when nothing is kept, or when a ``runner`` runs it).
        """
        kept = self.fixes()
        if kept.empty:
            self.workbench.say("nothing to apply: no fix is kept (tick one in the list)", "info")
            return None
        ids: list[str] = []
        for activity_id, group in kept.groupby("id", sort=False):
            refused = self.workbench.stage(str(activity_id), dict(zip(group["field"], group["proposed"], strict=True)))
            if refused:
                column, problem = next(iter(refused.items()))
                self.workbench.discard(ids)
                self.workbench.say(
                    f"fixes not applied: {self.workbench.describe(str(activity_id))}: {column}: {problem}", "refused"
                )
                return None
            ids.append(str(activity_id))

        def done(result: Any) -> None:
            if result is not None:
                self.last_run = result.journal_id
            self._enable()

        task = f"Applying {plural(len(kept), 'fix')} to {plural(len(ids), 'record')}"
        return self._run(task, lambda: self.workbench.save(ids, source=SOURCE), done)

    def undo(self) -> Any:
        """Revert the last run this panel applied (itself a journal run); the findings come back."""
        run_id = self.last_run
        if run_id is None:
            self.workbench.say("nothing to undo: no fixes were applied from this panel", "info")
            return None

        def done(_: Any) -> None:
            self.last_run = None
            self._enable()

        return self._run(f"Undoing run {run_id}", lambda: self.workbench.undo(run_id), done)

    def _run(self, task: str, work: Callable[[], Any], done: Callable[[Any], None]) -> Any:
        if self.runner is not None:
            self.runner(task, work, done)
            return None
        result = work()
        done(result)
        return result
