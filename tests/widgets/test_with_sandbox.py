"""Real widgets driven against the real sandbox over HTTPS; the state is read back by another client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learnkit import GraphClient
from learnkit.widgets import ActivityForm, ActivityTable, BulkEditor, ConnectPanel
from tests.widgets.test_table_unit import grid_edit


def percentage(reader: GraphClient, activity_id: str) -> int | None:
    return reader.get_activity(activity_id).completionPercentage


def test_form_edit_is_saved(sb: Any, client: GraphClient, reader: GraphClient) -> None:
    aid = sb.demo["assignment_id"]
    form = ActivityForm(client, aid)
    form.editors["completionPercentage"].text.value = "65"
    form.editors["status"].dropdown.value = "inProgress"
    form.editors["notes"].text.value = "halfway"
    assert not form.patch_button.disabled
    form.patch_button.click()
    assert "204" in form.result.value
    saved = reader.get_activity(aid)
    assert saved.completionPercentage == 65 and saved.status == "inProgress"
    assert saved.model_dump()["notes"]["content"] == "halfway"
    # The form now shows what Graph holds, with nothing left to send.
    assert form.body is None and form.editors["completionPercentage"].text.value == "65"


def test_form_refuses_an_invalid_value_and_sends_nothing(sb: Any, client: GraphClient, reader: GraphClient) -> None:
    aid = sb.demo["self_initiated_id"]
    before = percentage(reader, aid)
    form = ActivityForm(client, aid)
    form.editors["completionPercentage"].text.value = "250"
    assert "less than or equal to 100" in form.editors["completionPercentage"].message.value
    assert form.patch_button.disabled
    assert form.patch() is None and "Not sent" in form.result.value
    assert percentage(reader, aid) == before


def test_throttling_shows_the_wait_not_a_traceback(sb: Any, client: GraphClient) -> None:
    form = ActivityForm(client, sb.demo["assignment_id"], max_wait=1.0)
    form.editors["completionPercentage"].text.value = "10"
    sb.set_faults({"429": 1.0}, retry_after=180)
    form.patch_button.click()
    sb.set_faults(None)
    assert "429" in form.result.value and "wait 3 min" in form.result.value
    assert "Traceback" not in form.result.value


def test_error_row_is_explained_with_advice(sb: Any, client: GraphClient) -> None:
    form = ActivityForm(client, sb.demo["assignment_id"])
    form.editors["completionPercentage"].text.value = "10"
    sb.set_service_plan(False)
    form.patch_button.click()
    assert "403" in form.result.value and "service plan" in form.result.value
    assert "Ask your administrator" in form.result.value


def test_table_edit_is_saved(sb: Any, client: GraphClient, reader: GraphClient) -> None:
    reg = sb.demo["registration_id"]
    table = ActivityTable(client.list_provider_activities_json(reg), client=client, registration_id=reg)
    table.set_filter("@odata.type", "contains", "SelfInitiated")
    table.sort_by("completionPercentage")
    target = table._page_ids[0]
    grid_edit(table, 0, "completionPercentage", "150")
    assert table.pending == {} and "less than or equal to 100" in table.message.value
    grid_edit(table, 0, "completionPercentage", "77")
    assert table.pending == {target: {"completionPercentage": 77}}
    results = table.apply()
    assert results.to_dict("records") == [{"id": target, "status": 204, "ok": True, "error": "", "advice": ""}]
    assert percentage(reader, target) == 77
    assert table.pending == {}


def test_bulk_editor_applies_to_selected_rows(
    sb: Any, client: GraphClient, reader: GraphClient, tmp_path: Path
) -> None:
    reg = sb.demo["registration_id"]
    table = ActivityTable(client.list_provider_activities_json(reg), client=client, registration_id=reg)
    table.set_filter("status", "=", "inProgress")
    table.select_rows([0, 1, 2])
    chosen = table.selected_ids()
    bulk = BulkEditor(table, journal=str(tmp_path / "journal.sqlite"))
    bulk.field.value = "completionPercentage"
    bulk.value_text.value = "99"
    bulk.stage_button.click()
    assert "3 rows to PATCH" in bulk.preview.value
    bulk.apply_button.click()
    assert bulk.progress.value == 3 and bulk.progress.description == "3/3"
    assert bulk.last_results is not None
    assert bulk.last_results[["id", "status", "code"]].to_dict("records") == [
        {"id": i, "status": "applied", "code": 204} for i in chosen
    ]
    assert [percentage(reader, i) for i in chosen] == [99, 99, 99]
    assert table.pending == {} and len(bulk.journal_ids) == 1


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
