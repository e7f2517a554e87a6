"""``learnkit doctor`` and the tenant profile it writes.

The profile file: what loads, and every kind of malformed file refused in one line naming it. The command
against sandboxes in both contracts (each started with its contract given): the table, the profile
(mode 0600, no secret), that it never writes (every request the sandbox saw, and its database, compared),
its exit statuses, and the round trip into ``learnkit sandbox --profile``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from learnkit.cli import COMMANDS, main
from learnkit.errors import InvalidInputError
from learnkit.profile import PROBED_OPERATIONS, PROFILE_FORMAT, TenantProfile, load_profile
from learnkit.sandbox import Sandbox, start
from learnkit.sandbox.graph import Call, GraphService
from tests.conftest import sandbox_cli

PROVIDER = "01e8f81b-3060-4dec-acf0-0389665a0a38"

GOOD: dict[str, Any] = {
    "format": PROFILE_FORMAT,
    "service": {"graph_url": "https://graph.microsoft.com/v1.0", "tenant_id": "contoso", "cloud": "global"},
    "provider": PROVIDER,
    "tokens": {
        "application": {"signs_in": True, "granted": ["LearningAssignedCourse.ReadWrite.All"]},
        "delegated": {"signs_in": None, "granted": None},
    },
    "operations": {
        "list_provider_activities": {"served": False, "status": 400, "code": "BadRequest", "message": "no"},
        "get_activity": {"served": True, "status": 200, "token": "application"},
    },
}


# --- the profile file ---------------------------------------------------------------------


def test_a_profile_saves_owner_only_and_loads_back(tmp_path: Path) -> None:
    profile = TenantProfile.model_validate(GOOD)
    path = profile.save(tmp_path / "tenant.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = load_profile(path)
    assert loaded == profile
    refusal = loaded.refused("list_provider_activities")
    assert refusal is not None and (refusal.status, refusal.code) == (400, "BadRequest")
    assert loaded.refused("get_activity") is None and loaded.refused("batch") is None
    assert loaded.granted("application") == frozenset({"LearningAssignedCourse.ReadWrite.All"})
    assert loaded.granted("delegated") is None


def _with(**changes: Any) -> str:
    return json.dumps({**GOOD, **changes})


TOKEN_LIKE = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2ln"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", f"not a {PROFILE_FORMAT} file"),
        (json.dumps({**GOOD, "format": "learnkit-tenant-profile/9"}), "its format is 'learnkit-tenant-profile/9'"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "service"}), "service: Field required"),
        (_with(operations={"list_everything": {"served": True}}), "unknown operation 'list_everything'"),
        (_with(operations={"batch": {"served": False}}), "a refusal (served: false) needs an error status"),
        (_with(operations={"batch": {"served": False, "status": 200, "code": "x"}}), "needs an error status"),
        (_with(operations={"batch": {"served": True, "status": 99}}), "operations.batch.status"),
        (_with(tokens={"robot": {"signs_in": True}}), "tokens.robot"),
        (_with(secret="s3cret"), "secret: Extra inputs are not permitted"),
        (
            _with(operations={"batch": {"served": False, "status": 401, "code": "x", "message": TOKEN_LIKE}}),
            "looks like an access token",
        ),
    ],
)
def test_a_malformed_profile_is_refused_in_one_line_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "tenant.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError) as info:
        load_profile(path)
    said = str(info.value)
    assert said.startswith(f"profile: {path}: ") and problem in said, said
    assert "\n" not in said and info.value.field == "profile"


def test_a_missing_or_binary_profile_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"nothere\.json: cannot read it"):
        load_profile(tmp_path / "nothere.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidInputError, match=r"binary\.json: not UTF-8 text"):
        load_profile(tmp_path / "binary.json")


# --- the command against sandboxes -----------------------------------------------------------


def _sandbox(tmp_path_factory: pytest.TempPathFactory, contract: str) -> Iterator[Sandbox]:
    sb = start(db=tmp_path_factory.mktemp(contract) / "graph.db", contract=contract)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _sandbox(tmp_path_factory, "documented")


@pytest.fixture(scope="module")
def metadata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _sandbox(tmp_path_factory, "metadata")


def described(sb: Sandbox, folder: Path, **changes: Any) -> Path:
    """The sandbox's ``--json`` line in a file, with ``changes`` made to it."""
    path = folder / "sb.json"
    path.write_text(json.dumps({**sb.to_json(), **changes}) + "\n")
    return path


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["doctor", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def row(out: str, operation: str, kind: str) -> str:
    """The table's line for ``operation`` (with its qualifier, e.g. ``list_learner_activities /me``) and ``kind``."""
    found = [
        line
        for line in out.splitlines()
        if line.startswith(f"{operation} ") and line[len(operation) :].split()[0] == kind
    ]
    assert len(found) == 1, f"{operation} {kind}: {found}\n{out}"
    return found[0]


def test_documented_the_provider_list_is_not_served_and_the_rest_works(
    documented: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = doctor(capsys, "--sandbox-json", str(described(documented, tmp_path)), "--provider", PROVIDER)
    assert status == 0, err
    assert out.startswith(f"learnkit doctor: {documented.graph_url}, provider {PROVIDER}\n")
    for kind in ("application", "delegated"):
        assert "works" in row(out, "sign_in", kind)
        for operation in ("list_provider_activities", "count_provider_activities"):
            line = row(out, operation, kind)
            assert "refused 400 BadRequest: not served" in line and "--external-ids/--ids/--learners" in line
        for operation in ("get_activity", "get_activity_by_external_id", "list_contents", "batch"):
            assert " works" in row(out, operation, kind), operation
    for operation in ("list_learner_activities /me", "list_learner_activities /users/{id}", "list_providers"):
        assert " works" in row(out, operation, "delegated")
        assert "skipped: Graph's page says application tokens are not supported" in row(out, operation, "application")
    # The delegated sign-in asks for the learning scopes only: the table says which permission names need.
    assert "grant delegated permission User.ReadBasic.All" in row(out, "get_user", "delegated")
    assert " works" in row(out, "get_user", "application")
    assert "application token roles: LearningAssignedCourse.Read.All" in out
    assert err == ""


def test_metadata_the_provider_list_and_its_count_are_served(
    metadata: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = doctor(capsys, "--sandbox-json", str(described(metadata, tmp_path)), "--provider", PROVIDER)
    assert status == 0, err
    for kind in ("application", "delegated"):
        assert "works (1 item)" in row(out, "list_provider_activities", kind)
        assert "works (@odata.count 4" in row(out, "count_provider_activities", kind)
    assert "refused" not in out.replace("refused 403 Authorization_RequestDenied", "")


def test_the_profile_is_written_owner_only_records_what_was_found_and_holds_no_secret(
    documented: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "tenant.json"
    status, out, err = doctor(
        capsys,
        "--sandbox-json",
        str(described(documented, tmp_path)),
        "--provider",
        PROVIDER,
        "--profile-out",
        str(out_file),
    )
    assert status == 0, err
    assert f"profile written to {out_file}" in out
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    text = out_file.read_text()
    secrets = [a["client_secret"] for a in documented.to_json()["apps"] if a["client_secret"]]
    assert secrets and not any(secret in text for secret in secrets)
    assert "eyJ" not in text and "access_token" not in text and "secret" not in text.lower()
    profile = load_profile(out_file)
    assert profile.service.graph_url == documented.graph_url and profile.service.tenant_id == documented.tenant_id
    assert profile.provider == PROVIDER and set(profile.operations) == set(PROBED_OPERATIONS)
    for name in ("list_provider_activities", "count_provider_activities"):
        refusal = profile.refused(name)
        assert refusal is not None and (refusal.status, refusal.code) == (400, "BadRequest")
        assert refusal.message and refusal.message.startswith("Unsupported segment type.")
    served = {name for name, record in profile.operations.items() if record.served}
    assert served == set(PROBED_OPERATIONS) - {"list_provider_activities", "count_provider_activities"}
    demo_roles = next(a for a in documented.to_json()["apps"] if a["name"] == "learnkit-demo")["roles"]
    assert profile.granted("application") == frozenset(demo_roles)
    assert "LearningProvider.ReadWrite" in (profile.granted("delegated") or ())
    assert profile.tokens["delegated"].signs_in is True


def _database(sb: Sandbox) -> dict[str, list[tuple[Any, ...]]]:
    with contextlib.closing(sqlite3.connect(f"file:{sb.db_path}?mode=ro", uri=True)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_the_doctor_never_writes(
    metadata: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str, bool]] = []
    original = GraphService.handle

    async def spy(self: GraphService, call: Call) -> Any:
        seen.append((call.method.upper(), call.path, call.subrequest))
        return await original(self, call)

    monkeypatch.setattr(GraphService, "handle", spy)
    before = _database(metadata)
    assert before["activities"], "the demo tenant has activities to compare"
    status, _, err = doctor(capsys, "--sandbox-json", str(described(metadata, tmp_path)), "--provider", PROVIDER)
    assert status == 0, err
    assert len(seen) >= 15 and {method for method, _, _ in seen} == {"GET"}, seen
    assert any(sub for _, _, sub in seen), "the $batch probe's GET went through the sandbox too"
    assert _database(metadata) == before


def test_without_a_provider_it_reads_the_learners_activity(
    documented: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = doctor(capsys, "--sandbox-json", str(described(documented, tmp_path)))
    assert status == 0, err
    assert "skipped: give --provider" in row(out, "list_provider_activities", "application")
    assert "works (1 item)" in row(out, "list_learner_activities /me", "delegated")
    # The activity the learner's list shows names its provider: the read by key and the contents use it.
    assert " works" in row(out, "get_activity", "application")
    assert " works" in row(out, "get_activity_by_external_id", "application")
    assert " works" in row(out, "list_contents", "application")


def test_an_unknown_activity_id_is_not_found_not_unserved(
    documented: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "tenant.json"
    status, out, err = doctor(
        capsys,
        "--sandbox-json",
        str(described(documented, tmp_path)),
        "--provider",
        PROVIDER,
        "--activity-id",
        "no-such-activity",
        "--profile-out",
        str(out_file),
    )
    assert status == 0, err
    line = row(out, "get_activity", "application")
    assert "refused 404 notFound: not found" in line and "check --activity-id" in line
    record = load_profile(out_file).operations["get_activity"]
    assert record.served is None and record.note and "404" in record.note


def test_nothing_signed_in_is_exit_1_in_one_line(
    documented: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "00000000-0000-4000-8000-000000000000"
    sb_json = described(documented, tmp_path, tenant_id=wrong, authority=f"{documented.url}/{wrong}")
    status, out, err = doctor(capsys, "--sandbox-json", str(sb_json), "--provider", PROVIDER)
    assert status == 1
    assert "failed: sign-in at" in row(out, "sign_in", "application")
    assert "failed: sign-in at" in row(out, "sign_in", "delegated")
    assert err.strip() == "learnkit doctor: nothing could be probed: no token signed in"


def test_usage_errors_are_one_line_and_exit_2(
    documented: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb_json = str(described(documented, tmp_path))
    status, out, err = doctor(capsys, "--sandbox-json", sb_json, "--profile-out", str(tmp_path / "no" / "t.json"))
    assert status == 2 and out == "" and err.strip().count("\n") == 0 and "--profile-out" in err
    status, out, err = doctor(capsys, "--sandbox-json", sb_json, "--delegated-client-id", "x")
    assert status == 2 and out == "" and "goes with a tenant" in err
    with pytest.raises(SystemExit) as exit:
        main(["doctor", "--provider"])
    assert exit.value.code == 2


def test_the_command_is_registered_with_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert "doctor" in COMMANDS
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    text = capsys.readouterr().out
    for option in ("--sandbox-json", "--cloud", "--provider", "--activity-id", "--external-id", "--profile-out"):
        assert option in text


@pytest.mark.slow  # starts learnkit in a process of its own
def test_the_profile_round_trips_into_a_sandbox_that_refuses_the_list(
    documented: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "tenant.json"
    status, _, err = doctor(
        capsys,
        "--sandbox-json",
        str(described(documented, tmp_path)),
        "--provider",
        PROVIDER,
        "--profile-out",
        str(out_file),
    )
    assert status == 0, err
    # The new sandbox's own contract serves the list: the refusal can only come from the profile.
    proc = sandbox_cli("--profile", str(out_file), "--contract", "metadata", "--json", "--db", str(tmp_path / "cli.db"))
    try:
        assert proc.stdout is not None
        shown = json.loads(proc.stdout.readline())
        assert shown["contract"] == "metadata" and shown["profile"] == str(out_file)
        with requests.Session() as http:
            http.trust_env = False
            http.verify = shown["ca_cert"]
            token = http.post(
                shown["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": shown["client_id"],
                    "client_secret": shown["client_secret"],
                    "scope": "https://graph.microsoft.com/.default",
                },
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            base = f"{shown['graph_url']}/employeeExperience/learningProviders/{PROVIDER}/learningCourseActivities"
            refused = http.get(base + "?$top=1", headers=headers)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["code"] == "BadRequest"
            assert refused.json()["error"]["message"].startswith("Unsupported segment type.")
            by_id = f"{shown['graph_url']}/employeeExperience/learningCourseActivities/{shown['demo']['assignment_id']}"
            assert http.get(by_id, headers=headers).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
