"""Sign-in with msal: learnkit's own credentials for application and delegated tokens.

Three sign-ins, each holding an msal application and its token cache, each a token credential
(``get_token(*scopes)`` returns an ``AccessToken``: azure-core's protocol, see
``learnkit.credentials``), so ``GraphClient`` takes them as it takes any azure-identity credential:

- ``SecretSignIn``: application token, client credentials with a secret;
- ``CertificateSignIn``: application token, client credentials with a certificate (PEM
  private key and thumbprint, or a PFX file and passphrase);
- ``DeviceCodeSignIn``: delegated token by the device-code flow (shows a code and a URL, then
  waits), which suits notebooks.

Their names differ from azure-identity's (``ClientSecretCredential``, ``CertificateCredential``,
``DeviceCodeCredential``), whose constructors take other arguments: each name means one thing.
What they add: the national clouds by name (``cloud=``), a custom authority (the sandbox's) with
its CA, a timeout and an overall deadline on every request to the authority (``timeout``,
``deadline``), and a cache kept on disk (``cache_path``: ``learnkit.token_cache``).

Secrets are kept out of every repr, log line and exception text. A sign-in that fails for any
reason (unreachable or silent authority, unknown tenant, refused credentials) raises
``SignInError`` naming the authority.

Example::

    sign_in = SecretSignIn(tenant_id, client_id, client_secret)
    client = GraphClient(credential=sign_in)
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from learnkit._transport import TimedSession, Timeout, failure_reason
from learnkit.clouds import Cloud, get_cloud
from learnkit.credentials import AccessToken
from learnkit.errors import InvalidInputError, SignInError, TokenError
from learnkit.permissions import TokenKind

if TYPE_CHECKING:
    import msal

__all__ = [
    "DELEGATED_SCOPES",
    "CertificateSignIn",
    "DeviceCodeSignIn",
    "MsalSignIn",
    "SecretSignIn",
]

#: What a delegated sign-in asks for: every delegated permission learnkit's operations use.
DELEGATED_SCOPES = (
    "LearningProvider.ReadWrite",
    "LearningAssignedCourse.Read.All",
    "LearningSelfInitiatedCourse.Read.All",
    "LearningContent.Read.All",
)


class MsalSignIn:
    """What the three sign-ins share: the authority, the cache, the msal call.

    ``cache_path`` keeps msal's cache in that file (``learnkit.token_cache``: encrypted where the
    platform allows, else owner-only), so a later process signs in from it; without it the cache
    lives as long as the object.
    """

    kind: TokenKind

    # Each sign-in's ``get_token(*scopes, **kwargs) -> AccessToken`` is azure-core's protocol: the
    # scopes default to ``.scopes``; its keyword options (``claims``, ``tenant_id``, ``enable_cae``)
    # are accepted and not used.

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
        self.cache_path = Path(cache_path).expanduser() if cache_path else None
        import msal  # here, not at module level: it is a fifth of `import learnkit`

        if self.cache_path is not None:
            from learnkit.token_cache import open_token_cache

            self._cache = open_token_cache(self.cache_path)
        else:
            self._cache = msal.SerializableTokenCache()
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

    def _check(self, result: Mapping[str, Any] | None) -> AccessToken:
        if not result or "access_token" not in result:
            result = result or {}
            raise SignInError(
                self.authority,
                f"as {self.client_id}: {result.get('error', 'no token')}: "
                f"{result.get('error_description', '')}".strip(),
            )
        # msal gives the seconds left (for a cached token too); azure-core's shape is the instant.
        return AccessToken(str(result["access_token"]), int(time.time()) + int(result.get("expires_in") or 0))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, "
            f"authority={self.authority!r})"
        )


class _ClientSignIn(MsalSignIn):
    kind: TokenKind = "application"

    def __init__(self, tenant_id: str, client_id: str, credential: Any, **options: Any) -> None:
        super().__init__(tenant_id, client_id, **options)
        self._credential = credential
        self._app: msal.ConfidentialClientApplication | None = None

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """An application token from the cache, or a new one by client credentials.

        Example: ``SecretSignIn(tenant, app, secret).get_token().token``
        """
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
                result = self._app.acquire_token_for_client(scopes=list(scopes) or self.scopes)
            return self._check(result)


class SecretSignIn(_ClientSignIn):
    """Application token by client credentials with a client secret.

    >>> SecretSignIn("tenant", "app", "s3cret")
    SecretSignIn(tenant_id='tenant', client_id='app', authority='https://login.microsoftonline.com/tenant')
    """

    def __init__(self, tenant_id: str, client_id: str, client_secret: str, **options: Any) -> None:
        if not isinstance(client_secret, str) or not client_secret:
            raise InvalidInputError("client_secret", "empty", "shouldn't be empty")
        super().__init__(tenant_id, client_id, client_secret, **options)


class CertificateSignIn(_ClientSignIn):
    """Application token by client credentials with a certificate.

    Give ``private_key_path`` and ``thumbprint`` (PEM), or ``pfx_path`` and
    ``passphrase`` (PKCS#12).

    Example: ``CertificateSignIn(tenant, app, pfx_path="app.pfx", passphrase="...")``
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


class DeviceCodeSignIn(MsalSignIn):
    """Delegated token by the device-code flow: shows a code and a URL, then waits.

    ``prompt`` receives msal's message ("To sign in, use a web browser to open
    ... and enter the code ..."); it defaults to ``print``.

    Example: ``DeviceCodeSignIn(tenant, public_client_id, cache_path=default_cache_path()).get_token()``
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

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A delegated token from the cache (renewed silently), or by a new device-code sign-in.

        Example: ``DeviceCodeSignIn(tenant, public_client_id).get_token().token``
        """
        wanted = list(scopes) or self.scopes
        with self._lock, self._signing_in():
            if self._app is None:
                import msal

                self._app = msal.PublicClientApplication(self.client_id, **self._app_options())
            # A cache kept on disk may hold other users, tenants and apps: any account that still
            # signs in silently here will do, before a person is asked for a code.
            for account in self._app.get_accounts():
                result = self._app.acquire_token_silent(wanted, account=account)
                if result and "access_token" in result:
                    return self._check(result)
            flow = self._app.initiate_device_flow(scopes=wanted)
            if "user_code" not in flow:
                raise SignInError(
                    self.authority,
                    f"device-code sign-in could not start: {flow.get('error')}: {flow.get('error_description', '')}",
                )
            self._prompt(str(flow["message"]))
            return self._check(self._app.acquire_token_by_device_flow(flow))
