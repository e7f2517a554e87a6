"""JSON batching: ``POST /v1.0/$batch``, each sub-request answered in-process as the app would answer it alone.

A sub-request is a synthetic ASGI scope that carries the outer ``Authorization``
header, so token, permission, fault and rate-limit checks apply to it on its own;
a request whose ``dependsOn`` target failed gets 424. The app's ``inner`` path
(``learnkit.sandbox.app``) answers the sub-requests its Graph route serves without
the ASGI middleware, routing and dependency solving (most of a sub-request's cost);
any other path goes through the whole app. A JSON sub-answer's text goes into the
batch's answer as rendered, never decoded and encoded again.

Example: ``response = await run_batch(app, inner, request.scope, await request.body(), faults, ids)``
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Scope

from learnkit.errors import BadRequestError, FailedDependencyError, InternalServerError, InvalidInputError, error_body
from learnkit.limits import BATCH_LIMIT, check_json
from learnkit.models import batch_rule_violation
from learnkit.sandbox.faults import Faults
from learnkit.sandbox.graph import DroppedResponse, Failure, graph_error_response, now_stamp
from learnkit.sandbox.payload import UnreadableBody, plainly_within_limits, read_json

__all__ = ["NESTED_BATCH", "SUBREQUEST", "Inner", "run_batch"]


#: Scope key that marks an in-process sub-request.
SUBREQUEST = "learnkit.subrequest"
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
NESTED_BATCH = "Nested batch requests are not supported."
#: A sub-request's (scope, body) to the response the app would send for it, or None to send it through the app.
Inner = Callable[[Scope, bytes], Awaitable[Response | None]]
# An HTTP header name is a token; a value is visible Latin-1 text and tabs (no CR, LF or NUL to split on).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
# What stays as written in a sub-request's url; anything else (€, spaces) is percent-encoded as UTF-8, as
# HTTP clients do before sending a URL.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_HEADER_NAMES = {
    "content-type": "Content-Type",
    "retry-after": "Retry-After",
    "location": "Location",
    "allow": "Allow",
    "www-authenticate": "WWW-Authenticate",
    "request-id": "request-id",
    "client-request-id": "client-request-id",
    "odata-version": "OData-Version",
    "preference-applied": "Preference-Applied",
}


def _bad(message: str) -> Failure:
    return Failure(BadRequestError, message=message)


def _validate(payload: Any, *, text: bool = True) -> list[dict[str, Any]]:
    """The batch's requests, each checked; ``text=False`` when its bytes showed no text to refuse."""
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _bad("Invalid batch payload format: expected an object with a 'requests' array.")
    requests: list[Any] = payload["requests"]
    if not requests:
        raise _bad("Invalid batch payload format: 'requests' is empty.")
    if len(requests) > BATCH_LIMIT:
        raise _bad(f"Number of batch requests exceeded the limit of {BATCH_LIMIT}.")
    seen: set[str] = set()
    checked = []
    for item in requests:
        if not isinstance(item, dict):
            raise _bad("Invalid batch payload format: each request must be an object.")
        try:  # a body's text is its sub-request's to refuse, with the field named in that sub-response
            if text:
                check_json({key: value for key, value in item.items() if key != "body"})
        except InvalidInputError as exc:
            raise _bad(f"Invalid batch payload format: a request's {exc.field} {exc.detail}.") from None
        rid, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
            raise _bad("Invalid batch payload format: every request needs an 'id'.")
        rid = str(rid)
        seen.add(rid.lower())
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise _bad(f"Invalid method for batch request '{rid}'.")
        if not isinstance(url, str) or not url or "://" in url:
            raise _bad(
                f"Invalid url for batch request '{rid}': give a URL relative to the version, "
                "e.g. /employeeExperience/learningProviders."
            )
        if unquote(url).strip("/").split("?")[0].lower() == "$batch":
            raise _bad(NESTED_BATCH)
        headers = item.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise _bad(f"Invalid headers for batch request '{rid}'.")
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
                shown = name.encode("ascii", "backslashreplace").decode()
                raise _bad(
                    f"Invalid header '{shown}' for batch request '{rid}': a header name is a token and "
                    "its value Latin-1 text without line breaks."
                )
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, (str, int)) for d in depends):
            raise _bad(f"Invalid dependsOn for batch request '{rid}'.")
        checked.append(
            {**item, "id": rid, "method": method.upper(), "headers": headers, "dependsOn": [str(d) for d in depends]}
        )
    # Ids are not case-sensitive, and a body needs its Content-Type: Graph fails the whole batch otherwise.
    violation = batch_rule_violation(checked)
    if violation is not None:
        raise _bad(violation[1])
    spelled = {item["id"].lower(): item["id"] for item in checked}
    for item in checked:
        for target in item["dependsOn"]:
            if target.lower() not in seen or target.lower() == item["id"].lower():
                raise _bad(f"Batch request '{item['id']}' depends on '{target}', which is not in the batch.")
        item["dependsOn"] = [spelled[target.lower()] for target in item["dependsOn"]]
    return checked


def _order(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {r["id"]: r for r in requests}
    done: list[dict[str, Any]] = []
    state: dict[str, str] = {}

    def visit(rid: str) -> None:
        if state.get(rid) == "done":
            return
        if state.get(rid) == "visiting":
            raise _bad("The dependsOn of the batch requests form a cycle.")
        state[rid] = "visiting"
        for target in by_id[rid]["dependsOn"]:
            visit(target)
        state[rid] = "done"
        done.append(by_id[rid])

    for request in requests:
        visit(request["id"])
    return done


def _scope(outer: Scope, sub: Mapping[str, Any]) -> tuple[Scope, bytes]:
    """The ASGI scope and body of a sub-request sent alone: its url under ``/v1.0``, the outer token."""
    url = "/" + quote(str(sub["url"]), safe=_URL_SAFE).lstrip("/")
    path, _, query = url.partition("?")
    headers: list[tuple[bytes, bytes]] = [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in sub["headers"].items()
        if k.lower() not in ("authorization", "content-length")
    ]
    for name, value in outer["headers"]:
        if name == b"authorization":
            headers.append((name, value))
    body = b""
    if "body" in sub and sub["body"] is not None:
        body = json.dumps(sub["body"]).encode()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": sub["method"],
        "scheme": outer.get("scheme", "https"),
        "path": "/v1.0" + unquote(path),
        "raw_path": ("/v1.0" + path).encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": outer.get("client"),
        "server": outer.get("server"),
        "state": {},
        SUBREQUEST: True,
    }
    return scope, body


async def _dispatch(app: ASGIApp, inner: Inner, outer: Scope, sub: Mapping[str, Any]) -> dict[str, Any]:
    """The sub-response: ``inner``'s answer, else the whole app's; a JSON answer's text kept under ``"raw"``."""
    scope, body = _scope(outer, sub)
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                key = name.decode("latin-1").lower()
                if key in _HEADER_NAMES:
                    response_headers[_HEADER_NAMES[key]] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    # A JSONResponse's body is json.dumps's text with the settings the batch's own answer renders with,
    # so it goes into that answer as it is: decoding and encoding it again would give the same bytes.
    rendered = False
    try:
        response = await inner(scope, body)
        if response is None:
            await app(scope, receive, send)
        elif type(response).__call__ is Response.__call__ and response.background is None:
            # What Response.__call__ would send, read off the response without the two messages.
            rendered = isinstance(response, JSONResponse)
            await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
            chunks.append(bytes(response.body))
        else:
            await response(scope, receive, send)
    except Exception:
        status, rendered = 500, False
        response_headers = {"Content-Type": "application/json"}
        chunks = [json.dumps(error_body(InternalServerError, request_id="", date=now_stamp())).encode()]
    answer: dict[str, Any] = {"id": sub["id"], "status": status, "headers": response_headers}
    raw = b"".join(chunks)
    if raw and rendered:
        answer["raw"] = raw
    elif raw:
        try:
            answer["body"] = json.loads(raw)
        except ValueError:
            answer["body"] = raw.decode("utf-8", "replace")
    return answer


def _render(value: Any) -> bytes:
    """``value`` as ``JSONResponse`` renders it (``tests/sandbox/test_sandbox_batch_equivalence.py`` checks it)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def _answer_text(answers: list[dict[str, Any]]) -> bytes:
    """``{"responses": answers}`` as a JSONResponse renders it, each ``"raw"`` body put in as its ``"body"``."""
    parts = []
    for answer in answers:
        raw = answer.get("raw")
        if raw is None:
            parts.append(_render(answer))
        else:
            head = _render({key: value for key, value in answer.items() if key != "raw"})
            parts.append(head[:-1] + b',"body":' + raw + b"}")
    return b'{"responses":[' + b",".join(parts) + b"]}"


async def run_batch(
    app: ASGIApp, inner: Inner, outer: Scope, body: bytes, faults: Faults, ids: tuple[str, str]
) -> Response:
    """The answer to one ``$batch`` request: 200 with every sub-response, or a 400 for a bad batch.

    ``inner`` answers a sub-request as ``app`` would, or returns None to leave it to ``app``.
    """
    try:
        try:
            payload = read_json(body, text=False)
        except UnreadableBody as exc:
            raise _bad(f"Invalid batch payload format: {exc}.") from None
        requests = _order(_validate(payload, text=not plainly_within_limits(body)))
    except Failure as failure:
        return graph_error_response(failure, ids)
    if faults.decide_drop():
        return DroppedResponse()
    results: dict[str, dict[str, Any]] = {}
    for sub in requests:
        failed = [d for d in sub["dependsOn"] if not 200 <= results[d]["status"] < 300]
        if failed:
            results[sub["id"]] = {
                "id": sub["id"],
                "status": 424,
                "headers": {"Content-Type": "application/json"},
                "body": error_body(
                    FailedDependencyError,
                    request_id=ids[0],
                    client_request_id=ids[1],
                    date=now_stamp(),
                    message=f"The request it depends on ('{failed[0]}') failed.",
                ),
            }
            continue
        results[sub["id"]] = await _dispatch(app, inner, outer, sub)
    ordered = [results[str(item["id"])] for item in payload["requests"]]
    return Response(_answer_text(ordered), media_type="application/json", headers={"OData-Version": "4.0"})
