"""learnkit.bulk: the decision per record (pure), AIMD, and bulk runs against the sandbox over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import GraphClient, RetryPolicy
from learnkit.bulk import AdaptiveLimit, apply, apply_frame, resume, summarize, undo
from learnkit.bulk.edits import diff
from learnkit.bulk.fingerprints import activity_etag, canonical
from learnkit.bulk.journal import Journal
from learnkit.bulk.plans import PatchPlan, decide, validate_plans
from learnkit.errors import InvalidInputError, InvalidRowsError, JournalError
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE
from tests.conftest import everything

FAST = RetryPolicy(max_attempts=10, backoff=0.01, max_backoff=0.05)


def test_the_package_names_its_entry_points_once() -> None:
    # learnkit.bulk lists them once (its TYPE_CHECKING block, for mypy too) and loads each from its module on first use.
    import learnkit.bulk
    from learnkit.bulk import result, runs

    names = learnkit.bulk.__all__
    assert {"apply", "apply_csv", "apply_frame", "undo", "redo", "resume", "BulkResult", "summarize"} <= set(names)
    assert learnkit.bulk.apply is runs.apply and learnkit.bulk.BulkResult is result.BulkResult
    assert all(getattr(learnkit.bulk, name) is not None for name in names) and set(names) <= set(dir(learnkit.bulk))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        learnkit.bulk.nothing  # noqa: B018


CURRENT = {
    "@odata.type": SELF_INITIATED_TYPE,
    "id": "u:1",
    "learnerUserId": "u",
    "status": "inProgress",
    "completionPercentage": 10,
    "completedDateTime": None,
    "startedDateTime": "2021-05-01T09:00:00Z",
}


def plan(changes: dict[str, Any], **kw: Any) -> PatchPlan:
    return PatchPlan(7, "prov", "u:1", SELF_INITIATED_TYPE, changes, **kw)


# --- decide (pure) -----------------------------------------------------------------------


def on_service(client: GraphClient) -> dict[str, Any]:
    """The service a run started by hand is recorded against: the client's, as ``bulk.apply`` records it."""
    service = client.service()
    return {"graph_url": service.graph_url, "tenant": service.tenant_id}


def test_decide_sends_the_minimal_patch_and_keeps_what_it_replaces() -> None:
    decision = decide(plan({"completionPercentage": 40}, base_etag=activity_etag(CURRENT)), CURRENT)
    assert decision.action == "send"
    assert decision.body == {"@odata.type": SELF_INITIATED_TYPE, "status": "inProgress", "completionPercentage": 40}
    # Only what the patch replaces is kept: that is what an undo puts back.
    assert decision.before == {"@odata.type": SELF_INITIATED_TYPE, "status": "inProgress", "completionPercentage": 10}


def test_decide_unchanged_when_the_service_already_holds_it() -> None:
    assert decide(plan({"completionPercentage": 10, "status": "inProgress"}), CURRENT).action == "unchanged"


def test_decide_conflict_when_changed_since_read_unless_forced() -> None:
    stale = plan({"completionPercentage": 40}, base_etag=activity_etag({**CURRENT, "completionPercentage": 5}))
    decision = decide(stale, CURRENT)
    assert decision.action == "conflict" and "changed on the service" in decision.message
    assert "completionPercentage now 10" in decision.message and "etag" not in decision.message
    assert decide(stale, CURRENT, force=True).action == "send"


def test_a_property_moved_to_the_value_the_plan_sets_is_no_conflict() -> None:
    # Exported at 5; the file's row was applied with 10 (the service holds CURRENT), then edited further.
    exported = activity_etag({**CURRENT, "completionPercentage": 5})
    further = decide(plan({"completionPercentage": 10, "status": "completed"}, base_etag=exported), CURRENT)
    assert further.action == "send" and further.body is not None
    assert further.body["status"] == "completed" and "completionPercentage" not in further.body
    # A property that moved elsewhere is still a conflict, and so is one the plan does not set.
    elsewhere = decide(plan({"completionPercentage": 11, "status": "completed"}, base_etag=exported), CURRENT)
    untouched = decide(plan({"status": "completed"}, base_etag=exported), CURRENT)
    assert elsewhere.action == untouched.action == "conflict"
    assert "completionPercentage now 10" in untouched.message


def test_decide_after_an_unknown_outcome_reads_back_instead_of_resending() -> None:
    first = decide(plan({"completionPercentage": 40}), CURRENT)
    assert first.before is not None and first.body is not None
    prior = (first.before, first.body)
    landed = {**CURRENT, "completionPercentage": 40}
    assert decide(plan({"completionPercentage": 40}), landed, prior=prior).action == "applied"
    assert decide(plan({"completionPercentage": 40}), CURRENT, prior=prior).action == "send"
    someone = {**CURRENT, "completionPercentage": 77}
    assert decide(plan({"completionPercentage": 40}), someone, prior=prior).action == "conflict"


def test_decide_refuses_type_and_read_only_mismatches() -> None:
    wrong_type = PatchPlan(1, "p", "u:1", ASSIGNMENT_TYPE, {"completionPercentage": 40})
    assert decide(wrong_type, CURRENT).action == "refuse"
    moved = plan({"completionPercentage": 40}, expect={"learnerUserId": "someone-else"})
    decision = decide(moved, CURRENT)
    assert decision.action == "refuse" and "learnerUserId is read-only" in decision.message


def test_decide_refuses_a_patch_the_type_does_not_allow() -> None:
    decision = decide(plan({"status": "notStarted"}), CURRENT)
    assert decision.action == "refuse" and "status" in decision.message


# --- AIMD --------------------------------------------------------------------------------


def test_aimd_halves_once_per_round_trip_and_grows_back() -> None:
    aimd = AdaptiveLimit(maximum=16, limit=8)
    epoch = aimd.epoch
    aimd.on_batch(epoch, size=20, throttled=15, now=1.0, wait=1.0)
    aimd.on_batch(epoch, size=20, throttled=20, now=1.01, wait=1.0)  # sent before the cut: no second cut
    assert aimd.limit == 4 and aimd.pace is not None
    aimd.on_batch(aimd.epoch, size=20, throttled=20, now=2.2, wait=1.0)  # paced, past the rate again
    assert aimd.limit == 2
    pace = aimd.pace
    for i in range(10):
        aimd.on_batch(aimd.epoch, size=20, throttled=0, now=3.0 + i)
    assert 2 < aimd.limit < 16 and aimd.pace > pace


def test_aimd_ignores_the_odd_throttled_request() -> None:
    aimd = AdaptiveLimit(maximum=8, limit=8)
    aimd.on_batch(aimd.epoch, size=20, throttled=3, now=0.0)
    assert aimd.limit == 8 and aimd.pace is None


def test_aimd_pace_spaces_batches_and_throttled_ones_keep_their_place_without_a_hold() -> None:
    aimd = AdaptiveLimit(pace=100.0)
    aimd.sent(20, now=10.0)
    assert aimd.wait_for(now=10.0) == pytest.approx(0.2)
    assert aimd.wait_for(now=10.3) == 0
    aimd.sent(20, now=10.3)
    # Throttled requests count against the service's limit (as Graph's do): no place is given back.
    # Paced, they wait their own Retry-After; the others keep the (slightly slower) pace, no hold.
    aimd.on_batch(aimd.epoch, size=20, throttled=20, now=10.35, wait=1.0)
    assert aimd.pace == pytest.approx(95.0) and aimd.ceiling == pytest.approx(100.0)
    assert aimd.wait_for(now=10.35) == pytest.approx(0.15)
    # Within the Retry-After the service's window has not seen the cut yet: no second cut.
    aimd.on_batch(aimd.epoch, size=20, throttled=20, now=10.6, wait=1.0)
    assert aimd.pace == pytest.approx(95.0)
    # Still throttled once it has: the service's rate dropped, cut deeper.
    aimd.on_batch(aimd.epoch, size=20, throttled=20, now=11.5, wait=1.0)
    assert aimd.pace == pytest.approx(76.0)


def test_aimd_first_overload_holds_for_retry_after_then_paces_under_what_the_burst_delivered() -> None:
    aimd = AdaptiveLimit(maximum=8, limit=8)
    epoch = aimd.epoch
    for i in range(4):
        aimd.on_batch(epoch, size=20, throttled=0, now=0.1 * i)
    aimd.on_batch(epoch, size=20, throttled=20, now=0.5, wait=2.0)
    assert aimd.wait_for(now=0.5) == pytest.approx(2.0)
    assert aimd.pace == pytest.approx(0.98 * 80)
    # A later answer to the same burst, partly let through: the estimate of the rate grows with it.
    aimd.on_batch(epoch, size=20, throttled=5, now=0.55, wait=2.0)
    assert aimd.pace == pytest.approx(0.98 * 95) and aimd.limit == 4


# --- against the sandbox -----------------------------------------------------------------


@pytest.fixture
def sb(clean_sandbox: Any) -> Any:
    """The shared ``sb``, with injected faults asking for a 0.1 s wait (the default is 1 s)."""
    clean_sandbox.set_faults(None, retry_after=0.1)
    return clean_sandbox


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal(tmp_path / "journal.sqlite")
    yield journal
    journal.close()


def run_options(book: Journal | None) -> dict[str, Any]:
    return {"journal": book, "progress": False, "retry": FAST}


def provider_frame(client: GraphClient, sb: Any) -> pd.DataFrame:
    return everything(client, sb, sb.demo["registration_id"])


def bump(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first n in-progress rows one percent further on."""
    edited = df.copy()
    rows = edited.index[edited["status"] == "inProgress"][:n]
    edited.loc[rows, "completionPercentage"] = (edited.loc[rows, "completionPercentage"] % 98) + 1
    return edited


def by_id(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(a["id"]): canonical(a) for a in df.pipe(lambda f: f).pipe(_records)}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    from learnkit.bulk.frame import frame_to_activities

    return frame_to_activities(df)


def test_apply_frame_edits_land_exactly_and_are_journaled(sb: Any, client: GraphClient, book: Journal) -> None:
    before = provider_frame(client, sb)
    edited = bump(before, 45)
    results = apply_frame(client, before, edited, **run_options(book))
    assert summarize(results) == {"applied": 45}
    assert list(results.frame.columns) == ["id", "status", "code", "message", "attempts", "patch", "before"]
    # Graph documents reading a record by id: one GET and one PATCH per changed row, 20 to a round trip each.
    assert results.ok and results.stats["requests"] == 2 * 45 and results.stats["round_trips"] <= 2 * 3
    assert (results.frame["attempts"] == 1).all() and (results.frame["code"] == 204).all()
    assert by_id(provider_frame(client, sb)) == by_id(edited)
    journal_rows = book.rows(results.journal_id)
    assert {r.state for r in journal_rows} == {"applied"}
    first = journal_rows[0]
    assert first.before is not None and first.body is not None
    assert (
        first.before["completionPercentage"]
        == before.set_index("id").loc[first.plan.activity_id, "completionPercentage"]
    )
    assert book.info(results.journal_id).state == "finished"


def test_unchanged_and_dry_run_send_no_patch(sb: Any, client: GraphClient, book: Journal) -> None:
    df = provider_frame(client, sb)
    edited = bump(df, 3)
    preview = apply_frame(client, df, edited, **run_options(book), dry_run=True)
    assert summarize(preview) == {"dry-run": 3} and preview.dry_run
    assert all(p["completionPercentage"] for p in preview.frame["patch"])
    assert len(book.runs()) == 0
    assert by_id(provider_frame(client, sb)) == by_id(df)
    same = [
        PatchPlan(
            i,
            sb.demo["registration_id"],
            str(r["id"]),
            str(r["@odata.type"]),
            {"completionPercentage": int(r["completionPercentage"])},
        )
        for i, r in df.head(5).iterrows()
    ]
    results = apply(client, same, **run_options(book))
    assert summarize(results) == {"unchanged": 5} and (results.frame["attempts"] == 0).all()


def test_conflict_is_reported_not_overwritten_unless_forced(sb: Any, client: GraphClient, book: Journal) -> None:
    before = provider_frame(client, sb)
    edited = bump(before, 4)
    victim = edited.loc[edited["completionPercentage"] != before["completionPercentage"], "id"].iloc[0]
    kind = before.set_index("id").loc[victim, "@odata.type"]
    client.patch_activity(
        sb.demo["registration_id"], victim, {"@odata.type": kind, "status": "inProgress", "completionPercentage": 3}
    )
    results = apply_frame(client, before, edited, **run_options(book))
    assert summarize(results) == {"applied": 3, "conflict": 1}
    assert results.frame.set_index("id").loc[victim, "attempts"] == 0
    assert client.get_activity(victim).completionPercentage == 3
    forced = apply_frame(client, before, edited, **run_options(book), force=True)
    assert summarize(forced) == {"applied": 1, "unchanged": 3}
    assert client.get_activity(victim).completionPercentage != 3


def test_each_subrequest_is_retried_on_its_own(sb: Any, client: GraphClient, book: Journal) -> None:
    before = provider_frame(client, sb)
    edited = bump(before, 5)
    sb.fail_next("429", "503", "500", "drop")
    results = apply_frame(client, before, edited, **run_options(book))
    assert summarize(results) == {"applied": 5}
    assert by_id(provider_frame(client, sb)) == by_id(edited)
    attempts = book.attempts(results.journal_id)
    statuses = list(attempts["status"])
    assert 429 in statuses and 503 in statuses and 500 in statuses
    assert attempts.loc[attempts["status"] == 429, "retry_after"].iloc[0] == pytest.approx(0.1)
    # the dropped $batch left its sub-requests without an answer, then they were sent again
    assert attempts["status"].isna().sum() >= 1


def test_errors_fail_their_row_only_with_the_graph_code(sb: Any, client: GraphClient, book: Journal) -> None:
    df = provider_frame(client, sb)
    good = [
        PatchPlan(
            0,
            sb.demo["registration_id"],
            sb.demo["self_initiated_id"],
            SELF_INITIATED_TYPE,
            {"completionPercentage": 55},
        )
    ]
    missing = [
        PatchPlan(1, sb.demo["registration_id"], "nobody:nothing", SELF_INITIATED_TYPE, {"completionPercentage": 55})
    ]
    other = [
        PatchPlan(
            2,
            sb.demo["disabled_registration_id"],
            sb.demo["assignment_id"],
            ASSIGNMENT_TYPE,
            {"completionPercentage": 55},
        )
    ]
    results = apply(client, good + missing + other, **run_options(book))
    assert results.frame.loc[0, "status"] == "applied"
    assert (results.frame.loc[1, "status"], results.frame.loc[1, "code"]) == ("failed", 404)
    assert "notFound" in results.frame.loc[1, "message"]
    assert results.frame.loc[2, "status"] == "failed" and results.frame.loc[2, "code"] in (400, 403)
    assert len(df) == len(provider_frame(client, sb))


def test_duplicate_records_refused_before_sending(sb: Any, client: GraphClient, book: Journal) -> None:
    twice = [PatchPlan(i, "p", "u:1", SELF_INITIATED_TYPE, {"completionPercentage": i}) for i in (2, 3)]
    with pytest.raises(InvalidInputError, match="repeats row 2"):
        apply(client, twice, **run_options(book))
    assert len(book.runs()) == 0


def test_invalid_plans_refused_before_sending(sb: Any, client: GraphClient, book: Journal) -> None:
    plans = [
        PatchPlan(2, "p", "u:1", SELF_INITIATED_TYPE, {"completionPercentage": 150}),
        PatchPlan(3, "p", "u:2", SELF_INITIATED_TYPE, {"status": "notStarted"}),
        PatchPlan(4, "p", "u:3", SELF_INITIATED_TYPE, {"notes": None}),
        PatchPlan(5, "", "u:4", ASSIGNMENT_TYPE, {"completionPercentage": 1}),
    ]
    with pytest.raises(InvalidRowsError) as caught:
        apply(client, plans, **run_options(book))
    assert [(row, field) for row, field, _ in caught.value.cells] == [
        (2, "completionPercentage"),
        (3, "status"),
        (4, "notes"),
        (5, "learningProviderId"),
    ]
    assert len(book.runs()) == 0


def test_validation_once_per_distinct_value_still_names_every_bad_row() -> None:
    # Rows sharing a value are validated once; equal-but-different-typed values (True == 1 == 1.0)
    # are not mistaken for each other.
    values = [1, True, 1, 1.0, 150, 7, 150, "x"]
    plans = [
        PatchPlan(i + 2, "p", f"u:{i}", SELF_INITIATED_TYPE, {"completionPercentage": v}) for i, v in enumerate(values)
    ]
    with pytest.raises(InvalidRowsError) as caught:
        validate_plans(plans)
    assert [row for row, _, _ in caught.value.cells] == [3, 5, 6, 8, 9]
    assert all(field == "completionPercentage" for _, field, _ in caught.value.cells)
    good = [p for p, v in zip(plans, values, strict=True) if type(v) is int and v <= 100]
    assert validate_plans(good) == [{"completionPercentage": 1}] * 2 + [{"completionPercentage": 7}]


def test_diff_names_each_row_that_edits_a_property_its_type_cannot_update() -> None:
    from learnkit.bulk.frame import activities_frame

    def record(i: int, kind: str) -> dict[str, Any]:
        return {"id": f"a{i}", "@odata.type": kind, "learningProviderId": "p", "status": "inProgress"}

    kinds = [ASSIGNMENT_TYPE, SELF_INITIATED_TYPE, ASSIGNMENT_TYPE, SELF_INITIATED_TYPE]
    before = activities_frame([record(i, kind) for i, kind in enumerate(kinds)])
    after = before.copy()
    after["completionPercentage"] = 30  # every row: updatable for both types
    after.loc[[1, 2, 3], "notes.content"] = "hello"  # notes: assignments only
    with pytest.raises(InvalidRowsError) as caught:
        diff(before, after)
    assert [(row, field) for row, field, _ in caught.value.cells] == [(1, "notes.content"), (3, "notes.content")]
    assert "not a property of learningSelfInitiatedCourse" in caught.value.cells[0][2]
    plans = diff(before, after.drop(index=[1, 3]).assign(**{"notes.content": None}))
    assert [p.activity_id for p in plans] == ["a0", "a2"]


def test_undo_puts_back_exactly_what_was_replaced(sb: Any, client: GraphClient, book: Journal) -> None:
    before = provider_frame(client, sb)
    edited = bump(before, 25)
    assignments = edited.index[edited["@odata.type"] == ASSIGNMENT_TYPE][:5]
    edited.loc[assignments, "notes.content"] = "corrected"
    edited.loc[assignments, "dueDateTime.dateTime"] = pd.Timestamp("2030-01-31T12:00:00")
    results = apply_frame(client, before, edited, **run_options(book))
    assert set(results.frame["status"]) == {"applied"}
    assert by_id(provider_frame(client, sb)) == by_id(edited)
    reverted = undo(client, results.journal_id, **run_options(book))
    assert summarize(reverted) == {"applied": len(results)}
    assert by_id(provider_frame(client, sb)) == by_id(before)
    info = book.info(reverted.journal_id)
    assert (info.kind, info.parent, info.state) == ("undo", results.journal_id, "finished")


def test_undo_leaves_records_changed_since(sb: Any, client: GraphClient, book: Journal) -> None:
    before = provider_frame(client, sb)
    results = apply_frame(client, before, bump(before, 3), **run_options(book))
    victim = results.frame["id"].iloc[0]
    kind = before.set_index("id").loc[victim, "@odata.type"]
    client.patch_activity(
        sb.demo["registration_id"], victim, {"@odata.type": kind, "status": "completed", "completionPercentage": 100}
    )
    reverted = undo(client, results.journal_id, **run_options(book))
    assert summarize(reverted) == {"applied": 2, "conflict": 1}
    assert client.get_activity(victim).completionPercentage == 100


def test_undo_refuses_an_unfinished_run(sb: Any, client: GraphClient, book: Journal) -> None:
    run = book.start("apply", [plan({"completionPercentage": 1})], **on_service(client))
    with pytest.raises(JournalError, match="not finished"):
        undo(client, run, **run_options(book))


def test_resume_confirms_landed_rows_and_sends_only_the_rest(sb: Any, client: GraphClient, book: Journal) -> None:
    before = provider_frame(client, sb)
    edited = bump(before, 3)
    plans = diff(before, edited)
    run = book.start("apply", plans, **on_service(client))
    current = {
        p.activity_id: client.request(
            "GET", f"/employeeExperience/learningCourseActivities/{p.activity_id}", operation="get_activity"
        ).body
        for p in plans
    }
    sent = [decide(p, current[p.activity_id]) for p in plans]
    # row 0: PATCH sent and landed, then the process died; row 1: marked sending, never arrived; row 2: planned
    book.mark_sending(run, [(0, plans[0], sent[0].before, sent[0].body), (1, plans[1], sent[1].before, sent[1].body)])
    assert sent[0].body is not None
    client.patch_activity(plans[0].registration_id, plans[0].activity_id, sent[0].body)
    results = resume(client, run, **run_options(book))
    assert summarize(results) == {"applied": 3}
    assert by_id(provider_frame(client, sb)) == by_id(edited)
    sends = [r.attempts for r in book.rows(run)]
    assert sends == [0, 1, 1]  # row 0 was read back, not sent again (its first send was outside this run)
    assert "earlier attempt landed" in results.frame.loc[plans[0].row, "message"]


def test_rate_limited_apply_loses_nothing(sb: Any, client: GraphClient, book: Journal) -> None:
    before = provider_frame(client, sb)
    edited = bump(before, 60)
    sb.set_rate_limit(60)
    results = apply_frame(client, before, edited, **run_options(book))
    sb.set_rate_limit(None)
    assert summarize(results) == {"applied": 60}
    assert by_id(provider_frame(client, sb)) == by_id(edited)
    throttled = book.attempts(results.journal_id)["status"].eq(429).sum()
    assert throttled > 0
