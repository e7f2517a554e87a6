"""Token credentials: what ``GraphClient`` signs its requests with, learnkit's sign-ins and azure-identity's alike.

A credential is any object with ``get_token(*scopes, **kwargs)`` returning an access token and
its expiry (``.token``, ``.expires_on`` in seconds since the epoch): azure-core's
``TokenCredential`` protocol. Every azure-identity credential (``DefaultAzureCredential``,
``ManagedIdentityCredential``, ``AzureCliCredential``, ``InteractiveBrowserCredential`` ...) follows
it, and so do learnkit's msal sign-ins (``learnkit.auth``). learnkit never imports azure-identity.

**Application or delegated.** Each Graph operation needs one kind of token
(``learnkit.permissions``). A credential that says its kind (``.kind``, as learnkit's sign-ins do)
is taken at its word. Any other is asked for a token first, and its kind is read from the token's
claims: Microsoft Entra ID writes ``scp`` (the delegated scopes) into a token issued to a signed-in
user and never into an application token, whose permissions are ``roles``. The claims are read
without checking the token's signature: a client cannot check it (Graph's tokens are for Graph to
validate), and learnkit uses the kind only to choose which credential to send, never to trust the
token; Graph decides what it may do. A token whose claims cannot be read (not a JWT) is taken as
the kind of the slot it was given in (``credential=`` application, ``delegated=`` delegated).

**Scopes.** A credential that names its own scopes (``.scopes``, as learnkit's sign-ins do) is
asked for those; any other for Graph's ``.default`` scope of the client's cloud, as msgraph-sdk asks.

Example::

    from azure.identity import DefaultAzureCredential
    client = GraphClient(credential=DefaultAzureCredential())
"""

from __future__ import annotations

import base64
import json
import threading
import time
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable
from urllib.parse import urlsplit

from learnkit.clouds import CLOUDS
from learnkit.errors import InvalidInputError, PermissionWarning, TokenError
from learnkit.permissions import KINDS, PERMISSIONS, TokenKind

__all__ = [
    "REFRESH_MARGIN",
    "AccessToken",
    "CredentialTokens",
    "Credentials",
    "TokenCredential",
    "declared_kind",
    "default_scope",
    "token_claims",
    "token_kind",
]

#: Seconds before its expiry that a token stops being reused (azure-core's bearer policy waits as long).
REFRESH_MARGIN = 300


class AccessToken(NamedTuple):
    """An access token and its expiry (seconds since the epoch): azure-core's ``AccessToken`` shape.

    Its repr hides the token.

    >>> AccessToken("eyJ0eXAi...", 1700000000)
    AccessToken(token='<hidden>', expires_on=1700000000)
    """

    token: str
    expires_on: int

    def __repr__(self) -> str:
        return f"AccessToken(token='<hidden>', expires_on={self.expires_on})"


class _HasToken(Protocol):
    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


@runtime_checkable
class TokenCredential(Protocol):
    """Anything that hands out access tokens for scopes: azure-core's ``TokenCredential`` protocol."""

    def get_token(self, *scopes: str, **kwargs: Any) -> _HasToken:
        """A valid access token for ``scopes`` and its expiry (``.token``, ``.expires_on``)."""
        ...


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, read without checking its signature (advice only).

    >>> token_claims("e30." + base64.urlsafe_b64encode(b'{"roles":["A"]}').decode().rstrip("=") + ".")
    {'roles': ['A']}
    """
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_kind(claims: dict[str, Any]) -> TokenKind | None:
    """``delegated`` for a token with ``scp`` (a signed-in user's), ``application`` for one without; None unread.

    >>> token_kind({"scp": "User.Read"}), token_kind({"roles": ["A"]}), token_kind({})
    ('delegated', 'application', None)
    """
    if not claims:
        return None
    return "delegated" if "scp" in claims else "application"


def declared_kind(credential: object) -> TokenKind | None:
    """The kind a credential says it gives (``.kind``, as learnkit's sign-ins have), or None.

    >>> declared_kind(object()) is None
    True
    """
    kind = getattr(credential, "kind", None)
    return kind if kind in KINDS else None


class CredentialTokens:
    """One credential as ``GraphClient`` uses it: its kind, and its token, reused until near its expiry.

    ``slot`` is the keyword it was given as (``credential`` or ``delegated``), for the kind of a
    token whose claims say nothing and for the messages; ``scopes`` are asked of a credential that
    names none of its own. Thread-safe: one sign-in at a time, every thread sharing its token.

    Example: ``CredentialTokens(DefaultAzureCredential(), "credential", ["https://graph.microsoft.com/.default"])``
    """

    def __init__(self, credential: TokenCredential, slot: str, scopes: Sequence[str]) -> None:
        if not callable(getattr(credential, "get_token", None)):
            raise InvalidInputError(
                slot,
                "invalid",
                f"{type(credential).__name__} has no get_token(*scopes): give a learnkit sign-in "
                "(SecretSignIn, CertificateSignIn, DeviceCodeSignIn) or an azure-identity credential",
            )
        self.credential = credential
        self.slot = slot
        own = getattr(credential, "scopes", None)
        self.scopes: tuple[str, ...] = tuple(own) if own and not isinstance(own, str) else tuple(scopes)
        self._kind = declared_kind(credential)
        self._token: str | None = None
        self._expires_on = 0.0
        # The token fetched to learn the kind serves the request that asked, whatever its expiry.
        self._unused = False
        self._lock = threading.Lock()

    @property
    def kind(self) -> TokenKind:
        """``application`` or ``delegated``: said by the credential, else read from its first token."""
        if self._kind is None:
            self.token()
            self._unused = True
        assert self._kind is not None
        return self._kind

    def token(self) -> str:
        """The current access token; a new one from the credential when the last is within
        ``REFRESH_MARGIN`` seconds of its expiry."""
        with self._lock:
            if self._token is not None and (self._unused or self._expires_on - time.time() > REFRESH_MARGIN):
                self._unused = False
                return self._token
            access = self.credential.get_token(*self.scopes)
            token, expires_on = getattr(access, "token", None), getattr(access, "expires_on", None)
            if not isinstance(token, str) or not token:
                raise TokenError(f"{self.slot}={type(self.credential).__name__}: get_token returned no access token")
            if self._kind is None:
                self._kind = token_kind(token_claims(token)) or (
                    "delegated" if self.slot == "delegated" else "application"
                )
            if self.slot == "delegated" and self._kind != "delegated":
                raise TokenError(
                    f"delegated={type(self.credential).__name__} gives application tokens (its token has no 'scp'): "
                    "pass it as credential="
                )
            self._token = token
            self._expires_on = float(expires_on) if isinstance(expires_on, (int, float)) else 0.0
            return token

    def __repr__(self) -> str:
        return f"CredentialTokens({self.credential!r}, {self.slot!r})"


def default_scope(graph_url: str) -> str:
    """The ``.default`` scope of the cloud whose Graph host ``graph_url`` names; the global one's otherwise
    (a sandbox, a proxy), as the sandbox issues tokens for Graph's global resource.

    >>> default_scope("https://graph.microsoft.us/v1.0"), default_scope("https://127.0.0.1:8443/v1.0")
    ('https://graph.microsoft.us/.default', 'https://graph.microsoft.com/.default')
    """
    host = (urlsplit(graph_url).hostname or "").lower()
    return next((c for c in CLOUDS.values() if c.graph_host == host), CLOUDS["global"]).scope


class Credentials:
    """A client's credentials: which gives which kind, and the token each operation sends.

    ``credential`` takes either kind, ``delegated`` delegated tokens only (a learnkit sign-in of
    application tokens is refused at once, any other credential at its first token). ``token_for``
    picks the kind ``learnkit.permissions`` says an operation needs, or raises ``TokenError``
    before anything is sent; a token whose claims lack the permission is warned of once
    (``PermissionWarning``).

    Example: ``Credentials(DefaultAzureCredential(), None, graph_url=client.graph_url).token_for("get_activity")``
    """

    def __init__(
        self,
        credential: TokenCredential | None,
        delegated: TokenCredential | None,
        *,
        graph_url: str,
        scopes: Sequence[str] | None = None,
    ) -> None:
        self.scopes = list(scopes) if scopes else [default_scope(graph_url)]
        self.credential = credential
        self.delegated = delegated
        self._warned: set[tuple[str, str]] = set()
        self._preflown: dict[tuple[str, str], str] = {}

    @property
    def credential(self) -> TokenCredential | None:
        """The credential given as ``credential=`` (either kind), or None."""
        return self._credential.credential if self._credential else None

    @credential.setter
    def credential(self, value: TokenCredential | None) -> None:
        self._credential = CredentialTokens(value, "credential", self.scopes) if value is not None else None

    @property
    def delegated(self) -> TokenCredential | None:
        """The credential given as ``delegated=`` (delegated tokens only), or None."""
        return self._delegated.credential if self._delegated else None

    @delegated.setter
    def delegated(self, value: TokenCredential | None) -> None:
        if value is not None and declared_kind(value) == "application":
            raise InvalidInputError(
                "delegated", "invalid", f"{value!r} gives application tokens, but delegated= takes delegated ones"
            )
        self._delegated = CredentialTokens(value, "delegated", self.scopes) if value is not None else None

    def sources(self) -> list[CredentialTokens]:
        """The credentials given, ``credential`` first."""
        return [source for source in (self._credential, self._delegated) if source is not None]

    def _source(self, kind: TokenKind) -> CredentialTokens | None:
        # A credential that does not say its kind signs in here, once, to tell it from its token.
        return next((source for source in self.sources() if source.kind == kind), None)

    def credential_for(self, kind: TokenKind) -> TokenCredential | None:
        """The credential that gives ``kind`` tokens, or None.

        Example: ``client.credentials.credential_for("delegated")``
        """
        source = self._source(kind)
        return source.credential if source else None

    def access_token(self, kind: TokenKind) -> str | None:
        """A current access token of ``kind`` (reused until near its expiry), or None when no credential gives one.

        Example: ``token_claims(client.credentials.access_token("application"))["roles"]``
        """
        source = self._source(kind)
        return source.token() if source else None

    def token_for(self, operation: str) -> tuple[TokenKind, str]:
        """The kind and token to use for an operation, or TokenError before anything is sent."""
        need = PERMISSIONS[operation]
        for kind in need.kinds:
            token = self.access_token(kind)
            if token is not None:
                self._preflight(operation, kind, token)
                return kind, token
        kinds = " or ".join(need.kinds)
        article = "an" if kinds.startswith("application") else "a"
        others = [p for p in need.accepted(need.kinds[0]) if p != need.least_privileged]
        fix = (
            "credential=SecretSignIn(...), CertificateSignIn(...) or an azure-identity credential of the app"
            if need.kinds[0] == "application"
            else "delegated=DeviceCodeSignIn(...) or an azure-identity credential that signs a user in"
        )
        held = " and ".join(sorted({source.kind for source in self.sources()}))
        raise TokenError(
            f"{operation} needs {article} {kinds} token with {need.least_privileged}"
            + (f" (or {', '.join(others)})" if others else "")
            + f", and this client has no {kinds} credential"
            + (f" (its credentials give {held} tokens)" if held else "")
            + f": pass {fix}"
        )

    def silence_permission_warning(self, operation: str) -> None:
        """No ``PermissionWarning`` for ``operation``: its caller reports a missing permission itself."""
        self._warned.update({(operation, "application"), (operation, "delegated")})

    def _preflight(self, operation: str, kind: TokenKind, token: str) -> None:
        if self._preflown.get((operation, kind)) == token:
            return  # this token was read for this operation already: its claims have not changed
        self._preflown[(operation, kind)] = token
        claims = token_claims(token)
        held = set(claims.get("roles") or []) if kind == "application" else set(str(claims.get("scp") or "").split())
        accepted = PERMISSIONS[operation].accepted(kind)
        if claims and not held & set(accepted) and (operation, kind) not in self._warned:
            self._warned.add((operation, kind))
            warnings.warn(
                f"{operation}: the {kind} token carries none of {', '.join(accepted)}; "
                "Graph will likely answer 403. Grant the permission and consent.",
                PermissionWarning,
                stacklevel=5,  # at the client's method that sent (through both token_fors and request), as before
            )
