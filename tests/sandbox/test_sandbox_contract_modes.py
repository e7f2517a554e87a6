"""The sandbox's two contracts and a tenant profile: what each serves, and how each refuses, over HTTP.

``documented`` refuses what only Graph's metadata declares (the provider-wide activity list, its ``$count``,
``POST .../learningContents``) with Graph's 400 "Unsupported segment type", directly and inside ``$batch``;
``metadata`` serves them. In both, an application token on a learner's list gets the 403 of a kind the page
marks "Not supported". A profile refuses what its tenant refused, with that tenant's status and code, and
limits the demo apps' tokens to the permissions it records. Every sandbox here is started with its contract
given, so these tests hold whichever ``DEFAULT_CONTRACT`` is.
"""

from __future__ import annotations

import argparse
import inspect
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from learnkit.credentials import token_claims
from learnkit.errors import (
    BadRequestError,
    ForbiddenError,
    InvalidInputError,
    PermissionDeniedError,
    error_from_response,
)
from learnkit.profile import TenantProfile
from learnkit.sandbox import Sandbox, cli as sandbox_cli_module, start
from learnkit.sandbox.contract import CONTRACTS, DEFAULT_CONTRACT
from tests.conftest import client_credentials_token, device_code_token, sandbox_cli
from tests.sandbox.conftest import PROVIDERS, GraphHTTP

UNSUPPORTED = "Unsupported segment type. ODataQuery: "
KIND_REFUSED = "permissions are not supported for this operation"


def _started(tmp_path_factory: pytest.TempPathFactory, name: str, **options: Any) -> Iterator[Sandbox]:
    sb = start(db=tmp_path_factory.mktemp(name) / "graph.db", **options)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _started(tmp_path_factory, "documented", contract="documented")


@pytest.fixture(scope="module")
def metadata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _started(tmp_path_factory, "metadata", contract="metadata")


def _http(sb: Sandbox, *, delegated: bool = False) -> Iterator[GraphHTTP]:
    client = GraphHTTP(sb, device_code_token(sb) if delegated else client_credentials_token(sb))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def doc_app(documented: Sandbox) -> Iterator[GraphHTTP]:
    yield from _http(documented)


@pytest.fixture(scope="module")
def doc_user(documented: Sandbox) -> Iterator[GraphHTTP]:
    yield from _http(documented, delegated=True)


@pytest.fixture(scope="module")
def meta_app(metadata: Sandbox) -> Iterator[GraphHTTP]:
    yield from _http(metadata)


@pytest.fixture(scope="module")
def meta_user(metadata: Sandbox) -> Iterator[GraphHTTP]:
    yield from _http(metadata, delegated=True)


def activities(sb: Sandbox) -> str:
    return f"{PROVIDERS}/{sb.demo['registration_id']}/learningCourseActivities"


def assert_unsupported(status: int, body: Any, path: str) -> None:
    """Graph's answer for a path it does not implement, with Graph's error body."""
    assert status == 400, body
    error = body["error"]
    assert error["code"] == "BadRequest"
    assert error["message"] == UNSUPPORTED + path.split("?")[0].strip("/")
    assert error["innerError"]["request-id"] and error["innerError"]["date"]
    assert type(error_from_response(status, body)) is BadRequestError


def assert_kind_refused(status: int, body: Any, use: str) -> None:
    assert status == 403, body
    error = error_from_response(status, body)
    assert type(error) is ForbiddenError and error.code == "Forbidden"
    assert KIND_REFUSED in error.message and use in error.message


def batch(graph: GraphHTTP, *urls: str) -> list[dict[str, Any]]:
    answer = graph.post(
        "/$batch", {"requests": [{"id": str(i), "method": "GET", "url": u} for i, u in enumerate(urls)]}
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["responses"])


# --- documented ----------------------------------------------------------------------------


def test_documented_refuses_the_provider_list_and_its_count_to_both_kinds(
    doc_app: GraphHTTP, doc_user: GraphHTTP
) -> None:
    path = activities(doc_app.sb)
    for graph in (doc_app, doc_user):
        for query in ("", "?$top=1&$select=id", "?$top=1&$count=true", "?%24count=TRUE"):
            answer = graph.get(path + query)
            assert_unsupported(answer.status_code, answer.json(), path)
            assert answer.headers["OData-Version"] == "4.0"


def test_documented_refuses_them_inside_a_batch_and_serves_the_rest(doc_app: GraphHTTP) -> None:
    sb = doc_app.sb
    path = activities(sb)
    by_id = f"/employeeExperience/learningCourseActivities/{sb.demo['assignment_id']}"
    listed, counted, read = batch(doc_app, path + "?$top=1", path + "?$count=true&$top=1", by_id)
    assert_unsupported(listed["status"], listed["body"], path)
    assert_unsupported(counted["status"], counted["body"], path)
    assert read["status"] == 200 and read["body"]["id"] == sb.demo["assignment_id"]


def test_the_count_segment_is_no_count_in_either_contract(doc_app: GraphHTTP, meta_app: GraphHTTP) -> None:
    # Not routed: /$count reads as an activity id, and there is none.
    for graph in (doc_app, meta_app):
        answer = graph.get(activities(graph.sb) + "/$count")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "notFound"


def test_documented_refuses_post_learning_contents_and_serves_the_documented_upsert(doc_app: GraphHTTP) -> None:
    contents = f"{PROVIDERS}/{doc_app.sb.demo['registration_id']}/learningContents"
    body = {
        "externalId": "contract-modes-1",
        "title": "Contract modes",
        "contentWebUrl": "https://example.com/c",
        "languageTag": "en-us",
    }
    answer = doc_app.post(contents, body)
    assert_unsupported(answer.status_code, answer.json(), contents)
    upsert = doc_app.patch(f"{contents}(externalId='contract-modes-2')", {**body, "externalId": "contract-modes-2"})
    assert upsert.status_code == 202, upsert.text


def test_documented_serves_every_documented_read(doc_app: GraphHTTP, doc_user: GraphHTTP) -> None:
    demo = doc_app.sb.demo
    rid = demo["registration_id"]
    by_key = f"{PROVIDERS}/{rid}/learningCourseActivities(externalcourseActivityId='{demo['assignment_external_id']}')"
    for graph in (doc_app, doc_user):
        assert graph.get(f"/employeeExperience/learningCourseActivities/{demo['assignment_id']}").status_code == 200
        assert graph.get(by_key).json()["id"] == demo["assignment_id"]
        assert graph.get(f"{PROVIDERS}/{rid}/learningContents?$top=1").status_code == 200
    for path in (
        "/me/employeeExperience/learningCourseActivities",
        f"/users/{demo['learner_id']}/employeeExperience/learningCourseActivities",
        PROVIDERS,
        f"{PROVIDERS}/{rid}",
    ):
        assert doc_user.get(path).status_code == 200, path
    assert doc_app.get(f"/users/{demo['learner_id']}?$select=displayName").json()["displayName"]
    assert batch(doc_app, f"/users/{demo['learner_id']}?$select=displayName")[0]["status"] == 200


def test_the_refusal_comes_after_the_token_and_before_plan_and_permission(documented: Sandbox) -> None:
    path = activities(documented)
    weak = GraphHTTP(documented, client_credentials_token(documented, "learnkit-noroles"))
    try:
        assert weak.get(path, token=None).status_code == 401
        answer = weak.get(path)  # no permission at all: still the route's 400, not a 403
        assert_unsupported(answer.status_code, answer.json(), path)
        documented.set_service_plan(False)
        answer = weak.get(path)
        assert_unsupported(answer.status_code, answer.json(), path)
    finally:
        documented.set_service_plan(True)
        weak.close()


# --- metadata ------------------------------------------------------------------------------


def test_metadata_serves_the_provider_list_its_count_and_content_posts(
    meta_app: GraphHTTP, meta_user: GraphHTTP
) -> None:
    path = activities(meta_app.sb)
    for graph in (meta_app, meta_user):
        answer = graph.get(path + "?$top=1&$select=id&$count=true")
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["@odata.count"] > 1 and len(page["value"]) == 1 and set(page["value"][0]) <= {"id", "@odata.type"}
    (listed,) = batch(meta_app, path + "?$top=2")
    assert listed["status"] == 200 and len(listed["body"]["value"]) == 2
    created = meta_app.post(
        f"{PROVIDERS}/{meta_app.sb.demo['registration_id']}/learningContents",
        {"externalId": "meta-1", "title": "Meta", "contentWebUrl": "https://example.com/m", "languageTag": "en-us"},
    )
    assert created.status_code == 201, created.text


# --- both: an application token on a learner's list ---------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS)
def test_an_application_token_on_a_learners_list_is_the_kind_refusal(
    contract: str, request: pytest.FixtureRequest
) -> None:
    app: GraphHTTP = request.getfixturevalue("doc_app" if contract == "documented" else "meta_app")
    user: GraphHTTP = request.getfixturevalue("doc_user" if contract == "documented" else "meta_user")
    learner = app.sb.demo["learner_id"]
    lists = (
        "/me/employeeExperience/learningCourseActivities",
        f"/users/{learner}/employeeExperience/learningCourseActivities",
    )
    for path in lists:
        answer = app.get(path)
        assert_kind_refused(answer.status_code, answer.json(), "delegated token")
        assert not isinstance(error_from_response(403, answer.json()), PermissionDeniedError)  # no grant would help
        assert user.get(path).status_code == 200
    for sub in batch(app, *lists):
        assert_kind_refused(sub["status"], sub["body"], "delegated token")


# --- the switch, its description, its default ----------------------------------------------


def test_the_contract_shows_in_json_repr_and_html_and_switches_until_reset(
    documented: Sandbox, doc_app: GraphHTTP
) -> None:
    assert documented.contract == "documented" and documented.to_json()["contract"] == "documented"
    assert documented.to_json()["profile"] is None
    assert "contract=documented" in repr(documented) and "documented" in documented._repr_html_()
    path = activities(documented)
    documented.set_contract("metadata")
    try:
        assert doc_app.get(path + "?$top=1").status_code == 200
        assert documented.to_json()["contract"] == "metadata"
        documented.reset()  # back to the contract it started with
        assert documented.contract == "documented"
        assert doc_app.get(path + "?$top=1").status_code == 400
    finally:
        documented.set_contract("documented")
    with pytest.raises(ValueError, match="documented, metadata"):
        documented.set_contract("strict")
    with pytest.raises(ValueError, match="documented, metadata"):
        start(contract="strict")


def test_the_default_is_one_constant_read_by_start_and_the_command(sb: Sandbox) -> None:
    assert CONTRACTS == ("documented", "metadata") and DEFAULT_CONTRACT == "documented"
    assert inspect.signature(start).parameters["contract"].default == DEFAULT_CONTRACT
    assert sb.contract == DEFAULT_CONTRACT  # the session's sandbox, started without one (reset restores it)
    parser = argparse.ArgumentParser()
    sandbox_cli_module.add_arguments(parser)
    assert parser.parse_args([]).contract == DEFAULT_CONTRACT


@pytest.mark.slow  # starts learnkit in a process of its own
def test_the_command_takes_a_contract(tmp_path: Path) -> None:
    proc = sandbox_cli("--contract", "documented", "--json", "--db", str(tmp_path / "cli.db"))
    try:
        assert proc.stdout is not None
        shown = json.loads(proc.stdout.readline())
        assert shown["contract"] == "documented" and shown["profile"] is None
        with requests.Session() as http:
            http.trust_env = False
            token = http.post(
                shown["token_url"],
                verify=shown["ca_cert"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": shown["client_id"],
                    "client_secret": shown["client_secret"],
                    "scope": "https://graph.microsoft.com/.default",
                },
            ).json()["access_token"]
            path = f"{PROVIDERS}/{shown['demo']['registration_id']}/learningCourseActivities"
            answer = http.get(
                shown["graph_url"] + path, headers={"Authorization": f"Bearer {token}"}, verify=shown["ca_cert"]
            )
        assert_unsupported(answer.status_code, answer.json(), path)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    bad = sandbox_cli("--contract", "strict", "--db", str(tmp_path / "bad.db"))
    _, err = bad.communicate(timeout=30)
    assert bad.returncode == 2 and "invalid choice: 'strict'" in err


# --- a tenant profile ------------------------------------------------------------------------

PROFILE: dict[str, Any] = {
    "format": "learnkit-tenant-profile/1",
    "service": {"graph_url": "https://graph.microsoft.com/v1.0", "tenant_id": "contoso", "cloud": "global"},
    "provider": "01e8f81b-3060-4dec-acf0-0389665a0a38",
    "tokens": {
        "application": {"signs_in": True, "granted": ["LearningAssignedCourse.Read.All"]},
        "delegated": {"signs_in": True, "granted": ["LearningAssignedCourse.Read.All"]},
    },
    "operations": {
        "list_provider_activities": {"served": True, "status": 200, "token": "application"},
        "count_provider_activities": {
            "served": False,
            "status": 501,
            "code": "NotImplemented",
            "message": "The requested feature isn't implemented.",
            "token": "application",
        },
        "get_user": {
            "served": False,
            "status": 403,
            "code": "accessDenied",
            "message": "recorded",
            "token": "application",
        },
        "get_activity": {"served": None, "note": "give --activity-id"},
    },
}


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    folder = tmp_path_factory.mktemp("profiled")
    path = folder / "tenant.json"
    path.write_text(json.dumps(PROFILE))
    yield from _started(tmp_path_factory, "profiled-db", contract="metadata", profile=path)


def test_a_profile_refuses_what_its_tenant_refused_with_its_status_and_code(profiled: Sandbox) -> None:
    graph = GraphHTTP(profiled, client_credentials_token(profiled))
    try:
        path = activities(profiled)
        assert graph.get(path + "?$top=1").status_code == 200  # recorded as served
        direct = graph.get(path + "?$top=1&$count=true")
        (inside,) = batch(graph, path + "?$count=true")
        for status, body in ((direct.status_code, direct.json()), (inside["status"], inside["body"])):
            assert status == 501 and body["error"]["code"] == "NotImplemented"
            assert body["error"]["message"] == "The requested feature isn't implemented."
            assert body["error"]["innerError"]["request-id"]
        refused = graph.get(f"/users/{profiled.demo['learner_id']}")
        assert refused.status_code == 403
        assert (refused.json()["error"]["code"], refused.json()["error"]["message"]) == ("accessDenied", "recorded")
        # Not learnt (served: null) changes nothing.
        by_id = f"/employeeExperience/learningCourseActivities/{profiled.demo['assignment_id']}"
        assert graph.get(by_id).status_code == 200
    finally:
        graph.close()
    assert profiled.to_json()["profile"].endswith("tenant.json") and "profile=" in repr(profiled)


def test_a_profile_limits_what_the_demo_apps_tokens_carry(profiled: Sandbox) -> None:
    app_token = client_credentials_token(profiled)
    assert token_claims(app_token)["roles"] == ["LearningAssignedCourse.Read.All"]
    assert [a["roles"] for a in profiled.to_json()["apps"] if a["name"] == "learnkit-demo"] == [
        ["LearningAssignedCourse.Read.All"]
    ]
    graph = GraphHTTP(profiled, app_token)
    user = GraphHTTP(profiled, device_code_token(profiled))
    explicit = GraphHTTP(profiled, device_code_token(profiled, "LearningProvider.Read offline_access"))
    try:
        demo = profiled.demo
        assert graph.get(f"/employeeExperience/learningCourseActivities/{demo['assignment_id']}").status_code == 200
        body = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "completed"}
        denied = graph.patch(graph.activity_path(demo["assignment_id"]), body)  # the write permission was not granted
        assert denied.status_code == 403 and type(error_from_response(403, denied.json())) is PermissionDeniedError
        assert token_claims(user.token or "")["scp"] == "LearningAssignedCourse.Read.All"
        assert user.get("/me/employeeExperience/learningCourseActivities").status_code == 200
        assert user.get(PROVIDERS).status_code == 403  # LearningProvider.* not granted
        # A sign-in may still ask for what the app registers; the token carries only what the tenant granted.
        assert token_claims(explicit.token or "")["scp"] == ""
        assert explicit.get(PROVIDERS).status_code == 403
    finally:
        for client in (graph, user, explicit):
            client.close()


def test_a_bad_profile_is_refused_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "tenant.json"
    bad.write_text(json.dumps({**PROFILE, "operations": {"list_everything": {"served": True}}}))
    with pytest.raises(InvalidInputError, match=r"tenant\.json: operations: .*unknown operation 'list_everything'"):
        start(profile=bad, db=tmp_path / "never.db")
    assert not (tmp_path / "never.db").exists()
    proc = sandbox_cli("--profile", str(bad), "--db", str(tmp_path / "cli.db"))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and "Traceback" not in err
    assert line.startswith("learnkit sandbox: profile: ") and str(bad) in line and "list_everything" in line


def test_a_profile_object_works_as_well_as_its_file(tmp_path: Path) -> None:
    profile = TenantProfile.model_validate(PROFILE)
    with start(db=tmp_path / "graph.db", contract="metadata", profile=profile) as sb:
        assert sb.profile_path is None
        token = client_credentials_token(sb)
        graph = GraphHTTP(sb, token)
        try:
            assert graph.get(activities(sb) + "?$count=true").status_code == 501
        finally:
            graph.close()


def test_a_national_cloud_is_imitated_as_graph_pages_say_it_answers(tmp_path: Path) -> None:
    from learnkit import BadRequestError, GraphClient, NationalCloudWarning
    from learnkit.clouds import _warned

    _warned.discard("us_gov_l4")
    with start(db=tmp_path / "gov.db", cloud="us_gov_l4") as gov:
        assert gov.to_json()["cloud"] == "us_gov_l4"
        with pytest.warns(NationalCloudWarning, match="global service only"):
            client = GraphClient.for_sandbox(gov)
        with pytest.raises(BadRequestError, match="Resource not found for the segment 'employeeExperience'"):
            client.get_activity(gov.demo["assignment_id"])
        # Inside a $batch too; a user's name is not part of the learning API and is still served.
        [answer] = client.batch(
            [
                {
                    "id": "1",
                    "method": "GET",
                    "url": f"/employeeExperience/learningCourseActivities/{gov.demo['assignment_id']}",
                }
            ],
            operation="get_activity",
        )
        assert answer["status"] == 400
        assert client.get_user(gov.demo["learner_id"], select=["displayName"])["displayName"]
