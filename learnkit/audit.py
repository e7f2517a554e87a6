"""What needs fixing in a provider's records: named rules over the activity frame, findings and proposed fixes.

A ``Rule`` has an id, a severity, a one-line explanation and a check: a vectorised
function of the frame (``learnkit.bulk.frame.activities_frame``) that says which rows break
it and, where the right value can be known from the record itself, what it should
be. ``audit(frame)`` runs the rules and returns an ``AuditResult``: ``findings``, one
row per (record, rule, field) with the current and proposed values, and ``plans``,
the proposed fixes as ``learnkit.bulk.plans.PatchPlan``s based on the rows as read, to
review, edit or drop and then send with ``learnkit.bulk.apply`` (journal, conflict
check, undo) like every other change.

How each fix is decided (a value is proposed only when the record itself shows it):

- a ``completedDateTime`` is the record's evidence that the course was completed. A
  completed record below 100 % gets 100, and a record at 100 % that is not completed
  gets ``completed``, only when it carries one; without it either value could be the
  wrong one, so it is a finding only;
- ``notStarted`` with progress between 1 and 99 becomes ``inProgress``: progress was
  recorded, so the learner started (at 100 % the rule above decides);
- a completed record without ``completedDateTime`` is a finding only: nothing in the
  record says when it was completed (assigned and started times are only bounds);
- completion before assignment or start, or in the future, is a finding only: which
  of the two times is wrong cannot be told from the record;
- an overdue assignment is a finding only: whether it was done elsewhere, is late,
  or needs a new due date is a person's call;
- an unknown ``dueDateTime.timeZone`` gets the known name it spells when exactly one
  matches ignoring case, spaces and underscores (``pacific standard time``); else a
  finding only. Undoing such a fix is refused before sending: the old zone is one
  Graph would not take;
- a repeated ``externalcourseActivityId`` is a finding only: which record is the real
  one is not in the data, and removing one is not a PATCH;
- notes marked ``text`` whose content is HTML markup become ``html``: the content
  is kept, the type follows it.

Several fixes on one record make one plan; two findings proposing different values
for one field are refused (``fix_plans``) rather than one silently winning.

Example::

    result = audit(read_activities(client, reg), now="2025-01-01T00:00:00Z")
    result.findings.groupby("rule").size()
    learnkit.bulk.apply(client, result.plans)          # or fix_plans(frame, reviewed_findings)
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from learnkit.audit_rules import FINDING_COLUMNS, RULES, SEVERITIES, AuditContext, Rule, rule
from learnkit.bulk.cells import typed_cell
from learnkit.bulk.csvfile import ETAG_COLUMN, read_csv, write_csv, write_table
from learnkit.bulk.edits import diff
from learnkit.bulk.fingerprints import activity_etag
from learnkit.bulk.frame import ACTIVITY_COLUMNS, due_instants, frame_to_activities
from learnkit.bulk.plans import PatchPlan
from learnkit.errors import InvalidInputError, InvalidRowsError

__all__ = [
    "FINDING_COLUMNS",
    "RULES",
    "SEVERITIES",
    "AuditContext",
    "AuditResult",
    "Rule",
    "audit",
    "due_instants",
    "fix_plans",
    "rule",
]

# --- running the rules --------------------------------------------------------------------


def _now(value: datetime | str | None) -> pd.Timestamp:
    if value is None:
        clock: pd.Timestamp = pd.Timestamp.now(tz="UTC")
        return clock
    try:
        stamp: pd.Timestamp | None = typed_cell("now", value, kind="instant")
    except ValueError as exc:
        raise InvalidInputError("now", "invalid", str(exc)) from None
    if stamp is None:
        raise InvalidInputError("now", "invalid", "is empty: give an instant such as 2025-01-01T00:00:00Z")
    return stamp


def _select(
    rules: Iterable[Rule | str] | None, disable: Iterable[str], extra: Iterable[Rule | Callable[..., Any]]
) -> tuple[Rule, ...]:
    by_id = {r.id: r for r in RULES}
    chosen: list[Rule] = []
    for item in RULES if rules is None else rules:
        if isinstance(item, Rule):
            chosen.append(item)
        elif str(item) in by_id:
            chosen.append(by_id[str(item)])
        else:
            raise InvalidInputError("rules", "invalid", f"no rule {item!r}: the rules are {', '.join(by_id)}")
    for added in extra:
        chosen.append(added if isinstance(added, Rule) else Rule.from_function(added))
    ids = [r.id for r in chosen]
    off = set(disable)
    unknown = off - set(ids) - set(by_id)
    if unknown:
        raise InvalidInputError("disable", "invalid", f"no rule {sorted(unknown)[0]!r}: the rules are {', '.join(ids)}")
    repeated = {i for i in ids if ids.count(i) > 1}
    if repeated:
        raise InvalidInputError("rules", "invalid", f"two rules are called {sorted(repeated)[0]!r}: ids must differ")
    return tuple(r for r in chosen if r.id not in off)


def audit(
    frame: pd.DataFrame,
    *,
    rules: Iterable[Rule | str] | None = None,
    disable: Iterable[str] = (),
    extra: Iterable[Rule | Callable[..., Any]] = (),
    now: datetime | str | None = None,
) -> AuditResult:
    """Run the rules over an activities frame; the findings and the proposed fixes.

    ``rules``: ids or ``Rule``s to run (default: every rule of ``RULES``); ``disable``:
    ids to switch off; ``extra``: your own ``Rule``s or functions (``Rule.from_function``);
    ``now``: the moment "future" and "overdue" are judged against (aware; default: the
    clock), for results that do not change from run to run.

    >>> from learnkit.bulk.frame import activities_frame
    >>> frame = activities_frame([{"id": "a", "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
    ...     "learningProviderId": "p", "status": "completed", "completionPercentage": 60,
    ...     "completedDateTime": "2024-03-01T10:00:00Z"}])
    >>> result = audit(frame, now="2025-01-01T00:00:00Z")
    >>> result.findings[["rule", "field", "current", "proposed"]].values.tolist()
    [['completed-below-100', 'completionPercentage', 60, 100]]
    >>> [p.changes for p in result.plans]
    [{'completionPercentage': 100}]
    """
    if "id" not in frame.columns:
        raise InvalidInputError("id", "required", "the frame has no id column: read it with learnkit.read_activities")
    missing = [c for c in ACTIVITY_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            missing[0],
            "required",
            f"the frame has no {missing[0]!r} column: "
            "read it with learnkit.read_activities or learnkit.bulk.frame.activities_frame",
        )
    chosen = _select(rules, disable, extra)
    context = AuditContext(_now(now), due_instants(frame))
    parts = [r.run(frame, context) for r in chosen]
    parts = [p for p in parts if len(p)]
    if parts:
        findings = pd.concat(parts)
    else:
        findings = pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS}, index=pd.Index([], dtype=int))
    findings.index.name = "row"
    return AuditResult(frame, findings, chosen, context.now)


# --- from findings to fixes ----------------------------------------------------------------


def _proposals(findings: pd.DataFrame) -> pd.DataFrame:
    fixes: pd.DataFrame = findings[findings["proposed"].notna()]
    clash = fixes.groupby([fixes.index, "field"])["proposed"].nunique()
    clash = clash[clash > 1]
    if len(clash):
        row, name = clash.index[0]
        raise InvalidRowsError([(row, name, "two findings propose different values: keep one, drop the other")])
    return fixes


def _fixed_rows(frame: pd.DataFrame, fixes: pd.DataFrame, labels: Sequence[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows (as read) ``labels``, and the same rows with the fixes' proposed values set."""
    before = frame.loc[list(labels)]
    after = before.copy()
    fixes = fixes[fixes.index.isin(before.index)]
    for name, group in fixes.groupby("field", sort=False):
        values = group["proposed"][~group.index.duplicated()]
        after.loc[values.index, name] = pd.array(values.tolist(), dtype=after[name].dtype)
    return before, after


def _plans(frame: pd.DataFrame, findings: pd.DataFrame) -> tuple[list[PatchPlan], list[tuple[Any, str, str]]]:
    """The plans the proposals make, and (row, field, reason) for each row no plan can be made for."""
    fixes = _proposals(findings)
    labels = pd.Index(fixes.index.unique()).sort_values()
    unknown = labels.difference(frame.index)
    if len(unknown):
        raise InvalidRowsError([(unknown[0], "row", "is not a row of the frame the findings came from")])
    refused: list[tuple[Any, str, str]] = []
    keep = labels
    before, after = _fixed_rows(frame, fixes, keep)
    try:
        return diff(before, after), refused
    except InvalidRowsError as exc:
        refused.extend(exc.cells)
    bad = {row for row, _, _ in refused}
    keep = pd.Index([row for row in keep if row not in bad])
    before, after = _fixed_rows(frame, fixes, keep)
    return diff(before, after), refused


def fix_plans(frame: pd.DataFrame, findings: pd.DataFrame) -> list[PatchPlan]:
    """Patch plans for the findings' proposed values: one per record, based on the rows as read.

    Review ``findings`` first: drop rows, or change ``proposed`` (``None`` drops a fix).
    Each plan carries only the changed properties and the etag of the row as read, so
    ``learnkit.bulk.apply`` refuses it as a conflict if the record changed since.
    ``InvalidRowsError`` names every fix that cannot be sent (nothing is planned then).

    Example: ``apply(client, fix_plans(frame, result.findings.query("rule != 'overdue'")))``
    """
    plans, refused = _plans(frame, findings)
    if refused:
        raise InvalidRowsError(refused)
    return plans


@dataclass
class AuditResult:
    """What ``audit`` found: ``findings`` (``FINDING_COLUMNS``, indexed by row label) and the proposed ``plans``.

    Example: ``result.counts()``, ``result.plans``, ``result.write_fixes("fixes.csv")``
    """

    frame: pd.DataFrame
    findings: pd.DataFrame
    rules: tuple[Rule, ...]
    now: pd.Timestamp
    _built: tuple[list[PatchPlan], list[tuple[Any, str, str]]] | None = field(default=None, repr=False)

    def _build(self) -> tuple[list[PatchPlan], list[tuple[Any, str, str]]]:
        if self._built is None:
            self._built = _plans(self.frame, self.findings)
        return self._built

    @property
    def plans(self) -> list[PatchPlan]:
        """The proposed fixes, one validated patch plan per record, based on the rows as read.

        Built on first use (the findings are the audit; a plan costs a validation per record).
        A proposal no plan can be made for is left out and listed in ``unplanned``.
        """
        return self._build()[0]

    @property
    def unplanned(self) -> list[tuple[Any, str, str]]:
        """(row, field, reason) for each proposed fix no plan could be made for (Graph would refuse it)."""
        return self._build()[1]

    @property
    def fixable(self) -> pd.DataFrame:
        """The findings with a proposed value."""
        fixable: pd.DataFrame = self.findings[self.findings["proposed"].notna()]
        return fixable

    def counts(self) -> pd.DataFrame:
        """Per rule: severity, findings, fixes proposed, and the explanation (every rule run, even at 0)."""
        found = self.findings.groupby("rule").size()
        fixed = self.fixable.groupby("rule").size()
        table: pd.DataFrame = pd.DataFrame(
            {
                "severity": [r.severity for r in self.rules],
                "findings": [int(found.get(r.id, 0)) for r in self.rules],
                "fixes": [int(fixed.get(r.id, 0)) for r in self.rules],
                "explanation": [r.explanation for r in self.rules],
            },
            index=pd.Index([r.id for r in self.rules], name="rule"),
        )
        return table

    def findings_for(self, rule_id: str) -> pd.DataFrame:
        """The findings of one rule."""
        if rule_id not in {r.id for r in self.rules}:
            raise InvalidInputError("rule", "invalid", f"no rule {rule_id!r} ran in this audit")
        chosen: pd.DataFrame = self.findings[self.findings["rule"] == rule_id]
        return chosen

    def _planned_rows(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        labels = [plan.row for plan in self.plans]
        return _fixed_rows(self.frame, _proposals(self.findings), labels)

    def write_findings(self, path: str | Path | Any) -> None:
        """The findings as CSV: row, id, rule, severity, field, current, proposed, message (date-times ISO 8601),
        text cells escaped as every CSV learnkit writes (``csvfile.write_table``)."""
        out = self.findings.reset_index()
        for name in ("current", "proposed"):
            out[name] = [_text(v) for v in out[name]]
        write_table(out, path)

    def write_fixes(self, path: str | Path | Any) -> list[tuple[Any, str, str]]:
        """The fixed rows as a CSV ``learnkit apply`` takes as it is, each with the etag of the row as read.

        The file is read back with ``learnkit.bulk.csvfile.read_csv``, the reader ``apply`` uses;
        a row it refuses (a value no fix covers that Graph would refuse too, such as an
        unknown time zone) is left out. Returns those (row label, column, reason).
        """
        before, after = self._planned_rows()
        out = after.copy()
        out[ETAG_COLUMN] = [activity_etag(a) for a in frame_to_activities(before)]
        left_out: list[tuple[Any, str, str]] = []
        while True:
            write_csv(out, path)
            if out.empty:
                return left_out
            try:
                read_csv(path)
            except InvalidRowsError as exc:
                # The CSV's row n is the frame's position n - 2 (the header is row 1).
                positions = sorted({int(row) - 2 for row, _, _ in exc.cells})
                labels = out.index[positions]
                left_out.extend((out.index[int(row) - 2], column, detail) for row, column, detail in exc.cells)
                out = out.drop(labels)
                continue
            return left_out

    def summary(self) -> str:
        """One line: how many findings, by severity, and how many fixes are proposed."""
        by = self.findings["severity"].value_counts()
        parts = ", ".join(f"{int(by[s])} {s}" for s in SEVERITIES if s in by.index)
        records = self.findings["id"].nunique()
        proposed = self.fixable["id"].nunique()
        return (
            f"{len(self.findings)} findings on {records} of {len(self.frame)} records"
            + (f" ({parts})" if parts else "")
            + f"; fixes proposed for {proposed} records"
        )

    def __repr__(self) -> str:
        return f"AuditResult({self.summary()}, now={self.now.isoformat()})"

    def _repr_html_(self) -> str:
        counts = self.counts()
        rows = "".join(
            f"<tr><td><code>{html.escape(str(rid))}</code></td><td class='lk-{html.escape(str(r.severity))}'>"
            f"{html.escape(str(r.severity))}</td><td>{int(r.findings)}</td><td>{int(r.fixes)}</td>"
            f"<td>{html.escape(str(r.explanation))}</td></tr>"
            for rid, r in counts.iterrows()
        )
        shown = self.findings.head(20).reset_index()
        for name in ("current", "proposed"):
            # "" for missing: to_html's na_rep misses a column of None only, which would read "None".
            shown[name] = ["" if (text := _text(v)) is None else text for v in shown[name]]
        sample = shown[["row", "id", "rule", "field", "current", "proposed"]].to_html(
            index=False, classes="lk-results", na_rep="", escape=True
        )
        more = (
            "" if len(self.findings) <= 20 else f"<p>… and {len(self.findings) - 20} more in <code>.findings</code></p>"
        )
        stuck = len({row for row, _, _ in self.unplanned})
        planned = (
            f"<p>{len(self.plans)} fix plans in <code>.plans</code>, to review and send with "
            "<code>learnkit.bulk.apply</code>"
            + (f"; {stuck} records' fixes cannot be planned (<code>.unplanned</code> says why)" if stuck else "")
            + ".</p>"
        )
        return (
            f"<div class='lk-audit'><p><b>Audit</b> at {html.escape(self.now.isoformat())}: "
            f"{html.escape(self.summary())}</p>{planned}"
            "<table class='lk-results'><tr><th>rule</th><th>severity</th><th>findings</th><th>fixes</th>"
            f"<th>what it means</th></tr>{rows}</table>"
            + (f"<p>First findings:</p>{sample}{more}" if len(self.findings) else "")
            + "</div>"
        )


def _text(value: Any) -> Any:
    """A cell as CSV/HTML text: date-times in ISO 8601, missing empty."""
    if value is None or (not isinstance(value, (str, Mapping, Sequence)) and bool(pd.isna(value))):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return value
