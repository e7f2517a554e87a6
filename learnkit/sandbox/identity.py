"""The sandbox's identity platform: its signing key, demo apps, and the JWTs it issues and checks.

Keys and secrets are made once per database and kept in it, so tokens and
app credentials survive a restart. Access tokens are RS256 JWTs shaped like
Microsoft Entra ID's v2 tokens: ``roles`` for application tokens, ``scp`` for
delegated ones. ``granted`` (from a tenant profile) limits what they carry, per
token kind, as a tenant whose administrator consented to less would.

Example: ``claims = identity.verify_access_token(identity.app_token(identity.apps["learnkit-demo"], GRAPH_RESOURCE))``
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from learnkit.permissions import TokenKind
from learnkit.sandbox.store import Store
from learnkit.sandbox.tls import ClientCertificate, make_client_certificate, write_client_certificate

if TYPE_CHECKING:
    from jwt.types import Options

__all__ = [
    "GRAPH_APP_ID",
    "GRAPH_RESOURCE",
    "Claims",
    "DemoApp",
    "Identity",
    "TokenRejected",
]

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_REFRESH_LIFETIME = 90 * 24 * 3600


@dataclass(frozen=True)
class _AppSpec:
    name: str
    client_id: str
    kind: TokenKind
    permissions: tuple[str, ...]
    secret: bool
    certificate: bool


# The main demo app's learning permissions; it also reads users' names (User.ReadBasic.All), learnkit-nonames does not.
_LEARNING_ROLES = (
    "LearningAssignedCourse.ReadWrite.All",
    "LearningSelfInitiatedCourse.ReadWrite.All",
    "LearningAssignedCourse.Read.All",
    "LearningSelfInitiatedCourse.Read.All",
    "LearningContent.ReadWrite.All",
)
_NAMES_ROLE = "User.ReadBasic.All"

_APP_SPECS = (
    _AppSpec(
        "learnkit-demo",
        "6731de76-14a6-49ae-97bc-6eba6914391e",
        "application",
        (*_LEARNING_ROLES, _NAMES_ROLE),
        secret=True,
        certificate=True,
    ),
    _AppSpec("learnkit-noroles", "0b9c3f6e-7d2a-4e51-8c4b-2a1f5e6d7c8b", "application", (), True, False),
    _AppSpec(
        "learnkit-delegated",
        "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
        "delegated",
        (
            "LearningProvider.ReadWrite",
            "LearningProvider.Read",
            "LearningAssignedCourse.Read.All",
            "LearningSelfInitiatedCourse.Read.All",
            "LearningContent.Read.All",
            _NAMES_ROLE,
        ),
        secret=False,
        certificate=False,
    ),
    _AppSpec("learnkit-nonames", "5d1e2f3a-4b5c-4d6e-8f70-a1b2c3d4e5f6", "application", _LEARNING_ROLES, True, False),
)


@dataclass(frozen=True)
class DemoApp:
    """One demo app registration. Its secret never shows in ``repr``.

    ``app["certificate"]`` and the other keys read ``to_json()``, the form ``--json`` prints.
    """

    name: str
    client_id: str
    kind: TokenKind
    #: Application permissions (``roles``) or delegated scopes (``scp``) it is granted.
    permissions: tuple[str, ...]
    client_secret: str | None = field(default=None, repr=False)
    certificate: ClientCertificate | None = None
    certificate_pem: bytes | None = field(default=None, repr=False)

    @property
    def is_public(self) -> bool:
        """True for a public client (device code), which has no credential."""
        return self.client_secret is None and self.certificate is None

    def to_json(self) -> dict[str, Any]:
        """The app as ``--json`` prints it, credentials included."""
        key = "roles" if self.kind == "application" else "scopes"
        return {
            "name": self.name,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            key: list(self.permissions),
            "certificate": self.certificate.to_json() if self.certificate else None,
            "kind": self.kind,
        }

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]


@dataclass(frozen=True)
class Claims:
    """What the sandbox learned from a valid access token."""

    kind: TokenKind
    permissions: frozenset[str]
    app_id: str
    user_id: str | None
    raw: dict[str, Any] = field(repr=False)


class TokenRejected(Exception):
    """An access token was refused; the text is Graph's 401 message (it never holds the token)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# PyJWT checks token times against the system clock; Identity checks them against its own (``_check_times``).
_OWN_CLOCK: Options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}


class Identity:
    """Signing key, demo apps and token minting for one sandbox.

    Example: ``Identity(store, files, "https://127.0.0.1:8443").authority``
    """

    def __init__(
        self,
        store: Store,
        files: Path,
        base_url: str,
        *,
        token_lifetime: int = 3600,
        granted: Mapping[TokenKind, frozenset[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        #: Seconds since the epoch: every time a token carries, or is checked against (a test passes its own).
        self.clock = clock
        self.base_url = base_url
        self.tenant_id = self._tenant_id()
        self.token_lifetime = token_lifetime
        # Per token kind, the only permissions its tokens may carry (a kind not named: no limit).
        self._granted = dict(granted or {})
        self._registered = {spec.name: spec.permissions for spec in _APP_SPECS}
        self._key = self._signing_key()
        public_der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = _b64url(hashlib.sha256(public_der).digest()[:20])
        self._public = self._key.public_key()
        self.apps: dict[str, DemoApp] = {spec.name: self._app(spec, files) for spec in _APP_SPECS}
        self._verified: dict[str, Claims] = {}

    # --- endpoints ------------------------------------------------------------

    @property
    def authority(self) -> str:
        """``{base}/{tenant}``: what msal is given as ``authority``."""
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token: ``{authority}/v2.0``."""
        return f"{self.authority}/v2.0"

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def audiences(self) -> frozenset[str]:
        """The resources a Graph access token may be issued for."""
        return frozenset({GRAPH_RESOURCE, GRAPH_APP_ID, self.base_url})

    def openid_configuration(self) -> dict[str, Any]:
        """The OIDC discovery document."""
        return {
            "issuer": self.issuer,
            "token_endpoint": self.token_url,
            "device_authorization_endpoint": f"{self.authority}/oauth2/v2.0/devicecode",
            "authorization_endpoint": f"{self.authority}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{self.authority}/oauth2/v2.0/logout",
            "jwks_uri": f"{self.authority}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "tid", "preferred_username"],
            "tenant_region_scope": "WW",
            "cloud_instance_name": "learnkit.sandbox",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "request_uri_parameter_supported": False,
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        """The public signing keys."""
        jwk = RSAAlgorithm.to_jwk(self._public, as_dict=True)
        jwk.update(kid=self.kid, use="sig", x5t=self.kid, issuer=self.issuer)
        return {"keys": [jwk]}

    # --- keys and apps ----------------------------------------------------------

    def _tenant_id(self) -> str:
        # Each sandbox database is a tenant of its own (a new one after --reset), so a journal run
        # made on one sandbox is never taken for a run of another (learnkit.service.Service).
        value = self.store.get_meta("tenant_id")
        if value is None:
            value = str(uuid.uuid4())
            self.store.set_meta("tenant_id", value)
        return value

    def _signing_key(self) -> rsa.RSAPrivateKey:
        pem = self.store.get_meta("signing_key")
        if pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            self.store.set_meta("signing_key", pem)
        loaded = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return loaded

    def _stored_secret(self, key: str, make: int = 30) -> str:
        value = self.store.get_meta(key)
        if value is None:
            value = secrets.token_urlsafe(make)
            self.store.set_meta(key, value)
        return value

    def _app(self, spec: _AppSpec, files: Path) -> DemoApp:
        secret = self._stored_secret(f"secret:{spec.name}") if spec.secret else None
        certificate = cert_pem = None
        if spec.certificate:
            key_pem_text = self.store.get_meta(f"cert_key:{spec.name}")
            cert_pem_text = self.store.get_meta(f"cert:{spec.name}")
            if key_pem_text is None or cert_pem_text is None:
                key_pem, cert_pem = make_client_certificate(spec.name)
                self.store.set_meta(f"cert_key:{spec.name}", key_pem.decode())
                self.store.set_meta(f"cert:{spec.name}", cert_pem.decode())
            else:
                key_pem, cert_pem = key_pem_text.encode(), cert_pem_text.encode()
            passphrase = self._stored_secret(f"pfx_passphrase:{spec.name}", 18)
            certificate = write_client_certificate(files, spec.name, key_pem, cert_pem, passphrase)
        permissions = tuple(self.limited(spec.kind, spec.permissions))
        return DemoApp(spec.name, spec.client_id, spec.kind, permissions, secret, certificate, cert_pem)

    def limited(self, kind: TokenKind, permissions: Iterable[str]) -> list[str]:
        """``permissions`` less those a ``kind`` token may not carry here (the profile's ``granted``)."""
        limit = self._granted.get(kind)
        return [p for p in permissions if limit is None or p in limit]

    def registered(self, app: DemoApp) -> tuple[str, ...]:
        """What the app's registration asks for: what a sign-in may request, whatever a profile grants."""
        return self._registered.get(app.name, app.permissions)

    def app_by_client_id(self, client_id: str) -> DemoApp | None:
        """The demo app with this client id, or None."""
        for app in self.apps.values():
            if app.client_id.lower() == client_id.strip().lower():
                return app
        return None

    # --- minting ----------------------------------------------------------------

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT of ``claims`` signed with the tenant's key."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})

    def _base_claims(self, audience: str, lifetime: int) -> dict[str, Any]:
        now = int(self.clock())
        return {
            "aud": audience,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "tid": self.tenant_id,
            "uti": _b64url(uuid.uuid4().bytes),
            "ver": "2.0",
        }

    def app_token(self, app: DemoApp, resource: str) -> str:
        """An application access token for ``resource`` carrying the app's roles."""
        claims = self._base_claims(resource, self.token_lifetime)
        claims.update(
            appid=app.client_id,
            azp=app.client_id,
            app_displayname=app.name,
            idtyp="app",
            oid=str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)),
            sub=str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)),
            roles=list(app.permissions),
        )
        return self.sign(claims)

    def user_token(self, app: DemoApp, user: dict[str, Any], resource: str, scopes: list[str]) -> str:
        """A delegated access token for ``user`` with ``scp`` = ``scopes``."""
        claims = self._base_claims(resource, self.token_lifetime)
        claims.update(
            appid=app.client_id,
            azp=app.client_id,
            app_displayname=app.name,
            idtyp="user",
            oid=user["id"],
            sub=user["id"],
            name=user.get("displayName"),
            upn=user.get("userPrincipalName"),
            preferred_username=user.get("userPrincipalName"),
            scp=" ".join(scopes),
        )
        return self.sign(claims)

    def id_token(self, app: DemoApp, user: dict[str, Any]) -> str:
        """An OIDC id_token for ``user``, audience the app."""
        claims = self._base_claims(app.client_id, self.token_lifetime)
        claims.update(
            sub=user["id"],
            oid=user["id"],
            name=user.get("displayName"),
            preferred_username=user.get("userPrincipalName"),
        )
        return self.sign(claims)

    def client_info(self, user: dict[str, Any]) -> str:
        """msal's ``client_info``: base64url JSON of the user's and tenant's ids."""
        return _b64url(json.dumps({"uid": user["id"], "utid": self.tenant_id}).encode())

    def refresh_token(self, app: DemoApp, user: dict[str, Any], resource: str, scopes: list[str]) -> str:
        """A refresh token (a JWT only this sandbox reads) for the same user, app and scopes."""
        claims = self._base_claims(f"{self.authority}/refresh", _REFRESH_LIFETIME)
        claims.update(typ="refresh", azp=app.client_id, sub=user["id"], resource=resource, scp=" ".join(scopes))
        return self.sign(claims)

    # --- checking ---------------------------------------------------------------

    def verify_refresh_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a refresh token this sandbox issued and that is still valid, else None."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                audience=f"{self.authority}/refresh",
                issuer=self.issuer,
                options=_OWN_CLOCK,
            )
            self._check_times(claims)
        except jwt.PyJWTError:
            return None
        return claims if claims.get("typ") == "refresh" else None

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        """PyJWT's ``exp``, ``nbf`` and ``iat`` checks, by ``clock`` (PyJWT reads the system's and takes no other)."""
        now = self.clock()
        try:
            if "exp" in claims and float(claims["exp"]) <= now:
                raise jwt.ExpiredSignatureError("Signature has expired")
            if float(claims.get("nbf", now)) > now or float(claims.get("iat", now)) > now:
                raise jwt.ImmatureSignatureError("The token is not yet valid")
        except (TypeError, ValueError):
            raise jwt.DecodeError("a time claim that is not a number") from None

    def verify_access_token(self, token: str) -> Claims:
        """The claims of a valid Graph access token; raises TokenRejected with Graph's message otherwise."""
        # Checking a JWT costs more than the rest of a PATCH; a token already found valid needs only its expiry.
        cached = self._verified.get(token)
        if cached is not None and cached.raw["exp"] > self.clock():
            return cached
        claims = self._verify_access_token(token)
        if len(self._verified) >= 1024:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify_access_token(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TokenRejected("IDX14100: JWT is not well formed.") from None
        if header.get("alg") != "RS256" or header.get("kid") != self.kid:
            raise TokenRejected("Access token validation failure. Invalid signature.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                options={**_OWN_CLOCK, "verify_aud": False, "require": ["exp", "iss", "aud", "tid"]},
            )
            self._check_times(claims)
        except jwt.ExpiredSignatureError:
            raise TokenRejected("Lifetime validation failed, the token is expired.") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("Lifetime validation failed, the token is not yet valid.") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("Access token validation failure. Invalid signature.") from None
        except jwt.PyJWTError:
            raise TokenRejected("Access token validation failure.") from None
        if claims.get("iss") != self.issuer:
            raise TokenRejected("Access token validation failure. Invalid issuer.")
        if str(claims.get("tid", "")).lower() != self.tenant_id:
            raise TokenRejected("Access token validation failure. Invalid tenant.")
        if str(claims.get("aud", "")).rstrip("/") not in self.audiences or "typ" in unverified:
            raise TokenRejected("Access token validation failure. Invalid audience.")
        kind: Literal["application", "delegated"] = "delegated" if "scp" in claims else "application"
        granted = str(claims["scp"]).split() if kind == "delegated" else list(claims.get("roles") or [])
        return Claims(
            kind=kind,
            permissions=frozenset(granted),
            app_id=str(claims.get("appid") or claims.get("azp") or ""),
            user_id=str(claims["oid"]) if kind == "delegated" and claims.get("oid") else None,
            raw=claims,
        )
