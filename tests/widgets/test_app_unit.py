"""``WorkbenchApp`` driven as widgets (no browser) against the real sandbox over HTTPS.

Background calls run in real threads; each test waits for them with ``app.wait`` and reads
the sandbox's state back through a second client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from learnkit import GraphClient
from learnkit.app_cli import APP_MODE_VARIABLE, DELEGATED_CLIENT_VARIABLE, SANDBOX_JSON_VARIABLE
from learnkit.journal import Journal
from learnkit.sandbox.seed import build_tenant
from learnkit.widgets.app import ACTIVITIES, AUDIT, PROVIDER, WorkbenchApp


@pytest.fixture
def app(sb: Any, tmp_path: Path) -> Any:
    made = WorkbenchApp(sandbox=sb, journal=Journal(tmp_path / "journal.sqlite"))
    yield made
    made.wait(30)
    made.close()


def connected(app: WorkbenchApp) -> WorkbenchApp:
    app.connect_panel.connect_button.click()
    assert app.wait(30)
    return app


def loaded(app: WorkbenchApp, registration_id: str) -> WorkbenchApp:
    connected(app)
    app.provider_choice.value = registration_id
    app.load_button.click()
    assert app.wait(60), "the read did not finish"
    assert app.problem.value == ""
    return app


def all_state(widget: Any, seen: set[int] | None = None) -> str:
    """Every synced value of a widget tree, as text: what the browser may receive."""
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return ""
    seen.add(id(widget))
    text = json.dumps(widget.get_state(), default=str)
    for child in getattr(widget, "children", ()):
        text += all_state(child, seen)
    return text


def test_connect_lists_the_sandbox_providers_and_opens_the_provider_page(app: WorkbenchApp, sb: Any) -> None:
    assert repr(app) == "WorkbenchApp(mode='sandbox', not connected)"
    connected(app)
    assert app.tabs.selected_index == PROVIDER
    assert [value for _, value in app.provider_choice.options] == [
        sb.demo["registration_id"], sb.demo["other_registration_id"], sb.demo["disabled_registration_id"]
    ]  # fmt: skip
    assert "delegated sign-in" in app.provider_note.value
    assert sb.graph_url in app.status.value


def test_loading_counts_pages_as_they_arrive_then_shows_the_table(app: WorkbenchApp, sb: Any) -> None:
    said: list[str] = []
    app.working.observe(lambda change: said.append(change["new"]), "value")
    loaded(app, sb.demo["registration_id"])
    counts = [int(text.split(": ")[1].split()[0].replace(",", "")) for text in said if "so far" in text]
    total = sum(a["learningProviderId"] == sb.demo["registration_id"] for a in build_tenant().activities)
    assert counts == [*range(100, total, 100), total]  # the sandbox's pages hold 100 rows
    assert app.working.value == "" and not app.running
    assert app.tabs.selected_index == ACTIVITIES
    assert len(app.table.view_index) == total and f"{total} activities" in app.status.value


def test_form_edit_saves_once_through_the_journal_and_undo_puts_it_back(
    app: WorkbenchApp, sb: Any, reader: GraphClient, tmp_path: Path
) -> None:
    loaded(app, sb.demo["registration_id"])
    aid = sb.demo["assignment_id"]
    before = reader.get_activity(aid).completionPercentage
    app.table.select_rows([app.table._page_ids.index(aid)])
    assert app.form.before.id == aid
    app.form.editors["completionPercentage"].text.value = "37"
    assert app.save_buttons[0].disabled  # nothing staged yet: the form's own PATCH saves this one row
    app.form.patch_button.click()
    assert reader.get_activity(aid).completionPercentage == 37
    runs = Journal(tmp_path / "journal.sqlite").runs()
    assert len(runs) == 1 and "saved: 1 applied" in app.message.value

    app.undo_last()
    assert app.wait(60)
    assert reader.get_activity(aid).completionPercentage == before
    assert "undone: 1 applied" in app.message.value

    # An Undo on the History page runs in the background too: the page stays usable.
    app.form.editors["completionPercentage"].text.value = "38"
    app.form.patch_button.click()
    app.history.refresh()
    undo_button = app.history.runs_box.children[0].children[0]
    undo_button.click()
    assert app.wait(60)
    assert reader.get_activity(aid).completionPercentage == before
    assert "undone: 1 applied" in app.message.value and len(Journal(tmp_path / "journal.sqlite").runs()) == 4


def test_bulk_edit_saves_in_the_background_with_progress(app: WorkbenchApp, sb: Any, reader: GraphClient) -> None:
    loaded(app, sb.demo["registration_id"])
    app.table.set_filter("status", "=", "inProgress")
    app.table.select_rows(list(range(5)))
    ids = app.table.selected_ids()
    assert len(ids) == 5
    app.bulk.stage("completionPercentage", "99")
    assert app.save_buttons[1].description == "Save 5 pending row(s)" and not app.save_buttons[1].disabled
    seen: list[tuple[int, int]] = []
    app.bench.observe(lambda change: seen.append(change["new"]), "progress")
    app.save_buttons[1].click()
    assert app.running or seen  # the click returned while the save runs (or it already finished)
    assert app.wait(60)
    assert seen[-1] == (5, 5) and app.progress.value == 5
    assert {reader.get_activity(i).completionPercentage for i in ids} == {99}
    assert not app.bench.pending


def test_a_long_throttle_is_shown_with_the_wait_and_the_edit_is_kept(app: WorkbenchApp, sb: Any) -> None:
    loaded(app, sb.demo["registration_id"])
    aid = sb.demo["assignment_id"]
    assert app.bench.edit(aid, "completionPercentage", 12) is None
    sb.set_faults(None, retry_after=120)
    sb.fail_next("429")
    app.save()
    assert app.wait(60)
    assert "tooManyRequests" in app.message.value and "1 failed" in app.message.value
    assert "1 row(s) not saved" in app.problem.value and "Retry after 2 minutes" in app.problem.value
    assert "press Save again" in app.problem.value
    assert app.bench.pending == {aid: {"completionPercentage": 12}}
    assert not app.save_buttons[0].disabled  # ready to try again


def test_mistakes_are_refused_with_one_line(app: WorkbenchApp, sb: Any) -> None:
    app.load()
    assert "connect first" in app.problem.value
    connected(app)
    app.provider_choice.options = []
    app.load()
    assert "registration id" in app.problem.value
    app.save()
    assert "nothing to save" in app.problem.value
    sb.set_latency(400)  # each page waits: the read is still running at the second click
    app.provider_id.value = sb.demo["registration_id"]
    app.load_button.click()
    assert app.load_button.disabled
    app.load()
    assert "still running" in app.problem.value
    assert app.wait(60)
    sb.set_latency(0)
    assert not app.load_button.disabled


def test_an_unknown_provider_shows_graphs_error_and_what_to_do(app: WorkbenchApp) -> None:
    connected(app)
    app.provider_id.value = "00000000-0000-4000-8000-000000000000"
    app.load_button.click()
    assert app.wait(60)
    assert "✖ 400 badRequest" in app.problem.value and "what to do" in app.problem.value
    assert app.tabs.selected_index == PROVIDER


def test_from_environment_attaches_to_a_sandbox_json(sb: Any, tmp_path: Path) -> None:
    described = tmp_path / "sb.json"
    described.write_text(json.dumps(sb.to_json()) + "\n")
    app = WorkbenchApp.from_environment({SANDBOX_JSON_VARIABLE: str(described)})
    connected(app)
    assert app.bench.client is not None and app.bench.client.graph_url == sb.graph_url
    app.close()


def test_tenant_mode_fills_the_form_and_keeps_the_secret_out_of_every_widget() -> None:
    secret = "s3cret-value-not-for-the-browser"
    env = {
        APP_MODE_VARIABLE: "tenant",
        "AZURE_TENANT_ID": "contoso.onmicrosoft.com",
        "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "AZURE_CLIENT_SECRET": secret,
        DELEGATED_CLIENT_VARIABLE: "66666666-7777-8888-9999-000000000000",
    }
    app = WorkbenchApp.from_environment(env)
    assert app.connect_panel.mode.value == "tenant"
    assert app.connect_panel.tenant_id.value == "contoso.onmicrosoft.com"
    assert app.bench.client is not None and app.bench.client.graph_url == "https://graph.microsoft.com/v1.0"
    assert app.tabs.selected_index == PROVIDER
    assert secret not in all_state(app)
    assert secret not in repr(app) and secret not in repr(app.bench.client)
    app.wait(5)  # listing waits on nobody: no delegated sign-in on this client, no sandbox
    assert "type the provider's registration id" in app.provider_note.value
    app.close()


def test_the_audit_page_shows_a_placeholder_until_its_views_exist(app: WorkbenchApp) -> None:
    app.tabs.selected_index = AUDIT
    assert app.audit_slot.children  # the charts, or the note saying they come
    marker = app.audit_slot.children[0]
    app.show_audit(marker)
    assert list(app.audit_slot.children) == [marker]


def test_a_throttled_read_says_how_long_graph_asks_to_wait(app: WorkbenchApp, sb: Any) -> None:
    connected(app)
    sb.set_faults(None, retry_after=120)
    sb.fail_next("429")
    app.load(sb.demo["registration_id"])
    assert app.wait(60)
    assert "429" in app.problem.value and "wait 2 min" in app.problem.value
    assert "Nothing was changed" in app.problem.value
    assert app.tabs.selected_index == PROVIDER and not app.load_button.disabled


def test_no_secret_of_the_sandbox_reaches_the_page(app: WorkbenchApp, sb: Any) -> None:
    loaded(app, sb.demo["registration_id"])
    shown = all_state(app)
    for secret in [a["client_secret"] for a in sb.to_json()["apps"] if a.get("client_secret")]:
        assert secret not in shown
    assert "eyJ" not in shown  # no token (a JWT) either
