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
background thread, so the page stays usable and shows their progress while they run.
The page has one message area, under its title: each action replaces what it says
(a refused, throttled or failed call explained with what to do; a save's outcome as
counts, then the rows that need attention by name), and choosing another row or page
clears it. Each page says what to do next while it has nothing to show. Pending edits
are kept in a file of the user's (``learnkit.widgets.drafts``), so they survive a
restart of the app, and the notable events go to the terminal of ``learnkit app``, one
line each.

``learnkit app`` serves this through Voila; its settings reach the kernel as
environment variables (named in ``learnkit.settings``), read by ``WorkbenchApp.from_environment``:
the sandbox's JSON and the demo provider's keys beside it, and the source named by
``--external-ids``, ``--ids`` or ``--learners``.

Example::

    app = WorkbenchApp(sandbox=sb)          # display(app)
    app.connect_panel.connect()             # the Connect button
    app.load(sb.demo["registration_id"]); app.wait()
"""

from __future__ import annotations

import html
import importlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from learnkit.bulk.engine import BulkResult
from learnkit.client import GraphClient
from learnkit.errors import InvalidInputError, LearnkitError, SourceRequiredError, TokenError
from learnkit.settings import (
    APP_MODE_VARIABLE,
    SANDBOX_JSON_VARIABLE,
    SANDBOX_KEYS_VARIABLE,
    SOURCE_VARIABLES,
    ConnectionSettings,
    read_sandbox_json,
)
from learnkit.userdata import data_dir
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import CALLBACK_ERRORS, CallbackError, guarded, render_exception
from learnkit.widgets.app_provider import ACTIVITIES, PROVIDER, ProviderPages
from learnkit.widgets.bulk_editor import BulkEditor
from learnkit.widgets.connect import ConnectPanel
from learnkit.widgets.drafts import Drafts
from learnkit.widgets.explain import explain_error
from learnkit.widgets.findings import FindingsPanel
from learnkit.widgets.form import ActivityForm
from learnkit.widgets.history import HistoryPanel
from learnkit.widgets.source_choice import KINDS, SourceChoice
from learnkit.widgets.table import ActivityTable, save_label, show_progress
from learnkit.widgets.words import BULK as BULK_SOURCE, TABLE, plural
from learnkit.widgets.workbench import Workbench

__all__ = ["PAGES", "WorkbenchApp"]

#: The pages, in the order a person goes through them.
PAGES = ("1 · Connect", "2 · Provider", "3 · Activities", "4 · Bulk edit", "5 · History", "6 · Audit")
CONNECT, _, _, BULK, HISTORY, AUDIT = range(len(PAGES))
assert (PROVIDER, ACTIVITIES) == (1, 2)

#: What each of the sandbox's demo apps is for (the Connect page says it under the choice).
SANDBOX_APPS = {
    "learnkit-demo": "an application with every permission the workbench uses: reads, writes and learners' "
    "names. Start here.",
    "learnkit-noroles": "an application granted no permission: every call is refused (403), to see how the app "
    "explains a missing permission.",
    "learnkit-delegated": "a public client for a person's sign-in (device code): lists the providers and "
    "learners' own activities, but cannot write.",
    "learnkit-nonames": "an application that may read and write activities but not read users: learners show "
    "by id, and the app names the permission that would show their names.",
}
_CONNECT_GUIDE = (
    "<div class='lk-note'><b>Sandbox</b>: a Graph of its own on this machine, with demo providers and learners; "
    "nothing reaches Microsoft, and every change can be undone. <b>Tenant</b>: your organisation's Microsoft "
    "Graph, signed in with your app registration's secret or certificate.</div>"
    "<div class='lk-note'><i>also sign the demo user in</i> adds a person's (delegated) sign-in with a device "
    "code: it lists the providers by name and reads learners' lists; saving always uses the application.</div>"
)

_APP_CSS = """
<style>
.lk-app-header { border-bottom: 1px solid var(--jp-border-color2, #ccc); padding-bottom: 4px; margin-bottom: 6px; }
.lk-app-working { color: var(--jp-ui-font-color1, inherit); }
.lk-app-message:empty { display: none; }
.lk-app-message .lk-message { font-weight: bold; }
.lk-app-message .lk-message-detail { margin: 0 0 4px 18px; }
.lk-app-message ul.lk-attention { margin: 2px 0; padding-left: 18px; }
.lk-app .lk-empty { color: var(--jp-ui-font-color1, inherit); }
.lk-guide { border-left: 3px solid var(--jp-brand-color1, #1976d2); padding: 4px 10px; margin: 6px 0;
  background: var(--jp-layout-color1, transparent); color: var(--jp-ui-font-color1, inherit); }
</style>
"""


class WorkbenchApp(widgets.VBox, ProviderPages):  # type: ignore[misc]
    """The workbench as an application: a header with status and progress over six pages.

    ``sandbox`` is a running sandbox (handle or its JSON); without one, Connect starts
    one in this process. ``demo_keys`` is a CSV of the sandbox demo provider's keys (what
    ``learnkit sandbox --keys-out`` writes), for a sandbox given as JSON (a handle is asked
    directly). ``max_wait`` bounds how long a call sleeps through a 429/503 before the page
    shows the wait instead. ``drafts`` is a file that keeps the pending edits across restarts
    (``learnkit.widgets.drafts``; None: not kept). ``events`` hears one line per notable event
    (``learnkit app`` prints them in its terminal).

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
        drafts: str | Path | None = None,
        events: Callable[[str], object] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.demo_keys = demo_keys
        self.max_wait = max_wait
        self.drafts = None if drafts is None else Drafts(drafts)
        self.events = events
        self.providers = {}
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
        #: The page's one message area: each action replaces what it says.
        self.message = widgets.HTML()
        self.message.add_class("lk-app-message")

        # 1 Connect
        self.connect_panel = ConnectPanel(sandbox=sandbox, device_code_timeout=device_code_timeout)
        self.connect_panel.on_connect(self.use_client)
        self.connect_guide = widgets.HTML(_CONNECT_GUIDE)
        self.app_note = widgets.HTML()
        self.app_note.add_class("lk-app-choice-note")
        self.connect_panel.app.observe(guarded(lambda _: self._explain_app(), self.message), "options")
        self.connect_panel.app.observe(guarded(lambda _: self._explain_app(), self.message), "value")
        self._explain_app()

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
        self.provider_warning = widgets.HTML()
        self.provider_warning.add_class("lk-provider-warning")
        self.sources = SourceChoice()
        self.list_button.on_click(guarded(lambda _: self.list_providers(), self.message))
        self.load_button.on_click(guarded(lambda _: self.load(), self.message))
        self.sources.demo_button.on_click(guarded(lambda _: self.use_demo_keys(), self.message))
        self.provider_choice.observe(guarded(lambda _: self.check_list(), self.message), "value")
        self.provider_id.observe(guarded(lambda _: self.check_list(), self.message), "value")

        # 3 Activities, 4 Bulk edit, 5 History: the views of the one workbench, saying things in one place.
        self.table = ActivityTable(self.bench, messages=self.message)
        self.form = ActivityForm(self.bench, messages=self.message)
        self.bulk = BulkEditor(self.table, messages=self.message)
        self.history = HistoryPanel(self.bench, runner=self._start, messages=self.message)  # undo in the background
        # Saving many rows runs in the background here: the views' own save buttons would block the page.
        self.table.apply_button.layout.display = "none"
        self.table.discard_button.layout.display = "none"  # beside the app's Save changes instead
        self.bulk.apply_button.layout.display = "none"
        self.save_buttons = [self._save_button(), self._save_button()]
        self.discard_buttons = [self._discard_button(), self._discard_button()]
        self.activities_guide = widgets.HTML()
        self.activities_guide.add_class("lk-activities-guide")
        self.activities_body = widgets.VBox(
            [
                self.provider_warning,
                self.table,
                widgets.HBox([self.save_buttons[0], self.discard_buttons[0]]),
                widgets.HTML("<b>Selected activity</b> (click a row of the table)"),
                self.form,
            ]
        )

        # 6 Audit: filled on first view (the charts are heavy), when the audit's widgets are installed.
        self.audit_slot = widgets.VBox(
            [widgets.HTML("<i>The audit's findings and charts show here once they are installed.</i>")]
        )
        self.audit_slot.add_class("lk-audit-slot")
        self._audit_built = False
        self._restoring = False

        self.tabs = widgets.Tab(
            children=[
                widgets.VBox([self.connect_guide, self.connect_panel, self.app_note]),
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
                widgets.VBox([self.activities_guide, self.activities_body]),
                widgets.VBox([self.bulk, widgets.HBox([self.save_buttons[1], self.discard_buttons[1]])]),
                self.history,
                self.audit_slot,
            ],
            titles=PAGES,
        )
        self.tabs.add_class("lk-app-pages")
        self.tabs.observe(guarded(lambda _: self._page_shown(), self.message), "selected_index")

        self._handlers: dict[str, Callable[[Any], None]] = {
            "message": guarded(lambda _: self._show_message(), self.message),
            "progress": guarded(lambda _: show_progress(self.progress, self.bench.progress), self.message),
            "busy": guarded(lambda _: self._enable(), self.message),
            "pending": guarded(lambda _: self._pending_changed(), self.message),
            "frame": guarded(lambda _: self._show_status(), self.message),
            "client": guarded(lambda _: self._show_status(), self.message),
            "provider_name": guarded(lambda _: self._show_status(), self.message),
        }
        for name, handler in self._handlers.items():
            self.bench.observe(handler, name)
        self.connect_panel.device_code.observe(guarded(lambda _: self._mirror_sign_in(), self.message), "value")

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
        """The app ``learnkit app`` asked for, from the variables it set (see ``learnkit.settings``).

        With none set: sandbox mode, a sandbox started in this kernel on Connect (Binder, a notebook).

        >>> WorkbenchApp.from_environment({})
        WorkbenchApp(mode='sandbox', not connected)
        """
        env = dict(os.environ if environ is None else environ)
        sandbox = None
        if env.get(SANDBOX_JSON_VARIABLE):
            sandbox = read_sandbox_json(env[SANDBOX_JSON_VARIABLE])
        served = bool(env.get(APP_MODE_VARIABLE))  # set by `learnkit app`: its terminal hears the events
        app = cls(
            sandbox=sandbox,
            demo_keys=env.get(SANDBOX_KEYS_VARIABLE) or None,
            drafts=data_dir() / "app-drafts.json" if served else None,
            events=_to_terminal if served else None,
        )
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
                keys = chosen.keys_in_file(path)
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
        settings = ConnectionSettings.from_env(env)
        panel.mode.value = "tenant"
        panel.tenant_id.value = settings.tenant_id or ""
        panel.client_id.value = settings.client_id or ""
        panel.delegated_client_id.value = settings.delegated_client_id or ""
        cloud = settings.cloud
        if cloud in panel.cloud.options or cloud in dict(panel.cloud.options).values():
            panel.cloud.value = cloud
        if settings.has_app_credential:
            client = settings.client()
            panel.status.value = (
                f"<b>Connected</b> to <code>{html.escape(client.graph_url)}</code> with the app credential of "
                "the server's AZURE_* variables"
            )
            panel.client = client
            self.use_client(client)

    # --- saving ---------------------------------------------------------------

    def _save_button(self) -> widgets.Button:
        button = widgets.Button(description=save_label(0), button_style="primary", icon="upload", layout=_fit())
        button.add_class("lk-app-save")
        button.add_class("lk-save")
        button.on_click(guarded(lambda _: self.save(), self.message))
        return button

    def _discard_button(self) -> widgets.Button:
        button = widgets.Button(
            description="Discard pending", icon="trash", disabled=True, layout=_fit(),
            tooltip="forget the changes not saved yet: the service's values show again",
        )  # fmt: skip
        button.add_class("lk-app-discard")
        button.on_click(guarded(lambda _: self.bench.discard(), self.message))
        return button

    def save(self) -> None:
        """Save every pending change as one journal run, in the background, with progress in the header."""
        count = len(self.bench.pending)
        if not count:
            self._refuse("nothing to save: edit a row first (the form, the table or the bulk editor)")
            return

        def work() -> Any:
            # Named for the page it was pressed on: the History page says where a save came from.
            return self.bench.save(source=BULK_SOURCE if self.tabs.selected_index == BULK else TABLE)

        def done(result: BulkResult | None) -> None:
            self.history.refresh()
            if result is not None:
                self.event(f"{self.bench.message} ({self.bench.provider_label()})")

        self._start(f"Saving {plural(count, 'row')}", work, done)

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
        for name in ("_worker", "_prober"):
            thread = getattr(self, name)  # read after the worker ends: it may start the probe as it finishes
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
        self.bench.say("")  # the last action's words are replaced by this one's
        self.last_error = None
        self._set_working(task)

        def run() -> None:
            try:
                result = work()
                if done is not None:
                    done(result)
            except SourceRequiredError as exc:
                self.last_error = exc
                self.message.value = _not_served(exc)
            except LearnkitError as exc:
                self.last_error = exc
                self.message.value = explain_error(exc) + _advice(exc)
            except OSError as exc:  # requests' connection errors: nothing answered
                self.last_error = exc
                self.message.value = (
                    "<div class='lk-error'><b>✖ The service did not answer</b>: "
                    f"{html.escape(str(exc))}. Is it still running? Nothing was changed; try again, or restart "
                    "<code>learnkit app</code>.</div>"
                )
            except Exception as exc:
                self.last_error = exc
                CALLBACK_ERRORS.append(CallbackError(task, exc, repr(exc)))
                render_exception(self.message, task, exc)
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
        self.bench.say(text, "refused")

    def event(self, text: str) -> None:
        """Tell ``events`` (the terminal of ``learnkit app``) about something notable, in one line."""
        if self.events is not None:
            self.events(text)

    def _explain_app(self) -> None:
        chosen = str(self.connect_panel.app.value or "")
        said = SANDBOX_APPS.get(chosen)
        self.app_note.value = (
            f"<div class='lk-note'><b>{html.escape(chosen)}</b>: {html.escape(said)}</div>" if said else ""
        )

    def _show_message(self) -> None:
        self.message.value = self.bench.message_html()

    def _pending_changed(self) -> None:
        if self.drafts is not None and self.bench.registration_id and not self._restoring:
            self.drafts.keep(self.bench)
        self._show_status()

    def restore_drafts(self) -> None:
        """Put back the pending edits kept from an earlier session of this provider (``drafts``), and say so."""
        if self.drafts is None:
            return
        said = self.bench.message
        self._restoring = True
        try:
            restored, refused = self.drafts.restore(self.bench)
        finally:
            self._restoring = False
        self.drafts.keep(self.bench)  # what could not come back is not kept either
        if restored or refused:
            detail = "".join(f"<li>{html.escape(r)}</li>" for r in refused[:8])
            self.bench.say(
                f"{said}; {plural(restored, 'unsaved edit')} from your last session put back as pending changes "
                "(Save changes sends them, Discard drops them)"
                + (f"; {len(refused)} could not be put back" if refused else ""),
                "info",
                f"<ul class='lk-attention'>{detail}</ul>" if detail else "",
            )
            self.event(f"{plural(restored, 'unsaved edit')} put back from the last session")

    def _show_status(self) -> None:
        bench = self.bench
        count = len(bench.pending)
        for button in getattr(self, "save_buttons", []):
            button.description = save_label(count)
        self._enable()
        if not hasattr(self, "activities_guide"):  # an observer fired while __init__ builds the pages
            return
        loaded = bench.client is not None and bench.registration_id is not None
        self.activities_body.layout.display = "" if loaded else "none"
        self.activities_guide.layout.display = "none" if loaded else ""
        if bench.client is None:
            self.status.value = "<i>Not connected: start on page 1 (Connect).</i>"
            self.activities_guide.value = (
                "<div class='lk-guide'><b>Nothing here yet.</b> Connect on page 1, then choose a provider and "
                "read its activities on page 2: they show here, ready to edit.</div>"
            )
            return
        parts = [f"Connected to <code>{html.escape(bench.client.graph_url)}</code>"]
        if bench.registration_id:
            parts.append(f"<b>{html.escape(bench.provider_label())}</b>")
            parts.append(f"{len(bench.frame):,} activities")
            parts.append(f"{plural(count, 'row')} with changes not saved yet" if count else "no changes waiting")
        else:
            self.activities_guide.value = (
                "<div class='lk-guide'><b>No provider read yet.</b> On page 2 choose a provider and which of its "
                "records to read, then <i>Load activities</i>.</div>"
            )
        self.status.value = " · ".join(parts)

    def _enable(self) -> None:
        if not hasattr(self, "load_button"):  # an observer fired while __init__ builds the pages
            return
        busy = self.running or self.bench.busy
        self.load_button.disabled = busy
        self.list_button.disabled = busy
        for button in [*getattr(self, "save_buttons", []), *getattr(self, "discard_buttons", [])]:
            button.disabled = busy or not self.bench.pending

    def _page_shown(self) -> None:
        if not self.running:
            self.bench.say("")  # what the last page said is not about this one
        if self.tabs.selected_index == HISTORY and self.bench.client is not None and not self.running:
            self.history.refresh()  # the command line may have saved or undone since
        if self.tabs.selected_index == AUDIT and not self._audit_built:
            self._audit_built = True
            view = _audit_view(self.table, self._start, self.message, self._reference_now())
            if view is not None:
                self.audit_slot.children = [view]

    def _reference_now(self) -> str | None:
        """On a sandbox, the clock the README's audit figures are judged at (``AUDIT_NOW``)."""
        if self.connect_panel.mode.value != "sandbox":
            return None
        try:
            from learnkit.sandbox.seed import AUDIT_NOW
        except ImportError:  # the sandbox extra is not installed
            return None
        return AUDIT_NOW

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


def _audit_view(
    table: ActivityTable, runner: Any = None, messages: widgets.HTML | None = None, reference_now: str | None = None
) -> widgets.Widget | None:
    """The audit's findings panel (fixes run by ``runner``, its clock shown and settable) over its charts, which
    follow the clock it is set to; None when ``learnkit.widgets.charts`` (bqplot) is not installed."""
    try:
        charts_module = importlib.import_module("learnkit.widgets.charts")
    except ImportError:
        return None
    bench = table.workbench
    if not len(bench.frame):
        guide = "<div class='lk-guide'><b>Nothing to audit yet.</b> Read a provider's activities first (page 2).</div>"
        return widgets.HTML(guide)
    panel = FindingsPanel(bench, runner=runner, messages=messages, reference_now=reference_now)
    charts = charts_module.ProviderCharts(table)

    def follow(now: str | None) -> None:
        charts.now = now
        charts.refresh()

    panel.on_now(follow)
    view: widgets.Widget = widgets.VBox([panel, charts])
    return view


def _to_terminal(line: str) -> None:
    """One line in the terminal of ``learnkit app`` (the kernel's own stderr: Voila passes it through)."""
    print(f"learnkit app: {line}", file=sys.__stderr__, flush=True)


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
