"""A ``$batch`` sub-request is answered as the same request sent alone: status, headers and body.

The sandbox answers most sub-requests on a light inner path and the rest through the whole
app (``learnkit.sandbox.app``'s ``inner``); these tests hold both to the answer of the request
sent on its own, down to the byte layout of the batch's JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.responses import JSONResponse

from learnkit.sandbox import Sandbox
from tests.sandbox.conftest import GraphHTTP

PROVIDERS = "/employeeExperience/learningProviders"
# The headers a sub-response keeps (learnkit.sandbox.batch), as the batch spells them.
KEPT = {
    name.lower(): name
    for name in (
        "Content-Type",
        "Retry-After",
        "Location",
        "Allow",
        "WWW-Authenticate",
        "request-id",
        "client-request-id",
        "OData-Version",
        "Preference-Applied",
    )
}
ASSIGNMENT = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress", "completionPercentage": 40}
JSON = {"Content-Type": "application/json"}
Answer = tuple[int, dict[str, str], Any]


def normal(status: int, headers: dict[str, str], body: Any) -> Answer:
    """The answer with its fresh request-id and its date replaced by placeholders."""
    rid = headers.get("request-id")
    kept = {name: ("<rid>" if value == rid else value) for name, value in headers.items()}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        inner = dict(body["error"].get("innerError", {}))
        for key in ("request-id", "client-request-id"):
            if inner.get(key) == rid:
                inner[key] = "<rid>"
        if "date" in inner:
            inner["date"] = "<date>"
        body = {**body, "error": {**body["error"], "innerError": inner}}
    return status, kept, body


def alone(graph: GraphHTTP, sub: dict[str, Any], token: str | None) -> Answer:
    headers = dict(sub.get("headers", {}))
    data = None if "body" not in sub else json.dumps(sub["body"])
    answer = graph.request(sub["method"], sub["url"], token=token, headers=headers, data=data)
    kept = {KEPT[name.lower()]: value for name, value in answer.headers.items() if name.lower() in KEPT}
    body: Any = None
    if answer.content:
        try:
            body = answer.json()
        except ValueError:
            body = answer.text
    return normal(answer.status_code, kept, body)


def batched(graph: GraphHTTP, subs: list[dict[str, Any]], token: str | None) -> dict[str, Answer]:
    outer = graph.request("POST", "/$batch", token=token, headers=JSON, data=json.dumps({"requests": subs}))
    assert outer.status_code == 200, outer.text
    assert outer.headers["content-type"] == "application/json" and outer.headers["OData-Version"] == "4.0"
    # The JSON sub-answers go in as rendered: the whole must still be what JSONResponse renders.
    assert outer.content == JSONResponse(outer.json()).body
    return {r["id"]: normal(r["status"], r["headers"], r.get("body")) for r in outer.json()["responses"]}


def cases(sb: Sandbox) -> list[dict[str, Any]]:
    aid, reg, learner = sb.demo["assignment_id"], sb.demo["registration_id"], sb.demo["learner_id"]
    activity = f"{PROVIDERS}/{reg}/learningCourseActivities/{aid}"
    return [  # the write first: the reads after it then see the same record alone and in the batch
        {"id": "patch", "method": "PATCH", "url": activity, "headers": JSON, "body": ASSIGNMENT},
        {"id": "get", "method": "GET", "url": f"/employeeExperience/learningCourseActivities/{aid}?$select=id,status"},
        {"id": "page", "method": "GET", "url": f"{PROVIDERS}/{reg}/learningCourseActivities?$top=2&$count=true"},
        {"id": "badpath", "method": "GET", "url": "/employeeExperience/nothingHere"},
        {"id": "badmethod", "method": "DELETE", "url": f"{PROVIDERS}/{reg}/learningCourseActivities"},
        {"id": "badbody", "method": "PATCH", "url": activity, "headers": JSON, "body": {**ASSIGNMENT, "status": 7}},
        {"id": "badtype", "method": "PATCH", "url": activity, "headers": {"Content-Type": "text/plain"}, "body": {}},
        {"id": "missing", "method": "GET", "url": "/employeeExperience/learningCourseActivities/no-such-id"},
        {"id": "query", "method": "GET", "url": f"/employeeExperience/learningCourseActivities/{aid}?$select=nope"},
        {"id": "me", "method": "GET", "url": "/me/employeeExperience/learningCourseActivities"},  # delegated only
        {"id": "metadata", "method": "GET", "url": "/$metadata"},  # XML: a text body in the batch
        {"id": "off-route", "method": "GET", "url": "/x%0A/y"},  # no Graph route takes it: the whole app's 404
        {"id": "echo", "method": "GET", "url": f"/users/{learner}", "headers": {"client-request-id": "c"}},
        {
            "id": "unknown-members",
            "method": "GET",
            "url": f"/employeeExperience/learningCourseActivities/{aid}",
            "headers": {"Prefer": "include-unknown-enum-members"},
        },
    ]


def case(sb: Sandbox, name: str) -> dict[str, Any]:
    return next(sub for sub in cases(sb) if sub["id"] == name)


def test_sub_requests_answer_as_sent_alone(sb: Sandbox, graph: GraphHTTP) -> None:
    subs = cases(sb)
    one_by_one = {sub["id"]: alone(graph, sub, graph.token) for sub in subs}
    together = batched(graph, subs, graph.token)
    assert together == one_by_one
    assert {status for status, _, _ in together.values()} >= {200, 204, 400, 403, 404, 405}


def test_a_token_without_the_permission_is_refused_alike(sb: Sandbox, graph: GraphHTTP) -> None:
    weak = graph.token_for("learnkit-noroles")
    subs = [sub for sub in cases(sb) if sub["id"] in ("get", "patch", "me", "badpath")]
    one_by_one = {sub["id"]: alone(graph, sub, weak) for sub in subs}
    together = batched(graph, subs, weak)
    assert together == one_by_one
    assert together["get"][0] == 403 and together["patch"][0] == 403


@pytest.mark.parametrize("fault", ["429", "503", "500"])
def test_a_fault_hits_a_sub_request_as_it_hits_a_request(sb: Sandbox, graph: GraphHTTP, fault: str) -> None:
    sub = case(sb, "get")
    sb.fail_next(fault)
    first = alone(graph, sub, graph.token)
    sb.fail_next(fault)
    assert batched(graph, [sub], graph.token)[sub["id"]] == first
    assert first[0] == int(fault)


def test_a_body_past_the_limit_once_encoded_is_a_413_alike(sb: Sandbox, graph: GraphHTTP) -> None:
    # 1.5 MB of "é" is 3 MB in the batch's UTF-8 text, but 9 MB once the sub-request's body is encoded.
    sub = case(sb, "patch")
    sub = {**sub, "body": {**ASSIGNMENT, "notes": "é" * 1_500_000}}
    payload = json.dumps({"requests": [sub]}, ensure_ascii=False).encode()
    outer = graph.request("POST", "/$batch", headers=JSON, data=payload)
    answer = outer.json()["responses"][0]
    assert normal(answer["status"], answer["headers"], answer["body"]) == alone(graph, sub, graph.token)
    assert answer["status"] == 413


def test_depends_on_a_success_answers_alike_and_on_a_failure_424(sb: Sandbox, graph: GraphHTTP) -> None:
    get, patch, bad = (case(sb, name) for name in ("get", "patch", "badbody"))
    after_success = {**get, "dependsOn": ["patch"]}
    after_failure = {**get, "id": "after-bad", "dependsOn": ["badbody"]}
    together = batched(graph, [patch, after_success, bad, after_failure], graph.token)
    assert together["get"] == alone(graph, get, graph.token)
    status, headers, body = together["after-bad"]
    assert status == 424 and body["error"]["code"] == "failedDependency"
    assert headers == {"Content-Type": "application/json"}
