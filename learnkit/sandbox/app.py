"""The sandbox's ASGI app: Graph under ``/v1.0``, the identity endpoints under ``/{tenant}``.

Every response carries ``request-id`` and ``client-request-id``; every Graph
error, FastAPI's own 404/405/422 included, has Graph's error body. ``Guard``
holds the lines no request may cross: a body past Graph's 4 MiB gets 413, a
bug gets Graph's 500 without closing the keep-alive connection, and a client
that went away is one quiet log line.

Example: ``app = create_app(Services(store, identity, oauth, graph, faults, switches))``
"""

from __future__ import annotations

import asyncio
import html
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnkit.errors import BadRequestError, GraphError, InternalServerError, MethodNotAllowedError, NotFoundError
from learnkit.limits import MAX_BODY_BYTES
from learnkit.sandbox.batch import NESTED_BATCH, SUBREQUEST, run_batch
from learnkit.sandbox.faults import Faults
from learnkit.sandbox.graph import Call, Failure, GraphService, graph_error_response
from learnkit.sandbox.identity import Identity
from learnkit.sandbox.oauth import OAuthError, OAuthService
from learnkit.sandbox.seed import LEARNER_ID
from learnkit.sandbox.store import Store
from learnkit.sandbox.switches import Switches

__all__ = ["IDS", "Guard", "RequestIds", "Services", "create_app"]

#: Scope key holding (request-id, client-request-id).
IDS = "learnkit.ids"
_GRAPH_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]
_BATCH_ROUTE, _GRAPH_ROUTE = "/v1.0/$batch", "/v1.0/{rest:path}"
# The paths the two routes match, compiled as Starlette compiles them, so a sub-request takes a fast path
# only where the ``graph`` route would have answered it.
_BATCH_PATH, _GRAPH_PATH = compile_path(_BATCH_ROUTE)[0], compile_path(_GRAPH_ROUTE)[0]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_log = logging.getLogger("learnkit.sandbox")
# How much of an oversized body is read and dropped so the client sees the 413; past it, the connection is closed.
_DRAIN = 64 * 1024 * 1024


@dataclass(frozen=True)
class Services:
    """Everything the routes use."""

    store: Store
    identity: Identity
    oauth: OAuthService
    graph: GraphService
    faults: Faults
    switches: Switches


def request_ids(headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
    """A new ``request-id``, and the client's ``client-request-id`` from ``headers`` (else the request-id again).

    Example: ``request_ids([(b"client-request-id", b"abc")])[1] == "abc"``
    """
    request_id = str(uuid.uuid4())
    client_id = request_id
    for name, value in headers:
        if name == b"client-request-id":
            text = value.decode("latin-1").strip()
            if 0 < len(text) <= 128 and text.isprintable():
                client_id = text
    return request_id, client_id


def with_ids(headers: list[tuple[bytes, bytes]], ids: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    """Response ``headers`` with ``request-id`` and ``client-request-id`` set to ``ids`` (any earlier ones dropped)."""
    kept = [h for h in headers if h[0] not in (b"request-id", b"client-request-id")]
    return [*kept, (b"request-id", ids[0].encode()), (b"client-request-id", ids[1].encode("latin-1"))]


class RequestIds:
    """ASGI middleware: a new ``request-id`` per request, the client's ``client-request-id`` echoed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ids = scope[IDS] = request_ids(scope.get("headers", []))

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_ids(list(message.get("headers", [])), ids)}
            await send(message)

        await self.app(scope, receive, send_with_ids)


class _PayloadTooLarge(GraphError):
    """413: the request body is past Graph's limit."""

    default_status = 413


def _scope_ids(scope: Scope) -> tuple[str, str]:
    ids = scope.get(IDS)
    if isinstance(ids, tuple):
        return ids
    fresh = str(uuid.uuid4())
    return fresh, fresh


def _where(scope: Scope) -> str:
    client = scope.get("client")
    peer = f"{client[0]}:{client[1]}" if client else "a client"
    return f"{peer} ({scope.get('method', '?')} {scope.get('path', '?')})"


class Guard:
    """ASGI middleware: Graph's 413 past ``max_body`` bytes, Graph's 500 for a bug, a quiet line for a gone client.

    The body is read here, in full, before the app runs, so the app never meets a
    half-read body or a ``ClientDisconnect``. An exception that escapes the app
    is logged once with its traceback and answered with Graph's 500 (if nothing
    was sent yet) without re-raising: uvicorn closes the connection after an
    exception, which breaks the client's next request on that keep-alive socket.

    Example: ``app = RequestIds(Guard(FastAPI()))``
    """

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, *, more: bool) -> None:
        """Graph's 413, once the rest of the body is read and dropped (up to ``_DRAIN``; past that, close).

        A client such as requests sends its whole body before it reads an answer: closing
        at once would show it a broken pipe instead of the 413.
        """
        drained, complete = 0, not more
        while not complete and drained <= _DRAIN:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            drained += len(message.get("body", b""))
            complete = not message.get("more_body", False)
        await graph_error_response(self.too_large(complete=complete), _scope_ids(scope))(scope, _no_body, send)

    def too_large(self, *, complete: bool) -> Failure:
        """Graph's 413 for a body past ``max_body``; ``Connection: close`` when the rest was not read."""
        megabytes = self.max_body // (1024 * 1024)
        return Failure(
            _PayloadTooLarge,
            message=f"The maximum request length supported is {megabytes}MB.",
            headers={} if complete else {"Connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await self._too_large(scope, receive, send, more=True)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                _log.info("client %s went away before its request was read", _where(scope))
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(scope, receive, send, more=message.get("more_body", False))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, replay, tracked_send)
        except ClientDisconnect:
            _log.info("client %s went away before it was answered", _where(scope))
        except Exception:
            _log.exception("learnkit sandbox: unexpected error answering %s", _where(scope))
            if not started:
                response = graph_error_response(Failure(InternalServerError), _scope_ids(scope))
                await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _ids(request: Request) -> tuple[str, str]:
    ids = request.scope.get(IDS)
    if isinstance(ids, tuple):
        return ids
    fresh = str(uuid.uuid4())
    return fresh, fresh


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _call(scope: Scope, body: bytes, ids: tuple[str, str]) -> Call:
    """The Graph request a scope under ``/v1.0`` carries: its path as sent (percent-encoded), after the version."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return Call(
        method=scope["method"],
        path=raw_path.decode("latin-1")[len("/v1.0") :],
        query=scope.get("query_string", b"").decode("latin-1"),
        body=body,
        headers=Headers(scope=scope),
        ids=ids,
        subrequest=bool(scope.get(SUBREQUEST)),
    )


def _oauth_error(error: OAuthError, request: Request) -> JSONResponse:
    return JSONResponse(error.body(_ids(request)[1]), status_code=error.status, headers=_NO_STORE)


def create_app(services: Services) -> ASGIApp:
    """The ASGI app (FastAPI wrapped in RequestIds) serving Graph and the identity endpoints."""
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, title="learnkit sandbox")
    identity, oauth = services.identity, services.oauth
    guard = Guard(api)
    asgi = RequestIds(guard)

    def tenant_or_error(tenant: str) -> None:
        if tenant.lower() != identity.tenant_id:
            raise OAuthError(
                400, "invalid_tenant", 90002, "Tenant not found. Check the tenant id in the authority URL."
            )

    @api.get("/")
    async def root() -> dict[str, Any]:
        return {
            "service": "learnkit sandbox",
            "graph_url": f"{identity.base_url}/v1.0",
            "authority": identity.authority,
        }

    async def inner(scope: Scope, body: bytes) -> Response | None:
        """What RequestIds, Guard and the ``graph`` route answer a ``$batch`` sub-request, in plain code.

        Only for a path the ``graph`` route would take (else None: the whole app answers,
        FastAPI's 404 or the ``batch`` route's refusal). Sub-requests skip the middleware,
        routing and dependency solving that are most of their cost; the answer is the same.
        """
        path = scope["path"]
        if _BATCH_PATH.match(path) or not _GRAPH_PATH.match(path):
            return None
        ids = request_ids(scope["headers"])
        if len(body) > guard.max_body:
            response: Response = graph_error_response(guard.too_large(complete=True), ids)
        else:
            try:
                response = await services.graph.handle(_call(scope, body, ids))
            except Exception:  # Guard's rule: logged once, answered with Graph's 500
                _log.exception("learnkit sandbox: unexpected error answering %s", _where(scope))
                response = graph_error_response(Failure(InternalServerError), ids)
        response.raw_headers = with_ids(response.raw_headers, ids)
        return response

    @api.post(_BATCH_ROUTE)
    async def batch(request: Request) -> Response:
        if request.scope.get(SUBREQUEST):  # however its url was spelled (/%24batch, ...)
            return graph_error_response(Failure(BadRequestError, message=NESTED_BATCH), _ids(request))
        if services.faults.latency_ms:
            await asyncio.sleep(services.faults.latency_ms / 1000)
        # Graph checks the token of the batch itself: without one the answer is a 401, not 200 with a 401 each.
        refused = services.graph.refuse_unauthenticated(request.headers, _ids(request))
        if refused is not None:
            return refused
        refusal = services.graph.rules.refusal("batch", "/$batch")  # a tenant profile may record $batch refused
        if refusal is not None:
            return graph_error_response(Failure.refused(refusal), _ids(request))
        return await run_batch(asgi, inner, request.scope, await request.body(), services.faults, _ids(request))

    @api.api_route(_GRAPH_ROUTE, methods=_GRAPH_METHODS)
    async def graph(request: Request, rest: str) -> Response:
        return await services.graph.handle(_call(request.scope, await request.body(), _ids(request)))

    @api.get("/common/discovery/instance")
    async def instance_discovery() -> dict[str, Any]:
        host = identity.base_url.split("://", 1)[1]
        return {
            "tenant_discovery_endpoint": f"{identity.authority}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }

    @api.get("/{tenant}/v2.0/.well-known/openid-configuration")
    @api.get("/{tenant}/.well-known/openid-configuration")
    async def openid_configuration(request: Request, tenant: str) -> Response:
        try:
            tenant_or_error(tenant)
        except OAuthError as exc:
            return _oauth_error(exc, request)
        return JSONResponse(identity.openid_configuration())

    @api.get("/{tenant}/discovery/v2.0/keys")
    @api.get("/{tenant}/discovery/keys")
    async def keys(request: Request, tenant: str) -> Response:
        try:
            tenant_or_error(tenant)
        except OAuthError as exc:
            return _oauth_error(exc, request)
        return JSONResponse(identity.jwks())

    @api.post("/{tenant}/oauth2/v2.0/token")
    async def token(request: Request, tenant: str) -> Response:
        try:
            tenant_or_error(tenant)
            return JSONResponse(oauth.token(await _form(request)), headers=_NO_STORE)
        except OAuthError as exc:
            return _oauth_error(exc, request)

    @api.post("/{tenant}/oauth2/v2.0/devicecode")
    async def devicecode(request: Request, tenant: str) -> Response:
        try:
            tenant_or_error(tenant)
            return JSONResponse(oauth.device_authorization(await _form(request)), headers=_NO_STORE)
        except OAuthError as exc:
            return _oauth_error(exc, request)

    @api.get("/{tenant}/oauth2/v2.0/authorize")
    async def authorize(request: Request, tenant: str) -> Response:
        return _oauth_error(
            OAuthError(
                400,
                "unsupported_response_type",
                70049,
                "The sandbox has no interactive sign-in: use the device code flow.",
            ),
            request,
        )

    @api.get("/devicelogin")
    async def devicelogin_page() -> HTMLResponse:
        return HTMLResponse(_DEVICE_PAGE.format(message=""))

    @api.post("/devicelogin")
    async def devicelogin(request: Request) -> HTMLResponse:
        code = (await _form(request)).get("user_code", "")
        user = services.store.get_user(LEARNER_ID) or {}
        if oauth.approve(code):
            message = (
                f"Signed in as {html.escape(str(user.get('displayName', 'the demo learner')))}. "
                "You can close this page."
            )
        else:
            message = "That code is not valid or has expired."
        return HTMLResponse(_DEVICE_PAGE.format(message=f"<p>{message}</p>"))

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            failure = Failure(MethodNotAllowedError)
        elif exc.status_code == 404:
            segment = request.url.path.strip("/").split("/")[0]
            failure = Failure(NotFoundError, message=f"Resource not found for the segment '{segment}'.")
        else:
            failure = Failure(BadRequestError, message=str(exc.detail))
        return graph_error_response(failure, _ids(request))

    @api.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return graph_error_response(Failure(BadRequestError, message="The request is not valid."), _ids(request))

    @api.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        return graph_error_response(Failure(InternalServerError), _ids(request))

    return asgi


_DEVICE_PAGE = """<!doctype html>
<html><head><title>learnkit sandbox sign-in</title></head>
<body style="font-family: sans-serif; max-width: 30em; margin: 3em auto">
<h1>learnkit sandbox</h1>
<p>Enter the code your app shows to sign in as the demo learner.</p>
<form method="post"><input name="user_code" autofocus> <button>Sign in</button></form>
{message}
</body></html>
"""
