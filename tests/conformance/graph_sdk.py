"""Microsoft's Graph SDK for Python (msgraph-sdk) and azure-identity, set up against the sandbox as their docs show.

The set-up is the documented one for a national or custom cloud: a ``ClientSecretCredential``
(application) or ``DeviceCodeCredential`` (delegated) whose authority is the sandbox's host, trusting
its CA; a ``GraphRequestAdapter`` whose ``base_url`` is the sandbox's ``/v1.0``, built on an httpx
client that trusts the same CA. Each test runs one coroutine with a fresh client (``sdk.run``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from learnkit.sandbox import Sandbox

T = TypeVar("T")

#: OData control information Graph puts on every entity or collection answer. The SDK's models
#: have no property for it, so Kiota keeps it in additional_data, against Graph as here.
CONTROL_INFORMATION = frozenset({"@odata.context"})


def leftovers(value: Any, path: str = "$") -> list[str]:
    """Where a parsed SDK model kept JSON it could not map to a property (beyond control information)."""
    from kiota_abstractions.serialization import Parsable

    found: list[str] = []
    if isinstance(value, Parsable):
        extra = set(getattr(value, "additional_data", None) or {}) - CONTROL_INFORMATION
        found += [f"{path}.{key}" for key in sorted(extra)]
        for name, attribute in vars(value).items():
            if name not in ("additional_data", "backing_store"):
                found += leftovers(attribute, f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += leftovers(item, f"{path}[{i}]")
    return found


@dataclass
class SDK:
    """Runs coroutines against the sandbox with an SDK client of the given kind."""

    sb: Sandbox

    def _client(self, delegated: bool) -> tuple[Any, Any, Any]:
        import httpx
        from azure.identity import DeviceCodeCredential
        from azure.identity.aio import ClientSecretCredential
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.middleware.options import UrlReplaceHandlerOption
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

        host = self.sb.url.split("://", 1)[1]
        credential: Any
        if delegated:
            app = self.sb.apps["learnkit-delegated"]
            # The sandbox approves a device code for its demo learner on the first poll.
            credential = DeviceCodeCredential(
                client_id=app.client_id,
                tenant_id=self.sb.tenant_id,
                authority=host,
                disable_instance_discovery=True,
                connection_verify=self.sb.ca_cert,
                prompt_callback=lambda *args: None,
            )
        else:
            credential = ClientSecretCredential(
                self.sb.tenant_id,
                self.sb.client_id,
                self.sb.client_secret,
                authority=host,
                connection_verify=self.sb.ca_cert,
                disable_instance_discovery=True,
            )
        # The SDK sends tokens only to hosts it knows as Graph's: name the sandbox's.
        auth = AzureIdentityAuthenticationProvider(
            credential, scopes=[self.sb.scope], allowed_hosts=[host.rsplit(":", 1)[0]]
        )
        # msgraph-sdk-python#544 / #1271: client.me builds /users/me-token-to-replace, which only the
        # URL-replace middleware turns into /me. The SDK's own GraphRequestAdapter passes that option;
        # a custom httpx client (needed here to trust the sandbox's CA) must pass it too.
        options = {
            UrlReplaceHandlerOption.get_key(): UrlReplaceHandlerOption(
                enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"}
            )
        }
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=self.sb.ca_cert, trust_env=False, timeout=30), options=options
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = self.sb.graph_url
        return GraphServiceClient(request_adapter=adapter), credential, http

    def run(self, work: Callable[[Any], Awaitable[T]], *, delegated: bool = False) -> T:
        """``work(client)`` on a fresh SDK client; credential and HTTP client closed after."""

        async def main() -> T:
            client, credential, http = self._client(delegated)
            try:
                return await work(client)
            finally:
                await http.aclose()
                closing = credential.close()
                if asyncio.iscoroutine(closing):
                    await closing

        return asyncio.run(main())
