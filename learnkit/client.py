"""``GraphClient``: one HTTP session to Graph (or the sandbox), one method per endpoint.

It picks the token kind each operation needs from ``learnkit.permissions``,
sets a ``client-request-id`` on every request, bounds each request by a timeout
and an overall deadline, retries what is safe to retry (``learnkit.retry``), turns
errors into typed exceptions (``learnkit.errors``), checks that a success carries
the JSON the operation expects, and follows ``@odata.nextLink``.

The raw methods send a body as given (``patch_activity``, ``post_activity`` ...);
``learnkit.update_activity`` is the one that validates first.

Example::

    with learnkit.sandbox.start() as sb:
        client = GraphClient.for_sandbox(sb)
        activity = client.get_activity(sb.demo["assignment_id"])
"""

from __future__ import annotations

import copy
import json as json_module
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from pydantic import ValidationError

from learnkit import paths
from learnkit._transport import TimedSession, Timeout, failure_reason, never_sent
from learnkit.auth import DeviceCodeSignIn, SecretSignIn
from learnkit.catalog import CONTENT_POST_SERVICE_SET, check_content, check_provider
from learnkit.clouds import get_cloud, warn_if_unavailable
from learnkit.credentials import Credentials, TokenCredential, token_claims
from learnkit.errors import (
    InvalidInputError,
    NetworkError,
    UnexpectedResponseError,
    UntrustedURLError,
    error_from_response,
)
from learnkit.limits import BATCH_LIMIT
from learnkit.models import (
    INCLUDE_UNKNOWN_ENUM_MEMBERS,
    LearningContent,
    LearningCourseActivity,
    LearningProvider,
    batch_rule_violation,
    check_create,
    parse_activity,
)
from learnkit.paths import PROVIDERS, segment
from learnkit.permissions import TokenKind
from learnkit.retry import RetryPolicy
from learnkit.service import Service, same_origin

if TYPE_CHECKING:
    from learnkit.sandbox import Sandbox

_M = TypeVar("_M")

__all__ = ["GraphClient", "GraphResponse"]

log = logging.getLogger(__name__)

_IDEMPOTENT = frozenset({"GET", "PATCH", "PUT", "DELETE"})
# Methods Graph answers with 204 and no body; any other success must carry a JSON object.
_MAY_BE_EMPTY = frozenset({"PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class GraphResponse:
    """What came back: status, parsed JSON (or None), ids, and how many tries it took."""

    status: int
    body: Any
    headers: Mapping[str, str]
    request_id: str | None
    client_request_id: str
    attempts: int
    url: str = ""


class GraphClient:
    """A Graph v1.0 client for the learning API.

    ``credential`` is any token credential: an azure-identity one (``DefaultAzureCredential()``,
    ``ClientSecretCredential(...)``, ``AzureCliCredential()`` ...) or learnkit's own sign-ins
    (``SecretSignIn``, ``CertificateSignIn``, ``DeviceCodeSignIn``). Its kind, application or
    delegated, is what it says (learnkit's) or else what its first token's claims say (``scp``
    for a signed-in user's token: see ``learnkit.credentials``). ``delegated`` adds a second
    credential, for delegated tokens, beside an application one. Each operation uses the kind
    ``learnkit.permissions`` says it needs and fails before sending when no credential gives it.
    ``scopes`` are what a credential that names none of its own is asked for (default: the
    ``.default`` scope of the cloud whose Graph host ``graph_url`` names, else the global one's).
    Tokens are reused until five minutes before they expire; ``.credentials`` holds that choice
    (``credential_for(kind)``, ``access_token(kind)``). ``verify`` is a CA bundle
    path or a bool; ``timeout`` is (connect, read) seconds for each socket
    operation and ``deadline`` the most seconds one call may take in all, its
    retries and their waits included (a server that trickles its answer is cut
    off; a ``Retry-After`` that would end past it is raised at once, with
    ``.retry_after`` set); ``retry`` bounds retries and the longest wait slept through.

    ``transport`` replaces the HTTP connection adapter (any ``requests.adapters.BaseAdapter``), as
    httpx's ``transport=`` does: give one that answers from a function, and the client's logic
    (retries, typed errors, paging, ``$batch``) runs with no socket and no sandbox, in your tests as in
    learnkit's (``tests/test_client_logic.py``); ``sleep`` (what a retry's wait calls) and ``clock`` (the
    seconds the deadline counts) put its time in the test's hands. With requests-mock
    (``pip install requests-mock``)::

        adapter = requests_mock.Adapter()
        adapter.register_uri("GET", requests_mock.ANY, json={"id": "a1", ...})
        client = GraphClient(credential=my_credential, transport=adapter, sleep=lambda s: None)
        client.get_activity("a1")  # answered by the adapter; adapter.last_request.headers holds what was sent
    """

    def __init__(
        self,
        graph_url: str = "https://graph.microsoft.com/v1.0",
        *,
        credential: TokenCredential | None = None,
        delegated: TokenCredential | None = None,
        scopes: Sequence[str] | None = None,
        verify: bool | str = True,
        timeout: Timeout = (10.0, 60.0),
        deadline: float = 100.0,
        retry: RetryPolicy | None = None,
        trust_env: bool = True,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: requests.adapters.BaseAdapter | None = None,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        #: Which credential gives which kind, and the token each operation sends (``learnkit.credentials``).
        self.credentials = Credentials(credential, delegated, graph_url=self.graph_url, scopes=scopes)
        self.verify = verify
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock  # the seconds the deadline counts (what ``sleep`` waits, a test's clock passes too)
        self.session = TimedSession(timeout=timeout, deadline=deadline, pool_size=pool_size, transport=transport)
        self.session.trust_env = trust_env

    def __repr__(self) -> str:
        return f"GraphClient({self.graph_url!r}, credential={self.credential!r}, delegated={self.delegated!r})"

    @property
    def credential(self) -> TokenCredential | None:
        """The credential given as ``credential=`` (either kind), or None."""
        return self.credentials.credential

    @credential.setter
    def credential(self, value: TokenCredential | None) -> None:
        self.credentials.credential = value

    @property
    def delegated(self) -> TokenCredential | None:
        """The credential given as ``delegated=`` (delegated tokens only), or None.

        Example: ``client.delegated = DeviceCodeSignIn(tenant, public_client_id)``
        """
        return self.credentials.delegated

    @delegated.setter
    def delegated(self, value: TokenCredential | None) -> None:
        self.credentials.delegated = value

    def with_options(self, *, retry: RetryPolicy | None = None, timeout: Timeout | None = None) -> GraphClient:
        """A copy with another retry policy or timeout, sharing session and credentials: ``with_options(retry=...)``."""
        other = copy.copy(self)  # this client stays as it was (openai-python's with_options)
        other.retry, other.timeout = retry or self.retry, timeout or self.timeout
        return other

    # --- construction ------------------------------------------------------

    @classmethod
    def connect(
        cls,
        tenant_id: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        certificate: Mapping[str, Any] | None = None,
        delegated_client_id: str | None = None,
        cloud: str = "global",
        cache_path: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> GraphClient:
        """A client for a real tenant, signed in with learnkit's msal sign-ins (``learnkit.connect``).

        ``client_secret`` or ``certificate`` (``CertificateSignIn``'s keywords) give application
        tokens; ``delegated_client_id`` (a public client) a device-code sign-in. ``cache_path``
        remembers the sign-ins in that file (``learnkit.token_cache``: encrypted where the platform
        allows, else owner-only), so the next kernel signs in without a second device code.
        Any other credential, azure-identity's included, goes to ``GraphClient(credential=...)``.

        Example: ``learnkit.connect(tenant, app, delegated_client_id=public, cache_path=default_cache_path())``
        """
        from learnkit.auth import CertificateSignIn

        chosen = get_cloud(cloud)
        warn_if_unavailable(chosen)
        kept: dict[str, Any] = {"cloud": chosen, "cache_path": cache_path}
        credential: TokenCredential | None = None
        if client_secret:
            credential = SecretSignIn(tenant_id, client_id, client_secret, **kept)
        elif certificate:
            credential = CertificateSignIn(tenant_id, client_id, **kept, **certificate)
        delegated = DeviceCodeSignIn(tenant_id, delegated_client_id, **kept) if delegated_client_id else None
        if credential is None and delegated is None:
            raise InvalidInputError(
                "client_secret",
                "required",
                "give client_secret or certificate for application tokens, "
                "or delegated_client_id for a device-code sign-in",
            )
        return cls(chosen.graph_url, credential=credential, delegated=delegated, **options)

    @classmethod
    def for_sandbox(
        cls,
        sb: Sandbox | Mapping[str, Any],
        *,
        app: str = "learnkit-demo",
        delegated: bool = False,
        prompt: Callable[[str], object] = lambda message: None,
        **options: Any,
    ) -> GraphClient:
        """A ready client for a running sandbox, signed in through msal with a demo app.

        ``sb`` is the handle ``learnkit.sandbox.start()`` returns, or the JSON object
        ``learnkit sandbox --json`` prints. ``delegated=True`` also signs the demo user
        in by device code (auto-approved by the sandbox).
        """
        info = sb if isinstance(sb, Mapping) else sb.to_json()
        apps = {a["name"]: a for a in info["apps"]}
        if app not in apps:
            raise InvalidInputError(
                "app", "invalid", f"the sandbox has no app {app!r}: choose one of {', '.join(apps)}"
            )
        chosen = apps[app]
        common: dict[str, Any] = {"authority": info["authority"], "verify": info["ca_cert"]}
        credential = None
        if chosen["kind"] == "application":
            credential = SecretSignIn(info["tenant_id"], chosen["client_id"], chosen["client_secret"], **common)
        user = None
        if delegated or chosen["kind"] == "delegated":
            public = (
                chosen if chosen["kind"] == "delegated" else next(a for a in info["apps"] if a["kind"] == "delegated")
            )
            user = DeviceCodeSignIn(info["tenant_id"], public["client_id"], prompt=prompt, **common)
        options.setdefault("trust_env", False)
        warn_if_unavailable(get_cloud(info.get("cloud") or "global"))  # a sandbox imitating a national cloud
        return cls(info["graph_url"], credential=credential, delegated=user, verify=info["ca_cert"], **options)

    # --- the wire ----------------------------------------------------------

    def token_for(self, operation: str) -> tuple[TokenKind, str]:
        """The kind and token to use for an operation, or TokenError before anything is sent."""
        return self.credentials.token_for(operation)

    def service(self) -> Service:
        """The Graph host and tenant this client writes to (the tenant is its token's ``tid``).

        Signs in with the first token kind configured (application first), once per token.
        Example: ``client.service().label`` is ``'127.0.0.1 tenant 3f2a9c1e'`` on a sandbox.
        """
        sources = self.credentials.sources()
        if not sources:
            return Service(self.graph_url, None)
        tenant = token_claims(sources[0].token()).get("tid")
        if not tenant:
            tenant = getattr(sources[0].credential, "tenant_id", None)
        return Service(self.graph_url, str(tenant) if tenant else None)

    def silence_permission_warning(self, operation: str) -> None:
        """Leave a missing permission for ``operation`` to the caller to report (no ``PermissionWarning``).

        For a caller that carries on without the operation and says so in its own words
        (``learnkit.names`` shows ids alone, with one note naming the permission).
        Example: ``client.silence_permission_warning("get_user")``
        """
        self.credentials.silence_permission_warning(operation)

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> GraphResponse:
        """Send one request (path relative to graph_url, or an absolute nextLink), with retries.

        An absolute URL must be on ``graph_url``'s scheme, host and port, or ``UntrustedURLError``
        is raised and nothing is sent: the token goes nowhere else.

        Raises the typed ``GraphError`` for an error answer, after retrying what may be retried;
        ``NetworkError`` when no complete answer came (refused, dropped, timed out, past the
        deadline), after resending only what is safe to send twice (``idempotent``: GET, PATCH,
        PUT, DELETE by default; a request that never connected is always safe);
        ``UnexpectedResponseError`` for a success whose body is not a JSON object where one
        is expected.
        """
        if path.startswith("/") and not path.startswith("//"):
            url = self.graph_url + path
        elif same_origin(path, self.graph_url):
            url = path  # a next link: on this client's own origin, so the token may go with it
        else:
            raise UntrustedURLError(path, self.graph_url)
        if idempotent is None:
            idempotent = method.upper() in _IDEMPOTENT
        # Encoded once, whatever the retries; a request with no query string to encode goes straight to
        # the connection adapter (TimedSession.send_body: a third of a $batch POST's CPU saved).
        payload = b"" if json is None else _encode_json(json)
        attempt = 0
        started, slept = self._clock(), 0.0

        def past_deadline(delay: float) -> bool:
            # The deadline bounds the whole call, waits included: a wait that would end past it is not begun.
            # (max(): an injected sleep that does not pass real time still counts what it was asked to wait.)
            limit = self.session.deadline
            return limit is not None and max(self._clock() - started, slept) + delay > limit

        while True:
            attempt += 1
            _, token = self.token_for(operation)
            client_request_id = str(uuid.uuid4())
            headers = {
                "Authorization": f"Bearer {token}",
                "client-request-id": client_request_id,
                "Accept": "application/json",
                # learnkit's models keep enum values as strings, so it can take members Graph adds later.
                "Prefer": INCLUDE_UNKNOWN_ENUM_MEMBERS,
            }
            if json is not None:
                headers["Content-Type"] = "application/json"
            try:
                if params is None:
                    response = self.session.send_body(
                        method, url, payload, headers, timeout=self.timeout, verify=self.verify
                    )
                else:
                    response = self.session.request(
                        method,
                        url,
                        data=payload or None,
                        params=params,
                        headers=headers,
                        timeout=self.timeout,
                        verify=self.verify,
                    )
            except requests.exceptions.SSLError as exc:
                # A certificate that is not trusted now will not be trusted in a second either.
                raise NetworkError(method, url, attempt, False, failure_reason(exc), client_request_id) from exc
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                # A request that may have arrived is resent only if sending it twice is harmless.
                safe = idempotent or never_sent(exc)
                delay = self.retry.delay(None, attempt) if safe else None
                reason = failure_reason(exc)
                log.info("%s %s: %s (attempt %d)", method, path, reason, attempt)
                if delay is None or past_deadline(delay):
                    raise NetworkError(method, url, attempt, not safe, reason, client_request_id) from exc
                self._sleep(delay)
                slept += delay
                continue
            if response.status_code < 400:
                return GraphResponse(
                    response.status_code,
                    _success_body(response, method.upper(), url),
                    response.headers,
                    response.headers.get("request-id"),
                    client_request_id,
                    attempt,
                    url,
                )
            body = _json_or_none(response)
            error = error_from_response(
                response.status_code, body, response.headers, client_request_id=client_request_id
            )
            delay = self.retry.delay(error, attempt) if (idempotent or error.status in (429, 503)) else None
            if delay is None or past_deadline(delay):
                raise error  # a 429/503 carries .retry_after: the caller may wait for it, or not
            log.info("%s %s: %d, retrying in %.1f s", method, path, error.status, delay)
            self._sleep(delay)
            slept += delay

    def iter_pages(
        self, path: str, *, operation: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's ``value`` list, following ``@odata.nextLink`` to the end."""
        next_path: str | None = path
        next_params = params
        while next_path:
            response = self.request("GET", next_path, operation=operation, params=next_params)
            page = response.body if isinstance(response.body, dict) else {}
            items = page.get("value")
            link = page.get("@odata.nextLink")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise _unexpected(response, "a collection without a 'value' list of objects")
            if link is not None and not isinstance(link, str):
                raise _unexpected(response, "an '@odata.nextLink' that is not a URL")
            yield items
            next_path, next_params = link, None

    def _list(self, path: str, operation: str, top: int | None, select: Sequence[str] | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        if top:
            params["$top"] = top
        if select:
            params["$select"] = ",".join(select)
        return [item for page in self.iter_pages(path, operation=operation, params=params) for item in page]

    # --- activities --------------------------------------------------------

    def get_activity(self, activity_id: str) -> LearningCourseActivity:
        """``GET /employeeExperience/learningCourseActivities/{id}``."""
        path = paths.activity(activity_id)
        return _entity(parse_activity, self.request("GET", path, operation="get_activity"))

    def get_activity_by_external_id(self, registration_id: str, external_id: str) -> LearningCourseActivity:
        """``GET .../learningCourseActivities(externalcourseActivityId='{externalId}')``."""
        path = paths.activity_by_external_id(registration_id, external_id)
        return _entity(parse_activity, self.request("GET", path, operation="get_activity_by_external_id"))

    def list_provider_activities(
        self, registration_id: str, *, top: int | None = None, select: Sequence[str] | None = None
    ) -> list[LearningCourseActivity]:
        """Every activity of a provider, all pages."""
        items = self.list_provider_activities_json(registration_id, top=top, select=select)
        return _items(parse_activity, items, self.graph_url + self._activities(registration_id))

    def list_provider_activities_json(
        self, registration_id: str, *, top: int | None = None, select: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every activity of a provider as Graph's JSON, all pages (the fast path for frames)."""
        return self._list(self._activities(registration_id), "list_provider_activities", top, select)

    def list_learner_activities(self, user_id: str = "me", *, top: int | None = None) -> list[LearningCourseActivity]:
        """A learner's activities (delegated); ``user_id="me"`` is the signed-in user."""
        path = paths.learner_activities(user_id)
        return _items(parse_activity, self._list(path, "list_learner_activities", top, None), self.graph_url + path)

    def create_activity(self, registration_id: str, body: Mapping[str, Any]) -> LearningCourseActivity:
        """``POST`` a new activity; returns it as Graph stored it (with its id)."""
        check_create(body)  # what Graph would refuse is refused here, naming the same field
        path = self._activities(registration_id)
        return _entity(parse_activity, self.request("POST", path, operation="create_activity", json=dict(body)))

    def patch_activity(self, registration_id: str, activity_id: str, body: Mapping[str, Any]) -> GraphResponse:
        """``PATCH`` an activity with a body as given, unchecked (``learnkit.update_activity`` validates first).

        Example: ``client.patch_activity(reg_id, act_id, {"@odata.type": ..., "status": "completed"}).status``
        """
        path = f"{self._activities(registration_id)}/{segment(activity_id, 'activity_id')}"
        return self.request("PATCH", path, operation="update_activity", json=dict(body))

    def patch_activity_by_external_id(
        self, registration_id: str, external_id: str, body: Mapping[str, Any]
    ) -> GraphResponse:
        """``PATCH .../learningCourseActivities(externalcourseActivityId='{externalId}')`` with a body as given."""
        path = paths.activity_by_external_id(registration_id, external_id)
        return self.request("PATCH", path, operation="update_activity_by_external_id", json=dict(body))

    def delete_activity(self, registration_id: str, activity_id: str) -> GraphResponse:
        """``DELETE`` an activity."""
        path = f"{self._activities(registration_id)}/{segment(activity_id, 'activity_id')}"
        return self.request("DELETE", path, operation="delete_activity")

    # --- providers ---------------------------------------------------------

    def list_providers(self) -> list[LearningProvider]:
        """The tenant's learning providers (delegated)."""
        items = self._list(PROVIDERS, "list_providers", None, None)
        return _items(LearningProvider.model_validate, items, self.graph_url + PROVIDERS)

    def get_provider(self, registration_id: str) -> LearningProvider:
        """One provider (delegated)."""
        path = self._provider(registration_id)
        return _entity(LearningProvider.model_validate, self.request("GET", path, operation="get_provider"))

    def patch_provider(self, registration_id: str, body: Mapping[str, Any]) -> GraphResponse:
        """``PATCH`` a provider (delegated) with a body as given, e.g. ``{"isCourseActivitySyncEnabled": True}``."""
        return self.request("PATCH", self._provider(registration_id), operation="update_provider", json=dict(body))

    def create_provider(self, body: Mapping[str, Any]) -> LearningProvider:
        """``POST /employeeExperience/learningProviders`` (delegated): register a provider; returns it with its new id.

        ``displayName`` and the four logo URLs are required (``learnkit.catalog.check_provider``).
        Example: ``client.create_provider({"displayName": "Contoso Academy", **logos}).id`` is its registrationId
        """
        check_provider(body, creating=True)  # what Graph would refuse is refused here, naming the same field
        response = self.request("POST", PROVIDERS, operation="create_provider", json=dict(body))
        return _entity(LearningProvider.model_validate, response)

    def delete_provider(self, registration_id: str) -> GraphResponse:
        """``DELETE`` a provider's registration (delegated), its contents and course activities with it; 204.

        Example: ``client.delete_provider(registration_id).status`` is ``204``
        """
        return self.request("DELETE", self._provider(registration_id), operation="delete_provider")

    # --- contents ----------------------------------------------------------

    def list_contents(self, registration_id: str, *, top: int | None = None) -> list[LearningContent]:
        """A provider's learning contents, all pages."""
        path = self._provider(registration_id) + "/learningContents"
        return _items(
            LearningContent.model_validate, self._list(path, "list_contents", top, None), self.graph_url + path
        )

    def get_content(self, registration_id: str, content_id: str) -> LearningContent:
        """One learning content by id."""
        path = f"{self._provider(registration_id)}/learningContents/{segment(content_id, 'content_id')}"
        return _entity(LearningContent.model_validate, self.request("GET", path, operation="get_content"))

    def upsert_content(self, registration_id: str, external_id: str, body: Mapping[str, Any]) -> LearningContent:
        """``PATCH .../learningContents(externalId='{externalId}')``: Graph's documented way to add a content (or
        replace one with that key); returns it as stored.

        Example: ``client.upsert_content(reg, "onboarding-101", {"title": "Onboarding 101", ...}).id``
        """
        check_content({**body, "externalId": external_id}, creating=True)
        path = self._provider(registration_id) + f"/learningContents(externalId='{paths.key_literal(external_id)}')"
        response = self.request("PATCH", path, operation="upsert_content", json=dict(body))
        return _entity(LearningContent.model_validate, response)

    def create_content(self, registration_id: str, body: Mapping[str, Any]) -> LearningContent:
        """``POST`` a learning content; returns it as stored. Graph's pages do not document this request (its
        metadata declares it): ``upsert_content`` is the documented way."""
        check_content(body, creating=True, service_set=CONTENT_POST_SERVICE_SET)
        path = self._provider(registration_id) + "/learningContents"
        response = self.request("POST", path, operation="create_content", json=dict(body))
        return _entity(LearningContent.model_validate, response)

    # --- users -------------------------------------------------------------

    def get_user(self, user_id: str, *, select: Sequence[str] | None = None) -> dict[str, Any]:
        """``GET /users/{id | userPrincipalName}``: the user's JSON (``select``: only those properties).

        Names in bulk go through ``learnkit.names`` (``$batch``, cached) instead.
        Example: ``client.get_user(learner_id, select=["displayName", "mail"])["displayName"]``
        """
        params = {"$select": ",".join(select)} if select else None
        response = self.request("GET", paths.user(user_id), operation="get_user", params=params)
        if not isinstance(response.body, dict):
            raise _unexpected(response, "no JSON object where a user was expected")
        return dict(response.body)

    # --- batching ----------------------------------------------------------

    def batch(
        self, requests_: Sequence[Mapping[str, Any]], *, operation: str = "update_activity"
    ) -> list[dict[str, Any]]:
        """``POST /$batch`` (at most ``BATCH_LIMIT`` sub-requests); the sub-responses, ordered as sent.

        The token is the kind ``operation`` needs; sub-responses are returned as
        they are (a 429 inside is for the caller to retry: see ``learnkit.bulk``).
        """
        if not 0 < len(requests_) <= BATCH_LIMIT:
            raise InvalidInputError(
                "requests", "invalid", f"a batch holds 1 to {BATCH_LIMIT} requests, got {len(requests_)}"
            )
        violation = batch_rule_violation(requests_)
        if violation is not None:
            raise InvalidInputError(violation[0], "invalid", violation[1])
        # The batch may be resent after a dropped connection only if each of its requests may be.
        idempotent = all(str(r.get("method", "")).upper() in _IDEMPOTENT for r in requests_)
        # Each sub-request opts into evolvable enum members as a direct request does.
        requests_ = [
            {**r, "headers": {"Prefer": INCLUDE_UNKNOWN_ENUM_MEMBERS, **(r.get("headers") or {})}} for r in requests_
        ]
        response = self.request(
            "POST", "/$batch", operation=operation, json={"requests": list(requests_)}, idempotent=idempotent
        )
        order = {str(r["id"]): i for i, r in enumerate(requests_)}
        responses = response.body.get("responses") if isinstance(response.body, dict) else None
        if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
            raise _unexpected(response, "a $batch answer without a 'responses' list of objects")
        return sorted(responses, key=lambda r: order.get(str(r.get("id")), len(order)))

    # --- paths -------------------------------------------------------------

    def _provider(self, registration_id: str) -> str:
        return paths.provider(registration_id)

    def _activities(self, registration_id: str) -> str:
        return paths.provider_activities(registration_id)


# Compact, and refusing NaN and Infinity as requests' json= does (they are not JSON).
_JSON_ENCODER = json_module.JSONEncoder(allow_nan=False, separators=(",", ":"))


def _encode_json(value: Any) -> bytes:
    try:
        return _JSON_ENCODER.encode(value).encode()
    except ValueError as exc:
        raise requests.exceptions.InvalidJSONError(exc) from None


def _json_or_none(response: requests.Response) -> Any:
    """An error answer's JSON, or its text wrapped as Graph's error shape (a proxy's HTML page)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": "", "message": response.text[:500]}}


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _success_body(response: requests.Response, method: str, url: str) -> dict[str, Any] | None:
    """A success's body: a JSON object, or None where no body is Graph's answer; else a typed error."""
    content_type = response.headers.get("Content-Type", "")

    def refuse(detail: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            url,
            response.status_code,
            content_type,
            detail,
            response.headers.get("request-id"),
            response.request.headers.get("client-request-id"),
        )

    if not response.content:
        if response.status_code in (202, 204, 205) or method in _MAY_BE_EMPTY:
            return None
        raise refuse("an empty body where a JSON object was expected")
    if response.status_code in (204, 205):
        return None  # no body by definition: whatever followed is not this answer's
    if not _is_json(content_type):
        raise refuse("a body that is not JSON")
    try:
        body = response.json()
    except ValueError:
        raise refuse("a body that does not parse as JSON") from None
    if not isinstance(body, dict):
        raise refuse(f"a JSON {type(body).__name__} where a JSON object was expected")
    return body


def _unexpected(response: GraphResponse, detail: str) -> UnexpectedResponseError:
    content_type = response.headers.get("Content-Type", "")
    return UnexpectedResponseError(
        response.url, response.status, content_type, detail, response.request_id, response.client_request_id
    )


def _entity(parse: Callable[[Any], _M], response: GraphResponse) -> _M:
    """One entity from a success's body: a JSON object with an id, of the model's shape."""
    body = response.body
    if not isinstance(body, dict) or not body.get("id"):
        raise _unexpected(response, "a JSON object without an 'id' where an entity was expected")
    try:
        return parse(body)
    except (ValidationError, InvalidInputError) as exc:
        raise _unexpected(response, f"an entity that does not fit its model ({_first_problem(exc)})") from None


def _items(parse: Callable[[Any], _M], items: list[dict[str, Any]], url: str) -> list[_M]:
    try:
        return [parse(item) for item in items]
    except (ValidationError, InvalidInputError) as exc:
        raise UnexpectedResponseError(
            url, 200, "application/json", f"an item that does not fit its model ({_first_problem(exc)})"
        ) from None


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return f"{where}: {first.get('msg', '')}"
    return str(exc)
