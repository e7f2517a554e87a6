"""Real widgets on one Workbench, driven against the real sandbox over HTTPS; the state is read back by another client.

Every save, from whichever view, must be one journal run that ``learnkit undo`` can revert,
and every view must show the same values afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from learnkit import GraphClient
from learnkit.bulk.journal import Journal
from learnkit.cli import main as cli_main
from learnkit.widgets import ActivityForm, ActivityTable, BulkEditor, ConnectPanel, HistoryPanel, Workbench
from tests.widgets.conftest import demo_source
from tests.widgets.test_table_unit import grid_edit


def percentage(reader: GraphClient, activity_id: str) -> int | None:
    return reader.get_activity(activity_id).completionPercentage


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite")


@pytest.fixture
def bench(sb: Any, client: GraphClient, journal: Journal) -> Workbench:
    return Workbench(client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)


def shown(table: ActivityTable, activity_id: str, column: str) -> Any:
    """What the table shows for a cell (the workbench's edited frame)."""
    frame = table.workbench.edited_frame()
    return frame.at[table.workbench.position(activity_id), column]


def test_form_save_is_one_run_shown_everywhere_and_undoable(
    sb: Any, bench: Workbench, reader: GraphClient, journal: Journal
) -> None:
    aid = sb.demo["assignment_id"]
    before = percentage(reader, aid)
    table, form = ActivityTable(bench), ActivityForm(bench, aid)
    form.editors["completionPercentage"].text.value = "65"
    form.editors["status"].dropdown.value = "inProgress"
    form.editors["notes"].text.value = "halfway"
    assert not form.patch_button.disabled
    form.patch_button.click()
    assert "Saved: 1 row updated" in form.result.value
    saved = reader.get_activity(aid)
    assert saved.completionPercentage == 65 and saved.status == "inProgress"
    assert saved.model_dump()["notes"]["content"] == "halfway"
    # The form shows what Graph holds, with nothing left to send; the table shows the same.
    assert form.body is None and form.editors["completionPercentage"].text.value == "65"
    assert shown(table, aid, "completionPercentage") == 65 and table.pending == {}
    runs = journal.runs().to_frame()
    assert len(runs) == 1 and runs.iloc[0]["source"] == "form"
    bench.undo()
    assert percentage(reader, aid) == before
    assert shown(table, aid, "completionPercentage") == before
    assert form.editors["completionPercentage"].text.value == str(before)


def test_form_refuses_an_invalid_value_and_sends_nothing(sb: Any, bench: Workbench, reader: GraphClient) -> None:
    aid = sb.demo["self_initiated_id"]
    before = percentage(reader, aid)
    form = ActivityForm(bench, aid)
    form.editors["completionPercentage"].text.value = "250"
    assert "less than or equal to 100" in form.editors["completionPercentage"].message.value
    assert form.patch_button.disabled
    assert form.patch() is None and "Not sent" in form.result.value
    assert percentage(reader, aid) == before and bench.pending == {}


def test_throttling_shows_what_happened_and_keeps_the_edit(sb: Any, client: GraphClient, journal: Journal) -> None:
    bench = Workbench(client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)
    bench.client.retry = bench.client.retry.__class__(max_retry_wait=1.0)
    form = ActivityForm(bench, sb.demo["assignment_id"])
    form.editors["completionPercentage"].text.value = "10"
    sb.set_faults({"429": 1.0}, retry_after=180)
    form.patch_button.click()
    sb.set_faults(None)
    assert "1 failed" in form.result.value and "Traceback" not in form.result.value
    assert "resume" in form.result.value
    assert bench.pending == {sb.demo["assignment_id"]: {"completionPercentage": 10}}


def test_error_row_is_explained(sb: Any, bench: Workbench) -> None:
    form = ActivityForm(bench, sb.demo["assignment_id"])
    form.editors["completionPercentage"].text.value = "10"
    sb.set_service_plan(False)
    form.patch_button.click()
    assert "403" in form.result.value or "1 failed" in form.result.value
    assert "service plan" in form.result.value.lower()


def test_grid_save_is_one_run_shown_in_the_form_and_undone_by_the_cli(
    sb: Any, bench: Workbench, reader: GraphClient, journal: Journal, tmp_path: Path, capsys: Any
) -> None:
    table, form = ActivityTable(bench), ActivityForm(bench)
    table.set_filter("@odata.type", "contains", "SelfInitiated")
    table.sort_by("completionPercentage")
    target = table._page_ids[0]
    before = percentage(reader, target)
    grid_edit(table, 0, "completionPercentage", "150")
    assert table.pending == {} and "less than or equal to 100" in table.message.value
    grid_edit(table, 0, "completionPercentage", "77")
    assert table.pending == {target: {"completionPercentage": 77}}
    table.select_rows([0])
    assert form.before.id == target  # selecting a row loads it into the form
    table.apply_button.click()
    assert percentage(reader, target) == 77
    assert table.pending == {} and shown(table, target, "completionPercentage") == 77
    assert form.before.completionPercentage == 77 and form.editors["completionPercentage"].text.value == "77"
    run = bench.last_run
    assert run is not None and list(journal.runs().to_frame().index) == [run]
    info = tmp_path / "sb.json"
    info.write_text(__import__("json").dumps(sb.to_json()))
    assert cli_main(["undo", "--sandbox-json", str(info), "--journal", str(journal.path), run]) == 0
    assert percentage(reader, target) == before
    capsys.readouterr()


def test_bulk_editor_is_one_run_with_progress(sb: Any, bench: Workbench, reader: GraphClient, journal: Journal) -> None:
    table = ActivityTable(bench)
    table.set_filter("status", "=", "inProgress")
    table.select_rows([0, 1, 2])
    chosen = table.selected_ids()
    editor = BulkEditor(table)
    editor.field.value = "completionPercentage"
    editor.value_text.value = "99"
    editor.stage_button.click()
    assert editor.preview.value.count("<tr>") == 1 + 3  # a header, then the 3 rows pending
    seen: list[tuple[int, int]] = []
    bench.observe(lambda change: seen.append(change["new"]), "progress")
    editor.apply_button.click()
    assert (3, 3) in seen and bench.progress == (0, 0)  # shown while the run went, gone when it ended
    assert editor.progress.layout.visibility == "hidden" and "no pending changes" in editor.preview.value.lower()
    frame = editor.last_result.frame
    assert frame[["id", "status", "code"]].to_dict("records") == [
        {"id": i, "status": "applied", "code": 204} for i in chosen
    ]
    assert [percentage(reader, i) for i in chosen] == [99, 99, 99]
    assert table.pending == {} and len(journal.runs()) == 1


def test_history_panel_lists_runs_and_undoes_one(sb: Any, bench: Workbench, reader: GraphClient) -> None:
    aid = sb.demo["assignment_id"]
    before = percentage(reader, aid)
    table, history = ActivityTable(bench), HistoryPanel(bench)
    assert history.undo_last_button.disabled
    table.set_cell(aid, "completionPercentage", 42)
    table.apply()
    assert len(history.runs_box.children) == 1 and not history.undo_last_button.disabled
    undo_button = history.runs_box.children[0].children[0]
    undo_button.click()
    assert percentage(reader, aid) == before and shown(table, aid, "completionPercentage") == before
    assert len(history.runs()) == 2  # the undo is a run of its own


def test_listeners_can_be_removed(sb: Any, bench: Workbench) -> None:
    seen: list[Any] = []
    bench.on_saved(seen.append)
    bench.edit(sb.demo["assignment_id"], "completionPercentage", 11)
    bench.save()
    bench.on_saved(seen.append, remove=True)
    bench.edit(sb.demo["assignment_id"], "completionPercentage", 12)
    bench.save()
    assert len(seen) == 1
    table = ActivityTable(bench)
    table.close()
    bench.edit(sb.demo["assignment_id"], "completionPercentage", 13)  # a closed view no longer listens
    assert table.pending_view.value.count("13") == 0


def test_stopped_sandbox_is_named(sb: Any, bench: Workbench) -> None:
    from learnkit.sandbox import start

    other = start()
    stopped = Workbench(
        GraphClient.for_sandbox(other),
        registration_id=other.demo["registration_id"],
        source=demo_source(other),
        journal=bench.journal,
    )
    other.stop()
    stopped.edit(other.demo["assignment_id"], "completionPercentage", 5)
    with pytest.raises(Exception) as raised:
        stopped.save()
    assert "stopped" in stopped.message or "unreachable" in stopped.message or "connect" in stopped.message.lower()
    assert raised.type.__name__ in ("NetworkError", "LearnkitError", "ConnectionRefusedError") or raised.value


def test_connect_panel_sandbox_mode(sb: Any) -> None:
    panel = ConnectPanel(sandbox=sb)
    panel.sandbox_delegated.value = True
    panel.connect_button.click()
    assert panel.client is not None and "Connected" in panel.status.value
    assert panel.wait_signed_in(30)
    assert "enter the code" in panel.device_code.value or "code" in panel.device_code.value
    assert "sign-in complete" in panel.status.value
    assert panel.client.get_activity(sb.demo["assignment_id"]).id == sb.demo["assignment_id"]
    assert sb.client_secret not in panel.status.value + repr(panel) + repr(panel.client)


def test_undo_last_steps_back_twice_then_stops_and_redo_steps_forward(
    sb: Any, bench: Workbench, reader: GraphClient
) -> None:
    aid = sb.demo["assignment_id"]
    original = percentage(reader, aid)
    table, history = ActivityTable(bench), HistoryPanel(bench)
    assert history.undo_last_button.disabled and history.redo_button.disabled
    for value in (61, 62):
        table.set_cell(aid, "completionPercentage", value)
        table.apply()
    history.undo_last_button.click()
    assert percentage(reader, aid) == 61 and not history.redo_button.disabled
    history.undo_last_button.click()  # the second click steps further back, not forward again
    assert percentage(reader, aid) == original == shown(table, aid, "completionPercentage")
    assert history.undo_last_button.disabled
    with pytest.raises(Exception, match="nothing left to undo"):
        bench.undo()
    labels = " ".join(row.children[1].value for row in history.runs_box.children)
    assert labels.count("undone by") == 2
    assert [row.children[0].description for row in history.runs_box.children] == ["Redo", "Redo", "Undo", "Undo"]
    history.redo_button.click()  # the newest undo (of the first save) is redone first
    assert percentage(reader, aid) == 61
    history.redo_button.click()
    assert percentage(reader, aid) == 62 == shown(table, aid, "completionPercentage")
    assert history.redo_button.disabled and not history.undo_last_button.disabled
    history.undo_last_button.click()  # the newest change in effect is now the last redo
    assert percentage(reader, aid) == 61


def test_the_history_lists_the_runs_of_its_own_service_only(
    sb: Any, bench: Workbench, journal: Journal, tmp_path: Path
) -> None:
    from learnkit.sandbox import start

    aid = sb.demo["assignment_id"]
    table = ActivityTable(bench)
    table.set_cell(aid, "completionPercentage", 41)
    table.apply()
    with start(db=tmp_path / "other.db") as other:
        elsewhere = GraphClient.for_sandbox(other)
        from learnkit.bulk import apply_frame
        from learnkit.bulk.frame import read_activities
        from learnkit.bulk.sources import ActivityIds

        before = read_activities(elsewhere, other.demo["registration_id"], source=ActivityIds([aid]))
        edited = before.copy()
        edited["completionPercentage"] = 42
        other_run = apply_frame(elsewhere, before, edited, journal=journal, progress=False).journal_id
    history = HistoryPanel(bench)
    listed = set(history.runs()["id"])
    assert len(journal.runs()) == 2 and other_run not in listed and len(listed) == 1
    assert other_run in set(bench.history(everywhere=True).index)


def test_the_history_follows_the_connection(client: GraphClient, journal: Journal) -> None:
    # A panel made before connecting said "Not connected" after the app had connected (seen in the app's dark
    # screenshots). Connecting now says so without signing in; opening the page or Refresh lists the runs.
    bench = Workbench(journal=journal)
    history = HistoryPanel(bench)
    assert "Not connected" in history.runs_box.children[0].value
    bench.client = client
    assert "Connected: this service's saves are listed" in history.runs_box.children[0].value
    history.refresh_button.click()
    assert "Nothing saved yet" in history.runs_box.children[0].value
    bench.client = None
    assert "Not connected" in history.runs_box.children[0].value
