"""``GraphClient``: one HTTP session to Graph (or the sandbox), one method per endpoint.

It picks the token kind each operation needs from ``learnkit.permissions``,
sets a ``client-request-id`` on every request, retries what Graph says to retry
(``learnkit.retry``), turns errors into typed exceptions (``learnkit.errors``)
and follows ``@odata.nextLink``.

Example::

    with learnkit.sandbox.start() as sb:
        client = GraphClient.for_sandbox(sb)
        activity = client.get_activity(sb.demo["assignment_id"])
"""

from __future__ import annotations

import logging
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from learnkit.auth import ClientSecretCredential, DeviceCodeCredential, TokenSource, token_claims
from learnkit.clouds import get_cloud
from learnkit.errors import InvalidInputError, NetworkError, TokenError, error_from_response
from learnkit.models import (
    CONTENT_POST_SERVICE_SET,
    INCLUDE_UNKNOWN_ENUM_MEMBERS,
    LearningContent,
    LearningCourseActivity,
    LearningProvider,
    batch_rule_violation,
    check_content,
    check_create,
    parse_activity,
)
from learnkit.permissions import PERMISSIONS, TokenKind
from learnkit.retry import RetryPolicy

if TYPE_CHECKING:
    from learnkit.sandbox import Sandbox

__all__ = ["GraphClient", "GraphResponse", "PermissionWarning"]

log = logging.getLogger(__name__)

_PROVIDERS = "/employeeExperience/learningProviders"
_IDEMPOTENT = frozenset({"GET", "PATCH", "PUT", "DELETE"})


class PermissionWarning(UserWarning):
    """The token does not carry the permission an operation needs (read from its claims)."""


@dataclass(frozen=True)
class GraphResponse:
    """What came back: status, parsed JSON (or None), ids, and how many tries it took."""

    status: int
    body: Any
    headers: Mapping[str, str]
    request_id: str | None
    client_request_id: str
    attempts: int


def _segment(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(name, "empty", "shouldn't be empty")
    return quote(value, safe=":@")


def _key(value: str) -> str:
    """An OData key literal: single quotes doubled, then path-quoted."""
    return quote(value.replace("'", "''"), safe=":@")


class GraphClient:
    """A Graph v1.0 client for the learning API.

    ``credential`` gives application tokens, ``delegated`` delegated ones; each
    operation uses the kind ``learnkit.permissions`` says it needs and fails
    before sending when that kind is not configured. ``verify`` is a CA bundle
    path or a bool; ``timeout`` is (connect, read) seconds; ``retry`` bounds
    retries and the longest wait slept through.
    """

    def __init__(
        self,
        graph_url: str = "https://graph.microsoft.com/v1.0",
        *,
        credential: TokenSource | None = None,
        delegated: TokenSource | None = None,
        verify: bool | str = True,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        retry: RetryPolicy | None = None,
        trust_env: bool = True,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for source, kind in ((credential, "application"), (delegated, "delegated")):
            if source is not None and source.kind != kind:
                raise TokenError(f"{source!r} gives {source.kind} tokens, but was passed as the {kind} one")
        self.graph_url = graph_url.rstrip("/")
        self.credential = credential
        self.delegated = delegated
        self.verify = verify
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._warned: set[tuple[str, str]] = set()
        self.session = requests.Session()
        self.session.trust_env = trust_env
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def __repr__(self) -> str:
        return f"GraphClient({self.graph_url!r}, credential={self.credential!r}, delegated={self.delegated!r})"

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
        **options: Any,
    ) -> GraphClient:
        """A client for a real tenant: see ``learnkit.connect``."""
        from learnkit.auth import CertificateCredential

        chosen = get_cloud(cloud)
        credential: TokenSource | None = None
        if client_secret:
            credential = ClientSecretCredential(tenant_id, client_id, client_secret, cloud=chosen)
        elif certificate:
            credential = CertificateCredential(tenant_id, client_id, cloud=chosen, **certificate)
        delegated = DeviceCodeCredential(tenant_id, delegated_client_id, cloud=chosen) if delegated_client_id else None
        if credential is None and delegated is None:
            raise TokenError(
                "give client_secret or certificate for application tokens, "
                "or delegated_client_id for a device-code sign-in"
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
            raise TokenError(f"the sandbox has no app {app!r}: choose one of {', '.join(apps)}")
        chosen = apps[app]
        common: dict[str, Any] = {"authority": info["authority"], "verify": info["ca_cert"]}
        credential = None
        if chosen["kind"] == "application":
            credential = ClientSecretCredential(
                info["tenant_id"], chosen["client_id"], chosen["client_secret"], **common
            )
        user = None
        if delegated or chosen["kind"] == "delegated":
            public = (
                chosen if chosen["kind"] == "delegated" else next(a for a in info["apps"] if a["kind"] == "delegated")
            )
            user = DeviceCodeCredential(info["tenant_id"], public["client_id"], prompt=prompt, **common)
        options.setdefault("trust_env", False)
        return cls(info["graph_url"], credential=credential, delegated=user, verify=info["ca_cert"], **options)

    # --- the wire ----------------------------------------------------------

    def token_for(self, operation: str) -> tuple[TokenKind, str]:
        """The kind and token to use for an operation, or TokenError before anything is sent."""
        need = PERMISSIONS[operation]
        for kind in need.kinds:
            source = self.credential if kind == "application" else self.delegated
            if source is not None:
                token = source.get_token()
                self._preflight(operation, kind, token)
                return kind, token
        kinds = " or ".join(need.kinds)
        article = "an" if kinds.startswith("application") else "a"
        others = [p for p in need.accepted(need.kinds[0]) if p != need.least_privileged]
        fix = (
            "credential=ClientSecretCredential(...) or CertificateCredential(...)"
            if need.kinds[0] == "application"
            else "delegated=DeviceCodeCredential(...)"
        )
        raise TokenError(
            f"{operation} needs {article} {kinds} token with {need.least_privileged}"
            + (f" (or {', '.join(others)})" if others else "")
            + f", and this client has no {kinds} credential: pass {fix}"
        )

    def _preflight(self, operation: str, kind: TokenKind, token: str) -> None:
        claims = token_claims(token)
        held = set(claims.get("roles") or []) if kind == "application" else set(str(claims.get("scp") or "").split())
        accepted = PERMISSIONS[operation].accepted(kind)
        if claims and not held & set(accepted) and (operation, kind) not in self._warned:
            self._warned.add((operation, kind))
            warnings.warn(
                f"{operation}: the {kind} token carries none of {', '.join(accepted)}; "
                "Graph will likely answer 403. Grant the permission and consent.",
                PermissionWarning,
                stacklevel=4,
            )

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

        Raises the typed ``GraphError`` for an error answer, after retrying what may be retried.
        """
        url = path if path.startswith("https://") or path.startswith("http://") else self.graph_url + path
        if idempotent is None:
            idempotent = method.upper() in _IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            kind, token = self.token_for(operation)
            client_request_id = str(uuid.uuid4())
            headers = {
                "Authorization": f"Bearer {token}",
                "client-request-id": client_request_id,
                "Accept": "application/json",
                # learnkit's models keep enum values as strings, so it can take members Graph adds later.
                "Prefer": INCLUDE_UNKNOWN_ENUM_MEMBERS,
            }
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                    verify=self.verify,
                )
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                # Whether a non-idempotent request arrived is unknowable: only idempotent ones are resent.
                delay = self.retry.delay(None, attempt) if idempotent else None
                log.info("%s %s: connection error (attempt %d): %s", method, path, attempt, type(exc).__name__)
                if delay is None:
                    raise NetworkError(method, url, attempt, idempotent) from exc
                self._sleep(delay)
                continue
            log.debug("%s %s -> %d (attempt %d, %s token)", method, path, response.status_code, attempt, kind)
            body = _json_or_none(response)
            if response.status_code < 400:
                return GraphResponse(
                    response.status_code,
                    body,
                    response.headers,
                    response.headers.get("request-id"),
                    client_request_id,
                    attempt,
                )
            error = error_from_response(response.status_code, body, response.headers)
            delay = self.retry.delay(error, attempt) if (idempotent or error.status in (429, 503)) else None
            if delay is None:
                raise error
            log.info("%s %s: %d, retrying in %.1f s", method, path, error.status, delay)
            self._sleep(delay)

    def iter_pages(
        self, path: str, *, operation: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's ``value`` list, following ``@odata.nextLink`` to the end."""
        next_path: str | None = path
        next_params = params
        while next_path:
            page = self.request("GET", next_path, operation=operation, params=next_params).body or {}
            yield list(page.get("value", []))
            next_path, next_params = page.get("@odata.nextLink"), None

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
        path = f"/employeeExperience/learningCourseActivities/{_segment(activity_id, 'activity_id')}"
        return parse_activity(self.request("GET", path, operation="get_activity").body)

    def get_activity_by_external_id(self, registration_id: str, external_id: str) -> LearningCourseActivity:
        """``GET .../learningCourseActivities(externalcourseActivityId='{externalId}')``."""
        path = self._activities(registration_id) + f"(externalcourseActivityId='{_key(external_id)}')"
        return parse_activity(self.request("GET", path, operation="get_activity_by_external_id").body)

    def list_provider_activities(
        self, registration_id: str, *, top: int | None = None, select: Sequence[str] | None = None
    ) -> list[LearningCourseActivity]:
        """Every activity of a provider, all pages."""
        return [
            parse_activity(item) for item in self.list_provider_activities_json(registration_id, top=top, select=select)
        ]

    def list_provider_activities_json(
        self, registration_id: str, *, top: int | None = None, select: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every activity of a provider as Graph's JSON, all pages (the fast path for frames)."""
        return self._list(self._activities(registration_id), "list_provider_activities", top, select)

    def list_learner_activities(self, user_id: str = "me", *, top: int | None = None) -> list[LearningCourseActivity]:
        """A learner's activities (delegated); ``user_id="me"`` is the signed-in user."""
        base = "/me" if user_id == "me" else f"/users/{_segment(user_id, 'user_id')}"
        items = self._list(f"{base}/employeeExperience/learningCourseActivities", "list_learner_activities", top, None)
        return [parse_activity(item) for item in items]

    def create_activity(self, registration_id: str, body: Mapping[str, Any]) -> LearningCourseActivity:
        """``POST`` a new activity; returns it as Graph stored it (with its id)."""
        check_create(body)  # what Graph would refuse is refused here, naming the same field
        response = self.request("POST", self._activities(registration_id), operation="create_activity", json=dict(body))
        return parse_activity(response.body)

    def update_activity(self, registration_id: str, activity_id: str, body: Mapping[str, Any]) -> GraphResponse:
        """``PATCH`` an activity with a body as given (``learnkit.update_activity`` validates first)."""
        path = f"{self._activities(registration_id)}/{_segment(activity_id, 'activity_id')}"
        return self.request("PATCH", path, operation="update_activity", json=dict(body))

    def update_activity_by_external_id(
        self, registration_id: str, external_id: str, body: Mapping[str, Any]
    ) -> GraphResponse:
        """``PATCH .../learningCourseActivities(externalcourseActivityId='{externalId}')``."""
        path = self._activities(registration_id) + f"(externalcourseActivityId='{_key(external_id)}')"
        return self.request("PATCH", path, operation="update_activity_by_external_id", json=dict(body))

    def delete_activity(self, registration_id: str, activity_id: str) -> GraphResponse:
        """``DELETE`` an activity."""
        path = f"{self._activities(registration_id)}/{_segment(activity_id, 'activity_id')}"
        return self.request("DELETE", path, operation="delete_activity")

    # --- providers ---------------------------------------------------------

    def list_providers(self) -> list[LearningProvider]:
        """The tenant's learning providers (delegated)."""
        return [LearningProvider.model_validate(p) for p in self._list(_PROVIDERS, "list_providers", None, None)]

    def get_provider(self, registration_id: str) -> LearningProvider:
        """One provider (delegated)."""
        body = self.request("GET", self._provider(registration_id), operation="get_provider").body
        return LearningProvider.model_validate(body)

    def update_provider(self, registration_id: str, body: Mapping[str, Any]) -> GraphResponse:
        """``PATCH`` a provider (delegated), e.g. ``{"isCourseActivitySyncEnabled": True}``."""
        return self.request("PATCH", self._provider(registration_id), operation="update_provider", json=dict(body))

    # --- contents ----------------------------------------------------------

    def list_contents(self, registration_id: str, *, top: int | None = None) -> list[LearningContent]:
        """A provider's learning contents, all pages."""
        items = self._list(self._provider(registration_id) + "/learningContents", "list_contents", top, None)
        return [LearningContent.model_validate(item) for item in items]

    def get_content(self, registration_id: str, content_id: str) -> LearningContent:
        """One learning content by id."""
        path = f"{self._provider(registration_id)}/learningContents/{_segment(content_id, 'content_id')}"
        return LearningContent.model_validate(self.request("GET", path, operation="get_content").body)

    def create_content(self, registration_id: str, body: Mapping[str, Any]) -> LearningContent:
        """``POST`` a learning content; returns it as stored."""
        check_content(body, creating=True, service_set=CONTENT_POST_SERVICE_SET)
        path = self._provider(registration_id) + "/learningContents"
        return LearningContent.model_validate(
            self.request("POST", path, operation="create_content", json=dict(body)).body
        )

    # --- batching ----------------------------------------------------------

    def batch(
        self, requests_: Sequence[Mapping[str, Any]], *, operation: str = "update_activity"
    ) -> list[dict[str, Any]]:
        """``POST /$batch`` (at most 20 sub-requests); the sub-responses, ordered as sent.

        The token is the kind ``operation`` needs; sub-responses are returned as
        they are (a 429 inside is for the caller to retry: see ``learnkit.bulk``).
        """
        if not 0 < len(requests_) <= 20:
            raise InvalidInputError("requests", "invalid", f"a batch holds 1 to 20 requests, got {len(requests_)}")
        violation = batch_rule_violation(requests_)
        if violation is not None:
            raise InvalidInputError(violation[0], "invalid", violation[1])
        # Each sub-request opts into evolvable enum members as a direct request does.
        requests_ = [
            {**r, "headers": {"Prefer": INCLUDE_UNKNOWN_ENUM_MEMBERS, **(r.get("headers") or {})}} for r in requests_
        ]
        response = self.request(
            "POST", "/$batch", operation=operation, json={"requests": list(requests_)}, idempotent=True
        )
        order = {str(r["id"]): i for i, r in enumerate(requests_)}
        responses = list((response.body or {}).get("responses", []))
        return sorted(responses, key=lambda r: order.get(str(r.get("id")), len(order)))

    # --- paths -------------------------------------------------------------

    def _provider(self, registration_id: str) -> str:
        return f"{_PROVIDERS}/{_segment(registration_id, 'registration_id')}"

    def _activities(self, registration_id: str) -> str:
        return self._provider(registration_id) + "/learningCourseActivities"


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": "", "message": response.text[:500]}}
