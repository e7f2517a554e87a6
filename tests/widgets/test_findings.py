"""FindingsPanel on the demo provider: the seeded findings, a fix dropped in review, the rest applied as one
journal run through the workbench (read back over HTTP), then undone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from learnkit import GraphClient
from learnkit.bulk.journal import Journal
from learnkit.sandbox.seed import AUDIT_NOW, SEEDED_INCONSISTENCIES
from learnkit.widgets import ActivityTable, ProviderCharts, Workbench
from learnkit.widgets.findings import SOURCE, FindingsPanel
from tests.widgets.conftest import demo_source


@pytest.fixture
def bench(client: GraphClient, sb: Any, tmp_path: Path) -> Workbench:
    return Workbench(
        client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=str(tmp_path / "journal.db")
    )


def test_the_panel_lists_the_seeded_findings_and_their_fixes(bench: Workbench) -> None:
    panel = FindingsPanel(bench, now=AUDIT_NOW)
    assert panel.result is not None
    found = set(zip(panel.result.findings["rule"], panel.result.findings["id"], strict=True))
    ids = set(bench.frame["id"])
    assert found == {(r, i) for r, seeded in SEEDED_INCONSISTENCIES.items() for i in seeded if i in ids}
    fixes = panel.fixes()
    assert len(fixes) == len(panel.result.fixable) > 0
    assert len(panel.fix_list.children) == len(fixes)
    # Each fix names its learner (the workbench read the names with the activities).
    for (_, finding), line in zip(fixes.iterrows(), panel.fix_list.children, strict=True):
        learner = bench.user_name(bench.frame.loc[bench.frame["id"] == finding["id"], "learnerUserId"].item())
        assert learner is not None and learner.displayName and learner.displayName in line.children[1].value
    records = fixes["id"].nunique()
    assert panel.apply_button.description == f"Apply {len(fixes)} fixes to {records} records"
    assert not panel.apply_button.disabled
    assert panel.undo_button.disabled
    assert "html-in-text-notes" in panel.counts.value and "duplicate-external-id" in panel.counts.value


def test_drop_one_apply_the_rest_as_one_run_then_undo(bench: Workbench, reader: GraphClient, tmp_path: Path) -> None:
    panel = FindingsPanel(bench, now=AUDIT_NOW)
    fixes = panel.fixes()
    kept_before = len(fixes)
    dropped = str(fixes[fixes["rule"] == "html-in-text-notes"].iloc[0]["id"])
    assert panel.drop(dropped, "html-in-text-notes") == 1
    assert len(panel.fixes()) == kept_before - 1
    assert panel.apply_button.description.startswith(f"Apply {kept_before - 1} fixes to ")
    applied_ids = set(panel.fixes()["id"])
    before = {i: reader.get_activity(i).model_dump(mode="json", by_alias=True) for i in applied_ids}

    panel.apply_button.click()
    assert panel.last_run is not None and bench.last_run == panel.last_run
    assert f"Saved: {len(applied_ids)} rows updated" in panel.message.value
    for activity_id in applied_ids:
        now = reader.get_activity(activity_id).model_dump(mode="json", by_alias=True)
        assert now != before[activity_id], activity_id
    # The audit ran again on the read-back frame: only the dropped fix is left to propose.
    assert panel.result is not None
    left = panel.result.fixable
    assert list(zip(left["id"], left["rule"], strict=True)) == [(dropped, "html-in-text-notes")]
    assert not bench.pending
    runs = Journal(tmp_path / "journal.db").runs().to_frame()
    assert runs.iloc[0]["source"] == SOURCE

    panel.undo_button.click()
    for activity_id in applied_ids:
        assert reader.get_activity(activity_id).model_dump(mode="json", by_alias=True) == before[activity_id]
    assert len(panel.result.fixable) == kept_before and len(panel.fixes()) == kept_before - 1
    assert panel.undo_button.disabled


def test_the_charts_follow_a_save_from_the_panel_and_a_runner_runs_it(bench: Workbench) -> None:
    charts = ProviderCharts(ActivityTable(bench), now=AUDIT_NOW)
    ran: list[str] = []

    def runner(task: str, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        ran.append(task)
        done(work())

    panel = FindingsPanel(bench, now=AUDIT_NOW, runner=runner)
    rules_before = list(charts.findings_bars.x)
    assert "not-started-with-progress" in rules_before
    assert panel.apply() is None  # the runner ran it
    assert ran and ran[0].startswith("Applying ")
    assert "not-started-with-progress" not in list(charts.findings_bars.x)
    assert charts.findings is not None and charts.findings.fixable.empty
    panel.close()
    charts.close()


def test_nothing_kept_is_nothing_sent(bench: Workbench) -> None:
    panel = FindingsPanel(bench, now=AUDIT_NOW)
    for activity_id in set(panel.fixes()["id"]):
        panel.drop(str(activity_id))
    assert panel.fixes().empty and panel.apply_button.disabled
    assert panel.apply() is None and "nothing to apply" in panel.message.value
    assert bench.last_run is None
    assert repr(panel).startswith("FindingsPanel(") and "0 fixes kept" in repr(panel)
