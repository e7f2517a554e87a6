"""``WorkbenchApp``: the whole workbench on one page, for a person who never opens a notebook.

Pages, in the order a person goes: Connect (the sandbox, or a tenant with a secret,
a certificate or a device-code sign-in) → Provider (listed when a delegated sign-in
may list them, else the sandbox's demo providers, or a registration id typed in; then
which of its records to read, ``learnkit.widgets.source_choice``: its list where the
tenant serves it, asked in the background, or external ids, activity ids or learners,
pasted or uploaded, or on the sandbox the demo provider's keys in one click) →
Activities (the table with filter, sort and paging, the form for the selected row,
the pending changes and their diff) → Bulk edit → History (undo) → Audit (the audit's
findings and charts, once ``learnkit.widgets.charts`` is installed).

Everything goes through one ``Workbench``: the views edit it, and every save is one
journal run through ``learnkit.bulk``. Reading a provider and saving run in a
background thread, so the page stays usable and shows their progress; a refused,
throttled or failed call is explained at the top of the page with what to do.

``learnkit app`` serves this through Voila; its settings reach the kernel as
environment variables (``learnkit.app_cli``), read by ``WorkbenchApp.from_environment``:
the sandbox's JSON and the demo provider's keys beside it, and the source named by
``--external-ids``, ``--ids`` or ``--learners``.

Example::

    app = WorkbenchApp(sandbox=sb)          # display(app)
    app.connect_panel.connect()             # the Connect button
    app.load(sb.demo["registration_id"]); app.wait()
"""

from __future__ import annotations

import argparse
import html
import importlib
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from learnkit.app_cli import (
    APP_MODE_VARIABLE,
    CLOUD_VARIABLE,
    DELEGATED_CLIENT_VARIABLE,
    SANDBOX_JSON_VARIABLE,
    SANDBOX_KEYS_VARIABLE,
    SOURCE_VARIABLES,
)
from learnkit.client import GraphClient
from learnkit.engine import BulkResult
from learnkit.errors import InvalidInputError, LearnkitError, SourceRequiredError, TokenError
from learnkit.sources import Source, list_refusal, read_keys
from learnkit.widgets._common import style_sheet, ui_client
from learnkit.widgets._safe import CALLBACK_ERRORS, CallbackError, guarded, render_exception
from learnkit.widgets.bulk_editor import BulkEditor
from learnkit.widgets.connect import ConnectPanel
from learnkit.widgets.explain import explain_error
from learnkit.widgets.findings import FindingsPanel
from learnkit.widgets.form import ActivityForm
from learnkit.widgets.history import HistoryPanel
from learnkit.widgets.source_choice import KINDS, SourceChoice
from learnkit.widgets.table import ActivityTable
from learnkit.widgets.workbench import Workbench

__all__ = ["PAGES", "WorkbenchApp"]

#: The pages, in the order a person goes through them.
PAGES = ("1 · Connect", "2 · Provider", "3 · Activities", "4 · Bulk edit", "5 · History", "6 · Audit")
CONNECT, PROVIDER, ACTIVITIES, BULK, HISTORY, AUDIT = range(len(PAGES))

#: The sandbox's demo providers, by the key its JSON's ``demo`` object names them with.
_DEMO_PROVIDERS = (
    ("registration_id", "demo provider"),
    ("other_registration_id", "second demo provider"),
    ("disabled_registration_id", "disabled demo provider (its sync is off)"),
)

#: A registration id worth asking the service about (a GUID), as it is typed.
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_APP_CSS = """
<style>
.lk-app-header { border-bottom: 1px solid var(--jp-border-color2, #ccc); padding-bottom: 4px; margin-bottom: 6px; }
.lk-app-working { color: var(--jp-warn-color1, #8a5a00); }
</style>
"""


class WorkbenchApp(widgets.VBox):  # type: ignore[misc]
    """The workbench as an application: a header with status and progress over six pages.

    ``sandbox`` is a running sandbox (handle or its JSON); without one, Connect starts
    one in this process. ``demo_keys`` is a CSV of the sandbox demo provider's keys (what
    ``learnkit sandbox --keys-out`` writes), for a sandbox given as JSON (a handle is asked
    directly). ``max_wait`` bounds how long a call sleeps through a 429/503 before the page
    shows the wait instead.

    Example: ``WorkbenchApp(sandbox=sb).connect_panel.connect()``
    """

    def __init__(
        self,
        *,
        sandbox: Any = None,
        journal: Any = None,
        max_wait: float = 10.0,
        device_code_timeout: float = 300.0,
        demo_keys: str | Path | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.demo_keys = demo_keys
        self.max_wait = max_wait
        self.bench = Workbench(journal=journal)
        #: The last error a background call ended with (None after a success).
        self.last_error: BaseException | None = None
        self._worker: threading.Thread | None = None
        self._running = threading.Event()
        self._task = ""
        self._prober: threading.Thread | None = None
        self._probed: GraphClient | None = None  # the client the list was asked about

        # Header: where we are, what runs, what happened.
        self.title = widgets.HTML("<h2 style='margin:4px 0'>learnkit · course activity workbench</h2>")
        self.status = widgets.HTML()
        self.status.add_class("lk-app-status")
        self.working = widgets.HTML()
        self.working.add_class("lk-app-working")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="260px"))
        self.progress.layout.visibility = "hidden"
        self.message = widgets.HTML()
        self.message.add_class("lk-app-message")
        self.problem = widgets.HTML()
        self.problem.add_class("lk-app-problem")

        # 1 Connect
        self.connect_panel = ConnectPanel(sandbox=sandbox, device_code_timeout=device_code_timeout)
        self.connect_panel.on_connect(self.use_client)

        # 2 Provider
        self.sign_in = widgets.HTML()
        self.sign_in.add_class("lk-app-sign-in")
        self.provider_choice = widgets.Dropdown(
            options=[], description="provider", style={"description_width": "120px"}, layout=_wide()
        )
        self.provider_choice.add_class("lk-provider-choice")
        self.provider_id = widgets.Text(
            description="or registration id",
            placeholder="the provider's id (a GUID)",
            style={"description_width": "120px"},
            layout=_wide(),
        )
        self.provider_id.add_class("lk-provider-id")
        self.list_button = widgets.Button(description="List providers", icon="refresh")
        self.load_button = widgets.Button(description="Load activities", button_style="primary", icon="download")
        self.load_button.add_class("lk-load")
        self.provider_note = widgets.HTML()
        self.provider_note.add_class("lk-provider-note")
        self.sources = SourceChoice()
        self.list_button.on_click(guarded(lambda _: self.list_providers(), self.problem))
        self.load_button.on_click(guarded(lambda _: self.load(), self.problem))
        self.sources.demo_button.on_click(guarded(lambda _: self.use_demo_keys(), self.problem))
        self.provider_choice.observe(guarded(lambda _: self.check_list(), self.problem), "value")
        self.provider_id.observe(guarded(lambda _: self.check_list(), self.problem), "value")

        # 3 Activities, 4 Bulk edit, 5 History: the views of the one workbench.
        self.table = ActivityTable(self.bench)
        self.form = ActivityForm(self.bench)
        self.bulk = BulkEditor(self.table)
        self.history = HistoryPanel(self.bench, runner=self._start)  # undo in the background too
        # Saving many rows runs in the background here: the views' own save buttons would block the page.
        self.table.apply_button.layout.display = "none"
        self.bulk.apply_button.layout.display = "none"
        self.save_buttons = [self._save_button(), self._save_button()]

        # 6 Audit: filled on first view (the charts are heavy), when the audit's widgets are installed.
        self.audit_slot = widgets.VBox(
            [widgets.HTML("<i>The audit's findings and charts show here once they are installed.</i>")]
        )
        self.audit_slot.add_class("lk-audit-slot")
        self._audit_built = False

        self.tabs = widgets.Tab(
            children=[
                self.connect_panel,
                widgets.VBox(
                    [
                        widgets.HTML("<b>Choose the provider whose course activities to work on</b>"),
                        self.sign_in,
                        widgets.HBox([self.provider_choice, self.list_button]),
                        self.provider_id,
                        self.provider_note,
                        self.sources,
                        self.load_button,
                    ]
                ).add_class("lk-provider-page"),
                widgets.VBox(
                    [
                        self.table,
                        widgets.HBox([self.save_buttons[0]]),
                        widgets.HTML("<b>Selected activity</b> (click a row of the table)"),
                        self.form,
                    ]
                ),
                widgets.VBox([self.bulk, widgets.HBox([self.save_buttons[1]])]),
                self.history,
                self.audit_slot,
            ],
            titles=PAGES,
        )
        self.tabs.add_class("lk-app-pages")
        self.tabs.observe(guarded(lambda _: self._page_shown(), self.problem), "selected_index")

        self._handlers: dict[str, Callable[[Any], None]] = {
            "message": guarded(lambda _: self._show_message(), self.problem),
            "progress": guarded(lambda _: self._show_progress(), self.problem),
            "busy": guarded(lambda _: self._enable(), self.problem),
            "pending": guarded(lambda _: self._show_status(), self.problem),
            "frame": guarded(lambda _: self._show_status(), self.problem),
            "client": guarded(lambda _: self._show_status(), self.problem),
        }
        for name, handler in self._handlers.items():
            self.bench.observe(handler, name)
        self.connect_panel.device_code.observe(guarded(lambda _: self._mirror_sign_in(), self.problem), "value")

        super().__init__(
            [
                style_sheet(),
                widgets.HTML(_APP_CSS, layout=widgets.Layout(height="0px", overflow="hidden", margin="0")),
                widgets.VBox(
                    [
                        self.title,
                        self.status,
                        widgets.HBox([self.working, self.progress]),
                        self.message,
                        self.problem,
                    ],
                    layout=widgets.Layout(margin="0 0 6px 0"),
                ).add_class("lk-app-header"),
                self.tabs,
            ]
        )
        self.add_class("lk-app")
        self._show_status()
        self._enable()

    def __repr__(self) -> str:
        client = self.bench.client
        if client is None:
            return f"WorkbenchApp(mode={self.connect_panel.mode.value!r}, not connected)"
        return (
            f"WorkbenchApp({client.graph_url!r}, provider={self.bench.registration_id!r}, "
            f"rows={len(self.bench.frame)}, pending={len(self.bench.pending)})"
        )

    # --- settings from the server ---------------------------------------------

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> WorkbenchApp:
        """The app ``learnkit app`` asked for, from the variables it set (see ``learnkit.app_cli``).

        With none set: sandbox mode, a sandbox started in this kernel on Connect (Binder, a notebook).

        >>> WorkbenchApp.from_environment({})
        WorkbenchApp(mode='sandbox', not connected)
        """
        env = dict(os.environ if environ is None else environ)
        sandbox = None
        if env.get(SANDBOX_JSON_VARIABLE):
            from learnkit.cli import read_sandbox_json

            sandbox = read_sandbox_json(env[SANDBOX_JSON_VARIABLE])
        app = cls(sandbox=sandbox, demo_keys=env.get(SANDBOX_KEYS_VARIABLE) or None)
        app.use_source_settings(env)
        if env.get(APP_MODE_VARIABLE) == "tenant":
            app.use_tenant_settings(env)
        return app

    def use_source_settings(self, env: Mapping[str, str]) -> None:
        """The records ``--external-ids``, ``--ids`` or ``--learners FILE`` named, chosen on the Provider page.

        A file that cannot be read any more is said on the page. Learners on the sandbox sign its demo
        user in too (their lists need a delegated sign-in).
        """
        for kind, variable in SOURCE_VARIABLES.items():
            path = env.get(variable)
            if not path:
                continue
            chosen = KINDS[kind]
            try:
                keys = read_keys(path, chosen.COLUMNS, chosen.WHAT)
            except InvalidInputError as exc:
                self._refuse(f"{Path(path).name}: {exc.detail}")
                return
            self.sources.fill(kind, keys, origin=Path(path).name)
            if kind == "learners":
                self.connect_panel.sandbox_delegated.value = True
            return

    def use_tenant_settings(self, env: Mapping[str, str]) -> None:
        """Tenant mode, the form filled from ``AZURE_*``; with an app credential there, connected at once.

        The secret is read from the environment straight into the credential: it never
        enters a widget, so it never reaches the browser.
        """
        panel = self.connect_panel
        panel.mode.value = "tenant"
        panel.tenant_id.value = env.get("AZURE_TENANT_ID", "")
        panel.client_id.value = env.get("AZURE_CLIENT_ID", "")
        panel.delegated_client_id.value = env.get(DELEGATED_CLIENT_VARIABLE, "")
        cloud = env.get(CLOUD_VARIABLE, "global")
        if cloud in panel.cloud.options or cloud in dict(panel.cloud.options).values():
            panel.cloud.value = cloud
        if env.get("AZURE_CLIENT_SECRET") or env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
            from learnkit.cli import client_from_args

            client = client_from_args(argparse.Namespace(sandbox_json=None, cloud=cloud), dict(env))
            panel.status.value = (
                f"<b>Connected</b> to <code>{html.escape(client.graph_url)}</code> with the app credential of "
                "the server's AZURE_* variables"
            )
            panel.client = client
            self.use_client(client)

    # --- connecting and choosing the provider -----------------------------------

    def use_client(self, client: GraphClient) -> None:
        """Work through ``client`` from now on (what Connect does), then list the providers it may see."""
        self.bench.client = ui_client(client, self.max_wait)
        self.bench.set_activities([])
        self.bench.registration_id = None
        self.sources.delegated = client.delegated is not None
        self.sources.tell(None)
        self._probed = None
        self.sources.demo_button.layout.display = "" if self._demo_sandbox() is not None else "none"
        self.tabs.selected_index = PROVIDER
        self.list_providers()

    def _demo_providers(self) -> list[tuple[str, str]]:
        if self.sandbox is None and self.connect_panel.sandbox is None:
            return []
        sandbox = self.connect_panel.sandbox if self.connect_panel.sandbox is not None else self.sandbox
        info = sandbox if isinstance(sandbox, Mapping) else sandbox.to_json()
        demo = info.get("demo", {})
        return [(f"{label} ({demo[key]})", str(demo[key])) for key, label in _DEMO_PROVIDERS if demo.get(key)]

    def _demo_sandbox(self) -> Any:
        """The sandbox connected to, when its demo provider's keys can be reached (a handle, or a keys file)."""
        if self.connect_panel.mode.value != "sandbox":
            return None
        sandbox = self.connect_panel.sandbox if self.connect_panel.sandbox is not None else self.sandbox
        if sandbox is None or (not hasattr(sandbox, "activity_keys") and not self.demo_keys):
            return None
        return sandbox

    def demo_keys_of(self, kind: str) -> tuple[str, list[str]]:
        """The sandbox demo provider's registration id and its keys of ``kind`` (``external_ids`` or ``ids``):
        asked of the sandbox's handle, else read from the ``demo_keys`` file."""
        sandbox = self._demo_sandbox()
        if sandbox is None:
            raise InvalidInputError(
                "demo keys", "invalid", "only a sandbox has a demo provider, and its keys are not at hand here"
            )
        info = sandbox if isinstance(sandbox, Mapping) else sandbox.to_json()
        registration_id = str(info["demo"]["registration_id"])
        if hasattr(sandbox, "activity_keys"):
            keys = sandbox.activity_ids() if kind == "ids" else sandbox.external_ids()
        else:
            chosen = KINDS[kind]
            keys = read_keys(str(self.demo_keys), chosen.COLUMNS, chosen.WHAT)
        return registration_id, list(keys)

    def use_demo_keys(self) -> None:
        """Choose the sandbox's demo provider and fill in its keys: its activity ids when those are chosen,
        else its external ids (what the provider's own system would list)."""
        kind = "ids" if self.sources.choice.value == "ids" else "external_ids"
        registration_id, keys = self.demo_keys_of(kind)
        self.provider_id.value = ""
        if registration_id in [value for _, value in self.provider_choice.options]:
            self.provider_choice.value = registration_id
        else:
            self.provider_id.value = registration_id
        self.sources.fill(kind, keys, origin="the demo provider's keys")

    def check_list(self) -> None:
        """Ask, in the background, whether the tenant serves the provider's list (``learnkit.sources.list_refusal``:
        once per connection); the Provider page then offers it, or says it is not served and what Graph answered."""
        client, chosen = self.bench.client, self.chosen_provider()
        if client is None or not chosen or not _GUID.match(chosen):
            return
        if self._probed is client and self.sources.list_served is not None:
            return
        if self._prober is not None and self._prober.is_alive():
            return
        self._probed = client
        self.sources.asking()

        def probe() -> None:
            try:
                if client.delegated is not None:
                    self.connect_panel.wait_signed_in()  # one sign-in at a time
                refused = list_refusal(client, chosen)
            except (LearnkitError, OSError) as exc:
                if self.bench.client is client:
                    self._probed = None  # asked again when the provider changes
                    self.sources.tell(None, f"it could not be asked: {exc}")
                return
            if self.bench.client is client:
                self.sources.tell(refused is None, refused or "")

        self._prober = threading.Thread(target=guarded(probe, self.problem), name="learnkit-list-probe", daemon=True)
        self._prober.start()

    def list_providers(self) -> None:
        """Fill the provider list in the background: from Graph with a delegated sign-in, else the sandbox's."""
        client = self.bench.client
        if client is None:
            self._refuse("connect first (page 1)")
            return

        def work() -> tuple[list[tuple[str, str]], str]:
            if client.delegated is not None:
                self._set_working("Waiting for the delegated sign-in: open the page named below and enter its code")
                self.connect_panel.wait_signed_in()
                self._set_working("Listing the providers")
                found = client.list_providers()
                return [(f"{p.displayName or p.id} ({p.id})", str(p.id)) for p in found if p.id], "from Graph"
            demo = self._demo_providers()
            if demo:
                return demo, (
                    "the sandbox's providers (listing them from Graph needs a delegated sign-in: tick "
                    "<i>also sign the demo user in</i> on page 1)"
                )
            return [], (
                "listing providers needs a delegated sign-in (a device-code client id on page 1): "
                "type the provider's registration id instead"
            )

        def done(found: tuple[list[tuple[str, str]], str]) -> None:
            options, note = found
            self.provider_choice.options = options
            if options:
                self.provider_choice.value = options[0][1]
            self.provider_note.value = f"<div class='lk-note'>{len(options)} provider(s): {note}</div>"
            self.check_list()

        self._start("Listing the providers", work, done)

    def _mirror_sign_in(self) -> None:
        # The device code is shown on the Connect page; the person is on the Provider page by then.
        self.sign_in.value = self.connect_panel.device_code.value

    def chosen_provider(self) -> str | None:
        """The registration id typed in, else the one picked from the list."""
        typed = self.provider_id.value.strip()
        return typed or self.provider_choice.value or None

    def load(self, registration_id: str | None = None, *, source: Source | None = None) -> None:
        """Read the provider's activities in the background, counting as pages or batches arrive; then show the
        table. ``source`` given: that (``learnkit.sources``); else what the Provider page chose."""
        chosen = registration_id or self.chosen_provider()
        if self.bench.client is None:
            self._refuse("connect first (page 1)")
            return
        if not chosen:
            self._refuse("registration id: pick a provider from the list or type its registration id")
            return
        if source is None:
            try:
                source = self.sources.source()
            except InvalidInputError as exc:
                self._refuse(f"{exc.field}: {exc.detail}")
                return
        named = source

        def on_page(rows: int) -> None:
            self._set_working(f"Reading the activities of {chosen}: {rows:,} so far")

        def work() -> None:
            try:
                self.bench.load(chosen, source=named, on_page=on_page)
            except SourceRequiredError as exc:
                self.sources.tell(False, exc.reason)  # learnt: the page now offers keys and learners only
                raise

        def done(_: None) -> None:
            # The name the provider was listed under (without its id), for the journal's history.
            label = next((text for text, value in self.provider_choice.options if value == chosen), None)
            self.bench.provider_name = label.rsplit(" (", 1)[0] if label else None
            self.tabs.selected_index = ACTIVITIES

        self._start(f"Reading the activities of {chosen}", work, done)

    # --- saving ---------------------------------------------------------------

    def _save_button(self) -> widgets.Button:
        button = widgets.Button(
            description="Save pending changes", button_style="primary", icon="upload", layout=_fit()
        )
        button.add_class("lk-app-save")
        button.on_click(guarded(lambda _: self.save(), self.problem))
        return button

    def save(self) -> None:
        """Save every pending change as one journal run, in the background, with progress in the header."""
        count = len(self.bench.pending)
        if not count:
            self._refuse("nothing to save: edit a row first (the form, the table or the bulk editor)")
            return

        def work() -> Any:
            return self.bench.save(source="learnkit app")

        def done(result: Any) -> None:
            self.history.refresh()
            self._explain_unsaved(result)

        self._start(f"Saving {count} row(s)", work, done)

    def _explain_unsaved(self, result: BulkResult | None) -> None:
        """Rows a save could not apply (throttled, conflicting, failed): what happened and what to do."""
        if result is None:  # nothing was pending
            return
        table = result.frame
        unsaved = table[~table["status"].isin(["applied", "unchanged"])]
        if unsaved.empty:
            return
        first = unsaved.iloc[0]
        self.problem.value = (
            f"<div class='lk-error'><b>✖ {len(unsaved)} row(s) not saved</b>: row <code>{html.escape(str(first['id']))}"
            f"</code>: {html.escape(str(first['message']))}.<br>Their edits are kept as pending changes: press "
            "Save again (after the wait Graph asked for, if it named one). A conflict means the record changed "
            "since it was read: load the provider again to see it.</div>"
        )

    def undo_last(self) -> None:
        """Undo the last save made here, in the background (the History page's buttons undo any run)."""
        self._start("Undoing the last save", lambda: self.bench.undo(), lambda _: self.history.refresh())

    # --- background work ------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while a background call (listing, reading, saving) runs."""
        return self._running.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running background call (and the question whether the list is served); True once none
        runs."""
        alive = False
        for thread in (self._worker, self._prober):
            if thread is not None:
                thread.join(timeout)
                alive = alive or thread.is_alive()
        return not alive

    def _start(self, task: str, work: Callable[[], Any], done: Callable[[Any], None] | None = None) -> bool:
        """Run ``work`` in a thread (one at a time), then ``done(result)``; errors shown, never lost."""
        if self.running:
            self._refuse(f"wait: {self._task.lower()} is still running")
            return False
        self._task = task
        self.problem.value = ""
        self.last_error = None
        self._set_working(task)

        def run() -> None:
            try:
                result = work()
                if done is not None:
                    done(result)
            except SourceRequiredError as exc:
                self.last_error = exc
                self.problem.value = _not_served(exc)
            except LearnkitError as exc:
                self.last_error = exc
                self.problem.value = explain_error(exc) + _advice(exc)
            except OSError as exc:  # requests' connection errors: nothing answered
                self.last_error = exc
                self.problem.value = (
                    "<div class='lk-error'><b>✖ The service did not answer</b>: "
                    f"{html.escape(str(exc))}. Is it still running? Nothing was changed; try again, or restart "
                    "<code>learnkit app</code>.</div>"
                )
            except Exception as exc:
                self.last_error = exc
                CALLBACK_ERRORS.append(CallbackError(task, exc, repr(exc)))
                render_exception(self.problem, task, exc)
            finally:
                self._running.clear()
                self._set_working("")
                self._enable()

        self._running.set()
        self._worker = threading.Thread(target=run, name="learnkit-app", daemon=True)
        self._enable()
        self._worker.start()
        return True

    # --- what the header shows ------------------------------------------------

    def _set_working(self, text: str) -> None:
        # A spinning icon (Font Awesome ships with the widgets): an emoji may lack a font in the browser.
        self.working.value = f"<i class='fa fa-spinner fa-spin'></i> {html.escape(text)}…" if text else ""

    def _refuse(self, text: str) -> None:
        self.problem.value = f"<div class='lk-refused'>✖ {html.escape(text)}</div>"

    def _show_message(self) -> None:
        self.message.value = self.bench.message_html() if self.bench.message else ""

    def _show_progress(self) -> None:
        done, total = self.bench.progress
        self.progress.max = max(1, total)
        self.progress.value = done
        self.progress.description = f"{done}/{total}" if total else ""
        self.progress.layout.visibility = "visible" if total else "hidden"

    def _show_status(self) -> None:
        bench = self.bench
        if bench.client is None:
            self.status.value = "<i>Not connected: start on page 1.</i>"
            return
        parts = [f"Connected to <code>{html.escape(bench.client.graph_url)}</code>"]
        if bench.registration_id:
            parts.append(f"provider <code>{html.escape(bench.registration_id)}</code>")
            parts.append(f"{len(bench.frame):,} activities")
        parts.append(f"{len(bench.pending)} row(s) with pending changes")
        self.status.value = " · ".join(parts)
        count = len(bench.pending)
        for button in getattr(self, "save_buttons", []):
            button.description = f"Save {count} pending row(s)" if count else "Save pending changes"
        self._enable()

    def _enable(self) -> None:
        if not hasattr(self, "load_button"):  # an observer fired while __init__ builds the pages
            return
        busy = self.running or self.bench.busy
        self.load_button.disabled = busy
        self.list_button.disabled = busy
        for button in getattr(self, "save_buttons", []):
            button.disabled = busy or not self.bench.pending

    def _page_shown(self) -> None:
        if self.tabs.selected_index == AUDIT and not self._audit_built:
            self._audit_built = True
            view = _audit_view(self.table, self._start)
            if view is not None:
                self.audit_slot.children = [view]

    def show_audit(self, *views: widgets.Widget) -> None:
        """Put these widgets on the Audit page (instead of the charts found by default)."""
        self._audit_built = True
        self.audit_slot.children = list(views)

    def close(self) -> None:
        """Stop observing the workbench, then close the widget (the views close as they are collected)."""
        for name, handler in self._handlers.items():
            self.bench.unobserve(handler, name)
        self._handlers = {}
        super().close()


def _audit_view(table: ActivityTable, runner: Any = None) -> widgets.Widget | None:
    """The audit's charts over ``table``, and its findings panel (fixes run by ``runner``), else None.

    None when ``learnkit.widgets.charts`` (bqplot) is not installed.
    """
    try:
        charts = importlib.import_module("learnkit.widgets.charts")
    except ImportError:
        return None
    view: widgets.Widget = widgets.VBox([charts.ProviderCharts(table), FindingsPanel(table.workbench, runner=runner)])
    return view


def _not_served(exc: SourceRequiredError) -> str:
    """A tenant that does not serve the provider's list, said for a person at the Provider page."""
    answered = f" (it answered {html.escape(exc.reason)})" if exc.reason else ""
    return (
        f"<div class='lk-refused'><b>✖ This tenant does not serve the list of provider "
        f"<code>{html.escape(exc.registration_id)}</code></b>{answered}.</div>"
        "<div class='lk-note'>Graph documents reading a provider's activities by key and by learner: under "
        "<i>Choose which of its records to read</i> choose external ids, activity ids or learners, paste them or "
        "upload a file of them (on the sandbox, <i>Use the demo provider's keys</i>), then load again. Nothing "
        "was changed.</div>"
    )


def _advice(exc: LearnkitError) -> str:
    """What to do next, for the errors a person at this page can act on."""
    if isinstance(exc, TokenError):
        return (
            "<div class='lk-note'>Check the sign-in on page 1: the tenant and app ids, the secret or "
            "certificate, and that the app has the permission named above.</div>"
        )
    return ""


def _fit() -> widgets.Layout:
    return widgets.Layout(width="auto")


def _wide() -> widgets.Layout:
    return widgets.Layout(width="560px")
