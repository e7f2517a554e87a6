"""The connect panel's tenant mode, without any network: msal only calls out when a token is asked for."""

from __future__ import annotations

from learnkit.auth import DeviceCodeSignIn, SecretSignIn
from learnkit.widgets.connect import ConnectPanel

SECRET = "s3cr3t-value-never-shown"


def tenant_panel() -> ConnectPanel:
    panel = ConnectPanel()
    panel.mode.value = "tenant"
    panel.tenant_id.value = "contoso.onmicrosoft.com"
    panel.client_id.value = "11111111-2222-3333-4444-555555555555"
    return panel


def test_sandbox_is_the_default_mode() -> None:
    panel = ConnectPanel()
    assert panel.mode.value == "sandbox"
    assert panel.tenant_box.layout.display == "none" and panel.sandbox_box.layout.display == ""
    panel.mode.value = "tenant"
    assert panel.tenant_box.layout.display == "" and panel.sandbox_box.layout.display == "none"


def test_secret_goes_to_the_credential_and_is_wiped_from_the_panel() -> None:
    panel = tenant_panel()
    panel.secret.value = SECRET
    assert SECRET not in repr(panel.secret)
    panel.cloud.value = "us_gov_l4"
    client = panel.connect()
    assert client is not None and panel.client is client
    assert isinstance(client.credential, SecretSignIn)
    assert client.graph_url == "https://graph.microsoft.us/v1.0"
    assert client.credential.authority == "https://login.microsoftonline.us/contoso.onmicrosoft.com"
    assert panel.secret.value == ""
    shown = [repr(client), repr(panel), panel.status.value, panel.messages.value, panel.device_code.value]
    assert not any(SECRET in text for text in shown)


def test_missing_values_are_refused_with_the_field_named() -> None:
    panel = ConnectPanel()
    panel.mode.value = "tenant"
    assert panel.connect() is None
    assert panel.client is None
    assert "tenant id" in panel.messages.value and "app (client) id" in panel.messages.value
    assert "client secret" in panel.messages.value


def test_certificate_path_must_exist() -> None:
    panel = tenant_panel()
    panel.auth.value = "certificate"
    assert panel.certificate_box.layout.display == "" and panel.secret_box.layout.display == "none"
    panel.certificate_path.value = "/nonexistent/app.pfx"
    assert panel.connect() is None
    assert "certificate" in panel.messages.value


def test_delegated_only_tenant_client() -> None:
    panel = tenant_panel()
    panel.auth.value = "none"
    panel.delegated_client_id.value = "99999999-2222-3333-4444-555555555555"
    panel.cloud.value = "china"
    # Build without signing in: the device-code flow would call the real authority.
    client = panel._connect_tenant()
    assert client.credential is None and isinstance(client.delegated, DeviceCodeSignIn)
    assert client.graph_url == "https://microsoftgraph.chinacloudapi.cn/v1.0"
