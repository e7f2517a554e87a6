"""The sandbox's identity platform: msal against it for real, tokens refused for the right reasons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from learnkit.errors import AuthenticationError, ForbiddenError, error_from_response
from learnkit.sandbox import Sandbox, start
from tests.conftest import Clock

PROVIDERS = "/employeeExperience/learningProviders"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """msal's ``verify=`` is overridden by these variables (requests reads them), so clear them."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def confidential(sb: Sandbox, credential: Any) -> Any:
    return msal.ConfidentialClientApplication(
        sb.client_id,
        client_credential=credential,
        authority=sb.authority,
        instance_discovery=False,
        validate_authority=False,
        verify=sb.ca_cert,
    )


def works_on_graph(graph: Any, token: str) -> None:
    answer = graph.get(f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}", token=token)
    assert answer.status_code == 200, answer.text


def test_msal_client_secret(sb: Sandbox, graph: Any, plain_env: None) -> None:
    result = confidential(sb, sb.client_secret).acquire_token_for_client([sb.scope])
    assert "access_token" in result, result.get("error_description")
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["iss"] == f"{sb.authority}/v2.0" and claims["tid"] == sb.tenant_id
    assert claims["aud"] == "https://graph.microsoft.com" and claims["appid"] == sb.client_id
    assert "LearningAssignedCourse.ReadWrite.All" in claims["roles"] and "scp" not in claims
    assert claims["exp"] - claims["iat"] == 3600
    works_on_graph(graph, result["access_token"])


def test_msal_pem_certificate(sb: Sandbox, graph: Any, plain_env: None) -> None:
    cert = sb.apps["learnkit-demo"]["certificate"]
    credential = {"private_key": Path(cert["private_key_path"]).read_text(), "thumbprint": cert["thumbprint"]}
    result = confidential(sb, credential).acquire_token_for_client([sb.scope])
    assert "access_token" in result, result.get("error_description")
    works_on_graph(graph, result["access_token"])


def test_msal_pfx_certificate(sb: Sandbox, graph: Any, plain_env: None) -> None:
    cert = sb.apps["learnkit-demo"]["certificate"]
    credential = {"private_key_pfx_path": cert["pfx_path"], "passphrase": cert["pfx_passphrase"]}
    result = confidential(sb, credential).acquire_token_for_client([sb.scope])
    assert "access_token" in result, result.get("error_description")
    works_on_graph(graph, result["access_token"])


def test_msal_with_the_sandbox_session_ignores_the_environment(sb: Sandbox) -> None:
    app = msal.ConfidentialClientApplication(
        sb.client_id,
        client_credential=sb.client_secret,
        authority=sb.authority,
        instance_discovery=False,
        validate_authority=False,
        http_client=sb.session(),
    )
    assert "access_token" in app.acquire_token_for_client([sb.scope])


def test_msal_certificate_of_another_key_is_refused(sb: Sandbox, plain_env: None, tmp_path: Path) -> None:
    from learnkit.sandbox.tls import make_client_certificate, thumbprints

    key_pem, cert_pem = make_client_certificate("intruder")
    credential = {"private_key": key_pem.decode(), "thumbprint": thumbprints(cert_pem)[0]}
    result = confidential(sb, credential).acquire_token_for_client([sb.scope])
    assert result["error"] == "invalid_client" and 700027 in result["error_codes"]


def test_msal_device_code_and_refresh(sb: Sandbox, user_graph: Any, plain_env: None) -> None:
    delegated = sb.apps["learnkit-delegated"]
    app = msal.PublicClientApplication(
        delegated.client_id,
        authority=sb.authority,
        instance_discovery=False,
        validate_authority=False,
        verify=sb.ca_cert,
    )
    scopes = [
        "https://graph.microsoft.com/LearningProvider.ReadWrite",
        "https://graph.microsoft.com/LearningAssignedCourse.Read.All",
    ]
    flow = app.initiate_device_flow(scopes=scopes)
    assert flow["user_code"] in flow["message"] and flow["verification_uri"].startswith(sb.url)
    result = app.acquire_token_by_device_flow(flow)  # auto-approved on the first poll
    assert "access_token" in result, result.get("error_description")
    assert result["id_token_claims"]["oid"] == sb.demo["learner_id"]
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert set(claims["scp"].split()) == {"LearningProvider.ReadWrite", "LearningAssignedCourse.Read.All"}
    assert "roles" not in claims
    assert (
        user_graph.get("/me/employeeExperience/learningCourseActivities", token=result["access_token"]).status_code
        == 200
    )

    account = app.get_accounts()[0]
    assert account["local_account_id"] == sb.demo["learner_id"]
    assert app.acquire_token_silent(scopes, account=account)["access_token"] == result["access_token"]
    refreshed = app.acquire_token_silent(scopes, account=account, force_refresh=True)
    assert refreshed and refreshed["access_token"] != result["access_token"]
    assert refreshed["token_source"] == "identity_provider"
    assert user_graph.get(PROVIDERS, token=refreshed["access_token"]).status_code == 200


def test_device_code_pending_until_approved(sb: Sandbox) -> None:
    delegated = sb.apps["learnkit-delegated"]
    sb.set_auto_approve(False)
    with sb.session() as http:
        flow = http.post(
            f"{sb.authority}/oauth2/v2.0/devicecode",
            data={"client_id": delegated.client_id, "scope": "LearningProvider.Read openid"},
        ).json()
        poll = {"grant_type": DEVICE_CODE, "client_id": delegated.client_id, "device_code": flow["device_code"]}
        pending = http.post(sb.token_url, data=poll)
        assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
        assert pending.json()["error_codes"] == [70016]
        with pytest.raises(ValueError):
            sb.approve_device_code("NOTACODE")
        sb.approve_device_code(flow["user_code"].lower())
        granted = http.post(sb.token_url, data=poll)
        assert granted.status_code == 200 and "id_token" in granted.json()
        assert http.post(sb.token_url, data=poll).json()["error"] == "invalid_grant"  # used once only


def test_oauth_errors_never_echo_the_secret(sb: Sandbox) -> None:
    with sb.session() as http:
        wrong = "Wrong~Secret~Value-1234567890"
        answer = http.post(
            sb.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": sb.client_id,
                "client_secret": wrong,
                "scope": sb.scope,
            },
        )
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert wrong not in answer.text and answer.json()["error_codes"] == [7000215]
        unknown = http.post(
            sb.token_url,
            data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": wrong, "scope": sb.scope},
        )
        assert unknown.json()["error"] == "unauthorized_client" and wrong not in unknown.text
        no_default = http.post(
            sb.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": sb.client_id,
                "client_secret": sb.client_secret,
                "scope": "User.Read",
            },
        )
        assert no_default.json()["error"] == "invalid_scope"
        other_tenant = http.post(sb.token_url.replace(sb.tenant_id, "contoso.onmicrosoft.com"), data={})
        assert other_tenant.json()["error"] == "invalid_tenant"


def test_discovery_and_keys(sb: Sandbox) -> None:
    with sb.session() as http:
        for path in ("/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"):
            config = http.get(sb.authority + path).json()
            assert config["issuer"] == f"{sb.authority}/v2.0" and config["token_endpoint"] == sb.token_url
            assert config["device_authorization_endpoint"].startswith(sb.authority)
            assert config["authorization_endpoint"].startswith(sb.authority)
        keys = http.get(config["jwks_uri"]).json()["keys"]
    token = _raw_token(sb)
    key = next(k for k in keys if k["kid"] == jwt.get_unverified_header(token)["kid"])
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="https://graph.microsoft.com",
        issuer=f"{sb.authority}/v2.0",
    )
    assert claims["tid"] == sb.tenant_id


def _raw_token(sb: Sandbox) -> str:
    with sb.session() as http:
        return str(
            http.post(
                sb.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": sb.client_id,
                    "client_secret": sb.client_secret,
                    "scope": sb.scope,
                },
            ).json()["access_token"]
        )


def assert_401(answer: Any, message: str) -> None:
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["error"]["code"] == "InvalidAuthenticationToken" and body["error"]["message"] == message
    assert isinstance(error_from_response(401, body), AuthenticationError)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_malformed_and_forged_tokens(graph: Any, app_token: str) -> None:
    path = f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}"
    assert_401(graph.get(path, token=None), "Access token is empty.")
    assert_401(graph.get(path, token="not.a.jwt"), "IDX14100: JWT is not well formed.")
    claims = jwt.decode(app_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(app_token)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": header["kid"]})
    assert_401(graph.get(path, token=forged), "Access token validation failure. Invalid signature.")
    tampered = app_token.split(".")
    tampered[1] = jwt.utils.base64url_encode(b'{"roles": ["everything"]}').decode()
    assert_401(graph.get(path, token=".".join(tampered)), "Access token validation failure. Invalid signature.")
    wrong_issuer = graph.sb._identity.sign({**claims, "iss": "https://login.microsoftonline.com/x/v2.0"})
    assert_401(graph.get(path, token=wrong_issuer), "Access token validation failure. Invalid issuer.")
    wrong_audience = graph.sb._identity.sign({**claims, "aud": "https://management.azure.com"})
    assert_401(graph.get(path, token=wrong_audience), "Access token validation failure. Invalid audience.")
    answer = graph.get(path, token=None, headers={"Authorization": f"Basic {app_token}"})
    assert answer.status_code == 401 and app_token not in answer.text


@pytest.fixture(scope="module")
def short_clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory, short_clock: Clock) -> Iterator[Sandbox]:
    sb = start(
        db=tmp_path_factory.mktemp("short") / "graph.db", token_lifetime=1, device_code_lifetime=1, clock=short_clock
    )
    try:
        yield sb
    finally:
        sb.stop()


def test_expired_token_and_device_code(short_lived: Sandbox, short_clock: Clock, graph_for: Any) -> None:
    delegated = short_lived.apps["learnkit-delegated"]
    short_lived.set_auto_approve(False)
    graph = graph_for(short_lived, _raw_token(short_lived))
    with short_lived.session() as http:
        flow = http.post(
            f"{short_lived.authority}/oauth2/v2.0/devicecode",
            data={"client_id": delegated.client_id, "scope": "LearningProvider.Read"},
        ).json()
        path = f"/employeeExperience/learningCourseActivities/{short_lived.demo['assignment_id']}"
        assert graph.get(path).status_code == 200
        short_clock.advance(2.1)  # past the token's and the device code's one second, by the sandbox's clock
        assert_401(graph.get(path), "Lifetime validation failed, the token is expired.")
        poll = {"grant_type": DEVICE_CODE, "client_id": delegated.client_id, "device_code": flow["device_code"]}
        expired = http.post(short_lived.token_url, data=poll)
        assert expired.status_code == 400 and expired.json()["error"] == "expired_token"


def test_a_token_from_the_future_is_not_yet_valid(short_lived: Sandbox, short_clock: Clock, graph_for: Any) -> None:
    graph = graph_for(short_lived, _raw_token(short_lived))  # minted, never yet checked (nor cached as valid)
    short_clock.advance(-10)  # the sandbox's clock goes back: the token's nbf and iat are ahead of it
    try:
        path = f"/employeeExperience/learningCourseActivities/{short_lived.demo['assignment_id']}"
        assert_401(graph.get(path), "Lifetime validation failed, the token is not yet valid.")
    finally:
        short_clock.advance(10)


def test_app_token_on_a_delegated_only_endpoint_and_the_reverse(graph: Any, user_graph: Any) -> None:
    # The pages say "Application: Not supported" (or "Delegated: Not supported"): the 403 names the kind to use,
    # not a permission to grant (no permission of that kind would help).
    def denied(answer: Any, use: str) -> None:
        assert answer.status_code == 403
        error = error_from_response(403, answer.json())
        assert type(error) is ForbiddenError and error.code == "Forbidden"
        assert "permissions are not supported for this operation" in error.message and use in error.message

    denied(graph.get("/me/employeeExperience/learningCourseActivities"), "delegated token")
    denied(graph.get(f"/users/{graph.sb.demo['learner_id']}/employeeExperience/learningCourseActivities"), "delegated")
    denied(graph.get(PROVIDERS), "delegated token")
    denied(graph.patch(f"{PROVIDERS}/{graph.sb.demo['registration_id']}", {"displayName": "x"}), "delegated token")
    body = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "completed"}
    denied(user_graph.patch(user_graph.activity_path(graph.sb.demo["assignment_id"]), body), "application token")
    denied(user_graph.delete(user_graph.activity_path(graph.sb.demo["assignment_id"])), "application token")
    # Reads accept both kinds.
    assert (
        user_graph.get(f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}").status_code
        == 200
    )


def test_a_delegated_token_without_the_scope_is_refused(sb: Sandbox, user_graph: Any) -> None:
    delegated = sb.apps["learnkit-delegated"]
    with sb.session() as http:
        flow = http.post(
            f"{sb.authority}/oauth2/v2.0/devicecode",
            data={"client_id": delegated.client_id, "scope": "LearningProvider.Read"},
        ).json()
        token = http.post(
            sb.token_url,
            data={"grant_type": DEVICE_CODE, "client_id": delegated.client_id, "device_code": flow["device_code"]},
        ).json()["access_token"]
        too_much = http.post(
            f"{sb.authority}/oauth2/v2.0/devicecode",
            data={"client_id": delegated.client_id, "scope": "LearningContent.ReadWrite.All"},
        )
        assert too_much.status_code == 400 and too_much.json()["error_codes"] == [65001]
    rid = sb.demo["registration_id"]
    assert user_graph.get(f"{PROVIDERS}/{rid}", token=token).status_code == 200
    answer = user_graph.patch(f"{PROVIDERS}/{rid}", {"displayName": "Renamed"}, token=token)
    assert answer.status_code == 403
