"""``WorkbenchApp`` driven as widgets (no browser) against the real sandbox over HTTPS.

Background calls run in real threads; each test waits for them with ``app.wait`` and reads
the sandbox's state back through a second client. The ``app`` fixture's sandbox serves the
provider's list (contract ``metadata``); the tests of the Provider page's sources set the
contract they need themselves.
"""

from __future__ import annotations

import datetime
import html
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from learnkit import GraphClient
from learnkit.bulk.journal import Journal
from learnkit.bulk.sources import ActivityIds, ExternalIds, Learners, ProviderList, forget_probes
from learnkit.cli.app import (
    APP_MODE_VARIABLE,
    DELEGATED_CLIENT_VARIABLE,
    SANDBOX_JSON_VARIABLE,
    SANDBOX_KEYS_VARIABLE,
    SOURCE_VARIABLES,
)
from learnkit.sandbox.cli import write_keys
from learnkit.sandbox.seed import build_tenant
from learnkit.widgets.app import ACTIVITIES, AUDIT, PROVIDER, WorkbenchApp
from tests.widgets.conftest import contract


@pytest.fixture
def app(sb: Any, tmp_path: Path) -> Any:
    contract(sb, "metadata")
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
    assert app.last_error is None
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


def counted(said: list[str]) -> list[int]:
    """The counts the header showed while reading ("...: 1,234 so far")."""
    return [int(text.split(": ")[1].split()[0].replace(",", "")) for text in said if "so far" in text]


def test_loading_counts_as_records_arrive_then_shows_the_table(app: WorkbenchApp, sb: Any) -> None:
    said: list[str] = []
    app.working.observe(lambda change: said.append(change["new"]), "value")
    loaded(app, sb.demo["registration_id"])
    total = sum(a["learningProviderId"] == sb.demo["registration_id"] for a in build_tenant().activities)
    assert app.sources.choice.value == "list" and app.bench.source == ProviderList()
    assert counted(said)[-1] == total  # the list's pages (the sandbox's hold them all)
    assert app.working.value == "" and not app.running
    assert app.tabs.selected_index == ACTIVITIES
    assert len(app.table.view_index) == total and f"{total} activities" in app.status.value
    # By key, the records come 20 to a $batch: the header counts up as they arrive.
    said.clear()
    app.tabs.selected_index = PROVIDER
    app.sources.demo_button.click()
    app.load_button.click()
    assert app.wait(60) and app.last_error is None
    counts = counted(said)
    assert counts == sorted(set(counts)) and len(counts) > 5 and counts[-1] == len(sb.external_ids())


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
    assert len(runs) == 1 and "Saved: 1 row updated" in app.message.value
    assert runs[0].provider_label == "Contoso Academy"  # its name, kept for the history

    app.undo_last()
    assert app.wait(60)
    assert reader.get_activity(aid).completionPercentage == before
    assert "Undone: 1 row put back" in app.message.value

    # An Undo on the History page runs in the background too: the page stays usable.
    app.form.editors["completionPercentage"].text.value = "38"
    app.form.patch_button.click()
    app.history.refresh()
    undo_button = app.history.runs_box.children[0].children[0]
    undo_button.click()
    assert app.wait(60)
    assert reader.get_activity(aid).completionPercentage == before
    assert "Undone: 1 row put back" in app.message.value and len(Journal(tmp_path / "journal.sqlite").runs()) == 4


def test_bulk_edit_saves_in_the_background_with_progress(app: WorkbenchApp, sb: Any, reader: GraphClient) -> None:
    loaded(app, sb.demo["registration_id"])
    app.table.set_filter("status", "=", "inProgress")
    app.table.select_rows(list(range(5)))
    ids = app.table.selected_ids()
    assert len(ids) == 5
    app.bulk.stage("completionPercentage", "99")
    assert app.save_buttons[1].description == "Save changes (5 rows)" and not app.save_buttons[1].disabled
    seen: list[tuple[int, int]] = []
    app.bench.observe(lambda change: seen.append(change["new"]), "progress")
    app.save_buttons[1].click()
    assert app.running or seen  # the click returned while the save runs (or it already finished)
    assert app.wait(60)
    assert (5, 5) in seen and seen[-1] == (0, 0)  # shown while the save ran, gone when it ended
    assert app.progress.layout.visibility == "hidden"
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
    assert "Saved 0 of 1 row: 1 failed" in app.message.value and "Retry after 2 minutes" in app.message.value
    assert "can be saved again" in app.message.value
    assert app.bench.pending == {aid: {"completionPercentage": 12}}
    assert not app.save_buttons[0].disabled  # ready to try again


def test_mistakes_are_refused_with_one_line(app: WorkbenchApp, sb: Any) -> None:
    app.load()
    assert "connect first" in app.message.value
    connected(app)
    app.provider_choice.options = []
    app.load()
    assert "registration id" in app.message.value
    app.save()
    assert "nothing to save" in app.message.value
    sb.set_latency(400)  # each page waits: the read is still running at the second click
    app.provider_id.value = sb.demo["registration_id"]
    app.load_button.click()
    assert app.load_button.disabled
    app.load()
    assert "still running" in app.message.value
    assert app.wait(60)
    sb.set_latency(0)
    assert not app.load_button.disabled


def test_an_unknown_provider_shows_graphs_error_and_what_to_do(app: WorkbenchApp) -> None:
    connected(app)
    app.provider_id.value = "00000000-0000-4000-8000-000000000000"
    app.load_button.click()
    assert app.wait(60)
    assert "✖ 400 badRequest" in app.message.value and "what to do" in app.message.value
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
    assert app.sources.demo_button.layout.display == "none"  # a tenant has no demo provider
    assert app.sources.list_served is None and app._prober is None  # no provider yet: nothing asked
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
    assert "429" in app.message.value and "wait 2 min" in app.message.value
    assert "Nothing was changed" in app.message.value
    assert app.tabs.selected_index == PROVIDER and not app.load_button.disabled


def test_no_secret_of_the_sandbox_reaches_the_page(app: WorkbenchApp, sb: Any) -> None:
    loaded(app, sb.demo["registration_id"])
    shown = all_state(app)
    for secret in [a["client_secret"] for a in sb.to_json()["apps"] if a.get("client_secret")]:
        assert secret not in shown
    assert "eyJ" not in shown  # no token (a JWT) either


# --- the Provider page: which records to read ------------------------------------------------------


def test_documented_the_list_is_shown_refused_and_the_demo_keys_load_edit_and_save(
    app: WorkbenchApp, sb: Any, reader: GraphClient
) -> None:
    contract(sb, "documented")
    connected(app)
    choice = app.sources
    assert choice.list_served is False and "400" in choice.list_answer
    assert "lk-list-refused" in choice.choice._dom_classes and choice.choice.value == "external_ids"
    assert "does not serve the provider's list" in choice.note.value and "400 BadRequest" in choice.note.value
    assert "Graph documents three ways" in choice.guide.value
    choice.choice.value = "list"  # greyed out in the browser; a keyboard could still reach it
    assert choice.choice.value == "external_ids"
    assert choice.keys_box.layout.display == "" and "externalcourseActivityId" in choice.keys_help.value
    # Nothing pasted yet: one line says what is missing, nothing is read.
    app.load()
    assert "paste the external ids to read" in app.message.value and not app.running

    app.provider_choice.value = sb.demo["other_registration_id"]
    choice.demo_button.click()
    assert app.provider_choice.value == sb.demo["registration_id"]  # the demo provider's keys, for it
    assert choice.keys_text.value.splitlines() == sb.external_ids()
    assert f"{len(sb.external_ids())} external ids, from the demo provider's keys" in html.unescape(
        choice.keys_note.value
    )
    app.load_button.click()
    assert app.wait(60) and app.last_error is None
    rows = len(sb.external_ids())  # a key held by two records reaches the first
    assert len(app.bench.frame) == rows and app.bench.source == ExternalIds(sb.external_ids())
    assert f"{rows} activities of Contoso Academy by {rows} external ids" in app.message.value
    assert app.tabs.selected_index == ACTIVITIES

    aid = sb.demo["assignment_id"]
    assert app.bench.edit(aid, "completionPercentage", 58) is None
    app.save()
    assert app.wait(60) and "Saved: 1 row updated" in app.message.value
    assert reader.get_activity(aid).completionPercentage == 58


def test_activity_ids_pasted_keys_and_what_was_not_found(app: WorkbenchApp, sb: Any) -> None:
    contract(sb, "documented")
    connected(app)
    choice = app.sources
    choice.choice.value = "ids"
    choice.demo_button.click()  # with activity ids chosen, the demo provider's ids
    app.load()
    assert app.wait(60) and app.last_error is None
    assert app.bench.frame["id"].tolist() == sb.activity_ids()  # every record, in the list's order

    app.tabs.selected_index = PROVIDER
    choice.choice.value = "external_ids"
    known = sb.external_ids()[:3]
    choice.keys_text.value = "# pasted from the LMS\n" + "\n".join([*known, "", "  nope-1  ", "nope-2"])
    assert "5 external ids" in choice.keys_note.value
    app.load()
    assert app.wait(60) and app.last_error is None
    assert len(app.bench.frame) == 3 and app.bench.not_found == ("nope-1", "nope-2")
    assert "2 of 5 external ids not found: &#x27;nope-1&#x27;, &#x27;nope-2&#x27;" in app.message.value


def test_a_list_refused_at_load_says_what_to_do_and_the_page_offers_keys(app: WorkbenchApp, sb: Any) -> None:
    connected(app)  # metadata: the list is served, and chosen
    assert app.sources.list_served is True and app.sources.choice.value == "list"
    assert "lk-list-refused" not in app.sources.choice._dom_classes
    contract(sb, "documented")  # the tenant changes its mind
    app.load()
    assert app.wait(60)
    assert "This tenant does not serve the list of provider" in app.message.value
    assert "Use the demo provider's keys" in app.message.value and "Nothing was changed" in app.message.value
    assert app.bench.message.startswith("not loaded: this tenant does not serve")  # the one area shows the page's
    assert app.sources.list_served is False and app.sources.choice.value == "external_ids"
    assert app.tabs.selected_index == PROVIDER


def test_the_list_is_asked_about_once_a_provider_is_known(app: WorkbenchApp, sb: Any) -> None:
    app.provider_choice.options = []
    app.connect_panel.connect()  # the listing fills the providers, then asks
    assert app.wait(30) and app.sources.list_served is True
    app.use_client(app.connect_panel.client)  # a new connection asks again
    assert app.wait(30) and app.sources.list_served is True
    app.provider_choice.options = []
    app.sources.tell(None)
    app._probed = None
    app.provider_id.value = "01e8f81b-3060"  # typing: nothing is asked about half an id
    assert app._prober is None or not app._prober.is_alive()
    assert app.sources.list_served is None
    app.provider_id.value = sb.demo["registration_id"]
    assert app.wait(30) and app.sources.list_served is True
    app.sources.tell(None)
    app._probed = None
    forget_probes()  # (what the service said of its list holds for every provider: asked afresh here)
    app.provider_id.value = "00000000-0000-4000-8000-000000000000"  # Graph does not know it: said, asked again later
    assert app.wait(30) and app.sources.list_served is None
    assert "could not be asked" in app.sources.note.value and "registration" in app.sources.note.value.lower()


def upload(name: str, content: bytes) -> tuple[dict[str, Any], ...]:
    """What ``FileUpload.value`` holds after a person picks a file."""
    return (
        {
            "name": name,
            "type": "text/csv" if name.endswith(".csv") else "text/plain",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": datetime.datetime.now(datetime.timezone.utc),
        },
    )


def test_uploaded_files_are_read_as_files_of_keys(app: WorkbenchApp, sb: Any, tmp_path: Path) -> None:
    contract(sb, "documented")
    connected(app)
    choice = app.sources
    choice.upload.value = upload("keys.txt", b"# mine\nk-1\n\n  k 2  \n")
    assert choice.upload.value == ()  # read, and the bytes gone from the page's state
    assert choice.choice.value == "external_ids" and choice.source() == ExternalIds(["k-1", "k 2"])
    assert "2 external ids, from keys.txt" in choice.keys_note.value
    # The CSV `learnkit sandbox --keys-out` writes (and an export): the chosen kind's column.
    write_keys(sb, tmp_path / "keys.csv")
    choice.choice.value = "ids"
    choice.upload.value = upload("keys.csv", (tmp_path / "keys.csv").read_bytes())
    assert choice.source() == ActivityIds(sb.activity_ids())
    choice.choice.value = "external_ids"
    choice.upload.value = upload("keys.csv", (tmp_path / "keys.csv").read_bytes())
    assert choice.source() == ExternalIds(sb.external_ids())
    choice.upload.value = upload("empty.txt", b"# nothing\n\n")
    assert "empty.txt: holds no external ids" in choice.keys_note.value
    assert choice.source() == ExternalIds(sb.external_ids())  # what was there stays
    choice.upload.value = upload("two.csv", b"a,b\n1,2\n")
    assert "two.csv: has no column externalcourseActivityId" in choice.keys_note.value
    # A workbook (an export saved from Excel, say): its column, as the CSV's.
    book = openpyxl.Workbook()
    book.active.append(["id", "externalcourseActivityId"])
    for activity_id, key in zip(sb.activity_ids()[:3], sb.external_ids()[:3], strict=True):
        book.active.append([activity_id, key])
    book.save(tmp_path / "keys.xlsx")
    choice.upload.value = upload("keys.xlsx", (tmp_path / "keys.xlsx").read_bytes())
    assert choice.source() == ExternalIds(sb.external_ids()[:3])
    assert ".xlsx" in choice.upload.accept


def test_learners_need_a_delegated_sign_in_and_say_so(app: WorkbenchApp, sb: Any, tmp_path: Path) -> None:
    contract(sb, "documented")
    connected(app)
    learner = sb.demo["learner_id"]
    app.sources.choice.value = "learners"
    assert "need a delegated sign-in" in app.sources.keys_help.value
    app.sources.keys_text.value = learner
    app.load()
    assert "learners' lists need a delegated sign-in" in html.unescape(app.message.value) and not app.running

    signed_in = WorkbenchApp(sandbox=sb, journal=Journal(tmp_path / "journal.sqlite"))
    try:
        signed_in.connect_panel.sandbox_delegated.value = True
        connected(signed_in)
        assert signed_in.sources.delegated
        signed_in.sources.fill("learners", [learner, "me"])
        assert "need a delegated sign-in" not in signed_in.sources.keys_help.value
        signed_in.load()
        assert signed_in.wait(60) and signed_in.last_error is None
        frame = signed_in.bench.frame
        assert len(frame) > 0 and set(frame["learnerUserId"].str.lower()) == {learner.lower()}
        assert signed_in.bench.source == Learners([learner, "me"])
    finally:
        signed_in.wait(30)
        signed_in.close()


def test_from_environment_the_demo_keys_file_and_a_source_named_on_the_command_line(sb: Any, tmp_path: Path) -> None:
    contract(sb, "documented")
    described = tmp_path / "sb.json"
    described.write_text(json.dumps(sb.to_json()) + "\n")
    write_keys(sb, tmp_path / "sandbox-keys.csv")
    (tmp_path / "mine.txt").write_text("\n".join(sb.activity_ids()[:4]) + "\n")
    env = {
        SANDBOX_JSON_VARIABLE: str(described),
        SANDBOX_KEYS_VARIABLE: str(tmp_path / "sandbox-keys.csv"),
        SOURCE_VARIABLES["ids"]: str(tmp_path / "mine.txt"),
    }
    app = WorkbenchApp.from_environment(env)
    try:
        assert repr(app) == "WorkbenchApp(mode='sandbox', not connected)"
        assert app.sources.choice.value == "ids" and app.sources.source() == ActivityIds(sb.activity_ids()[:4])
        assert "4 activity ids, from mine.txt" in app.sources.keys_note.value
        connected(app)
        assert app.sources.choice.value == "ids"  # the command line's choice stays
        app.load()
        assert app.wait(60) and len(app.bench.frame) == 4
        # No handle on the sandbox here (a JSON file): its keys come from the file beside it.
        assert app.sources.demo_button.layout.display == ""
        app.sources.choice.value = "external_ids"
        app.sources.demo_button.click()
        assert app.sources.source() == ExternalIds(sb.external_ids())
    finally:
        app.wait(30)
        app.close()
    # Without the keys file, the button is not offered; a file named but gone is said on the page.
    app = WorkbenchApp.from_environment({SANDBOX_JSON_VARIABLE: str(described), SOURCE_VARIABLES["learners"]: "/gone"})
    try:
        assert "gone: no such file" in app.message.value
        connected(app)
        assert app.sources.demo_button.layout.display == "none"
    finally:
        app.wait(30)
        app.close()
    learners = tmp_path / "learners.csv"
    learners.write_text(f"userId\n{sb.demo['learner_id']}\n")
    app = WorkbenchApp.from_environment(
        {SANDBOX_JSON_VARIABLE: str(described), SOURCE_VARIABLES["learners"]: str(learners)}
    )
    assert app.sources.choice.value == "learners" and app.connect_panel.sandbox_delegated.value  # signs them in
    app.close()


def test_one_state_the_form_shows_a_table_edit_and_another_row_clears_the_message(app: WorkbenchApp, sb: Any) -> None:
    loaded(app, sb.demo["registration_id"])
    aid = sb.demo["assignment_id"]
    app.table.set_cell(aid, "completionPercentage", "25")
    app.table.select_rows([app.table._page_ids.index(aid)])
    # The form holds the pending 25, and its preview would send it (not "nothing to send").
    assert app.form.editors["completionPercentage"].text.value == "25"
    assert app.form.body is not None and app.form.body["completionPercentage"] == 25
    assert "pending edits" in app.form.header.value and "Contoso Academy" in app.form.header.value
    assert "pending, 1 row to save" in app.message.value
    app.table.select_rows([app.table._page_ids.index(sb.demo["self_initiated_id"])])
    assert app.message.value == ""  # the message was about the other row


def test_discard_pending_sits_beside_save_and_drops_the_edits(app: WorkbenchApp, sb: Any) -> None:
    loaded(app, sb.demo["registration_id"])
    aid = sb.demo["assignment_id"]
    for save, discard in zip(app.save_buttons, app.discard_buttons, strict=True):
        assert discard.disabled and any(save in box.children and discard in box.children for box in boxes(app))
    assert app.table.discard_button.layout.display == "none"  # one Discard, where Save changes is
    before = app.bench.frame.at[app.bench.position(aid), "completionPercentage"]
    app.table.set_cell(aid, "completionPercentage", "25")
    assert not any(b.disabled for b in app.discard_buttons)
    app.discard_buttons[0].click()
    assert app.bench.pending == {} and "discarded the pending edits of 1 row" in app.message.value
    assert app.bench.edited_frame().at[app.bench.position(aid), "completionPercentage"] == before
    assert all(b.disabled for b in [*app.save_buttons, *app.discard_buttons])


def boxes(widget: Any) -> list[Any]:
    """Every container under ``widget``, itself included."""
    children = list(getattr(widget, "children", ()))
    return [widget, *(box for child in children for box in boxes(child))] if children else []


def test_pending_edits_survive_a_restart_of_the_app(sb: Any, tmp_path: Path) -> None:
    contract(sb, "metadata")
    drafts, journal = tmp_path / "drafts.json", Journal(tmp_path / "journal.sqlite")
    first = WorkbenchApp(sandbox=sb, journal=journal, drafts=drafts)
    loaded(first, sb.demo["registration_id"])
    first.table.set_cell(sb.demo["assignment_id"], "completionPercentage", "31")
    assert oct(drafts.stat().st_mode & 0o777) == "0o600"
    first.close()
    again = WorkbenchApp(sandbox=sb, journal=journal, drafts=drafts)  # a new page: a new kernel, nothing in memory
    loaded(again, sb.demo["registration_id"])
    assert again.bench.pending == {sb.demo["assignment_id"]: {"completionPercentage": 31}}
    assert "1 unsaved edit from your last session put back" in again.message.value
    again.save_buttons[0].click()
    assert again.wait(60) and not again.bench.pending
    assert json.loads(drafts.read_text()) == {}  # saved: nothing left to keep
    again.close()


def test_a_provider_with_its_sync_off_is_flagged_with_how_to_turn_it_on(app: WorkbenchApp, sb: Any) -> None:
    loaded(app, sb.demo["disabled_registration_id"])
    assert "sync off" in dict((v, t) for t, v in app.provider_choice.options)[sb.demo["disabled_registration_id"]]
    assert "Northwind Skills has course-activity sync turned off" in app.provider_warning.value
    assert "isCourseActivitySyncEnabled" in app.provider_warning.value
    assert "Northwind Skills" in app.status.value and sb.demo["disabled_registration_id"] not in app.status.value


def test_before_connecting_each_page_says_what_to_do(app: WorkbenchApp) -> None:
    assert app.activities_body.layout.display == "none" and "Connect on page 1" in app.activities_guide.value
    assert app.form.patch_button.disabled and app.save_buttons[0].disabled
    assert "learnkit-demo" in app.app_note.value and "Start here" in app.app_note.value
    assert "No activities yet" in app.bulk.selection.value and app.bulk.stage_button.disabled
