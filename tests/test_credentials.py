"""Any token credential signs the client's requests: azure-identity's for real against the sandbox's identity
platform (client secret, DefaultAzureCredential from the environment, device code), and learnkit's own.

azure-identity is set up as its docs show for a custom cloud: ``authority`` the sandbox's host,
``disable_instance_discovery=True``, and the sandbox's CA as ``connection_verify``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.identity import ClientSecretCredential, DefaultAzureCredential, DeviceCodeCredential

import learnkit
from learnkit import GraphClient
from learnkit.credentials import REFRESH_MARGIN, AccessToken, CredentialTokens, token_claims
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.sandbox import Sandbox

PATCH = {"@odata.type": ASSIGNMENT_TYPE, "status": "completed", "completionPercentage": 100}


def azure_app(sb: Sandbox) -> ClientSecretCredential:
    """azure-identity's client-secret credential of the sandbox's demo app."""
    return ClientSecretCredential(
        sb.tenant_id,
        sb.client_id,
        sb.client_secret,
        authority=sb.url.split("://", 1)[1],
        disable_instance_discovery=True,
        connection_verify=sb.ca_cert,
    )


def azure_user(sb: Sandbox) -> DeviceCodeCredential:
    """azure-identity's device-code credential of the sandbox's demo learner (the sandbox approves the code)."""
    return DeviceCodeCredential(
        client_id=sb.apps["learnkit-delegated"].client_id,
        tenant_id=sb.tenant_id,
        authority=sb.url.split("://", 1)[1],
        disable_instance_discovery=True,
        connection_verify=sb.ca_cert,
        prompt_callback=lambda *args: None,
    )


def graph(sb: Sandbox, **credentials: Any) -> GraphClient:
    return GraphClient(sb.graph_url, verify=sb.ca_cert, trust_env=False, **credentials)


class Counting:
    """A credential around another that counts its calls and the scopes it was asked for."""

    def __init__(self, inner: Any, lifetime: int | None = None) -> None:
        self.inner, self.lifetime = inner, lifetime
        self.asked: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.asked.append(scopes)
        access = self.inner.get_token(*scopes, **kwargs)
        expires_on = int(time.time()) + self.lifetime if self.lifetime is not None else access.expires_on
        return AccessToken(access.token, expires_on)


def test_an_azure_identity_credential_reads_and_writes(sb: Sandbox) -> None:
    client = graph(sb, credential=azure_app(sb))
    reg, activity = sb.demo["registration_id"], sb.demo["assignment_id"]
    assert learnkit.update_activity(client, reg, activity, PATCH).status == 204
    again = client.get_activity(activity)
    assert (again.status, again.completionPercentage) == ("completed", 100)
    assert (
        client.credentials.credential_for("application") is client.credential
        and client.credentials.credential_for("delegated") is None
    )


def test_default_azure_credential_from_the_environment_reads_and_writes(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a service principal's deployment sets; the authority host names the sandbox.
    for name, value in (
        ("AZURE_TENANT_ID", sb.tenant_id),
        ("AZURE_CLIENT_ID", sb.client_id),
        ("AZURE_CLIENT_SECRET", sb.client_secret),
        ("AZURE_AUTHORITY_HOST", sb.url),
    ):
        monkeypatch.setenv(name, value)
    credential = DefaultAzureCredential(
        exclude_managed_identity_credential=True,  # nothing leaves loopback, even if the environment did not do
        disable_instance_discovery=True,
        connection_verify=sb.ca_cert,
    )
    client = graph(sb, credential=credential)
    reg, activity = sb.demo["registration_id"], sb.demo["assignment_id"]
    assert learnkit.update_activity(client, reg, activity, {**PATCH, "completionPercentage": 100}).status == 204
    assert client.get_activity(activity).status == "completed"


def test_a_credential_that_signs_a_user_in_is_delegated_by_its_token(sb: Sandbox) -> None:
    client = graph(sb, credential=azure_user(sb))
    # Its kind is read from its token (scp): the delegated-only list of providers is served ...
    assert sb.demo["registration_id"] in {p.id for p in client.list_providers()}
    assert "scp" in token_claims(client.credentials.access_token("delegated") or "")
    # ... and an application-only write is refused before sending, naming what the client holds.
    with pytest.raises(learnkit.TokenError, match=r"needs an application token.*give delegated tokens"):
        learnkit.update_activity(client, sb.demo["registration_id"], sb.demo["assignment_id"], PATCH)


def test_an_application_and_a_delegated_credential_side_by_side(sb: Sandbox) -> None:
    client = graph(sb, credential=azure_app(sb), delegated=azure_user(sb))
    assert sb.demo["registration_id"] in {p.id for p in client.list_providers()}  # delegated
    reg, activity = sb.demo["registration_id"], sb.demo["assignment_id"]
    assert learnkit.update_activity(client, reg, activity, PATCH).status == 204  # application
    assert token_claims(client.credentials.access_token("application") or "").get("roles")


def test_delegated_refuses_a_credential_of_application_tokens(sb: Sandbox) -> None:
    client = graph(sb, delegated=azure_app(sb))
    with pytest.raises(learnkit.TokenError, match=r"gives application tokens.*pass it as credential="):
        client.list_providers()


def test_a_token_is_reused_until_near_its_expiry_and_asked_for_the_clouds_scope(sb: Sandbox) -> None:
    lasting = Counting(azure_app(sb))
    client = graph(sb, credential=lasting)
    for _ in range(3):
        client.get_activity(sb.demo["assignment_id"])
    assert lasting.asked == [("https://graph.microsoft.com/.default",)]
    # A token within the refresh margin of its expiry is asked for again, each time.
    expiring = Counting(azure_app(sb), lifetime=REFRESH_MARGIN - 1)
    client = graph(sb, credential=expiring)
    for _ in range(3):
        client.get_activity(sb.demo["assignment_id"])
    assert len(expiring.asked) == 3


def test_the_scope_asked_follows_the_cloud_and_learnkits_sign_ins_keep_their_own() -> None:
    class Silent:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise AssertionError("not asked: nothing is sent in this test")

    us = GraphClient("https://graph.microsoft.us/v1.0", credential=Silent())
    assert us.credentials.scopes == ["https://graph.microsoft.us/.default"]
    assert GraphClient(
        "https://graph.example/v1.0", credential=Silent(), scopes=["api://x/.default"]
    ).credentials.scopes == ["api://x/.default"]
    sign_in = learnkit.DeviceCodeSignIn("contoso", "public-app")
    tokens = CredentialTokens(sign_in, "delegated", ["https://graph.microsoft.com/.default"])
    assert tokens.scopes == tuple(sign_in.scopes) and "LearningProvider.ReadWrite" in tokens.scopes[0]
    assert tokens.kind == "delegated"  # said by the sign-in: no token asked for


def test_a_token_without_readable_claims_is_the_kind_of_its_slot() -> None:
    class Opaque:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("opaque", int(time.time()) + 3600)

    assert CredentialTokens(Opaque(), "delegated", ["s"]).kind == "delegated"
    assert CredentialTokens(Opaque(), "credential", ["s"]).kind == "application"


@pytest.mark.parametrize(
    ("made", "match"),
    [
        (lambda: GraphClient(credential=object()), "has no get_token"),  # type: ignore[arg-type]
        (lambda: GraphClient(delegated=learnkit.SecretSignIn("t", "app", "s")), "gives application tokens"),
    ],
    ids=["no-get-token", "app-sign-in-as-delegated"],
)
def test_a_credential_that_cannot_serve_is_refused_naming_the_keyword(made: Any, match: str) -> None:
    with pytest.raises(learnkit.InvalidInputError, match=match) as info:
        made()
    assert info.value.field in ("credential", "delegated")


def test_a_credential_that_returns_no_token_is_a_token_error(sb: Sandbox) -> None:
    class Empty:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("", 0)

    with pytest.raises(learnkit.TokenError, match="returned no access token"):
        graph(sb, credential=Empty()).get_activity(sb.demo["assignment_id"])


def test_learnkits_sign_ins_are_token_credentials_with_a_hidden_token(sb: Sandbox) -> None:
    demo = sb.apps["learnkit-demo"]
    sign_in = learnkit.SecretSignIn(
        sb.tenant_id, demo.client_id, demo.client_secret or "", authority=sb.authority, verify=sb.ca_cert
    )
    access = sign_in.get_token(sb.scope)
    assert token_claims(access.token)["roles"] and 3000 < access.expires_on - time.time() <= 3600
    assert access.token not in repr(access) and "hidden" in repr(access)
