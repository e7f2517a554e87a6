"""How the sandbox answers: Graph's error and entity shapes, and reading a request's body and query as Graph does.

The base of ``learnkit.sandbox.graph.GraphService``: a ``Failure`` raised anywhere becomes Graph's
error body (``graph_error_response``); ``Answers`` holds what every operation shares (the provider a
URL names, the JSON body, the query options, an entity, a page of a collection, 204). Codes and
messages come from ``learnkit.errors``.

Example: ``raise Failure(FieldInvalidError, fieldName="duration")`` answers 400 "Input field duration is invalid"
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.responses import JSONResponse, Response

from learnkit.errors import (
    FIELD_ERROR_BY_REASON,
    BadRequestError,
    FieldInvalidError,
    GraphError,
    InvalidInputError,
    InvalidRegistrationError,
    ProviderNotEnabledError,
    error_body,
)
from learnkit.sandbox.contract import Refusal
from learnkit.sandbox.metadata import mask_evolvable, wants_unknown_members
from learnkit.sandbox.odata import Query, QueryError, next_link, parse_query, project
from learnkit.sandbox.payload import UnreadableBody, read_json
from learnkit.sandbox.store import Collection, Store
from learnkit.times import graph_instant, parse_iso

__all__ = [
    "ODATA_JSON",
    "Answers",
    "Apply",
    "Call",
    "Failure",
    "field_failure",
    "graph_error_response",
    "now_stamp",
    "wire",
]

ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
#: The DateTimeOffset properties of the learning API's entities (activities and contents).
_DATETIME_OFFSETS = (
    "assignedDateTime",
    "completedDateTime",
    "startedDateTime",
    "createdDateTime",
    "lastModifiedDateTime",
)
_JSON_MEDIA_TYPES = ("application/json",)
_BAD_JSON = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
)

Apply = Callable[[], Response]


def now_stamp() -> str:
    """The ``date`` of an error's innerError."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


class Failure(Exception):
    """A Graph error answer for a row class of ``learnkit.errors``, its template filled from ``fill``.

    ``status`` overrides the class's (for answers recorded from a tenant, whatever their status).
    """

    def __init__(
        self,
        cls: type[GraphError],
        *,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        **fill: Any,
    ) -> None:
        super().__init__(cls.__name__)
        self.cls = cls
        self.message = message
        self.headers = dict(headers or {})
        self.fill = fill
        self.status = status if status is not None else (cls.row.status if cls.row else cls.default_status)

    @classmethod
    def refused(cls, refusal: Refusal) -> Failure:
        """The answer for a ``learnkit.sandbox.contract.Refusal``."""
        return cls(GraphError, status=refusal.status, code=refusal.code, message=refusal.message)


def graph_error_response(failure: Failure, ids: tuple[str, str]) -> JSONResponse:
    """The JSON response for a Failure, with Graph's error body."""
    body = error_body(
        failure.cls,
        request_id=ids[0],
        client_request_id=ids[1],
        date=now_stamp(),
        message=failure.message,
        **failure.fill,
    )
    return JSONResponse(body, status_code=failure.status, headers=failure.headers)


@dataclass(frozen=True)
class Call:
    """One Graph request as the service sees it."""

    method: str
    path: str
    query: str
    body: bytes
    headers: Mapping[str, str]
    ids: tuple[str, str]
    subrequest: bool = False

    @functools.cached_property
    def reveals_unknown_members(self) -> bool:
        """Whether the request asked for evolvable enum members by name (``Prefer``): read once a request."""
        return wants_unknown_members(self.headers)


def wire(key: str, value: Any) -> Any:
    """Graph's form of a DateTimeOffset property (``learnkit.times.graph_instant``); other values as they are.

    A value without an offset (a content's timestamps may come so: ``learnkit.catalog``) is UTC.

    >>> wire("createdDateTime", "2018-01-01T00:00:00"), wire("title", "2018")
    ('2018-01-01T00:00:00Z', '2018')
    """
    if key not in _DATETIME_OFFSETS or not isinstance(value, str):
        return value
    return graph_instant(value if parse_iso(value).tzinfo else value.strip() + "Z")


def field_failure(exc: InvalidInputError) -> Failure:
    """The 400 "Input field X ..." for a rule broken (``required``, ``invalid`` or ``empty``)."""
    return Failure(FIELD_ERROR_BY_REASON.get(exc.reason, FieldInvalidError), fieldName=exc.field)


class Answers:
    """What every operation of the sandbox's Graph shares: the store, the Graph URL, and these steps."""

    def __init__(self, store: Store, graph_url: str) -> None:
        self.store = store
        self.graph_url = graph_url

    def _provider(self, registration_id: str | None, *, write: bool = False) -> dict[str, Any]:
        """The provider a URL names; 400 for an unknown registrationId, and for an activity write while sync is off."""
        provider = self.store.get_provider(registration_id or "")
        if provider is None:
            raise Failure(InvalidRegistrationError)
        if write and not provider.get("isCourseActivitySyncEnabled"):
            raise Failure(ProviderNotEnabledError)
        return provider

    @staticmethod
    def _json_object(call: Call) -> dict[str, Any]:
        # Graph reads a body only as JSON, and only when Content-Type says so (its reference lists
        # "Content-Type: application/json. Required."); anything else is the same 400 as bad JSON.
        media_type = call.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in _JSON_MEDIA_TYPES:
            raise Failure(BadRequestError, message=_BAD_JSON)
        try:
            body = read_json(call.body)
        except UnreadableBody:
            raise Failure(BadRequestError, message=_BAD_JSON) from None
        except InvalidInputError as exc:
            raise field_failure(exc) from None
        if not isinstance(body, dict):
            raise Failure(BadRequestError, message=_BAD_JSON)
        return body

    @staticmethod
    def _query(
        call: Call, selectable: frozenset[str], *, collection: bool = True, entity: str = "learningCourseActivity"
    ) -> Query:
        try:
            return parse_query(call.query, selectable=selectable, collection=collection, entity=entity)
        except QueryError as exc:
            raise Failure(BadRequestError, message=str(exc)) from None

    # --- responses ----------------------------------------------------------------

    @staticmethod
    def _shown(call: Call, item: dict[str, Any]) -> dict[str, Any]:
        """An entity as this client may see it (evolvable enum members only on request)."""
        return mask_evolvable(item, reveal=call.reveals_unknown_members)

    def _entity(self, call: Call, context: str, item: dict[str, Any], query: Query, status: int = 200) -> Apply:
        def apply() -> Response:
            shown = project(self._shown(call, item), query.select)
            body = {"@odata.context": f"{self.graph_url}/$metadata#{context}/$entity", **shown}
            return JSONResponse(body, status_code=status, media_type=ODATA_JSON)

        return apply

    def _collection(self, call: Call, context: str, collection: Collection, key: str | None, query: Query) -> Apply:
        def apply() -> Response:
            page = self.store.page(
                collection,
                key,
                after=query.after,
                offset=query.skip if query.after is None else 0,
                limit=query.page_size,
                count=query.count,
            )
            body: dict[str, Any] = {"@odata.context": f"{self.graph_url}/$metadata#{context}"}
            if page.total is not None:
                body["@odata.count"] = page.total
            if page.next_after is not None:
                body["@odata.nextLink"] = next_link(self.graph_url, call.path, query, page.next_after)
            body["value"] = [project(self._shown(call, item), query.select) for item in page.items]
            return JSONResponse(body, media_type=ODATA_JSON)

        return apply

    @staticmethod
    def _no_content(action: Callable[[], None]) -> Apply:
        def apply() -> Response:
            action()
            return Response(status_code=204)

        return apply
