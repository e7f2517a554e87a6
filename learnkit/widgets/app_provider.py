"""The app's Connect and Provider pages: connecting, listing the providers by name, choosing one and which of
its records to read, and reading them in the background.

A part of ``WorkbenchApp`` (``learnkit.widgets.app``), kept apart because it is one concern: everything before
the activities are on screen. Providers are named as a person knows them: by the display name Graph lists
(delegated sign-in), else the name their contents carry (``sourceName``, readable with an application
token). A provider whose course-activity sync is off is flagged once its activities are read, with how to
turn it on.

Example: ``app.list_providers(); app.wait(); app.load(app.chosen_provider())``
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from learnkit.bulk.sources import Source, list_refusal
from learnkit.client import GraphClient
from learnkit.errors import InvalidInputError, LearnkitError, SourceRequiredError
from learnkit.widgets._common import ui_client
from learnkit.widgets._safe import guarded
from learnkit.widgets.connect import ConnectPanel
from learnkit.widgets.source_choice import KINDS, SourceChoice
from learnkit.widgets.words import plural
from learnkit.widgets.workbench import Workbench

__all__ = ["ACTIVITIES", "PROVIDER", "ProviderPages"]

#: The pages' positions (``learnkit.widgets.app.PAGES``) these pages move to.
PROVIDER, ACTIVITIES = 1, 2

#: The sandbox's demo providers, by the key its JSON's ``demo`` object names them with.
_DEMO_PROVIDERS = (
    ("registration_id", "demo provider"),
    ("other_registration_id", "second demo provider"),
    ("disabled_registration_id", "demo provider with its sync off"),
)

#: A registration id worth asking the service about (a GUID), as it is typed.
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _listed(name: str | None, enabled: bool | None) -> str:
    """A provider as the list shows it: its name, flagged when its sync is off.

    >>> _listed("Northwind Skills", False)
    'Northwind Skills (sync off: read only)'
    """
    return (name or "(no name)") + (" (sync off: read only)" if enabled is False else "")


class ProviderPages:
    """The Connect and Provider pages' behaviour, mixed into ``WorkbenchApp`` (which builds their widgets)."""

    bench: Workbench
    sandbox: Any
    demo_keys: str | Path | None
    max_wait: float
    connect_panel: ConnectPanel
    sign_in: widgets.HTML
    provider_choice: widgets.Dropdown
    provider_id: widgets.Text
    provider_note: widgets.HTML
    provider_warning: widgets.HTML
    sources: SourceChoice
    tabs: widgets.Tab
    message: widgets.HTML
    #: Registration id -> (display name, sync enabled), where known (None: not known).
    providers: dict[str, tuple[str | None, bool | None]]
    _prober: threading.Thread | None
    _probed: GraphClient | None

    def _start(self, task: str, work: Callable[[], Any], done: Callable[[Any], None] | None = None) -> bool:
        raise NotImplementedError  # WorkbenchApp's background runner

    def _set_working(self, text: str) -> None:
        raise NotImplementedError

    def _refuse(self, text: str) -> None:
        raise NotImplementedError

    def event(self, text: str) -> None:
        raise NotImplementedError

    def restore_drafts(self) -> None:
        raise NotImplementedError

    def use_client(self, client: GraphClient) -> None:
        """Work through ``client`` from now on (what Connect does), then list the providers it may see."""
        self.bench.client = ui_client(client, self.max_wait)
        self.bench.set_activities([])
        self.bench.registration_id = None
        self.bench.provider_name = None
        self.providers = {}
        self.event(f"connected to {client.graph_url}")
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
        found = []
        for key, label in _DEMO_PROVIDERS:
            if not demo.get(key):
                continue
            registration_id = str(demo[key])
            name = self._name_from_contents(registration_id)
            # The sandbox's JSON says which demo provider has its sync off; a tenant's is known from its listing.
            self.providers[registration_id] = (name, key != "disabled_registration_id")
            found.append((_listed(name, self.providers[registration_id][1]) if name else label, registration_id))
        return found

    def _name_from_contents(self, registration_id: str) -> str | None:
        """A provider's display name as its contents carry it (``sourceName``): an application token may read
        contents, not the provider itself."""
        client = self.bench.client
        if client is None:
            return None
        try:
            contents = client.list_contents(registration_id, top=1)
        except LearnkitError:
            return None
        return next((c.sourceName for c in contents if c.sourceName), None)

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
            keys = chosen.keys_in_file(str(self.demo_keys))
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
        """Ask, in the background, whether the tenant serves the provider's list
        (``learnkit.bulk.sources.list_refusal``: once per connection); the Provider page then offers it, or says
        it is not served and what Graph answered."""
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

        self._prober = threading.Thread(target=guarded(probe, self.message), name="learnkit-list-probe", daemon=True)
        self._prober.start()

    def show_provider_warning(self) -> None:
        """Flag a provider whose course-activity sync is off (Graph refuses every write), and how to turn it on."""
        registration_id = self.bench.registration_id or ""
        enabled = self.providers.get(registration_id, (None, None))[1]
        if enabled is not False:
            self.provider_warning.value = ""
            return
        self.provider_warning.value = (
            f"<div class='lk-refused'><b>⚠ {html.escape(self.bench.provider_label())} has course-activity sync "
            "turned off</b>: you can read and review its activities, but Graph refuses every save until it is on."
            "</div><div class='lk-note'>To turn it on, someone with <code>LearningProvider.ReadWrite</code> "
            "(a delegated sign-in) sets <code>isCourseActivitySyncEnabled</code> to <code>true</code>: "
            f"<code>PATCH /employeeExperience/learningProviders/{html.escape(registration_id)}</code> "
            "(notebook 04 shows it on the sandbox). Then read the provider again.</div>"
        )

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
                self.providers = {str(p.id): (p.displayName, p.isCourseActivitySyncEnabled) for p in found if p.id}
                listed = [(_listed(p.displayName, p.isCourseActivitySyncEnabled), str(p.id)) for p in found if p.id]
                return listed, "from Graph"
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
            self.provider_note.value = f"<div class='lk-note'>{plural(len(options), 'provider')}: {note}</div>"
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
        table. ``source`` given: that (``learnkit.bulk.sources``); else what the Provider page chose."""
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

        known = self.providers.get(chosen.lower(), self.providers.get(chosen, (None, None)))[0]
        shown = known or f"provider {chosen}"

        def on_page(rows: int) -> None:
            self._set_working(f"Reading the activities of {shown}: {rows:,} so far")

        def work() -> None:
            if known:
                self.bench.provider_name = known  # the message of the read names it
            try:
                self.bench.load(chosen, source=named, on_page=on_page)
            except SourceRequiredError as exc:
                self.sources.tell(False, exc.reason)  # learnt: the page now offers keys and learners only
                raise

        def done(_: None) -> None:
            self.restore_drafts()
            self.show_provider_warning()
            self.tabs.selected_index = ACTIVITIES
            self.event(f"read {len(self.bench.frame):,} activities of {self.bench.provider_label()}")

        self._start(f"Reading the activities of {shown}", work, done)
