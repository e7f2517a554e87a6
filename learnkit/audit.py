"""What needs fixing in a provider's records: named rules over the activity frame, findings and proposed fixes.

A ``Rule`` has an id, a severity, a one-line explanation and a check: a vectorised
function of the frame (``learnkit.frame.activities_frame``) that says which rows break
it and, where the right value can be known from the record itself, what it should
be. ``audit(frame)`` runs the rules and returns an ``AuditResult``: ``findings``, one
row per (record, rule, field) with the current and proposed values, and ``plans``,
the proposed fixes as ``learnkit.plans.PatchPlan``s based on the rows as read, to
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
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from learnkit.csvfile import ETAG_COLUMN, read_csv, write_csv, write_table
from learnkit.errors import InvalidInputError
from learnkit.frame import ACTIVITY_COLUMNS, diff, frame_to_activities
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.plans import InvalidRowsError, PatchPlan, activity_etag
from learnkit.times import is_known_zone, known_time_zones, parse_iso, zone

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

Severity = Literal["error", "warning", "info"]
#: From most to least serious: ``error`` the record contradicts itself, ``warning`` it is likely wrong,
#: ``info`` it is worth a look.
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
#: The columns of ``AuditResult.findings`` (its index is the frame's row label, named ``row``).
FINDING_COLUMNS = ("id", "rule", "severity", "field", "current", "proposed", "message")

#: What a check returns: a boolean mask over the frame's rows (findings without a fix, on the rule's field),
#: or a frame indexed by row label with ``field`` (optional when the rule has one), ``proposed`` (optional:
#: missing means no fix) and ``message`` (optional).
CheckResult = pd.Series | pd.DataFrame


@dataclass(frozen=True)
class AuditContext:
    """What a check may use besides the frame: the audit's ``now`` (aware, UTC) and the due instants.

    >>> AuditContext(pd.Timestamp("2025-01-01", tz="UTC"), pd.Series([], dtype="datetime64[us, UTC]")).now.year
    2025
    """

    now: pd.Timestamp
    #: ``dueDateTime`` as UTC instants (``NaT`` where missing or in an unknown zone); see ``due_instants``.
    due: pd.Series


@dataclass(frozen=True)
class Rule:
    """A named check: ``check(frame, context)`` (or ``check(frame)``) returns the rows that break it.

    ``field`` is the column a mask's findings are about. Write your own with ``rule`` or
    ``Rule.from_function``.

    >>> r = Rule("no-notes", "info", "the assignment has no notes", lambda f: f["notes.content"].isna(),
    ...          field="notes.content")
    >>> r.id, r.severity
    ('no-notes', 'info')
    """

    id: str
    severity: Severity
    explanation: str
    check: Callable[..., CheckResult]
    field: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", self.id):
            raise InvalidInputError("rule", "invalid", f"rule id {self.id!r}: use lower-case words joined by '-'")
        if self.severity not in SEVERITIES:
            raise InvalidInputError(
                "severity", "invalid", f"{self.severity!r} is not one of {', '.join(SEVERITIES)} (rule {self.id})"
            )

    @classmethod
    def from_function(
        cls, function: Callable[..., CheckResult], *, severity: Severity = "warning", field: str | None = None
    ) -> Rule:
        """A rule from a plain function: its name (``_`` as ``-``) is the id, its docstring's first line explains.

        >>> def big_notes(frame):
        ...     '''notes longer than 500 characters'''
        ...     return frame["notes.content"].str.len() > 500
        >>> Rule.from_function(big_notes, field="notes.content").id
        'big-notes'
        """
        doc = (inspect.getdoc(function) or "").strip().splitlines()
        name = getattr(function, "__name__", "rule").strip("_").replace("_", "-").lower()
        return cls(name, severity, doc[0] if doc else name, function, field)

    def run(self, frame: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
        """The rule's findings on ``frame`` (``FINDING_COLUMNS``, indexed by row label)."""
        takes_context = len(inspect.signature(self.check).parameters) >= 2
        try:
            found = self.check(frame, context) if takes_context else self.check(frame)
        except InvalidInputError:
            raise
        except Exception as exc:  # a user's rule: say which one broke, and how
            raise InvalidInputError("rule", "invalid", f"rule {self.id} failed: {type(exc).__name__}: {exc}") from exc
        return self._findings(frame, found)

    def _findings(self, frame: pd.DataFrame, found: CheckResult) -> pd.DataFrame:
        if isinstance(found, pd.Series):
            if self.field is None:
                raise InvalidInputError("rule", "invalid", f"rule {self.id} returns a mask but names no field")
            mask = found.reindex(frame.index).fillna(False).astype(bool)
            labels = frame.index[mask.to_numpy()]
            hits = pd.DataFrame({"field": self.field}, index=labels)
        elif isinstance(found, pd.DataFrame):
            hits = found.copy()
            unknown = hits.index.difference(frame.index)
            if len(unknown):
                raise InvalidInputError("rule", "invalid", f"rule {self.id} names row {unknown[0]!r}, not in the frame")
            if "field" not in hits.columns:
                if self.field is None:
                    raise InvalidInputError("rule", "invalid", f"rule {self.id} gives no field column and names none")
                hits["field"] = self.field
        else:
            raise InvalidInputError(
                "rule", "invalid", f"rule {self.id} returned {type(found).__name__}: return a boolean Series or a frame"
            )
        fields = hits["field"].astype(object)
        bad = set(fields) - set(frame.columns)
        if bad:
            raise InvalidInputError("rule", "invalid", f"rule {self.id} names field {sorted(bad)[0]!r}, not a column")
        positions = frame.index.get_indexer(hits.index)
        names = fields.to_numpy(dtype=object)
        current = np.full(len(hits), None, dtype=object)
        for name in dict.fromkeys(names):
            where = names == name
            current[where] = _values(frame[name].iloc[positions[where]])
        proposed = hits["proposed"].astype(object) if "proposed" in hits.columns else None
        message = hits["message"].astype(object) if "message" in hits.columns else self.explanation
        count = len(hits)
        columns = {
            "id": frame["id"].iloc[positions].to_numpy(dtype=object),
            "rule": np.full(count, self.id, dtype=object),
            "severity": np.full(count, self.severity, dtype=object),
            "field": names,
            "current": _objects(pd.Series(current, dtype=object)),
            "proposed": np.full(count, None, dtype=object) if proposed is None else _objects(proposed),
            "message": np.full(count, message, dtype=object) if isinstance(message, str) else _objects(message),
        }
        # Object columns throughout: pandas would read text columns as its string type, and None as NaN.
        table: pd.DataFrame = pd.DataFrame(
            {name: pd.Series(columns[name], index=hits.index, dtype=object) for name in FINDING_COLUMNS}
        )
        return table


def _values(series: pd.Series) -> np.ndarray:
    """A column's values as objects; date-times as ``datetime`` (boxing them as Timestamps is ten times slower)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return np.asarray(series.dt.to_pydatetime(), dtype=object)
    return series.to_numpy(dtype=object)


def _objects(series: pd.Series) -> np.ndarray:
    """The values as an object array with every kind of missing (NaN, NA, NaT) as None."""
    values = series.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values


def rule(
    id: str, *, severity: Severity = "warning", field: str | None = None, explanation: str | None = None
) -> Callable[[Callable[..., CheckResult]], Rule]:
    """A decorator making a function a ``Rule`` (explanation: the argument, or the docstring's first line).

    >>> @rule("long-notes", severity="info", field="notes.content")
    ... def long_notes(frame):
    ...     '''notes longer than 500 characters'''
    ...     return frame["notes.content"].str.len() > 500
    >>> long_notes.explanation
    'notes longer than 500 characters'
    """

    def wrap(function: Callable[..., CheckResult]) -> Rule:
        doc = (inspect.getdoc(function) or "").strip().splitlines()
        return Rule(id, severity, explanation or (doc[0] if doc else id), function, field)

    return wrap


# --- helpers the built-in rules share -------------------------------------------------


def due_instants(frame: pd.DataFrame) -> pd.Series:
    """``dueDateTime`` as UTC instants: each wall-clock time read in its zone (IANA or Windows name).

    Vectorised per zone. ``NaT`` where there is no due date or its zone is unknown; a
    time that a clock change skips moves forward, one it repeats reads as standard time.

    >>> f = pd.DataFrame({"dueDateTime.dateTime": pd.to_datetime(["2024-07-01 12:00"]),
    ...                   "dueDateTime.timeZone": ["Romance Standard Time"]})
    >>> str(due_instants(f)[0])
    '2024-07-01 10:00:00+00:00'
    """
    out: pd.Series = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    local = frame["dueDateTime.dateTime"]
    zones = frame["dueDateTime.timeZone"]
    usable = local.notna() & zones.notna()
    if not usable.any():
        return out
    for name, labels in local[usable].groupby(zones[usable].astype(str)).groups.items():
        try:
            key = zone(str(name)).key
        except ValueError:
            continue
        wall = pd.to_datetime(local.loc[labels]).dt.as_unit("us")
        standard = np.zeros(len(wall), dtype=bool)
        out.loc[labels] = wall.dt.tz_localize(key, ambiguous=standard, nonexistent="shift_forward").dt.tz_convert("UTC")
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series(pd.NA, index=frame.index, dtype=object)


def _status(frame: pd.DataFrame) -> pd.Series:
    return _column(frame, "status").astype("string")


def _percentage(frame: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(_column(frame, "completionPercentage"), errors="coerce").astype("Float64")


def _lower(series: pd.Series) -> pd.Series:
    """Lower-case text, worked out once per distinct value (a provider's column repeats a few values)."""
    codes, uniques = pd.factorize(series)
    lowered = np.array([str(u).lower() for u in uniques] + [None], dtype=object)
    lower: pd.Series = pd.Series(lowered[codes], index=series.index, dtype=object)
    return lower


def _flag(series: pd.Series) -> pd.Series:
    """A nullable comparison as a plain boolean mask (missing: False)."""
    return series.fillna(False).astype(bool)


def _hits(
    mask: pd.Series,
    field: str,
    proposed: Any = None,
    fixable: pd.Series | None = None,
    messages: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """The frame a check returns: one row per True of ``mask``; ``proposed`` where ``fixable`` (all if None).

    ``messages``: the text for a row with a fix, and for one without (computed on the hits only).
    """
    where = mask.to_numpy()
    labels = mask.index[where]
    hits: pd.DataFrame = pd.DataFrame({"field": field}, index=labels)
    keep = np.ones(len(labels), dtype=bool) if fixable is None else fixable.to_numpy()[where]
    if proposed is not None:
        if isinstance(proposed, pd.Series):
            values = proposed.to_numpy(dtype=object)[where]
        else:
            values = np.full(len(labels), proposed, dtype=object)
        values[~keep] = None
        hits["proposed"] = pd.Series(values, index=labels, dtype=object)
    if messages is not None:
        hits["message"] = pd.Series(np.where(keep, *messages), index=labels, dtype=object)
    return hits


# --- the built-in rules ----------------------------------------------------------------


def _completed_below_100(frame: pd.DataFrame) -> pd.DataFrame:
    completed = _flag(_status(frame) == "completed")
    below = _flag(_percentage(frame) < 100)
    mask = completed & below
    dated = _column(frame, "completedDateTime").notna()
    messages = (
        "completed, with a completion date, but below 100 %: set to 100",
        "completed below 100 % and without a completion date: the status or the percentage is wrong",
    )
    return _hits(mask, "completionPercentage", 100, dated, messages)


def _completed_without_date(frame: pd.DataFrame) -> pd.Series:
    return _flag(_status(frame) == "completed") & _column(frame, "completedDateTime").isna()


def _hundred_not_completed(frame: pd.DataFrame) -> pd.DataFrame:
    status = _status(frame)
    mask = _flag(_percentage(frame) == 100) & ~_flag(status == "completed")
    dated = _column(frame, "completedDateTime").notna()
    messages = (
        "at 100 % with a completion date but not completed: set to completed",
        "at 100 % but not completed, and no completion date: the status or the percentage is wrong",
    )
    return _hits(mask, "status", "completed", dated, messages)


def _not_started_with_progress(frame: pd.DataFrame) -> pd.DataFrame:
    percentage = _percentage(frame)
    mask = _flag(_status(frame) == "notStarted") & _flag(percentage > 0)
    fixable = _flag(percentage < 100)
    return _hits(mask, "status", "inProgress", fixable)


def _completed_before(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    def check(frame: pd.DataFrame) -> pd.Series:
        return _flag(_column(frame, "completedDateTime") < _column(frame, name))

    return check


def _completed_in_future(frame: pd.DataFrame, context: AuditContext) -> pd.Series:
    return _flag(_column(frame, "completedDateTime") > context.now)


def _overdue(frame: pd.DataFrame, context: AuditContext) -> pd.Series:
    assignment = _lower(_column(frame, "@odata.type")) == ASSIGNMENT_TYPE.lower()
    return _flag(assignment) & _flag(context.due < context.now) & ~_flag(_status(frame) == "completed")


def _zone_key(name: str) -> str:
    return re.sub(r"[\s_]+", "", name).lower()


def _zone_spellings() -> dict[str, str]:
    """Loose spelling -> the one known name it stands for (spellings two names share are left out)."""
    seen: dict[str, set[str]] = {}
    for name in known_time_zones():
        seen.setdefault(_zone_key(name), set()).add(name)
    return {key: next(iter(names)) for key, names in seen.items() if len(names) == 1}


def _unknown_time_zone(frame: pd.DataFrame) -> pd.DataFrame:
    zones = _column(frame, "dueDateTime.timeZone")
    dated = _column(frame, "dueDateTime.dateTime").notna()
    names = pd.Series(zones.dropna().astype(str).unique())
    known = {name: is_known_zone(name) for name in names}
    missing = zones.isna() & dated
    unknown = zones.notna() & ~zones.isin([name for name, ok in known.items() if ok])
    spellings = _zone_spellings()
    guesses = {name: spellings.get(_zone_key(name)) for name in names if not known[name]}
    proposed = zones.map(guesses).astype(object)
    hits = _hits(
        missing | unknown,
        "dueDateTime.timeZone",
        proposed,
        proposed.notna(),
        (
            "not an IANA or Windows time-zone name: it spells a known one",
            "not an IANA or Windows time-zone name, nor a spelling of one",
        ),
    )
    hits.loc[missing[hits.index].to_numpy(), "message"] = "a due date without a time zone: nothing says where it falls"
    return hits


def _duplicate_external_id(frame: pd.DataFrame) -> pd.Series:
    external = _column(frame, "externalcourseActivityId")
    keys = pd.DataFrame(
        {
            "provider": _lower(_column(frame, "learningProviderId")),
            "external": external.astype("string"),
        }
    )
    repeated: pd.Series = external.notna() & keys.duplicated(keep=False)
    return repeated


#: Markup that shows a text is HTML: an element's tag (opening, closing or empty) or a character entity.
_HTML = re.compile(
    r"</?(?:p|br|div|span|b|i|u|em|strong|a|ul|ol|li|h[1-6]|table|thead|tbody|tr|td|th|img|hr|blockquote|pre|code"
    r"|font|sub|sup|small|section|article|header|footer)(?:\s[^<>]*)?/?>"
    r"|&(?:nbsp|amp|lt|gt|quot|apos|#\d{1,6}|#x[0-9a-fA-F]{1,6});",
    re.IGNORECASE,
)


def _html_in_text_notes(frame: pd.DataFrame) -> pd.DataFrame:
    content = _column(frame, "notes.content").astype("string")
    kind = _column(frame, "notes.contentType").astype("string").str.lower().fillna("text")
    mask = _flag(content.str.contains(_HTML, regex=True)) & _flag(kind == "text")
    return _hits(mask, "notes.contentType", "html")


#: The built-in rules, in the order findings are listed.
RULES: tuple[Rule, ...] = (
    Rule(
        "completed-below-100",
        "error",
        "status completed but completionPercentage below 100",
        _completed_below_100,
        "completionPercentage",
    ),
    Rule(
        "completed-without-date",
        "error",
        "status completed but no completedDateTime",
        _completed_without_date,
        "completedDateTime",
    ),
    Rule(
        "hundred-not-completed",
        "error",
        "completionPercentage 100 but status not completed",
        _hundred_not_completed,
        "status",
    ),
    Rule(
        "not-started-with-progress",
        "error",
        "status notStarted but completionPercentage above 0",
        _not_started_with_progress,
        "status",
    ),
    Rule(
        "completed-before-assigned",
        "warning",
        "completedDateTime before assignedDateTime",
        _completed_before("assignedDateTime"),
        "completedDateTime",
    ),
    Rule(
        "completed-before-started",
        "error",
        "completedDateTime before startedDateTime",
        _completed_before("startedDateTime"),
        "completedDateTime",
    ),
    Rule("completed-in-future", "error", "completedDateTime after now", _completed_in_future, "completedDateTime"),
    Rule("overdue", "info", "an assignment past its dueDateTime and not completed", _overdue, "dueDateTime.dateTime"),
    Rule(
        "unknown-time-zone",
        "error",
        "dueDateTime.timeZone is not an IANA or Windows time-zone name",
        _unknown_time_zone,
        "dueDateTime.timeZone",
    ),
    Rule(
        "duplicate-external-id",
        "error",
        "the same externalcourseActivityId twice under one provider",
        _duplicate_external_id,
        "externalcourseActivityId",
    ),
    Rule(
        "html-in-text-notes", "warning", "notes marked text hold HTML markup", _html_in_text_notes, "notes.contentType"
    ),
)


# --- running the rules --------------------------------------------------------------------


def _now(value: datetime | str | None) -> pd.Timestamp:
    if value is None:
        clock: pd.Timestamp = pd.Timestamp.now(tz="UTC")
        return clock
    try:
        moment = parse_iso(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise InvalidInputError("now", "invalid", str(exc)) from None
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise InvalidInputError("now", "invalid", f"{value!s} has no time zone: add an offset such as Z or +00:00")
    utc: pd.Timestamp = stamp.tz_convert("UTC")
    return utc


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

    >>> from learnkit.frame import activities_frame
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
            "read it with learnkit.read_activities or learnkit.frame.activities_frame",
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

    def fixed_frame(self) -> pd.DataFrame:
        """The rows the plans fix, with the proposed values set (the frame's columns)."""
        return self._planned_rows()[1]

    def write_findings(self, path: str | Path | Any) -> None:
        """The findings as CSV: row, id, rule, severity, field, current, proposed, message (date-times ISO 8601),
        text cells escaped as every CSV learnkit writes (``csvfile.write_table``)."""
        out = self.findings.reset_index()
        for name in ("current", "proposed"):
            out[name] = [_text(v) for v in out[name]]
        write_table(out, path)

    def write_fixes(self, path: str | Path | Any) -> list[tuple[Any, str, str]]:
        """The fixed rows as a CSV ``learnkit apply`` takes as it is, each with the etag of the row as read.

        The file is read back with ``learnkit.csvfile.read_csv``, the reader ``apply`` uses;
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
