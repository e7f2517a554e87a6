"""The OAuth 2.0 token and device-authorization endpoints, as pure functions of the posted form.

Grants: ``client_credentials`` (client secret, or a client assertion signed
with a registered certificate), ``urn:ietf:params:oauth:grant-type:device_code``
and ``refresh_token``. Errors have Entra ID's shape (``error``,
``error_description``, ``error_codes``) and never repeat a credential.

Example: ``OAuthService(identity, store, switches).token({"grant_type": "client_credentials", ...})``
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import jwt
from cryptography import x509

from learnkit.sandbox.identity import GRAPH_RESOURCE, DemoApp, Identity
from learnkit.sandbox.seed import LEARNER_ID
from learnkit.sandbox.store import Store
from learnkit.sandbox.switches import Switches

__all__ = ["DEVICE_CODE_GRANT", "OAuthError", "OAuthService"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class OAuthError(Exception):
    """An OAuth error answer: HTTP status, ``error``, the AADSTS number and its description."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(f"{error}: AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description

    def body(self, correlation_id: str) -> dict[str, Any]:
        """The JSON body, in Entra ID's shape."""
        trace_id = str(uuid.uuid4())
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}",
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(self.code),
        }


@dataclass
class _Scopes:
    resource: str
    names: list[str]
    oidc: set[str]

    def granted(self, allowed: tuple[str, ...]) -> list[str]:
        return list(allowed) if ".default" in self.names else self.names


@dataclass
class _DeviceFlow:
    device_code: str = field(repr=False)
    user_code: str = field(repr=False)
    client_id: str
    scopes: _Scopes
    expires_at: float
    approved_user: str | None = None
    redeemed: bool = False


def _short(value: str) -> str:
    # Ids are echoed in error text the way Entra ID does; anything longer is not an id.
    return value if len(value) <= 64 and value.replace("-", "").isalnum() else "(invalid)"


class OAuthService:
    """Answers the token and device-code endpoints for the demo apps."""

    def __init__(
        self,
        identity: Identity,
        store: Store,
        switches: Switches,
        *,
        device_code_lifetime: int = 900,
        interval: int = 1,
    ) -> None:
        self.identity = identity
        self.store = store
        self.switches = switches
        self.device_code_lifetime = device_code_lifetime
        self.interval = interval
        self._flows: dict[str, _DeviceFlow] = {}
        self._lock = threading.Lock()

    # --- scopes -----------------------------------------------------------------

    def _parse_scopes(self, raw: str) -> _Scopes:
        resources: set[str] = set()
        names: list[str] = []
        oidc: set[str] = set()
        for scope in raw.split():
            if scope.lower() in _OIDC_SCOPES:
                oidc.add(scope.lower())
                continue
            resource, _, name = scope.rpartition("/")
            resource = resource.rstrip("/") or GRAPH_RESOURCE
            if resource not in self.identity.audiences:
                raise OAuthError(
                    400,
                    "invalid_resource",
                    500011,
                    f"The resource principal named {_short(resource)} was not found in the tenant "
                    f"{self.identity.tenant_id}. Use the Graph resource, e.g. {GRAPH_RESOURCE}/.default.",
                )
            resources.add(resource)
            names.append(name)
        if len(resources) > 1:
            raise OAuthError(
                400,
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid because it contains more than one resource.",
            )
        return _Scopes(resources.pop() if resources else GRAPH_RESOURCE, names, oidc)

    def _consented(self, app: DemoApp, scopes: _Scopes, allowed: tuple[str, ...]) -> None:
        missing = [n for n in scopes.names if n != ".default" and n not in allowed]
        if missing:
            raise OAuthError(
                400,
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{app.client_id}' named '{app.name}' for {', '.join(missing)}. Send an interactive "
                "authorization request for this user and resource.",
            )

    # --- clients ----------------------------------------------------------------

    def _app(self, client_id: str) -> DemoApp:
        app = self.identity.app_by_client_id(client_id)
        if app is None:
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{_short(client_id)}' was not found in the directory "
                f"'{self.identity.tenant_id}'.",
            )
        return app

    def _authenticate(self, form: dict[str, str]) -> DemoApp:
        assertion = form.get("client_assertion", "")
        client_id = form.get("client_id", "")
        if not client_id and assertion:
            try:
                client_id = str(jwt.decode(assertion, options={"verify_signature": False}).get("iss", ""))
            except jwt.PyJWTError:
                client_id = ""
        app = self._app(client_id)
        if form.get("client_secret"):
            expected = app.client_secret
            if expected is None or not hmac.compare_digest(form["client_secret"].encode(), expected.encode()):
                raise OAuthError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the "
                    f"client secret value, not the client secret ID, for a secret added to app '{app.client_id}'.",
                )
            return app
        if assertion:
            if form.get("client_assertion_type") != _ASSERTION_TYPE:
                raise OAuthError(
                    400,
                    "invalid_request",
                    50027,
                    f"client_assertion_type must be {_ASSERTION_TYPE}.",
                )
            self._verify_assertion(app, assertion)
            return app
        raise OAuthError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )

    def _verify_assertion(self, app: DemoApp, assertion: str) -> None:
        def refuse(code: int, text: str) -> OAuthError:
            return OAuthError(401, "invalid_client", code, text)

        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise refuse(50027, "JWT token is invalid or malformed.") from None
        cert = app.certificate
        if cert is None or app.certificate_pem is None:
            raise refuse(
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - No certificates on app '{app.client_id}'.]",
            )
        sha1 = base64.urlsafe_b64encode(bytes.fromhex(cert.thumbprint)).rstrip(b"=").decode()
        sha256 = base64.urlsafe_b64encode(bytes.fromhex(cert.thumbprint_sha256)).rstrip(b"=").decode()
        # Either padding is seen in the wild (msal keeps it; RFC 7515 drops it).
        given = {str(header.get("x5t", "")).rstrip("="), str(header.get("x5t#S256", "")).rstrip("=")}
        if not given & {sha1, sha256}:
            raise refuse(
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                "registered on application. [Reason - The key was not found., "
                f"App Id: {app.client_id}]",
            )
        public_key = x509.load_pem_x509_certificate(app.certificate_pem).public_key()
        audiences = [self.identity.token_url, self.identity.authority, self.identity.issuer]
        try:
            claims = jwt.decode(
                assertion,
                public_key,  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=audiences,
                options={"require": ["exp", "aud", "iss", "sub"]},
                leeway=300,
            )
        except jwt.ExpiredSignatureError:
            raise refuse(700024, "Client assertion is not within its valid time range.") from None
        except jwt.InvalidAudienceError:
            raise refuse(700016, f"Client assertion audience is not valid: use {self.identity.token_url}.") from None
        except jwt.PyJWTError:
            raise refuse(700027, "Client assertion failed signature validation.") from None
        if str(claims.get("iss", "")).lower() != app.client_id or str(claims.get("sub", "")).lower() != app.client_id:
            raise refuse(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")

    # --- endpoints ----------------------------------------------------------------

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer ``POST {authority}/oauth2/v2.0/token``; raises OAuthError."""
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return self._client_credentials(form)
        if grant == DEVICE_CODE_GRANT:
            return self._device_code(form)
        if grant == "refresh_token":
            return self._refresh(form)
        if not grant:
            raise OAuthError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
            )
        raise OAuthError(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type. The sandbox supports client_credentials, "
            "device_code and refresh_token.",
        )

    def _client_credentials(self, form: dict[str, str]) -> dict[str, Any]:
        app = self._authenticate(form)
        scopes = self._parse_scopes(form.get("scope", ""))
        if scopes.names != [".default"] or scopes.oidc:
            raise OAuthError(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows must have a scope value "
                "with /.default suffixed to the resource identifier (application ID URI).",
            )
        if app.kind != "application":
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application '{app.client_id}' is not allowed the client credentials grant.",
            )
        lifetime = self.identity.token_lifetime
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.identity.app_token(app, scopes.resource),
        }

    def _user_tokens(
        self, app: DemoApp, user_id: str, scopes: _Scopes, names: list[str], form: dict[str, str]
    ) -> dict[str, Any]:
        user = self.store.get_user(user_id)
        if user is None:
            raise OAuthError(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
        names = self.identity.limited(app.kind, names)
        lifetime = self.identity.token_lifetime
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join([f"{scopes.resource}/{n}" for n in names] + sorted(scopes.oidc)),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.identity.user_token(app, user, scopes.resource, names),
        }
        if "offline_access" in scopes.oidc:
            answer["refresh_token"] = self.identity.refresh_token(app, user, scopes.resource, names)
        if "openid" in scopes.oidc:
            answer["id_token"] = self.identity.id_token(app, user)
        if form.get("client_info") == "1":
            answer["client_info"] = self.identity.client_info(user)
        return answer

    def device_authorization(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer ``POST {authority}/oauth2/v2.0/devicecode``; raises OAuthError."""
        app = self._app(form.get("client_id", ""))
        if not app.is_public:
            raise OAuthError(
                400,
                "unauthorized_client",
                7000218,
                f"The app '{app.name}' is not a public client; use the device code flow with a "
                "public client such as learnkit-delegated.",
            )
        scopes = self._parse_scopes(form.get("scope", ""))
        # Consent is the registration's; what the token then carries is what the tenant granted (_user_tokens).
        self._consented(app, scopes, self.identity.registered(app))
        flow = _DeviceFlow(
            device_code=secrets.token_urlsafe(48),
            user_code="".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9)),
            client_id=app.client_id,
            scopes=scopes,
            expires_at=self.identity.clock() + self.device_code_lifetime,
        )
        with self._lock:
            now = self.identity.clock()
            for code in [c for c, f in self._flows.items() if f.expires_at < now - 3600]:
                del self._flows[code]
            self._flows[flow.device_code] = flow
        uri = f"{self.identity.base_url}/devicelogin"
        return {
            "user_code": flow.user_code,
            "device_code": flow.device_code,
            "verification_uri": uri,
            "expires_in": self.device_code_lifetime,
            "interval": self.interval,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
            f"{flow.user_code} to authenticate.",
        }

    def approve(self, user_code: str, user_id: str = LEARNER_ID) -> bool:
        """Approve the pending device flow with this user code as ``user_id``; False if there is none."""
        wanted = "".join(user_code.split()).replace("-", "").upper()
        with self._lock:
            for flow in self._flows.values():
                if flow.user_code == wanted and not flow.redeemed and flow.expires_at > self.identity.clock():
                    flow.approved_user = user_id
                    return True
        return False

    def _device_code(self, form: dict[str, str]) -> dict[str, Any]:
        app = self._app(form.get("client_id", ""))
        with self._lock:
            flow = self._flows.get(form.get("device_code", ""))
            if flow is None or flow.client_id != app.client_id:
                raise OAuthError(400, "invalid_grant", 70000, "The provided value for the 'device_code' is not valid.")
            if flow.redeemed:
                raise OAuthError(
                    400,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, "
                    "please retry with a new valid code or use an existing refresh token.",
                )
            if self.identity.clock() > flow.expires_at:
                raise OAuthError(
                    400,
                    "expired_token",
                    70020,
                    "The provided value for the input parameter "
                    "'device_code' is not valid. This device code has expired.",
                )
            if flow.approved_user is None and self.switches.auto_approve:
                flow.approved_user = LEARNER_ID
            if flow.approved_user is None:
                raise OAuthError(
                    400,
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            flow.redeemed = True
            user_id = flow.approved_user
        return self._user_tokens(app, user_id, flow.scopes, flow.scopes.granted(app.permissions), form)

    def _refresh(self, form: dict[str, str]) -> dict[str, Any]:
        app = self._app(form.get("client_id", ""))
        if not app.is_public:
            app = self._authenticate(form)
        claims = self.identity.verify_refresh_token(form.get("refresh_token", ""))
        if claims is None:
            raise OAuthError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if str(claims.get("azp")) != app.client_id:
            raise OAuthError(400, "invalid_grant", 70000, "The refresh token was issued to a different client.")
        granted = tuple(str(claims.get("scp", "")).split())
        scopes = self._parse_scopes(form.get("scope", ""))
        if not scopes.names:
            scopes.names = list(granted)
        if scopes.resource != claims.get("resource"):
            raise OAuthError(400, "invalid_grant", 65001, "The refresh token was issued for another resource.")
        self._consented(app, scopes, granted)
        return self._user_tokens(app, str(claims["sub"]), scopes, scopes.granted(granted), form)
