"""The audit's rules: what a rule is (``Rule``, ``rule``), what a check may use, and the built-in ``RULES``.

``learnkit.audit`` runs them and turns their findings into fixes; the module docstring
there says how each built-in rule decides its fix. Write your own with ``rule``.

Example::

    @rule("long-notes", severity="info", field="notes.content")
    def long_notes(frame):
        '''notes longer than 500 characters'''
        return frame["notes.content"].str.len() > 500
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from learnkit.errors import InvalidInputError
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.times import is_known_zone, known_time_zones

__all__ = ["FINDING_COLUMNS", "RULES", "SEVERITIES", "AuditContext", "CheckResult", "Rule", "Severity", "rule"]

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
