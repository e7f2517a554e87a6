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
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from learnkit.errors import InvalidInputError, TokenError
from learnkit.permissions import KINDS, TokenKind

__all__ = [
    "REFRESH_MARGIN",
    "AccessToken",
    "CredentialTokens",
    "TokenCredential",
    "declared_kind",
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
