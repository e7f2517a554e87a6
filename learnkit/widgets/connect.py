"""``ConnectPanel``: sign in to the embedded sandbox (the default) or to a real tenant; gives a client.

Tenant mode takes the tenant id, the app's client id, its secret (a password
box) or a certificate, the national cloud, and optionally a public client id
for a delegated device-code sign-in, whose code and URL are shown in the panel.
That sign-in is remembered in learnkit's token cache (``learnkit.token_cache``),
so after a kernel restart Connect signs the same user in without a second code,
until ``learnkit logout``. The secret is handed to the sign-in and then wiped
from the box: it is never shown back, printed, or kept in the widget's state.

Example::

    panel = ConnectPanel(sandbox=sb)
    panel.connect_button.click()
    client = panel.client
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from learnkit.auth import CertificateSignIn, DeviceCodeSignIn, SecretSignIn
from learnkit.client import GraphClient
from learnkit.clouds import CLOUDS
from learnkit.errors import InvalidInputError, LearnkitError
from learnkit.token_cache import default_cache_path
from learnkit.widgets._common import SecretText
from learnkit.widgets._safe import guarded
from learnkit.widgets.explain import explain_error, problem_html

if TYPE_CHECKING:
    from learnkit.credentials import TokenCredential

__all__ = ["ConnectPanel"]

_WIDE = widgets.Layout(width="420px")
_STYLE = {"description_width": "150px"}


class ConnectPanel(widgets.VBox):  # type: ignore[misc]
    """Choose sandbox or tenant, fill in the sign-in, click Connect; ``.client`` is the result.

    ``sandbox`` is a running sandbox handle (or its JSON); without one, Connect
    starts a fresh sandbox. ``on_connect(callback)`` hears about each new client.

    Example: ``ConnectPanel(sandbox=sb).connect()``
    """

    def __init__(self, sandbox: Any = None, *, device_code_timeout: float = 300.0) -> None:
        self.sandbox = sandbox
        self.client: GraphClient | None = None
        self.device_code_timeout = device_code_timeout
        self._listeners: list[Callable[[GraphClient], None]] = []
        self._sign_in: threading.Thread | None = None

        self.mode = widgets.ToggleButtons(options=[("Sandbox", "sandbox"), ("Tenant", "tenant")], value="sandbox")
        # Sandbox mode
        self.app = widgets.Dropdown(description="app", options=self._sandbox_apps(), style=_STYLE, layout=_WIDE)
        self.sandbox_delegated = widgets.Checkbox(
            description="also sign the demo user in (device code)", value=False, indent=False
        )
        self.sandbox_box = widgets.VBox([self.app, self.sandbox_delegated])
        # Tenant mode
        self.tenant_id = widgets.Text(description="tenant id", placeholder="GUID or domain", style=_STYLE, layout=_WIDE)
        self.client_id = widgets.Text(description="app (client) id", style=_STYLE, layout=_WIDE)
        self.auth = widgets.ToggleButtons(
            options=[("Client secret", "secret"), ("Certificate", "certificate"), ("None", "none")],
            value="secret",
            description="app sign-in",
            style=_STYLE,
        )
        self.secret = SecretText(description="client secret", style=_STYLE, layout=_WIDE)
        self.certificate_path = widgets.Text(
            description="certificate", placeholder=".pfx, or .pem private key", style=_STYLE, layout=_WIDE
        )
        self.thumbprint = widgets.Text(description="thumbprint (pem)", style=_STYLE, layout=_WIDE)
        self.passphrase = SecretText(description="passphrase", style=_STYLE, layout=_WIDE)
        self.cloud = widgets.Dropdown(
            description="cloud",
            options=[(c.display_name, c.name) for c in CLOUDS.values()],
            value="global",
            style=_STYLE,
            layout=_WIDE,
        )
        self.delegated_client_id = widgets.Text(
            description="delegated client id",
            placeholder="public client for device-code sign-in (optional)",
            style=_STYLE,
            layout=_WIDE,
        )
        self.secret_box = widgets.VBox([self.secret])
        self.certificate_box = widgets.VBox([self.certificate_path, self.thumbprint, self.passphrase])
        self.tenant_box = widgets.VBox(
            [
                self.tenant_id,
                self.client_id,
                self.cloud,
                self.auth,
                self.secret_box,
                self.certificate_box,
                self.delegated_client_id,
            ]
        )
        self.messages = widgets.HTML()
        self.device_code = widgets.HTML()
        self.device_code.add_class("lk-device-code")
        self.status = widgets.HTML("<i>not connected</i>")
        self.status.add_class("lk-connect-status")
        self.connect_button = widgets.Button(description="Connect", button_style="primary", icon="plug")
        self.connect_button.on_click(guarded(lambda _: self.connect(), self.status))
        self.mode.observe(guarded(lambda _: self._show_mode(), self.status), "value")
        self.auth.observe(guarded(lambda _: self._show_mode(), self.status), "value")
        super().__init__(
            [
                self.mode,
                self.sandbox_box,
                self.tenant_box,
                self.messages,
                self.connect_button,
                self.device_code,
                self.status,
            ]
        )
        self.add_class("lk-connect")
        self._show_mode()

    def __repr__(self) -> str:
        where = self.client.graph_url if self.client else "not connected"
        return f"ConnectPanel(mode={self.mode.value!r}, {where})"

    def on_connect(self, callback: Callable[[GraphClient], None]) -> None:
        """Call ``callback(client)`` after each successful Connect."""
        self._listeners.append(callback)

    def _sandbox_apps(self) -> list[str]:
        if self.sandbox is None:
            return ["learnkit-demo"]
        info = self.sandbox if isinstance(self.sandbox, dict) else self.sandbox.to_json()
        return [a["name"] for a in info["apps"]]

    def _show_mode(self) -> None:
        tenant = self.mode.value == "tenant"
        self.sandbox_box.layout.display = "none" if tenant else ""
        self.tenant_box.layout.display = "" if tenant else "none"
        self.secret_box.layout.display = "" if self.auth.value == "secret" else "none"
        self.certificate_box.layout.display = "" if self.auth.value == "certificate" else "none"

    # --- connecting --------------------------------------------------------

    def connect(self) -> GraphClient | None:
        """Build the client from the panel (refusing missing values, field named); None if refused."""
        self.messages.value = ""
        self.device_code.value = ""
        try:
            client = self._connect_sandbox() if self.mode.value == "sandbox" else self._connect_tenant()
        except InvalidInputError as exc:
            self.messages.value = "".join(problem_html(f"{f}: {d}") + "<br>" for f, _, d in exc.problems)
            self.status.value = "<i>not connected</i>"
            return None
        except LearnkitError as exc:
            self.status.value = explain_error(exc)
            return None
        finally:
            # The secret now lives only in the credential, never in the widget state.
            self.secret.value = ""
            self.passphrase.value = ""
        self.client = client
        self.status.value = f"<b>Connected</b> to <code>{html.escape(client.graph_url)}</code>" + self._kinds(client)
        if client.delegated is not None:
            self._start_sign_in(client.delegated)
        for listener in self._listeners:
            listener(client)
        return client

    @staticmethod
    def _kinds(client: GraphClient) -> str:
        kinds = [k for k, s in (("application", client.credential), ("delegated", client.delegated)) if s]
        return f" with {' and '.join(kinds)} sign-in"

    def _connect_sandbox(self) -> GraphClient:
        if self.sandbox is None:
            import learnkit.sandbox

            self.sandbox = learnkit.sandbox.start()
            self.app.options = self._sandbox_apps()
        return GraphClient.for_sandbox(
            self.sandbox, app=self.app.value, delegated=self.sandbox_delegated.value, prompt=self._show_device_code
        )

    def _connect_tenant(self) -> GraphClient:
        problems: list[tuple[str, str, str]] = []
        tenant, client_id = self.tenant_id.value.strip(), self.client_id.value.strip()
        delegated_id = self.delegated_client_id.value.strip()
        if not tenant:
            problems.append(("tenant id", "required", "is required"))
        if self.auth.value != "none" and not client_id:
            problems.append(("app (client) id", "required", "is required for app sign-in"))
        if self.auth.value == "secret" and not self.secret.value:
            problems.append(("client secret", "required", "is required (or choose Certificate)"))
        cert = Path(self.certificate_path.value.strip()) if self.certificate_path.value.strip() else None
        if self.auth.value == "certificate":
            if cert is None or not cert.is_file():
                problems.append(("certificate", "invalid", "give the path of an existing .pfx or .pem file"))
            elif cert.suffix.lower() not in (".pfx", ".p12") and not self.thumbprint.value.strip():
                problems.append(("thumbprint (pem)", "required", "a .pem key needs the certificate's thumbprint"))
        if self.auth.value == "none" and not delegated_id:
            problems.append(("delegated client id", "required", "give an app sign-in or a delegated client id"))
        if problems:
            raise InvalidInputError(*problems[0], problems=tuple(problems))
        credential: TokenCredential | None = None
        if self.auth.value == "secret":
            credential = SecretSignIn(tenant, client_id, self.secret.value, cloud=self.cloud.value)
        elif self.auth.value == "certificate" and cert is not None:
            passphrase = self.passphrase.value or None
            if cert.suffix.lower() in (".pfx", ".p12"):
                credential = CertificateSignIn(
                    tenant, client_id, pfx_path=cert, passphrase=passphrase, cloud=self.cloud.value
                )
            else:
                credential = CertificateSignIn(
                    tenant,
                    client_id,
                    private_key_path=cert,
                    thumbprint=self.thumbprint.value.strip(),
                    passphrase=passphrase,
                    cloud=self.cloud.value,
                )
        delegated = (
            DeviceCodeSignIn(
                tenant,
                delegated_id,
                cloud=self.cloud.value,
                prompt=self._show_device_code,
                cache_path=default_cache_path(),
            )
            if delegated_id
            else None
        )
        return GraphClient(CLOUDS[self.cloud.value].graph_url, credential=credential, delegated=delegated)

    # --- delegated sign-in -------------------------------------------------

    def _show_device_code(self, message: str) -> None:
        self.device_code.value = (
            f"<div style='border:1px solid #888;padding:6px'><b>Delegated sign-in</b>: {html.escape(message)}</div>"
        )

    def _start_sign_in(self, source: TokenCredential) -> None:
        # The device-code flow waits for the user; a thread keeps the kernel free meanwhile.
        def run() -> None:
            try:
                source.get_token()
            except LearnkitError as exc:
                self.status.value += explain_error(exc)
            else:
                self.status.value += "<div class='lk-signed-in'>Delegated sign-in complete.</div>"

        self._sign_in = threading.Thread(target=guarded(run, self.device_code), name="lk-device-code", daemon=True)
        self._sign_in.start()

    def wait_signed_in(self, timeout: float | None = None) -> bool:
        """Wait for a delegated sign-in started by Connect; True once it has ended."""
        if self._sign_in is None:
            return True
        self._sign_in.join(self.device_code_timeout if timeout is None else timeout)
        return not self._sign_in.is_alive()
