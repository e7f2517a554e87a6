"""learnkit.audit: every rule on hand-made frames (a positive and a near miss each), user rules, disabled rules,
a fixed "now", fixes that validate, the CSV of fixes, and against the sandbox: fix, audit again, undo."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import GraphClient, RetryPolicy
from learnkit.audit import RULES, AuditResult, Rule, audit, due_instants, fix_plans, rule
from learnkit.bulk import apply, undo
from learnkit.bulk.csvfile import plans_from_frame, read_csv
from learnkit.bulk.fingerprints import activity_etag
from learnkit.bulk.frame import activities_frame
from learnkit.bulk.journal import Journal
from learnkit.bulk.plans import validate_plans
from learnkit.errors import InvalidInputError, InvalidRowsError
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE
from learnkit.update import update_activity
from tests.conftest import everything, keys_csv

NOW = "2025-06-01T12:00:00Z"
_ids = itertools.count(1)


def assignment(**values: Any) -> dict[str, Any]:
    """A consistent assignment (in progress, due after NOW), with ``values`` over it."""
    n = next(_ids)
    record: dict[str, Any] = {
        "@odata.type": ASSIGNMENT_TYPE,
        "id": f"learner:{n}",
        "learningProviderId": "prov",
        "learnerUserId": "learner",
        "learningContentId": "content-1",
        "externalcourseActivityId": f"ext-{n}",
        "status": "inProgress",
        "completionPercentage": 40,
        "assignedDateTime": "2025-01-10T09:00:00Z",
        "dueDateTime": {"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "UTC"},
        "completedDateTime": None,
        "assignmentType": "required",
        "assignerUserId": "boss",
        "notes": {"contentType": "text", "content": "Please finish it."},
    }
    record.update(values)
    return record


def course(**values: Any) -> dict[str, Any]:
    """A consistent self-initiated course (in progress, started before NOW), with ``values`` over it."""
    n = next(_ids)
    record: dict[str, Any] = {
        "@odata.type": SELF_INITIATED_TYPE,
        "id": f"learner:{n}",
        "learningProviderId": "prov",
        "learnerUserId": "learner",
        "learningContentId": "content-2",
        "externalcourseActivityId": f"ext-{n}",
        "status": "inProgress",
        "completionPercentage": 40,
        "startedDateTime": "2025-01-10T09:00:00Z",
        "completedDateTime": None,
    }
    record.update(values)
    return record


DONE = {"status": "completed", "completionPercentage": 100, "completedDateTime": "2025-03-01T10:00:00Z"}


def found(records: list[dict[str, Any]], rule_id: str, **options: Any) -> pd.DataFrame:
    result = audit(activities_frame(records), rules=[rule_id], now=options.pop("now", NOW), **options)
    assert set(result.findings["rule"]) <= {rule_id}
    return result.findings


def test_consistent_records_have_no_findings() -> None:
    frame = activities_frame([assignment(), course(), assignment(**DONE), course(**DONE)])
    result = audit(frame, now=NOW)
    assert result.findings.empty, result.findings
    assert result.plans == []
    assert result.counts()["findings"].sum() == 0 and len(result.counts()) == len(RULES)


# --- each rule: a positive and a near miss ------------------------------------------------------


def test_completed_below_100_proposes_100_when_a_completion_date_backs_it() -> None:
    records = [
        assignment(**{**DONE, "completionPercentage": 60}),  # dated: fix
        course(status="completed", completionPercentage=99, completedDateTime=None),  # undated: finding only
        assignment(**DONE),  # near miss: at 100
        assignment(status="inProgress", completionPercentage=60),  # near miss: not completed
    ]
    findings = found(records, "completed-below-100")
    assert findings["id"].tolist() == [records[0]["id"], records[1]["id"]]
    assert findings["field"].tolist() == ["completionPercentage"] * 2
    assert findings["current"].tolist() == [60, 99]
    assert findings["proposed"].tolist() == [100, None]
    assert "without a completion date" in findings["message"].iloc[1]


def test_completed_without_date_is_a_finding_only() -> None:
    records = [course(status="completed", completionPercentage=100, completedDateTime=None), course(**DONE)]
    findings = found(records, "completed-without-date")
    assert findings["id"].tolist() == [records[0]["id"]]
    assert findings["proposed"].isna().all() and findings["field"].iloc[0] == "completedDateTime"


def test_hundred_not_completed_proposes_completed_only_with_a_completion_date() -> None:
    records = [
        course(status="inProgress", completionPercentage=100, completedDateTime="2025-02-01T00:00:00Z"),
        assignment(status="inProgress", completionPercentage=100),
        assignment(status="inProgress", completionPercentage=99),  # near miss
        assignment(**DONE),  # near miss
    ]
    findings = found(records, "hundred-not-completed")
    assert findings["id"].tolist() == [records[0]["id"], records[1]["id"]]
    assert findings["current"].tolist() == ["inProgress", "inProgress"]
    assert findings["proposed"].tolist() == ["completed", None]


def test_not_started_with_progress_becomes_in_progress() -> None:
    records = [
        assignment(status="notStarted", completionPercentage=30),
        assignment(status="notStarted", completionPercentage=100),  # at 100: no fix from this rule
        assignment(status="notStarted", completionPercentage=0),  # near miss
        assignment(status="inProgress", completionPercentage=30),  # near miss
    ]
    findings = found(records, "not-started-with-progress")
    assert findings["id"].tolist() == [records[0]["id"], records[1]["id"]]
    assert findings["proposed"].tolist() == ["inProgress", None]


def test_completed_before_assigned_and_before_started() -> None:
    early = {**DONE, "completedDateTime": "2025-01-10T08:59:59Z"}
    same = {**DONE, "completedDateTime": "2025-01-10T09:00:00Z"}
    records = [assignment(**early), assignment(**same), course(**early), course(**same)]
    assigned = found(records, "completed-before-assigned")
    started = found(records, "completed-before-started")
    assert assigned["id"].tolist() == [records[0]["id"]]
    assert started["id"].tolist() == [records[2]["id"]]
    assert assigned["proposed"].isna().all() and started["proposed"].isna().all()
    assert assigned["current"].iloc[0] == datetime(2025, 1, 10, 8, 59, 59, tzinfo=timezone.utc)


def test_completed_in_future_is_judged_against_the_given_now() -> None:
    records = [
        course(**{**DONE, "completedDateTime": "2025-06-01T12:00:01Z"}),
        course(**{**DONE, "completedDateTime": "2025-06-01T12:00:00Z"}),
    ]
    assert found(records, "completed-in-future")["id"].tolist() == [records[0]["id"]]
    assert found(records, "completed-in-future", now="2025-06-01T12:00:02Z").empty
    assert len(found(records, "completed-in-future", now="2025-06-01T11:00:00Z")) == 2


def test_overdue_reads_the_due_time_in_its_zone() -> None:
    # 12:30 in Paris (summer) is 10:30 UTC: before NOW (12:00 UTC), overdue; 14:30 Paris is 12:30 UTC, not yet.
    records = [
        assignment(dueDateTime={"dateTime": "2025-06-01T12:30:00.0000000", "timeZone": "Romance Standard Time"}),
        assignment(dueDateTime={"dateTime": "2025-06-01T14:30:00.0000000", "timeZone": "Europe/Paris"}),
        assignment(**DONE, dueDateTime={"dateTime": "2025-01-01T00:00:00.0000000", "timeZone": "UTC"}),
        course(),  # no due date
    ]
    findings = found(records, "overdue")
    assert findings["id"].tolist() == [records[0]["id"]]
    assert findings["proposed"].isna().all()
    instants = due_instants(activities_frame(records))
    assert str(instants[0]) == "2025-06-01 10:30:00+00:00" and pd.isna(instants[3])


def test_unknown_time_zone_proposes_the_name_it_spells() -> None:
    frame = activities_frame(
        [
            assignment(dueDateTime={"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "pacific standard time"}),
            assignment(dueDateTime={"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "Mars/Olympus_Mons"}),
            assignment(dueDateTime={"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": None}),
            assignment(dueDateTime={"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "Pacific Standard Time"}),
            assignment(dueDateTime={"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "America/Los_Angeles"}),
        ]
    )
    findings = audit(frame, rules=["unknown-time-zone"], now=NOW).findings
    assert findings.index.tolist() == [0, 1, 2]
    assert findings["current"].tolist() == ["pacific standard time", "Mars/Olympus_Mons", None]
    assert findings["proposed"].tolist() == ["Pacific Standard Time", None, None]
    assert "without a time zone" in findings["message"].iloc[2]


def test_duplicate_external_id_under_one_provider_only() -> None:
    records = [
        assignment(externalcourseActivityId="dup"),
        course(externalcourseActivityId="dup"),
        assignment(externalcourseActivityId="dup", learningProviderId="other-provider"),  # near miss
        assignment(externalcourseActivityId="Dup"),  # near miss: another id
    ]
    findings = found(records, "duplicate-external-id")
    assert findings["id"].tolist() == [records[0]["id"], records[1]["id"]]
    assert findings["proposed"].isna().all()


def test_findings_csv_neutralises_formula_cells_as_every_csv_does(tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://evil.example","x")'
    records = [assignment(externalcourseActivityId=formula), course(externalcourseActivityId=formula)]
    result = audit(activities_frame(records), now=NOW)
    assert (result.findings["current"] == formula).any()
    result.write_findings(tmp_path / "findings.csv")
    text = (tmp_path / "findings.csv").read_text(encoding="utf-8")
    assert formula.replace('"', '""') in text  # the value is all there ...
    # ... but no cell begins with a formula character: each such cell is written behind a "'".
    cells = pd.read_csv(tmp_path / "findings.csv", dtype=str, keep_default_na=False).to_numpy().ravel().tolist()
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert f"'{formula}" in cells


def test_html_in_text_notes_becomes_html() -> None:
    records = [
        assignment(notes={"contentType": "text", "content": "<p>Finish <b>module 2</b></p>"}),
        assignment(notes={"contentType": "text", "content": "Tom &amp; Jerry"}),
        assignment(notes={"contentType": "text", "content": "use a <= b, a < b > c and Q&A <tbd>"}),  # near miss
        assignment(notes={"contentType": "html", "content": "<p>already html</p>"}),  # near miss
    ]
    findings = found(records, "html-in-text-notes")
    assert findings["id"].tolist() == [records[0]["id"], records[1]["id"]]
    assert findings["field"].tolist() == ["notes.contentType"] * 2
    assert findings["current"].tolist() == ["text", "text"]
    assert findings["proposed"].tolist() == ["html", "html"]


# --- choosing rules, user rules, now -------------------------------------------------------------


def test_disabled_rules_do_not_run_and_unknown_ids_are_named() -> None:
    frame = activities_frame([assignment(status="notStarted", completionPercentage=30)])
    assert audit(frame, now=NOW).findings["rule"].tolist() == ["not-started-with-progress"]
    off = audit(frame, now=NOW, disable=["not-started-with-progress"])
    assert off.findings.empty and "not-started-with-progress" not in off.counts().index
    with pytest.raises(InvalidInputError, match="no rule 'nope'"):
        audit(frame, disable=["nope"])
    with pytest.raises(InvalidInputError, match="no rule 'nope'"):
        audit(frame, rules=["nope"])


def test_user_rules_as_functions_and_decorated_with_fixes() -> None:
    def short_notes(frame: pd.DataFrame) -> pd.Series:
        """notes shorter than 5 characters"""
        return frame["notes.content"].str.len() < 5

    @rule("remind-in-notes", severity="info", field="notes.content")
    def remind(frame: pd.DataFrame, context: Any) -> pd.DataFrame:
        overdue = (context.due < context.now).fillna(False)
        out = pd.DataFrame(index=frame.index[overdue.to_numpy()])
        out["proposed"] = "Overdue: please finish it."
        return out

    frame = activities_frame(
        [
            assignment(notes={"contentType": "text", "content": "hi"}),
            assignment(dueDateTime={"dateTime": "2025-01-01T00:00:00.0000000", "timeZone": "UTC"}),
        ]
    )
    result = audit(frame, now=NOW, extra=[Rule.from_function(short_notes, field="notes.content"), remind])
    mine = result.findings[result.findings["rule"].isin(["short-notes", "remind-in-notes"])]
    assert mine[["rule", "id"]].values.tolist() == [
        ["short-notes", frame.at[0, "id"]],
        ["remind-in-notes", frame.at[1, "id"]],
    ]
    assert result.counts().loc["short-notes", "explanation"] == "notes shorter than 5 characters"
    assert [p.changes for p in result.plans] == [
        {"notes": {"contentType": "text", "content": "Overdue: please finish it."}}
    ]


def test_a_broken_user_rule_is_named() -> None:
    def broken(frame: pd.DataFrame) -> pd.Series:
        """always fails"""
        return frame["no such column"]

    with pytest.raises(InvalidInputError, match="rule broken failed: KeyError"):
        audit(activities_frame([assignment()]), extra=[Rule.from_function(broken, field="status")])
    with pytest.raises(InvalidInputError, match="returns a mask but names no field"):
        audit(activities_frame([assignment()]), rules=[Rule("x", "info", "x", lambda f: f["status"].notna())])


def test_rules_are_checked_when_made() -> None:
    with pytest.raises(InvalidInputError, match="lower-case words"):
        Rule("Bad Id", "info", "x", lambda f: f["status"].isna(), "status")
    with pytest.raises(InvalidInputError, match="not one of error, warning, info"):
        Rule("ok-id", "fatal", "x", lambda f: f["status"].isna(), "status")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="two rules are called 'overdue'"):
        audit(activities_frame([assignment()]), extra=[Rule("overdue", "info", "x", lambda f: f["id"].isna(), "id")])


def test_now_must_be_aware_and_defaults_to_the_clock() -> None:
    frame = activities_frame([course(**{**DONE, "completedDateTime": "2999-01-01T00:00:00Z"})])
    with pytest.raises(InvalidInputError, match="no time zone"):
        audit(frame, now="2025-01-01T00:00:00")
    result = audit(frame)
    assert result.findings["rule"].tolist() == ["completed-in-future"]
    assert abs(result.now - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=5)


# --- fixes -----------------------------------------------------------------------------------------


MIXED = [
    assignment(**{**DONE, "completionPercentage": 60}),
    course(status="inProgress", completionPercentage=100, completedDateTime="2025-02-01T00:00:00Z"),
    assignment(
        status="notStarted", completionPercentage=30, notes={"contentType": "text", "content": "<p>Finish it</p>"}
    ),
    assignment(dueDateTime={"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "europe/paris"}),
    course(status="completed", completionPercentage=100, completedDateTime=None),  # finding only
]


def test_fixes_are_one_plan_per_record_validated_and_based_on_the_rows_as_read() -> None:
    frame = activities_frame(MIXED)
    result = audit(frame, now=NOW)
    plans = result.plans
    validate_plans(plans)
    assert [p.activity_id for p in plans] == [r["id"] for r in MIXED[:4]]
    assert [p.changes for p in plans] == [
        {"completionPercentage": 100},
        {"status": "completed"},
        {"status": "inProgress", "notes": {"contentType": "html", "content": "<p>Finish it</p>"}},
        # A record holding a zone no one knows is fingerprinted as written: the known spelling replaces it.
        {"dueDateTime": {"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "Europe/Paris"}},
    ]
    assert result.findings.loc[3, "proposed"] == "Europe/Paris"
    assert result.unplanned == [] and "cannot be planned" not in result._repr_html_()
    records = frame.to_dict("index")
    for plan in plans:
        assert plan.base_etag == activity_etag(frame_json(frame, plan.row))
        assert plan.registration_id == "prov" and plan.row in records
    assert "completed-without-date" in set(result.findings["rule"]) and result.fixable["id"].nunique() == 4
    assert fix_plans(frame, result.findings) == plans


def frame_json(frame: pd.DataFrame, row: int) -> dict[str, Any]:
    from learnkit.bulk.frame import frame_to_activities

    return frame_to_activities(frame.loc[[row]])[0]


def test_reviewed_findings_make_the_plans_dropped_and_edited() -> None:
    frame = activities_frame(MIXED)
    findings = audit(frame, now=NOW).findings
    reviewed = findings[~findings["rule"].isin(["html-in-text-notes", "unknown-time-zone"])].copy()
    reviewed.loc[reviewed["rule"] == "completed-below-100", "proposed"] = None
    plans = fix_plans(frame, reviewed)
    assert [p.activity_id for p in plans] == [r["id"] for r in MIXED[1:3]]
    assert plans[1].changes == {"status": "inProgress"}
    findings = reviewed
    first = findings[findings["proposed"].notna()].iloc[[0]]
    clash = pd.concat(
        [findings, first.assign(proposed="completed" if first["proposed"].iloc[0] != "completed" else "inProgress")]
    )
    with pytest.raises(InvalidRowsError, match="propose different values"):
        fix_plans(frame, clash)
    bad = findings.copy()
    bad.loc[bad["rule"] == "completed-below-100", "proposed"] = 150
    with pytest.raises(InvalidRowsError, match="completionPercentage"):
        fix_plans(frame, bad)


def test_fixes_csv_is_what_apply_reads_with_the_etags_as_read(tmp_path: Path) -> None:
    frame = activities_frame(
        [
            *MIXED,
            assignment(
                status="notStarted",
                completionPercentage=20,
                dueDateTime={"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "Mars/Base"},
            ),
        ]
    )
    result = audit(frame, now=NOW)
    # Row 3's unknown zone has a known spelling, which its fix writes; row 5 keeps "Mars/Base", a zone
    # no reader of the file may send, so its row is left out of the file, and said.
    assert result.unplanned == []
    assert [(row, column) for row, column, _ in result.write_fixes(tmp_path / "fixes.csv")] == [
        (5, "dueDateTime.timeZone")
    ]
    read = read_csv(tmp_path / "fixes.csv")
    plans = plans_from_frame(read)
    assert [p.activity_id for p in plans] == [r["id"] for r in MIXED[:4]]
    by_id = {p.activity_id: p for p in result.plans}
    for plan in plans:
        assert plan.base_etag == by_id[plan.activity_id].base_etag
        for name, value in by_id[plan.activity_id].changes.items():
            assert plan.changes[name] == value
    result.write_findings(tmp_path / "findings.csv")
    table = pd.read_csv(tmp_path / "findings.csv")
    assert table.columns.tolist() == ["row", "id", "rule", "severity", "field", "current", "proposed", "message"]
    assert len(table) == len(result.findings)


def test_result_shows_itself() -> None:
    result = audit(activities_frame(MIXED), now=NOW)
    shown = result._repr_html_()
    for rule_id, row in result.counts().iterrows():
        assert (
            f"<code>{rule_id}</code></td><td class='lk-{row['severity']}'>{row['severity']}</td>"
            f"<td>{row['findings']}</td><td>{row['fixes']}</td>" in shown
        )
    # A missing value shows empty, even where a whole column of the sample is missing (pandas would say "None").
    unproposed = AuditResult(result.frame, result.findings.assign(proposed=None), result.rules, result.now)
    assert "<td>None</td>" not in unproposed._repr_html_()
    findings = result.findings.assign(current="<script>x</script>")
    assert "<script>" not in AuditResult(result.frame, findings, result.rules, result.now)._repr_html_()
    assert isinstance(result, AuditResult) and "findings on 5 of 5 records" in repr(result)
    assert "fixes proposed for 4 records" in result.summary()


# --- against the sandbox ---------------------------------------------------------------------------


@pytest.fixture
def client(clean_sandbox: Any) -> GraphClient:
    return GraphClient.for_sandbox(clean_sandbox, retry=RetryPolicy(backoff=0.01, max_backoff=0.05))


def _journal_id(result: Any) -> str:
    found = getattr(result, "journal_id", None) or result.attrs.get("journal_id")
    assert found
    return str(found)


def _table(result: Any) -> pd.DataFrame:
    frame = getattr(result, "frame", result)
    assert isinstance(frame, pd.DataFrame)
    return frame


def test_against_the_sandbox_fixes_clear_the_fixable_findings_and_undo_restores_them(
    clean_sandbox: Any, client: GraphClient, tmp_path: Path
) -> None:
    demo = clean_sandbox.demo
    reg, learner, content = demo["registration_id"], demo["learner_id"], demo["content_id"]
    base = {"learnerUserId": learner, "learningContentId": content}
    bodies = [
        {
            **base,
            "@odata.type": ASSIGNMENT_TYPE,
            "assignmentType": "required",
            "externalcourseActivityId": "audit-1",
            "status": "completed",
            "completionPercentage": 60,
            "completedDateTime": "2024-03-01T10:00:00Z",
            "assignedDateTime": "2024-01-01T09:00:00Z",
        },
        {
            **base,
            "@odata.type": SELF_INITIATED_TYPE,
            "externalcourseActivityId": "audit-2",
            "status": "inProgress",
            "completionPercentage": 100,
            "completedDateTime": "2024-02-01T10:00:00Z",
            "startedDateTime": "2024-01-01T09:00:00Z",
        },
        {
            **base,
            "@odata.type": ASSIGNMENT_TYPE,
            "assignmentType": "required",
            "externalcourseActivityId": "audit-3",
            "status": "notStarted",
            "completionPercentage": 30,
            "notes": {"contentType": "text", "content": "<p>Do <b>part 2</b></p>"},
        },
        {
            **base,
            "@odata.type": SELF_INITIATED_TYPE,
            "externalcourseActivityId": "audit-4",
            "status": "completed",
            "completionPercentage": 100,
            "startedDateTime": "2024-01-01T09:00:00Z",
        },
    ]
    made = [client.create_activity(reg, body).id for body in bodies]
    # A consistent record made inconsistent by a later patch, as a provider's sync would.
    update_activity(
        client,
        reg,
        made[3],
        {"@odata.type": SELF_INITIATED_TYPE, "status": "completed", "completedDateTime": "2030-01-01T00:00:00Z"},
    )
    journal = Journal(tmp_path / "journal.db")

    before = audit(everything(client, clean_sandbox, reg), now=NOW)
    mine = before.findings[before.findings["id"].isin(made)]
    assert sorted(zip(mine["id"], mine["rule"], strict=True)) == sorted(
        [
            (made[0], "completed-below-100"),
            (made[1], "hundred-not-completed"),
            (made[2], "not-started-with-progress"),
            (made[2], "html-in-text-notes"),
            (made[3], "completed-in-future"),
        ]
    )
    fixable_before = before.fixable
    # The demo tenant's own seeded inconsistencies are fixed (and restored) alongside these.
    assert set(fixable_before["id"]) & set(made) == set(made[:3])

    applied = apply(client, before.plans, journal=journal, progress=False)
    assert set(_table(applied)["status"]) == {"applied"}

    after = audit(everything(client, clean_sandbox, reg), now=NOW)
    assert after.fixable.empty, after.fixable
    assert set(after.findings.loc[after.findings["id"].isin(made), "rule"]) == {"completed-in-future"}
    assert after.findings_for("completed-below-100")["proposed"].isna().all()  # left: those no date backs

    undone = undo(client, _journal_id(applied), journal=journal, progress=False)
    assert set(_table(undone)["status"]) == {"applied"}
    again = audit(everything(client, clean_sandbox, reg), now=NOW)
    key = ["id", "rule", "field", "current", "proposed"]
    assert again.fixable[key].values.tolist() == fixable_before[key].values.tolist()


def test_against_the_sandbox_a_fix_for_a_record_changed_since_is_a_conflict(
    clean_sandbox: Any, client: GraphClient, tmp_path: Path
) -> None:
    reg = clean_sandbox.demo["registration_id"]
    made = client.create_activity(
        reg,
        {
            "@odata.type": ASSIGNMENT_TYPE,
            "assignmentType": "required",
            "externalcourseActivityId": "audit-conflict",
            "learnerUserId": clean_sandbox.demo["learner_id"],
            "learningContentId": clean_sandbox.demo["content_id"],
            "status": "notStarted",
            "completionPercentage": 30,
        },
    ).id
    result = audit(everything(client, clean_sandbox, reg), now=NOW)
    plans = [p for p in result.plans if p.activity_id == made]
    assert plans and plans[0].changes == {"status": "inProgress"}
    update_activity(
        client, reg, made, {"@odata.type": ASSIGNMENT_TYPE, "status": "notStarted", "completionPercentage": 35}
    )
    outcome = _table(apply(client, plans, journal=Journal(tmp_path / "j.db"), progress=False))
    assert outcome["status"].tolist() == ["conflict"]
    assert client.get_activity(made).completionPercentage == 35


# --- learnkit audit, on the command line -----------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from learnkit.cli import main

    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_findings_and_fixes_csv_that_apply_takes_then_undo(
    clean_sandbox: Any, client: GraphClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    demo = clean_sandbox.demo
    reg = demo["registration_id"]
    made = client.create_activity(
        reg,
        {
            "@odata.type": ASSIGNMENT_TYPE,
            "assignmentType": "required",
            "externalcourseActivityId": "audit-cli",
            "learnerUserId": demo["learner_id"],
            "learningContentId": demo["content_id"],
            "status": "notStarted",
            "completionPercentage": 45,
            "notes": {"contentType": "text", "content": "<p>Start with <i>chapter 1</i></p>"},
        },
    ).id
    info = tmp_path / "sb.json"
    info.write_text(json.dumps(clean_sandbox.to_json()))
    connection = ["--sandbox-json", str(info)]
    findings, fixes = tmp_path / "findings.csv", tmp_path / "fixes.csv"
    ids = keys_csv(clean_sandbox, tmp_path / "keys.csv")
    audit_argv = ["audit", "--provider", reg, "--ids", ids, "--now", NOW, "-o", str(findings), "--fixes", str(fixes)]
    audit_argv += connection

    status, out, err = _cli(audit_argv, capsys)
    assert status == 0, err
    written = read_csv(fixes)
    assert "not-started-with-progress" in out and f"{len(written)} fixed records written to {fixes}" in out
    table = pd.read_csv(findings, dtype=str, keep_default_na=False)
    mine = table[table["id"] == made]
    assert sorted(mine["rule"]) == ["html-in-text-notes", "not-started-with-progress"]
    assert set(mine["proposed"]) == {"html", "inProgress"}
    assert made in written["id"].tolist()

    status, out, err = _cli(
        ["apply", str(fixes), *connection, "--journal", str(tmp_path / "j.db"), "--no-progress"], capsys
    )
    assert status == 0, out + err
    journal_id = out.split()[1]
    fixed = client.get_activity(made)
    assert fixed.status == "inProgress" and fixed.notes is not None and fixed.notes.contentType.value == "html"

    again = tmp_path / "fixes-again.csv"
    rules = ["--rules", "not-started-with-progress,html-in-text-notes"]
    status, out, _ = _cli([*audit_argv[:-4], *rules, "--fixes", str(again), *connection], capsys)
    assert status == 0 and "0 findings" in out
    # Nothing left to fix: the file holds its header, and no one is told to review and apply it.
    assert f"no fixes to propose: {again} holds the header only, nothing to apply" in out
    assert "review it" not in out and len(read_csv(again)) == 0

    status, out, err = _cli(
        ["undo", journal_id, *connection, "--journal", str(tmp_path / "j.db"), "--no-progress"], capsys
    )
    assert status == 0, out + err
    assert client.get_activity(made).status == "notStarted"


@pytest.mark.slow  # starts learnkit in a process of its own
def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _cli(["audit", "--list-rules"], capsys)
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == [r.id for r in RULES]
    cases = [
        (["audit", "--sandbox-json", str(tmp_path / "missing.json")], "--provider"),
        (["audit", "--provider", "p", "--sandbox-json", str(tmp_path / "missing.json")], "missing.json"),
    ]
    for argv, expected in cases:
        status, out, err = _cli(argv, capsys)
        assert status == 2 and expected in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_refuses_an_unknown_rule_and_a_naive_now(
    clean_sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    info = tmp_path / "sb.json"
    info.write_text(json.dumps(clean_sandbox.to_json()))
    ids = keys_csv(clean_sandbox, tmp_path / "keys.csv")
    base = ["audit", "--provider", clean_sandbox.demo["registration_id"], "--ids", ids, "--sandbox-json", str(info)]
    for extra, expected in (
        (["--rules", "nope"], "no rule 'nope'"),
        (["--now", "2025-01-01T00:00:00"], "no time zone"),
        (["--now", "yesterday"], "not an ISO 8601 date-time"),
        (["-o", str(tmp_path / "no" / "such" / "dir.csv")], "no folder"),
    ):
        status, _out, err = _cli([*base, *extra], capsys)
        assert status == 2 and expected in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
