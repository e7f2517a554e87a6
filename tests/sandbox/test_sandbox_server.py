"""The server around the API: start and restart, loopback only, faults, latency, rate limit, ids, the CLI."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from learnkit.sandbox import start
from learnkit.sandbox.faults import parse_faults
from tests.conftest import Clock, client_credentials_token, sandbox_cli

GOOD = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "completed", "completionPercentage": 100}


def test_state_survives_a_restart_and_reset_rebuilds_it(tmp_path: Path, graph_for: Any) -> None:
    db = tmp_path / "keep.db"
    with start(db=db) as first:
        graph = graph_for(first, None)
        token = graph.token_for("learnkit-demo")
        graph.token = token
        assert graph.patch(graph.activity_path(first.demo["assignment_id"]), GOOD).status_code == 204
        secret, cert, port = first.client_secret, first.apps["learnkit-demo"]["certificate"], first.port
    assert not first.running
    with start(db=db, port=port) as second:
        graph = graph_for(second, token)  # same key, same authority (same port): the old token still works
        assert graph.activity(second.demo["assignment_id"])["status"] == "completed"
        assert second.client_secret == secret
        assert second.apps["learnkit-demo"]["certificate"]["thumbprint"] == cert["thumbprint"]
        assert Path(second.apps["learnkit-demo"]["certificate"]["pfx_path"]).exists()
    with start(db=db, reset=True) as third:
        graph = graph_for(third, None)
        graph.token = graph.token_for("learnkit-demo")
        assert graph.activity(third.demo["assignment_id"])["status"] == "notStarted"
    assert db.exists()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "example.com"])
def test_a_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        start(host=host)


def test_handle_shows_no_secret(sandbox: Any) -> None:
    secrets = [app.client_secret for app in sandbox.apps.values() if app.client_secret]
    cert = sandbox.apps["learnkit-demo"].certificate
    texts = [repr(sandbox), repr(sandbox.apps), str(sandbox.apps), repr(cert)]
    for text in texts:
        for secret in [*secrets, cert.pfx_passphrase]:
            assert secret not in text
    shown = sandbox.to_json()
    assert shown["client_secret"] == sandbox.client_secret
    assert {
        "graph_url",
        "token_url",
        "authority",
        "tenant_id",
        "client_id",
        "client_secret",
        "ca_cert",
        "apps",
        "demo",
    } <= set(shown)
    apps = {a["name"]: a for a in shown["apps"]}
    assert apps["learnkit-demo"]["kind"] == "application" and "roles" in apps["learnkit-demo"]
    assert set(apps["learnkit-demo"]["certificate"]) == {
        "private_key_path",
        "thumbprint",
        "pfx_path",
        "pfx_passphrase",
        "certificate_path",
    }
    assert apps["learnkit-delegated"]["kind"] == "delegated" and apps["learnkit-delegated"]["client_secret"] is None
    assert "scopes" in apps["learnkit-delegated"] and apps["learnkit-noroles"]["roles"] == []
    assert set(shown["demo"]) >= {
        "registration_id",
        "disabled_registration_id",
        "assignment_id",
        "self_initiated_id",
        "content_id",
        "learner_id",
        "unlicensed_learner_id",
    }
    assert sandbox.graph_url == sandbox.url + "/v1.0" and sandbox.authority == f"{sandbox.url}/{sandbox.tenant_id}"
    assert sandbox.token_url == f"{sandbox.authority}/oauth2/v2.0/token"


def test_every_response_carries_request_ids(graph: Any) -> None:
    mine = "5c0ffee0-0000-4000-8000-000000000001"
    echoed = graph.get(
        f"/employeeExperience/learningCourseActivities/{graph.sb.demo['assignment_id']}",
        headers={"client-request-id": mine},
    )
    assert echoed.headers["client-request-id"] == mine and echoed.headers["request-id"] != mine
    fresh = graph.get("/nowhere", token=None)
    assert (
        fresh.headers["request-id"] and fresh.json()["error"]["innerError"]["request-id"] == fresh.headers["request-id"]
    )
    token_answer = graph.http.post(graph.sb.token_url, data={"grant_type": "nope"})
    assert token_answer.headers["request-id"]


def test_drop_cuts_the_connection_and_applies_nothing(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    graph.sb.fail_next("drop")
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        graph.patch(graph.activity_path(aid), GOOD)
    assert graph.activity(aid)["status"] == "notStarted"
    graph.sb.set_faults({"drop": 1.0})
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        graph.post(
            "/$batch",
            {
                "requests": [
                    {
                        "id": "1",
                        "method": "PATCH",
                        "url": graph.activity_path(aid),
                        "headers": {"Content-Type": "application/json"},
                        "body": GOOD,
                    }
                ]
            },
        )
    graph.sb.set_faults(None)
    assert graph.activity(aid)["status"] == "notStarted"


def test_random_faults_are_seedable_and_never_applied(graph: Any) -> None:
    aid = graph.sb.demo["assignment_id"]
    graph.sb.set_faults({"429": 0.3, "503": 0.3, "500": 0.2}, retry_after=0.1, seed=7)
    first = [graph.get(f"/employeeExperience/learningCourseActivities/{aid}").status_code for _ in range(30)]
    graph.sb.set_faults({"429": 0.3, "503": 0.3, "500": 0.2}, retry_after=0.1, seed=7)
    second = [graph.get(f"/employeeExperience/learningCourseActivities/{aid}").status_code for _ in range(30)]
    assert first == second and {200, 429, 503, 500} <= set(first)
    graph.sb.set_faults({"429": 1.0}, retry_after=0.1)
    answer = graph.patch(graph.activity_path(aid), GOOD)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "0.1"
    assert answer.json()["error"]["message"] == "Retry after 0.1 seconds"  # agrees with Retry-After
    graph.sb.set_faults(None)
    assert graph.activity(aid)["status"] == "notStarted"


def test_rate_limit(tmp_path: Path, graph_for: Any) -> None:
    clock = Clock()  # a sandbox of its own: its window is counted by a clock the test moves
    with start(db=tmp_path / "limited.db", rate_limit=3, clock=clock) as sb:
        graph = graph_for(sb, client_credentials_token(sb))
        path = f"/employeeExperience/learningCourseActivities/{sb.demo['assignment_id']}"
        statuses = [graph.get(path) for _ in range(6)]
        throttled = [a for a in statuses if a.status_code == 429]
        assert [a.status_code for a in statuses][:3] == [200, 200, 200] and throttled
        assert all(a.headers["Retry-After"] == "1" for a in throttled)
        clock.advance(1.05)  # past the one-second window
        assert graph.get(path).status_code == 200
        sb.set_rate_limit(None)
        assert all(graph.get(path).status_code == 200 for _ in range(10))


def test_latency_overlaps_between_concurrent_requests(sb: Any, app_token: str, graph_for: Any) -> None:
    sb.set_latency(400)
    path = f"/employeeExperience/learningCourseActivities/{sb.demo['assignment_id']}"
    clients = [graph_for(sb, app_token) for _ in range(4)]
    for client in clients:  # open the connections first, so only the latency is timed
        client.get(sb.url + "/", token=None)
    results: list[int] = []

    def one(client: Any) -> None:
        results.append(client.get(path).status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert results == [200] * 4
    assert 0.4 <= elapsed < 1.2  # four requests of 400 ms each, served at once


def test_reset_puts_every_switch_back(sb: Any, graph: Any) -> None:
    sb.set_faults({"500": 1.0})
    sb.set_latency(5)
    sb.set_rate_limit(1)
    sb.set_service_plan(False)
    sb.set_auto_approve(False)
    sb.fail_next("503")
    sb.reset()
    path = f"/employeeExperience/learningCourseActivities/{sb.demo['assignment_id']}"
    assert all(graph.get(path).status_code == 200 for _ in range(3))


def test_fault_specs_are_checked() -> None:
    assert parse_faults("429=0.1,503=0.05,500=0.02,drop=0.01") == {"429": 0.1, "503": 0.05, "500": 0.02, "drop": 0.01}
    for bad in ("418=0.1", "429=2", "429", "429=0.6,503=0.6", "drop=x"):
        with pytest.raises(ValueError):
            parse_faults(bad)


@pytest.mark.slow  # starts learnkit in a process of its own
def test_cli_json_first_line_then_sigterm(tmp_path: Path) -> None:
    proc = sandbox_cli("--json", "--db", str(tmp_path / "cli.db"), "--faults", "429=0.5")
    try:
        assert proc.stdout is not None
        shown = json.loads(proc.stdout.readline())
        assert {
            "graph_url",
            "token_url",
            "authority",
            "tenant_id",
            "client_id",
            "client_secret",
            "ca_cert",
            "apps",
            "demo",
        } <= set(shown)
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
            )
            assert token.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


@pytest.mark.slow  # starts learnkit in a process of its own
def test_cli_keys_out_writes_the_demo_providers_keys_as_the_sources_read_them(tmp_path: Path) -> None:
    from learnkit.bulk.sources import ActivityIds, ExternalIds

    keys = tmp_path / "keys.csv"
    proc = sandbox_cli("--json", "--db", str(tmp_path / "cli.db"), "--keys-out", str(keys))
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())  # written before the JSON line
        assert keys.read_text(encoding="utf-8-sig").splitlines()[0] == "id,externalcourseActivityId"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    with start(db=tmp_path / "cli.db") as sb:
        assert ActivityIds.from_file(keys) == ActivityIds(sb.activity_ids())
        assert ExternalIds.from_file(keys) == ExternalIds(sb.external_ids())


@pytest.mark.slow  # starts learnkit in a process of its own
def test_cli_summary_has_no_secret_and_refuses_remote(tmp_path: Path) -> None:
    proc = sandbox_cli("--db", str(tmp_path / "cli.db"))
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    text = "".join(lines) + out
    assert "serving https://127.0.0.1:" in text
    with start(db=tmp_path / "cli.db") as sb:
        assert sb.client_secret not in text
    refused = sandbox_cli("--host", "0.0.0.0")
    _, err = refused.communicate(timeout=15)
    assert refused.returncode == 2 and "loopback" in err


def test_reset_is_deterministic(listing_sb: Any, sb: Any, graph: Any) -> None:
    path = f"/employeeExperience/learningProviders/{sb.demo['registration_id']}/learningCourseActivities?$select=id"
    first = [i["id"] for i in graph.get(path).json()["value"]]
    sb.reset()
    sb.set_contract("metadata")  # reset puts the contract back too
    assert [i["id"] for i in graph.get(path).json()["value"]] == first


def test_the_device_login_page_approves_a_code(sb: Any) -> None:
    delegated = sb.apps["learnkit-delegated"]
    sb.set_auto_approve(False)
    with sb.session() as http:
        flow = http.post(
            f"{sb.authority}/oauth2/v2.0/devicecode",
            data={"client_id": delegated.client_id, "scope": "LearningProvider.Read"},
        ).json()
        assert "<form" in http.get(flow["verification_uri"]).text
        page = http.post(flow["verification_uri"], data={"user_code": flow["user_code"]})
        assert "Signed in as Adele Vance" in page.text
        token = http.post(
            sb.token_url,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": delegated.client_id,
                "device_code": flow["device_code"],
            },
        )
        assert token.status_code == 200
