"""Sign-in for real: msal against the sandbox's token endpoints, with a secret, a certificate,
a PFX and a device code; the cache; and the 401/403 paths raised as typed errors."""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msal.application
import pytest
import requests

import learnkit
from learnkit import CertificateSignIn, DeviceCodeSignIn, GraphClient, SecretSignIn
from learnkit.credentials import AccessToken, token_claims
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.sandbox import Sandbox, start
from tests.conftest import Clock


def apps(sb: Sandbox) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in sb.to_json()["apps"]}


def options(sb: Sandbox) -> dict[str, Any]:
    return {"authority": sb.authority, "verify": sb.ca_cert}


class TokenRequests:
    """Counts the requests a credential sends to the token endpoint."""

    def __init__(self, credential: Any) -> None:
        self.count = 0
        credential._http.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if (response.request.url or "").endswith("/oauth2/v2.0/token"):
            self.count += 1


class Static:
    """A credential that hands out one fixed token and claims a kind (to send what a client would refuse)."""

    def __init__(self, token: str, kind: str = "application") -> None:
        self.token, self.kind = token, kind

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def patch_body() -> dict[str, Any]:
    return {"@odata.type": ASSIGNMENT_TYPE, "status": "completed"}


def test_client_secret(sb: Sandbox) -> None:
    demo = apps(sb)["learnkit-demo"]
    cred = SecretSignIn(sb.tenant_id, demo["client_id"], demo["client_secret"], **options(sb))
    claims = token_claims(cred.get_token().token)
    assert "LearningAssignedCourse.ReadWrite.All" in claims["roles"] and "scp" not in claims
    client = GraphClient(sb.graph_url, credential=cred, verify=sb.ca_cert, trust_env=False)
    assert (
        learnkit.update_activity(client, sb.demo["registration_id"], sb.demo["assignment_id"], patch_body()).status
        == 204
    )


def test_certificate_pem_and_thumbprint(sb: Sandbox) -> None:
    demo = apps(sb)["learnkit-demo"]
    cert = demo["certificate"]
    cred = CertificateSignIn(
        sb.tenant_id,
        demo["client_id"],
        private_key_path=cert["private_key_path"],
        thumbprint=cert["thumbprint"],
        **options(sb),
    )
    client = GraphClient(sb.graph_url, credential=cred, verify=sb.ca_cert, trust_env=False)
    assert client.get_activity(sb.demo["assignment_id"]).id == sb.demo["assignment_id"]


def test_certificate_pfx_with_passphrase(sb: Sandbox) -> None:
    demo = apps(sb)["learnkit-demo"]
    cert = demo["certificate"]
    cred = CertificateSignIn(
        sb.tenant_id, demo["client_id"], pfx_path=cert["pfx_path"], passphrase=cert["pfx_passphrase"], **options(sb)
    )
    assert "roles" in token_claims(cred.get_token().token)
    wrong = CertificateSignIn(
        sb.tenant_id, demo["client_id"], pfx_path=cert["pfx_path"], passphrase="wrong", **options(sb)
    )
    with pytest.raises(learnkit.TokenError, match="PFX passphrase") as info:
        wrong.get_token()
    assert cert["pfx_passphrase"] not in str(info.value)


def test_a_wrong_secret_is_a_token_error_without_the_secret(sb: Sandbox) -> None:
    demo = apps(sb)["learnkit-demo"]
    cred = SecretSignIn(sb.tenant_id, demo["client_id"], "not-the-secret-123", **options(sb))
    with pytest.raises(learnkit.TokenError, match="invalid_client") as info:
        cred.get_token()
    assert "not-the-secret-123" not in str(info.value)


def test_device_code_shows_code_and_url_then_waits_for_approval(sb: Sandbox) -> None:
    sb.set_auto_approve(False)
    public = apps(sb)["learnkit-delegated"]
    shown: list[str] = []

    def prompt(message: str) -> None:
        shown.append(message)
        code = message.split("enter the code ")[1].split()[0]
        threading.Timer(0.5, sb.approve_device_code, args=(code,)).start()

    cred = DeviceCodeSignIn(sb.tenant_id, public["client_id"], prompt=prompt, **options(sb))
    token = cred.get_token().token
    assert len(shown) == 1 and "https://" in shown[0]
    claims = token_claims(token)
    assert "LearningProvider.ReadWrite" in claims["scp"].split() and "roles" not in claims
    assert claims["oid"] == sb.demo["learner_id"]
    assert cred.get_token().token == token  # from the cache: no second prompt
    assert len(shown) == 1


def test_tokens_are_reused_from_the_cache(sb: Sandbox) -> None:
    demo = apps(sb)["learnkit-demo"]
    cred = SecretSignIn(sb.tenant_id, demo["client_id"], demo["client_secret"], **options(sb))
    requests_ = TokenRequests(cred)
    client = GraphClient(sb.graph_url, credential=cred, verify=sb.ca_cert, trust_env=False)
    for _ in range(3):
        client.get_activity(sb.demo["assignment_id"])
    assert requests_.count == 1


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[Sandbox]:
    # msal treats a token with under 5 minutes left as expired: 302 s is reused for about 2 s.
    with start(db=tmp_path / "short.db", token_lifetime=302) as sb:
        yield sb


def test_tokens_are_renewed_when_they_near_expiry(short_lived: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sb = short_lived
    demo = apps(sb)["learnkit-demo"]
    cred = SecretSignIn(sb.tenant_id, demo["client_id"], demo["client_secret"], **options(sb))
    requests_ = TokenRequests(cred)
    first = cred.get_token().token
    assert cred.get_token().token == first and requests_.count == 1
    # msal decides that a cached token nears expiry by its own reading of the clock, and takes no clock to
    # inject: its application module is given one 3.2 s on (msal keeps token times in whole seconds).
    later = Clock()
    later.advance(3.2)
    monkeypatch.setattr(msal.application, "time", types.SimpleNamespace(time=later))
    renewed = cred.get_token().token
    assert renewed != first and requests_.count == 2


def test_persistent_cache_is_owner_only_and_reused(sb: Sandbox, tmp_path: Path) -> None:
    demo = apps(sb)["learnkit-demo"]
    path = tmp_path / "cache" / "tokens.json"
    first = SecretSignIn(sb.tenant_id, demo["client_id"], demo["client_secret"], cache_path=path, **options(sb))
    token = first.get_token().token
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = SecretSignIn(sb.tenant_id, demo["client_id"], demo["client_secret"], cache_path=path, **options(sb))
    requests_ = TokenRequests(second)
    assert second.get_token().token == token and requests_.count == 0


# --- 401 and 403 --------------------------------------------------------------------------------


def test_forged_and_missing_tokens_are_401(sb: Sandbox, app_token: str) -> None:
    header, payload, signature = app_token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    for token in (forged, "not-a-jwt"):
        client = GraphClient(sb.graph_url, credential=Static(token), verify=sb.ca_cert, trust_env=False)  # type: ignore[arg-type]
        with pytest.raises(learnkit.AuthenticationError) as info:
            client.get_activity(sb.demo["assignment_id"])
        assert info.value.status == 401 and token not in str(info.value)


def test_an_expired_token_is_401(tmp_path: Path) -> None:
    clock = Clock()
    with start(db=tmp_path / "expiring.db", token_lifetime=1, clock=clock) as sb:
        demo = apps(sb)["learnkit-demo"]
        token = SecretSignIn(sb.tenant_id, demo["client_id"], demo["client_secret"], **options(sb)).get_token().token
        clock.advance(2.1)  # past the token's one second, by the sandbox's clock
        client = GraphClient(sb.graph_url, credential=Static(token), verify=sb.ca_cert, trust_env=False)  # type: ignore[arg-type]
        with pytest.raises(learnkit.AuthenticationError):
            client.get_activity(sb.demo["assignment_id"])


def test_the_client_refuses_a_call_whose_token_kind_it_lacks(sb: Sandbox) -> None:
    app_only = GraphClient.for_sandbox(sb)
    with pytest.raises(
        learnkit.TokenError, match=r"update_provider needs a delegated token with LearningProvider\.ReadWrite"
    ):
        app_only.patch_provider(sb.demo["registration_id"], {"isCourseActivitySyncEnabled": True})
    user_only = GraphClient.for_sandbox(sb, app="learnkit-delegated")
    assert user_only.credential is None and user_only.delegated is not None
    with pytest.raises(
        learnkit.TokenError,
        match=r"update_activity needs an application token with LearningAssignedCourse\.ReadWrite\.All",
    ):
        learnkit.update_activity(user_only, sb.demo["registration_id"], sb.demo["assignment_id"], patch_body())


def test_the_sandbox_refuses_wrong_kinds_and_missing_permissions_sent_raw(
    sb: Sandbox, app_token: str, delegated_token: str
) -> None:
    # A delegated token passed off as an application one reaches an app-only endpoint ...
    liar = GraphClient(sb.graph_url, credential=Static(delegated_token), verify=sb.ca_cert, trust_env=False)  # type: ignore[arg-type]
    # The kind itself is refused (the page says "Not supported"), whatever the token's permissions.
    kind_refused = "permissions are not supported for this operation"
    with pytest.warns(learnkit.PermissionWarning), pytest.raises(learnkit.ForbiddenError, match=kind_refused):
        liar.patch_activity(sb.demo["registration_id"], sb.demo["assignment_id"], patch_body())
    # ... and the reverse, an application token on a delegated-only endpoint.
    reverse = GraphClient(
        sb.graph_url,
        delegated=Static(app_token, "delegated"),
        verify=sb.ca_cert,  # type: ignore[arg-type]
        trust_env=False,
    )
    with pytest.warns(learnkit.PermissionWarning), pytest.raises(learnkit.ForbiddenError, match=kind_refused):
        reverse.list_providers()
    # A token of the right kind without the permission.
    weak = GraphClient.for_sandbox(sb, app="learnkit-noroles")
    with (
        pytest.warns(learnkit.PermissionWarning, match="LearningAssignedCourse.ReadWrite.All"),
        pytest.raises(learnkit.PermissionDeniedError, match="access to this report or data"),
    ):
        weak.patch_activity(sb.demo["registration_id"], sb.demo["assignment_id"], patch_body())


def test_no_secret_or_token_in_reprs_or_logs(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    demo = apps(sb)["learnkit-demo"]
    cert = demo["certificate"]
    secret_cred = SecretSignIn(sb.tenant_id, demo["client_id"], demo["client_secret"], **options(sb))
    pfx_cred = CertificateSignIn(
        sb.tenant_id, demo["client_id"], pfx_path=cert["pfx_path"], passphrase=cert["pfx_passphrase"], **options(sb)
    )
    client = GraphClient(sb.graph_url, credential=secret_cred, verify=sb.ca_cert, trust_env=False)
    tokens = [secret_cred.get_token().token, pfx_cred.get_token().token]
    client.get_activity(sb.demo["assignment_id"])
    key = Path(cert["private_key_path"]).read_text().splitlines()[1]
    shown = " ".join(
        [repr(secret_cred), repr(pfx_cred), repr(client), repr(sb), caplog.text, *(repr(a) for a in sb.apps.values())]
    )
    for secret in (demo["client_secret"], cert["pfx_passphrase"], key, *tokens):
        assert secret not in shown


# --- a bad argument is one kind of mistake: InvalidInputError naming it ---------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: SecretSignIn("", "app", "s"), "tenant_id"),
        (lambda: SecretSignIn("t", " ", "s"), "client_id"),
        (lambda: SecretSignIn("t", "app", ""), "client_secret"),
        (lambda: CertificateSignIn("t", "app"), "pfx_path"),
        (lambda: GraphClient.connect("t", "app", client_secret="s", cloud="mars"), "cloud"),
        (lambda: GraphClient.connect("t", "app"), "client_secret"),
        (lambda: GraphClient(delegated=Static("t", "application")), "delegated"),  # type: ignore[arg-type]
        (lambda: GraphClient.for_sandbox({"apps": [{"name": "a", "kind": "application"}]}, app="b"), "app"),
        (lambda: GraphClient("https://graph.example/v1.0").get_activity(""), "activity_id"),
        (lambda: learnkit.update_activity(None, "reg", " ", patch_body(), dry_run=True), "activity_id"),  # type: ignore[arg-type]
    ],
    ids=["tenant", "client", "secret", "certificate", "cloud", "no-credential", "kind", "app", "raw-id", "id"],
)
def test_a_bad_argument_is_an_invalid_input_error_naming_it(make: Any, field: str) -> None:
    with pytest.raises(learnkit.InvalidInputError) as info:
        make()
    assert info.value.field == field and isinstance(info.value, ValueError)
