"""The ``learnkit`` command answers like a tool: fast help, one-line errors with the right exit status.

Runs ``learnkit.cli.main`` in-process against the session's sandbox, and in a fresh interpreter
where what gets imported matters (``--help`` must not load pandas or the web server).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import learnkit
from learnkit.cli import AZURE_VARIABLES, COMMANDS, main, read_sandbox_json
from learnkit.cli.quickstart import lab_command
from learnkit.errors import SettingsError
from tests.conftest import keys_csv

PROVIDER = "01e8f81b-3060-4dec-acf0-0389665a0a38"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def sb_json(clean_sandbox: Any, tmp_path: Path) -> Path:
    path = tmp_path / "sb.json"
    path.write_text(json.dumps(clean_sandbox.to_json()) + "\n")
    _SANDBOXES[path] = clean_sandbox
    return path


_SANDBOXES: dict[Path, Any] = {}


def connected(sb_json: Path) -> Any:
    """The sandbox an ``sb_json`` file describes."""
    return _SANDBOXES[sb_json]


@pytest.fixture
def journal(tmp_path: Path) -> str:
    return str(tmp_path / "journal.sqlite")


# --- help, version, imports --------------------------------------------------------------


def test_help_imports_neither_pandas_nor_the_server() -> None:
    probe = (
        "import sys\nfrom learnkit.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as exit:\n    assert exit.code == 0\n"
        "heavy = ('pandas', 'fastapi', 'uvicorn', 'pydantic', 'requests', 'msal', 'ipywidgets')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]"
    assert "usage: learnkit" in done.stdout


def test_help_names_the_commands_and_the_azure_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    for name in [*COMMANDS, *AZURE_VARIABLES]:
        assert name in text
    assert set(AZURE_VARIABLES) == {
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    }
    description = text.split("\n\n")[1]
    assert "``" not in description and ":func:" not in description and description.strip()


def test_a_command_help_names_the_azure_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["apply", "--help"])
    text = capsys.readouterr().out
    assert "--sandbox-json" in text and "AZURE_CLIENT_SECRET" in text and "--dry-run" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.strip() == f"learnkit {learnkit.__version__}"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["apply"])
    assert exit.value.code == 2
    assert "EDITS" in capsys.readouterr().err


@pytest.mark.parametrize("count", ["0", "-3", "x"])
def test_runs_n_takes_one_or_more(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["runs", "-n", count])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"argument -n: {count!r}: give how many runs to show, 1 or more")


@pytest.mark.parametrize("command", [["sandbox"], ["app"], ["quickstart", "--lab"]])
@pytest.mark.parametrize("port", ["65536", "-1", "eight"])
def test_a_port_out_of_range_is_a_usage_error(
    command: list[str], port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main([*command, "--port", port])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"argument --port: {port!r} is not a port: give 0 to 65535")


# --- a user's mistakes and an unreachable service ------------------------------------------------


def test_missing_csv_is_one_line_exit_2(sb_json: Path, journal: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["apply", "no-such.csv", "--sandbox-json", str(sb_json), "--journal", journal], capsys)
    assert status == 2 and out == ""
    assert "no-such.csv: no such file" in one_line(err)


def test_missing_sandbox_json_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.json"
    status, out, err = run(["export", "--provider", PROVIDER, "--sandbox-json", str(missing)], capsys)
    assert status == 2 and out == ""
    line = one_line(err)
    assert str(missing) in line and "learnkit sandbox --json >" in line


def test_sandbox_json_written_late_is_waited_for(clean_sandbox: Any, tmp_path: Path) -> None:
    path = tmp_path / "sb.json"
    path.write_text("")  # the shell's redirect made it; the sandbox has not written yet
    text = json.dumps(clean_sandbox.to_json()) + "\n"

    def write_later() -> None:
        time.sleep(0.5)
        path.write_text(text[:40])  # a partial line first
        time.sleep(0.5)
        path.write_text(text)

    writer = threading.Thread(target=write_later)
    writer.start()
    try:
        info = read_sandbox_json(path, wait=20)
    finally:
        writer.join()
    assert info["graph_url"] == clean_sandbox.graph_url


def test_sandbox_json_that_never_arrives_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "sb.json"
    path.write_text('{"graph_url": "https://127.0.0.1:1"')  # never completed
    with pytest.raises(SettingsError, match=r"no sandbox wrote to it within 1 s"):
        read_sandbox_json(path, wait=1)
    path.write_text("not json\nat all\n")
    with pytest.raises(SettingsError, match="first line is not what"):
        read_sandbox_json(path, wait=1)


def export(sb_json: Path, tmp_path: Path) -> Path:
    csv = tmp_path / "activities.csv"
    ids = keys_csv(connected(sb_json), tmp_path / "keys.csv")
    assert main(["export", "--provider", PROVIDER, "--ids", ids, "-o", str(csv), "--sandbox-json", str(sb_json)]) == 0
    return csv


def stopped_sandbox(sb_json: Path, tmp_path: Path) -> Path:
    """The same sandbox description, but nothing listens there any more: connection refused."""
    import socket

    info = json.loads(sb_json.read_text())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    port = info["graph_url"].split(":")[2].split("/")[0]
    stopped = tmp_path / "stopped.json"
    stopped.write_text(json.dumps(info).replace(f"127.0.0.1:{port}", f"127.0.0.1:{dead}") + "\n")
    return stopped


def test_stopped_sandbox_is_one_line_exit_1_and_no_journal_id(
    sb_json: Path, journal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = export(sb_json, tmp_path)
    stopped = stopped_sandbox(sb_json, tmp_path)
    argv = ["apply", str(csv), "--no-progress", "--sandbox-json", str(stopped), "--journal", journal]
    status, out, err = run(argv, capsys)
    assert status == 1 and out == ""  # no "journal <id>": nothing ran
    line = one_line(err)
    assert "cannot reach the sandbox" in line and "connection refused" in line and "learnkit sandbox --json" in line
    assert main(["runs", "--journal", journal]) == 0
    assert "no runs yet" in capsys.readouterr().out
    # --debug: the same line, after the traceback.
    status, _, err = run([*argv, "--debug"], capsys)
    assert status == 1 and "Traceback" in err and err.strip().splitlines()[-1] == line


@pytest.mark.parametrize(
    ("command", "option", "target", "says"),
    [
        ("export", "-o", "missing/activities.csv", "no folder"),
        ("export", "-o", "missing/activities.xlsx", "no folder"),
        ("export", "-o", ".", "is a folder; give a file name"),
        ("audit", "-o", "missing/findings.csv", "no folder"),
        ("audit", "--fixes", ".", "is a folder; give a file name"),
        ("doctor", "--profile-out", "missing/tenant.json", "no folder"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_before_anything_is_read(
    sb_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, option: str, target: str, says: str
) -> None:
    # A stopped sandbox: had the command signed in or read first, the line would say it cannot reach it.
    stopped = stopped_sandbox(sb_json, tmp_path)
    (tmp_path / "ids.txt").write_text("u1:a\n", encoding="utf-8")
    path = str(tmp_path / target)
    argv = [command, "--provider", PROVIDER, option, path, "--sandbox-json", str(stopped)]
    if command != "doctor":
        argv += ["--ids", str(tmp_path / "ids.txt")]
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    assert one_line(err) == f"learnkit {command}: {option} {path}: {says}" + (
        f" {Path(path).parent}" if says == "no folder" else ""
    )
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("option", "target", "says"), [("--db", ".", "is a folder"), ("--keys-out", "no/k.csv", "no folder")]
)
def test_the_sandbox_refuses_a_file_it_cannot_write_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, target: str, says: str
) -> None:
    path = str(tmp_path / target)
    status, out, err = run(["sandbox", "--json", option, path], capsys)
    assert status == 2 and out == ""  # no JSON line: nothing started
    assert one_line(err).startswith(f"learnkit sandbox: {option} {path}: {says}")


def test_apply_of_a_folder_says_so(tmp_path: Path, journal: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["apply", str(tmp_path), "--journal", journal], capsys)
    assert status == 2 and out == ""
    assert one_line(err) == f"learnkit apply: {tmp_path}: is a folder; give the CSV or workbook of edits"


def test_apply_of_an_empty_device_says_it_is_empty(
    sb_json: Path, journal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["apply", os.devnull, "--sandbox-json", str(sb_json), "--journal", journal], capsys)
    assert status == 2 and out == ""
    assert one_line(err) == f"learnkit apply: csv: {os.devnull} is empty: export one with `learnkit export`"


def test_unknown_run_and_missing_run_id_exit_2(sb_json: Path, journal: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["undo", "no-such-run", "--sandbox-json", str(sb_json), "--journal", journal], capsys)
    assert status == 2 and "no run 'no-such-run'" in one_line(err)
    status, _, err = run(["undo", "--sandbox-json", str(sb_json), "--journal", journal], capsys)
    assert status == 2 and "JOURNAL_ID" in one_line(err) and "--last" in err
    status, _, err = run(["resume", "--last", "--sandbox-json", str(sb_json), "--journal", journal], capsys)
    assert status == 2 and "has no run on 127.0.0.1 tenant" in one_line(err)


def test_tenant_variables_incomplete_say_which_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in AZURE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    status, _, err = run(["export", "--provider", PROVIDER], capsys)
    assert status == 2 and "AZURE_TENANT_ID, AZURE_CLIENT_ID" in one_line(err)
    monkeypatch.setenv("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    status, _, err = run(["export", "--provider", PROVIDER], capsys)
    assert status == 2 and "AZURE_CLIENT_SECRET" in one_line(err) and "AZURE_CLIENT_CERTIFICATE_PATH" in err


def test_a_graph_error_is_one_line_exit_1(sb_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = keys_csv(connected(sb_json), tmp_path / "keys.csv")
    argv = ["export", "--provider", "no-such-provider", "--external-ids", keys, "--sandbox-json", str(sb_json)]
    status, out, err = run(argv, capsys)
    assert status == 1 and out == ""
    line = one_line(err)
    assert line.startswith("learnkit export: 400 badRequest") and "registrationId" in line


# --- dry-run diff, runs, --last -----------------------------------------------------------------


def edit(csv: Path, activity_id: str) -> None:
    import pandas as pd

    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    mask = frame["id"] == activity_id
    frame.loc[mask, "status"] = "completed"
    frame.loc[mask, "completionPercentage"] = "100"
    frame.loc[mask, "notes.content"] = ""
    frame.loc[mask, "notes.contentType"] = ""
    frame.to_csv(csv, index=False)


def test_dry_run_prints_the_diff_then_apply_runs_and_undo_last(
    clean_sandbox: Any, sb_json: Path, journal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assignment = clean_sandbox.demo["assignment_id"]
    client = learnkit.GraphClient.for_sandbox(clean_sandbox)
    before = client.get_activity(assignment)
    csv = export(sb_json, tmp_path)
    edit(csv, assignment)
    connection = ["--sandbox-json", str(sb_json), "--journal", journal, "--no-progress"]

    status, out, _ = run(["apply", str(csv), "--dry-run", *connection], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "dry run: nothing sent"
    assert f'{assignment}: status: "{before.status}" → "completed"' in out
    assert f"{assignment}: completionPercentage: {before.completionPercentage} → 100" in out
    assert before.notes is not None and f'{assignment}: notes.content: "{before.notes.content}" → null' in out
    assert "journal" not in out  # a dry run keeps no journal
    assert client.get_activity(assignment).status == before.status

    status, out, _ = run(["apply", str(csv), *connection], capsys)
    assert status == 0 and out.startswith("journal ")
    applied = out.split()[1]
    assert client.get_activity(assignment).status == "completed"

    status, out, _ = run(["runs", "--journal", journal], capsys)
    assert status == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["JOURNAL_ID", "WHEN", "(UTC)", "KIND", "ROWS", "SERVICE", "PROVIDER", "OUTCOME"]
    assert row.startswith(applied) and " apply " in row and row.endswith("finished: applied 1")

    status, out, _ = run(["runs", "--last", "--journal", journal], capsys)
    assert (status, out.strip()) == (0, applied)

    status, out, _ = run(["undo", "--last", *connection], capsys)
    assert status == 0 and "applied 1 (of 1 row)" in out
    assert client.get_activity(assignment).status == before.status
    status, out, _ = run(["runs", "--journal", journal], capsys)
    assert f"(undoes {applied})" in out.splitlines()[1]


# --- quickstart --lab ---------------------------------------------------------------------------


def test_the_commands_find_the_notebooks_they_run() -> None:
    # Both are found from the command's own module (learnkit/cli/), whatever the folder layout above it.
    from learnkit.cli import app, quickstart

    assert (
        quickstart.notebook_path() == Path(learnkit.__file__).resolve().parents[1] / "notebooks" / "01-quickstart.ipynb"
    )
    assert app.notebook_path() == Path(learnkit.__file__).resolve().parent / "app" / "app.ipynb"
    assert quickstart.notebook_path().is_file() and app.notebook_path().is_file()


def test_lab_command_passes_jupyter_options_and_allows_root() -> None:
    args = argparse.Namespace(no_browser=True, ip="0.0.0.0", port=9999, allow_root=False, jupyter_args=[])
    command = lab_command(args, Path("nb.ipynb"))
    assert command[1:4] == ["-m", "jupyter", "lab"]
    assert {"--no-browser", "--ip=0.0.0.0", "--port=9999"} <= set(command)
    assert ("--allow-root" in command) == (os.geteuid() == 0)


@pytest.mark.parametrize(
    ("argv", "said"),
    [(["--port", "8890"], "--port"), (["--ip", "0.0.0.0", "--no-browser"], "--no-browser --ip"), (["lab"], "lab")],
)
def test_jupyterlabs_options_without_lab_are_one_line_not_a_run(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["quickstart", *argv], capsys)
    assert status == 2 and out == ""
    assert (
        one_line(err)
        == f"learnkit quickstart: {said}: options for JupyterLab, which need --lab (it opens the notebook there)"
    )


@pytest.mark.slow
def test_quickstart_lab_starts_as_this_user(tmp_path: Path) -> None:
    """JupyterLab starts (as root too) and prints its URL on the port asked for; then it is stopped."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "learnkit",
            "quickstart",
            "--lab",
            "--no-browser",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if f"http://127.0.0.1:{port}/lab" in line or time.monotonic() > deadline:
                break
        assert any(f"http://127.0.0.1:{port}/lab" in line for line in seen), "".join(seen)
        assert not any("Running as root is not recommended" in line and "--allow-root" in line for line in seen)
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)
