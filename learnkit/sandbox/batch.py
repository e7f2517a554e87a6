"""JSON batching: ``POST /v1.0/$batch``, each sub-request sent through the whole app in-process.

A sub-request is an ASGI call with a synthetic scope that carries the outer
``Authorization`` header, so token, permission, fault and rate-limit checks
apply to it on its own; a request whose ``dependsOn`` target failed gets 424.

Example: ``response = await run_batch(app, request.scope, await request.body(), faults, ids)``
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Scope

from learnkit.errors import BadRequestError, FailedDependencyError, InternalServerError, error_body
from learnkit.models import batch_rule_violation
from learnkit.sandbox.faults import Faults
from learnkit.sandbox.graph import DroppedResponse, Failure, graph_error_response, now_stamp

__all__ = ["MAX_REQUESTS", "SUBREQUEST", "run_batch"]

MAX_REQUESTS = 20
#: Scope key that marks an in-process sub-request.
SUBREQUEST = "learnkit.subrequest"
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
_HEADER_NAMES = {
    "content-type": "Content-Type", "retry-after": "Retry-After", "location": "Location", "allow": "Allow",
    "www-authenticate": "WWW-Authenticate", "request-id": "request-id", "client-request-id": "client-request-id",
    "odata-version": "OData-Version", "preference-applied": "Preference-Applied",
}


def _bad(message: str) -> Failure:
    return Failure(BadRequestError, message=message)


def _validate(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _bad("Invalid batch payload format: expected an object with a 'requests' array.")
    requests: list[Any] = payload["requests"]
    if not requests:
        raise _bad("Invalid batch payload format: 'requests' is empty.")
    if len(requests) > MAX_REQUESTS:
        raise _bad(f"Number of batch requests exceeded the limit of {MAX_REQUESTS}.")
    seen: set[str] = set()
    checked = []
    for item in requests:
        if not isinstance(item, dict):
            raise _bad("Invalid batch payload format: each request must be an object.")
        rid, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
            raise _bad("Invalid batch payload format: every request needs an 'id'.")
        rid = str(rid)
        seen.add(rid.lower())
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise _bad(f"Invalid method for batch request '{rid}'.")
        if not isinstance(url, str) or not url or "://" in url:
            raise _bad(f"Invalid url for batch request '{rid}': give a URL relative to the version, "
                       "e.g. /employeeExperience/learningProviders.")
        if url.lstrip("/").split("?")[0].lower() == "$batch":
            raise _bad("Nested batch requests are not supported.")
        headers = item.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise _bad(f"Invalid headers for batch request '{rid}'.")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, (str, int)) for d in depends):
            raise _bad(f"Invalid dependsOn for batch request '{rid}'.")
        checked.append({**item, "id": rid, "method": method.upper(), "headers": headers,
                        "dependsOn": [str(d) for d in depends]})
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


async def _dispatch(app: ASGIApp, outer: Scope, sub: Mapping[str, Any]) -> dict[str, Any]:
    url = "/" + str(sub["url"]).lstrip("/")
    path, _, query = url.partition("?")
    headers: list[tuple[bytes, bytes]] = [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in sub["headers"].items() if k.lower() not in ("authorization", "content-length")
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

    try:
        await app(scope, receive, send)
    except Exception:
        status = 500
        response_headers = {"Content-Type": "application/json"}
        chunks = [json.dumps(error_body(InternalServerError, request_id="", date=now_stamp())).encode()]
    answer: dict[str, Any] = {"id": sub["id"], "status": status, "headers": response_headers}
    raw = b"".join(chunks)
    if raw:
        try:
            answer["body"] = json.loads(raw)
        except ValueError:
            answer["body"] = raw.decode("utf-8", "replace")
    return answer


async def run_batch(app: ASGIApp, outer: Scope, body: bytes, faults: Faults, ids: tuple[str, str]) -> Response:
    """The answer to one ``$batch`` request: 200 with every sub-response, or a 400 for a bad batch."""
    try:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise _bad("Invalid batch payload format: the body is not JSON.") from None
        requests = _order(_validate(payload))
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
                "body": error_body(FailedDependencyError, request_id=ids[0], client_request_id=ids[1],
                                   date=now_stamp(), message=f"The request it depends on ('{failed[0]}') failed."),
            }
            continue
        results[sub["id"]] = await _dispatch(app, outer, sub)
    ordered = [results[str(item["id"])] for item in payload["requests"]]
    return JSONResponse({"responses": ordered}, headers={"OData-Version": "4.0"})
