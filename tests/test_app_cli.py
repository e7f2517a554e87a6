"""``learnkit app``'s refusals: one line, exit 2, before anything starts (the browser tests serve it for real)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from learnkit.cli import main
from learnkit.cli.app import data_dir, notebook_path, voila_command

ROOT = Path(__file__).resolve().parents[1]


def test_app_is_a_command_and_its_help_loads_no_widget_or_server() -> None:
    code = (
        "import sys; from learnkit.cli import main\n"
        "try:\n    main(['app', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'ipywidgets', 'voila', 'uvicorn', 'learnkit.widgets') if m in sys.modules]\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "--sandbox-json" in done.stdout and "--allow-remote" in done.stdout
    assert "--external-ids FILE" in done.stdout and "--learners FILE" in done.stdout and "--contract" in done.stdout
    assert done.stdout.strip().endswith("[]")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["app", "--ip", "0.0.0.0"], "--ip 0.0.0.0: not a loopback address"),
        (["app", "--delegated-client-id", "x"], "--delegated-client-id goes with --tenant"),
        (["app", "--tenant", "--reset"], "--reset rebuilds the app's own sandbox"),
        (["app", "--sandbox-json", "/nonexistent/sb.json", "--port", "0"], "no such file"),
        (["app", "--tenant", "--contract", "documented"], "--contract sets the app's own sandbox"),
        (["app", "--external-ids", "/nonexistent/keys.txt", "--port", "0"], "--external-ids /nonexistent/keys.txt"),
        (["app", "--learners", str(ROOT / "README.md") + ".csv", "--port", "0"], "no such file"),
    ],
)
def test_mistakes_end_in_one_line(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1 and err.startswith("learnkit app: ")


def test_a_busy_port_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--port {port} on 127.0.0.1" in err and "pass another --port" in err


@pytest.mark.slow  # starts learnkit in a process of its own
def test_the_notebook_ships_in_the_package_and_voila_serves_it_on_the_address_given(tmp_path: Path) -> None:
    assert notebook_path().is_file() and notebook_path().is_relative_to(ROOT / "learnkit")
    command = voila_command(notebook_path(), "127.0.0.1", 9999)
    assert command[:4] == [sys.executable, "-m", "voila", str(notebook_path())]
    assert "--no-browser" in command and "--Voila.ip=127.0.0.1" in command and "--port=9999" in command
    # Kernels on sockets in Voila's private folder, no port race (Unix only: Windows keeps TCP).
    assert ("--KernelManager.transport=ipc" in command) == (os.name != "nt")
    assert data_dir({"LEARNKIT_DATA_DIR": str(tmp_path)}) == tmp_path
    assert data_dir({}).name == "learnkit"


def test_the_contracts_offered_are_the_sandboxs(tmp_path: Path) -> None:
    import argparse

    from learnkit.cli.app import SOURCE_VARIABLES, _source_files, add_arguments
    from learnkit.sandbox.contract import CONTRACTS

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    offered = next(a for a in parser._actions if a.dest == "contract").choices
    assert sorted(offered or ()) == sorted(CONTRACTS)
    with pytest.raises(SystemExit):  # one source at most
        parser.parse_args(["--ids", "a", "--external-ids", "b"])
    keys = tmp_path / "keys.txt"
    keys.write_text("k-1\n")
    args = parser.parse_args(["--external-ids", str(keys)])
    assert _source_files(args) == {SOURCE_VARIABLES["external_ids"]: str(keys.resolve())}
    assert _source_files(parser.parse_args([])) == {}
