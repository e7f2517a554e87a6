"""Sign-in: msal token providers for application and delegated tokens.

Three credentials, each holding an msal application and its token cache:

- ``ClientSecretCredential``: application token, client credentials with a secret;
- ``CertificateCredential``: application token, client credentials with a
  certificate (PEM private key and thumbprint, or a PFX file and passphrase);
- ``DeviceCodeCredential``: delegated token by the device-code flow (shows a
  code and a URL, then waits), which suits notebooks.

Secrets are kept out of every repr, log line and exception text. Every request to
the authority has a timeout and an overall deadline (``timeout``, ``deadline``),
and a sign-in that fails for any reason (unreachable or silent authority, unknown
tenant, refused credentials) raises ``SignInError`` naming the authority.

Example::

    cred = ClientSecretCredential(tenant_id, client_id, client_secret)
    client = GraphClient(credential=cred)
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import requests

from learnkit._transport import TimedSession, Timeout, failure_reason
from learnkit.clouds import Cloud, get_cloud
from learnkit.errors import InvalidInputError, SignInError, TokenError
from learnkit.permissions import TokenKind

if TYPE_CHECKING:
    import msal

__all__ = [
    "DELEGATED_SCOPES",
    "CertificateCredential",
    "ClientSecretCredential",
    "DeviceCodeCredential",
    "TokenSource",
    "token_claims",
]

log = logging.getLogger(__name__)

#: What a delegated sign-in asks for: every delegated permission learnkit's operations use.
DELEGATED_SCOPES = (
    "LearningProvider.ReadWrite",
    "LearningAssignedCourse.Read.All",
    "LearningSelfInitiatedCourse.Read.All",
    "LearningContent.Read.All",
)


@runtime_checkable
class TokenSource(Protocol):
    """Anything that hands out bearer tokens of one kind."""

    kind: TokenKind

    def get_token(self) -> str:
        """A valid access token (cached, renewed when it nears expiry)."""
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


class _MsalCredential:
    """What the three credentials share: the authority, the cache, the msal call."""

    kind: TokenKind

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        *,
        cloud: str | Cloud = "global",
        authority: str | None = None,
        scopes: Sequence[str] | None = None,
        verify: bool | str = True,
        cache_path: str | os.PathLike[str] | None = None,
        timeout: Timeout = (10.0, 30.0),
        deadline: float = 60.0,
    ) -> None:
        for name, value in (("tenant_id", tenant_id), ("client_id", client_id)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(name, "empty", "shouldn't be empty: it is needed to sign in")
        self.cloud = cloud if isinstance(cloud, Cloud) else get_cloud(cloud)
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority = authority or self.cloud.authority(tenant_id)
        self.scopes = list(scopes) if scopes else [self.cloud.scope]
        self._custom_authority = authority is not None
        self._http = TimedSession(timeout=timeout, deadline=deadline)
        self._http.verify = verify
        # A custom (sandbox) authority is on loopback: no proxy, and REQUESTS_CA_BUNDLE must
        # not override the CA we were given.
        self._http.trust_env = not self._custom_authority
        self._cache_path = Path(cache_path) if cache_path else None
        import msal  # here, not at module level: it is a fifth of `import learnkit`

        self._cache = msal.SerializableTokenCache()
        if self._cache_path and self._cache_path.exists():
            self._cache.deserialize(self._cache_path.read_text())
        self._lock = threading.Lock()

    def _app_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "authority": self.authority,
            "token_cache": self._cache,
            "http_client": self._http,
        }
        if self._custom_authority:
            options["instance_discovery"] = False
            options["validate_authority"] = False
        return options

    def _save_cache(self) -> None:
        if self._cache_path is None or not self._cache.has_state_changed:
            return
        self._cache_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._cache_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self._cache.serialize())
        os.chmod(self._cache_path, 0o600)

    @contextmanager
    def _signing_in(self) -> Iterator[None]:
        """Turns what msal lets through (requests' errors, failed discovery) into SignInError."""
        try:
            yield
        except requests.RequestException as exc:
            raise SignInError(
                self.authority, f"{failure_reason(exc)}: check the network, the proxy and the cloud"
            ) from exc
        except ValueError as exc:
            # msal says a tenant or authority is unknown with a ValueError (its discovery failed,
            # or answered something that is not JSON); other ValueErrors are about the credential.
            text = str(exc)
            if isinstance(exc, json.JSONDecodeError) or "Discovery" in text or "authority" in text.lower():
                raise SignInError(
                    self.authority,
                    "the authority does not know this tenant, or is not an authority: check tenant_id and the cloud",
                ) from None
            raise

    def _check(self, result: Mapping[str, Any] | None) -> str:
        if not result or "access_token" not in result:
            result = result or {}
            raise SignInError(
                self.authority,
                f"as {self.client_id}: {result.get('error', 'no token')}: "
                f"{result.get('error_description', '')}".strip(),
            )
        self._save_cache()
        return str(result["access_token"])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, "
            f"authority={self.authority!r})"
        )


class _ClientCredential(_MsalCredential):
    kind: TokenKind = "application"

    def __init__(self, tenant_id: str, client_id: str, credential: Any, **options: Any) -> None:
        super().__init__(tenant_id, client_id, **options)
        self._credential = credential
        self._app: msal.ConfidentialClientApplication | None = None

    def get_token(self) -> str:
        """An application token from the cache, or a new one by client credentials."""
        with self._lock:
            if self._app is None:  # msal reads the authority's metadata here: not at construction
                import msal

                try:
                    with self._signing_in():
                        self._app = msal.ConfidentialClientApplication(
                            self.client_id, client_credential=self._credential, **self._app_options()
                        )
                except (ValueError, TypeError) as exc:
                    # cryptography's message names no secret, but the credential dict holds one: drop it.
                    raise TokenError(
                        f"could not use the credential of {self.client_id}: {type(exc).__name__} "
                        "(a wrong PFX passphrase, or a key that does not match its format?)"
                    ) from None
            with self._signing_in():
                result = self._app.acquire_token_for_client(scopes=self.scopes)
            return self._check(result)


class ClientSecretCredential(_ClientCredential):
    """Application token by client credentials with a client secret.

    >>> ClientSecretCredential("tenant", "app", "s3cret")
    ClientSecretCredential(tenant_id='tenant', client_id='app', authority='https://login.microsoftonline.com/tenant')
    """

    def __init__(self, tenant_id: str, client_id: str, client_secret: str, **options: Any) -> None:
        if not isinstance(client_secret, str) or not client_secret:
            raise InvalidInputError("client_secret", "empty", "shouldn't be empty")
        super().__init__(tenant_id, client_id, client_secret, **options)


class CertificateCredential(_ClientCredential):
    """Application token by client credentials with a certificate.

    Give ``private_key_path`` and ``thumbprint`` (PEM), or ``pfx_path`` and
    ``passphrase`` (PKCS#12).

    Example: ``CertificateCredential(tenant, app, pfx_path="app.pfx", passphrase="...")``
    """

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        *,
        private_key_path: str | os.PathLike[str] | None = None,
        thumbprint: str | None = None,
        pfx_path: str | os.PathLike[str] | None = None,
        passphrase: str | None = None,
        **options: Any,
    ) -> None:
        credential: dict[str, Any]
        if pfx_path is not None:
            credential = {"private_key_pfx_path": str(pfx_path)}
            if passphrase:
                credential["passphrase"] = passphrase
        elif private_key_path is not None and thumbprint:
            credential = {"private_key": Path(private_key_path).read_text(), "thumbprint": thumbprint}
            if passphrase:
                credential["passphrase"] = passphrase
        else:
            raise InvalidInputError(
                "pfx_path", "required", "a certificate needs pfx_path, or private_key_path and thumbprint"
            )
        super().__init__(tenant_id, client_id, credential, **options)


class DeviceCodeCredential(_MsalCredential):
    """Delegated token by the device-code flow: shows a code and a URL, then waits.

    ``prompt`` receives msal's message ("To sign in, use a web browser to open
    ... and enter the code ..."); it defaults to ``print``.

    Example: ``DeviceCodeCredential(tenant, public_client_id).get_token()``
    """

    kind: TokenKind = "delegated"

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        *,
        scopes: Sequence[str] = DELEGATED_SCOPES,
        prompt: Callable[[str], object] = print,
        **options: Any,
    ) -> None:
        cloud = options.get("cloud", "global")
        host = (cloud if isinstance(cloud, Cloud) else get_cloud(cloud)).graph_host
        # Short names mean the global Graph; other clouds need the resource spelled out.
        full = [s if "://" in s else f"https://{host}/{s}" for s in scopes]
        super().__init__(tenant_id, client_id, scopes=full, **options)
        self._prompt = prompt
        self._app: msal.PublicClientApplication | None = None

    def get_token(self) -> str:
        """A delegated token from the cache (renewed silently), or by a new device-code sign-in."""
        with self._lock, self._signing_in():
            if self._app is None:
                import msal

                self._app = msal.PublicClientApplication(self.client_id, **self._app_options())
            accounts = self._app.get_accounts()
            if accounts:
                result = self._app.acquire_token_silent(self.scopes, account=accounts[0])
                if result and "access_token" in result:
                    return self._check(result)
            flow = self._app.initiate_device_flow(scopes=self.scopes)
            if "user_code" not in flow:
                raise SignInError(
                    self.authority,
                    f"device-code sign-in could not start: {flow.get('error')}: {flow.get('error_description', '')}",
                )
            self._prompt(str(flow["message"]))
            return self._check(self._app.acquire_token_by_device_flow(flow))
