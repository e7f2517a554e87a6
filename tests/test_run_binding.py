"""A journal run is bound to the service and provider it wrote to: undo and resume go nowhere else.

Two sandboxes are two tenants (each sandbox database is a tenant of its own): a run made on one
is refused on the other before anything is sent, `learnkit runs` says where each run went and
filters by the connection given, and a sandbox kept in a file stays the same service when it
comes back on another port.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import learnkit
from learnkit import GraphClient
from learnkit.bulk.frame import read_activities
from learnkit.bulk.journal import Journal
from learnkit.bulk.sources import ActivityIds
from learnkit.cli import main
from learnkit.sandbox import Sandbox, start
from tests.conftest import everything, keys_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Sandbox]:
    """A second sandbox: another tenant on the same host."""
    with start(db=tmp_path / "other.db") as second:
        yield second


def sandbox_json(sb: Sandbox, path: Path) -> str:
    path.write_text(json.dumps(sb.to_json()))
    return str(path)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def completions(sb: Sandbox) -> dict[str, Any]:
    frame = everything(GraphClient.for_sandbox(sb), sb, sb.demo["registration_id"])
    return dict(zip(frame["id"], frame["completionPercentage"], strict=True))


def apply_one_edit(sb: Sandbox, where: str, journal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Export, set one completion to 61, apply: the journal id."""
    exported = tmp_path / "activities.csv"
    ids = keys_csv(sb, tmp_path / "keys.csv")
    export = ["export", "--sandbox-json", where, "--provider", sb.demo["registration_id"], "--ids", ids]
    assert main([*export, "-o", str(exported)]) == 0
    frame = pd.read_csv(exported, dtype=str, keep_default_na=False)
    frame.loc[frame["id"] == sb.demo["self_initiated_id"], "completionPercentage"] = "61"
    frame.to_csv(tmp_path / "edits.csv", index=False)
    status, out, _ = run(["apply", str(tmp_path / "edits.csv"), "--sandbox-json", where, "--journal", journal], capsys)
    assert status == 0 and "applied 1" in out, out
    return out.split()[1]


def test_two_sandboxes_are_two_services(sb: Sandbox, other: Sandbox) -> None:
    one, two = GraphClient.for_sandbox(sb).service(), GraphClient.for_sandbox(other).service()
    assert one.tenant_id == sb.tenant_id and two.tenant_id == other.tenant_id
    assert not one.same_as(two) and one.same_as(GraphClient.for_sandbox(sb.to_json()).service())


def test_undo_and_resume_against_another_sandbox_are_refused_before_sending(
    sb: Sandbox, other: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    a, b = sandbox_json(sb, tmp_path / "a.json"), sandbox_json(other, tmp_path / "b.json")
    run_id = apply_one_edit(sb, a, journal, tmp_path, capsys)
    before_b = completions(other)
    for command in (["undo", run_id], ["resume", run_id]):
        status, out, err = run([*command, "--sandbox-json", b, "--journal", journal], capsys)
        assert status == 2 and out == ""
        line = err.strip()
        assert "\n" not in line and f"run {run_id} wrote to" in line and "nothing was sent" in line
        assert GraphClient.for_sandbox(sb).service().label in line
        assert GraphClient.for_sandbox(other).service().label in line
    assert completions(other) == before_b
    assert len(Journal(journal).runs()) == 1  # no undo run was started
    # --last on B finds no run of B's at all, rather than A's newest.
    status, _, err = run(["undo", "--last", "--sandbox-json", b, "--journal", journal], capsys)
    assert status == 2 and "no run on" in err
    # On A, the same undo goes through.
    status, out, _ = run(["undo", run_id, "--sandbox-json", a, "--journal", journal, "--no-progress"], capsys)
    assert status == 0 and "applied 1" in out


def test_undo_for_a_provider_the_run_did_not_write_to_is_refused(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    a = sandbox_json(sb, tmp_path / "a.json")
    run_id = apply_one_edit(sb, a, journal, tmp_path, capsys)
    other_provider = "4a6b8c0d-2e4f-4061-8a2c-3e5f7a9b1c2d"
    status, _, err = run(
        ["undo", run_id, "--provider", other_provider, "--sandbox-json", a, "--journal", journal], capsys
    )
    assert status == 2 and f"provider {other_provider}" in err and "nothing was sent" in err
    with pytest.raises(learnkit.ServiceMismatchError):
        learnkit.undo(GraphClient.for_sandbox(sb), run_id, journal=journal, provider=other_provider, progress=False)
    assert completions(sb)[sb.demo["self_initiated_id"]] == 61


def test_runs_shows_where_each_run_went_and_filters_by_the_connection(
    sb: Sandbox, other: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    a, b = sandbox_json(sb, tmp_path / "a.json"), sandbox_json(other, tmp_path / "b.json")
    (tmp_path / "ra").mkdir()
    (tmp_path / "rb").mkdir()
    on_a = apply_one_edit(sb, a, journal, tmp_path / "ra", capsys)
    on_b = apply_one_edit(other, b, journal, tmp_path / "rb", capsys)
    status, out, _ = run(["runs", "--journal", journal], capsys)
    assert status == 0 and on_a in out and on_b in out and "SERVICE" in out and "PROVIDER" in out
    label_a = GraphClient.for_sandbox(sb).service().label
    assert label_a in next(line for line in out.splitlines() if on_a in line)
    status, out, _ = run(["runs", "--journal", journal, "--sandbox-json", b], capsys)
    assert on_b in out and on_a not in out
    status, out, _ = run(["runs", "--journal", journal, "--sandbox-json", a, "--last"], capsys)
    assert out.strip() == on_a
    status, out, _ = run(["runs", "--journal", journal, "--provider", "4a6b8c0d-2e4f-4061-8a2c-3e5f7a9b1c2d"], capsys)
    assert status == 0 and on_a not in out and "no runs" in out


def test_a_sandbox_kept_in_a_file_is_the_same_service_on_another_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    with start(db=tmp_path / "kept.db") as first:
        run_id = apply_one_edit(first, sandbox_json(first, tmp_path / "1.json"), journal, tmp_path, capsys)
        port = first.port
    with start(db=tmp_path / "kept.db") as again:
        assert again.port != port or again.tenant_id == first.tenant_id
        status, out, _ = run(
            ["undo", run_id, "--sandbox-json", sandbox_json(again, tmp_path / "2.json"), "--journal", journal], capsys
        )
        assert status == 0 and "applied 1" in out


@pytest.mark.slow  # starts learnkit in a process of its own
def test_a_closed_output_pipe_ends_runs_quietly(sb: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    for _ in range(200):  # more lines than a pipe's buffer holds once `head` has gone
        journal.start("apply", [], graph_url=sb.graph_url, tenant=sb.tenant_id, source="x.csv")
    command = f"{sys.executable} -m learnkit runs -n 200 --journal {journal.path} | head -3"
    for _ in range(3):
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == "" and len(done.stdout.splitlines()) == 3


def test_undo_last_twice_goes_back_to_the_original_and_redo_comes_forward(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    a = sandbox_json(sb, tmp_path / "a.json")
    target = sb.demo["self_initiated_id"]
    original = completions(sb)[target]
    exported = tmp_path / "activities.csv"
    ids = keys_csv(sb, tmp_path / "keys.csv")
    assert (
        main(
            ["export", "--sandbox-json", a, "--provider", sb.demo["registration_id"], "--ids", ids, "-o", str(exported)]
        )
        == 0
    )
    for value in ("61", "62"):
        frame = pd.read_csv(exported, dtype=str, keep_default_na=False)
        frame.loc[frame["id"] == target, "completionPercentage"] = value
        frame.to_csv(tmp_path / f"{value}.csv", index=False)
        assert (
            main(["apply", str(tmp_path / f"{value}.csv"), "--sandbox-json", a, "--journal", journal, "--force"]) == 0
        )
    connect = ["--sandbox-json", a, "--journal", journal, "--no-progress"]
    steps = [("undo", 61), ("undo", original), ("redo", 61), ("redo", 62), ("undo", 61)]
    for command, expected in steps:
        status, out, err = run([command, "--last", *connect], capsys)
        assert status == 0 and "applied 1" in out, (command, out, err)
        assert completions(sb)[target] == expected, command
    status, _, err = run(["undo", "--last", *connect], capsys)
    assert status == 0
    status, _, err = run(["undo", "--last", *connect], capsys)
    assert status == 2 and "nothing left to undo" in err and completions(sb)[target] == original
    status, out, _ = run(["runs", "--journal", journal], capsys)
    assert out.count("[undone by") == 4 and out.count("[redone by") == 2  # both saves and both redos; both undos
    # An undo run is redone, not undone.
    undo_id = next(line.split()[0] for line in out.splitlines() if " undo " in line)
    status, _, err = run(["undo", undo_id, *connect], capsys)
    assert status == 2 and f"learnkit redo {undo_id}" in err


def test_runs_name_the_provider_where_the_caller_knew_it(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    client = GraphClient.for_sandbox(sb)
    reg = sb.demo["registration_id"]
    before = read_activities(client, reg, source=ActivityIds([sb.demo["self_initiated_id"]]))
    edited = before.copy()
    edited["completionPercentage"] = 44
    done = learnkit.apply_frame(
        client, before, edited, journal=journal, progress=False, provider_names={reg: "Contoso"}
    )
    undone = learnkit.undo(client, done.journal_id, journal=journal, progress=False)
    history = Journal(journal).runs()
    assert [r.provider_label for r in history] == ["Contoso", "Contoso"]  # the undo keeps its run's names
    assert history[0].id == undone.journal_id
    status, out, _ = run(["runs", "--journal", journal], capsys)
    assert status == 0 and all("Contoso" in line for line in out.splitlines()[1:])
