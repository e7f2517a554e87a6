"""``GET /users/{id | userPrincipalName}`` over HTTP: found, not found, ``$select``, ``$batch``, permission, bad ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from learnkit.permissions import PERMISSIONS
from learnkit.sandbox import Sandbox
from learnkit.sandbox.seed import build_tenant
from tests.conftest import client_credentials_token
from tests.sandbox.conftest import GraphHTTP

DEFAULT = {
    "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName",
}  # fmt: skip


@pytest.fixture
def nonames(sb: Sandbox) -> Iterator[GraphHTTP]:
    """Raw HTTP with a token of learnkit-nonames: the learning permissions, not User.ReadBasic.All."""
    client = GraphHTTP(sb, client_credentials_token(sb, "learnkit-nonames"))
    yield client
    client.close()


def test_a_user_by_id_has_graphs_default_properties_and_nothing_of_the_seed(graph: GraphHTTP) -> None:
    answer = graph.get(f"/users/{graph.sb.demo['learner_id']}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) - {"@odata.context"} == DEFAULT  # no hasPremiumLicense: that is the sandbox's own
    assert body["displayName"] == "Adele Vance" and body["mail"] == body["userPrincipalName"]
    assert body["@odata.context"].endswith("$metadata#users/$entity")


def test_a_user_by_principal_name_in_either_case_and_in_key_syntax(graph: GraphHTTP) -> None:
    learner = graph.sb.demo["learner_id"]
    for path in ("/users/Adele.Vance@contoso.example", "/users('adele.vance@contoso.example')",
                 f"/users/{learner.upper()}"):  # fmt: skip
        answer = graph.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["id"] == learner


def test_select_keeps_only_the_named_properties_and_refuses_an_unknown_one(graph: GraphHTTP) -> None:
    assigner = graph.sb.demo["assigner_id"]
    answer = graph.get(f"/users/{assigner}", params={"$select": "displayName,mail"})
    assert answer.status_code == 200
    assert answer.json() == {
        "@odata.context": f"{graph.sb.graph_url}/$metadata#users(displayName,mail)/$entity",
        "displayName": "Megan Bowen",
        "mail": "megan.bowen@contoso.example",
    }
    refused = graph.get(f"/users/{assigner}", params={"$select": "hasPremiumLicense"})
    assert refused.status_code == 400 and "hasPremiumLicense" in refused.json()["error"]["message"]
    assert graph.get(f"/users/{assigner}", params={"$top": "1"}).status_code == 400


def test_an_unknown_user_is_the_directorys_404(graph: GraphHTTP) -> None:
    answer = graph.get("/users/00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "Request_ResourceNotFound"
    assert "'00000000-0000-0000-0000-000000000000' does not exist" in error["message"]
    assert error["innerError"]["request-id"] == answer.headers["request-id"]


def test_every_learner_and_assigner_of_the_demo_tenant_has_a_name_and_mail(graph: GraphHTTP) -> None:
    tenant = build_tenant()
    people = {a["learnerUserId"] for a in tenant.activities} | {
        a["assignerUserId"] for a in tenant.activities if a.get("assignerUserId")
    }
    assert graph.sb.demo["assigner_id"] in people
    for user in tenant.users:
        if user["id"] in people:
            assert user["displayName"] and user["mail"] and user["userPrincipalName"], user
    assert build_tenant().users == tenant.users  # deterministic


def test_a_token_without_a_user_permission_gets_403_and_another_accepted_one_passes(
    sb: Sandbox, nonames: GraphHTTP
) -> None:
    answer = nonames.get(f"/users/{sb.demo['learner_id']}")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"
    assert "User.ReadBasic.All" not in sb.apps["learnkit-nonames"].permissions
    assert "User.ReadBasic.All" in sb.apps["learnkit-demo"].permissions
    # The least privileged permission first; the broader ones the docs list also suffice.
    need = PERMISSIONS["get_user"]
    assert need.least_privileged == "User.ReadBasic.All"
    assert {"User.Read.All", "Directory.Read.All"} <= set(need.application) & set(need.delegated)


def test_a_delegated_token_reads_users_too(user_graph: GraphHTTP) -> None:
    answer = user_graph.get(f"/users/{user_graph.sb.demo['assigner_id']}", params={"$select": "displayName"})
    assert answer.status_code == 200 and answer.json()["displayName"] == "Megan Bowen"


def test_users_in_a_batch_each_answer_on_their_own(sb: Sandbox, graph: GraphHTTP, nonames: GraphHTTP) -> None:
    learner, assigner = sb.demo["learner_id"], sb.demo["assigner_id"]
    requests = [
        {"id": "1", "method": "GET", "url": f"/users/{learner}?$select=id,displayName,mail,userPrincipalName"},
        {"id": "2", "method": "GET", "url": f"/users/{assigner}?$select=displayName"},
        {"id": "3", "method": "GET", "url": "/users/nobody@contoso.example"},
        {"id": "4", "method": "GET", "url": "/users/x?$select=nope"},
    ]
    answer = graph.post("/$batch", {"requests": requests})
    assert answer.status_code == 200
    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["displayName"] == "Adele Vance"
    assert set(by_id["1"]["body"]) == {"@odata.context", "id", "displayName", "mail", "userPrincipalName"}
    assert by_id["2"]["body"]["displayName"] == "Megan Bowen"
    assert by_id["3"]["status"] == 404 and by_id["3"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert by_id["4"]["status"] == 400
    refused = nonames.post("/$batch", {"requests": requests[:2]}).json()["responses"]
    assert [r["status"] for r in refused] == [403, 403]


@pytest.mark.parametrize(
    "user_id",
    ["", "%00", "%FF%FE", "a" * 5000, "'", "''", "users", "$batch", "%2F..%2F", "x%0D%0Ay", "😀", "a b", "%",
     "(", "')"],
)  # fmt: skip
def test_no_user_id_gets_a_500(graph: GraphHTTP, user_id: str) -> None:
    for path in (f"/users/{user_id}", f"/users('{user_id}')", f"/users/{quote(user_id, safe='')}"):
        answer = graph.get(path)
        assert answer.status_code in (200, 400, 404, 405), (path, answer.status_code, answer.text)
        body: Any = answer.json()
        if answer.status_code != 200:
            assert set(body["error"]) >= {"code", "message", "innerError"}


def test_other_methods_on_a_user_are_405(graph: GraphHTTP) -> None:
    answer = graph.patch(f"/users/{graph.sb.demo['learner_id']}", {"displayName": "x"})
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET"


def test_the_rest_of_the_directory_is_not_served(graph: GraphHTTP) -> None:
    assert graph.get("/users").status_code == 400  # listing users: not served
    assert graph.get("/me").status_code == 405
