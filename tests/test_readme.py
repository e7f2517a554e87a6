"""The README is a contract: every python and bash block runs as written, in order, like a reader would.

The reader's set-up is reproduced: a copy of the repository (what ``git clone`` would give, with
this working tree's changes) in a temporary folder, and a new virtual environment in it (``.venv``,
as the README suggests). So that the test needs no download, that venv also sees the test
environment's packages (a ``.pth`` line); the README's own ``pip install ".[notebook]"`` then
installs learnkit from the copy, and every later ``python`` and ``learnkit`` is that venv's.

Shell blocks go, line by line, to one ``bash`` session, as if pasted into one terminal (so the
``learnkit sandbox --json > sb.json &`` of one block is the ``%1`` that a later one kills). Where
the README asks the reader to do something by hand between two blocks (edit ``activities.csv``, or
``activities.xlsx`` in Excel),
the test does it. Three things differ from a reader's terminal, each on purpose:

- ``bash scripts/test.sh`` runs with ``PYTEST_ADDOPTS=--collect-only``: it installs what the tests
  need and collects every test, but does not run the suite inside itself;
- a line the README says serves until interrupted (``learnkit sandbox --json``) is interrupted once
  it has printed its JSON line, as a reader would with Ctrl+C;
- python blocks marked "Needs your tenant" are skipped, visibly (they need a real tenant's secrets).

The package docstring's example runs too. The session and any background job are killed at the end.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import venv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import learnkit

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytestmark = pytest.mark.slow

#: A python block whose first comment says this is skipped: it needs a real tenant.
TENANT_MARK = "Needs your tenant"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: its language, code, and the prose just before it."""

    index: int
    language: str
    code: str
    prose: str
    line: int

    @property
    def id(self) -> str:
        first = next((ln for ln in self.code.splitlines() if ln.strip() and not ln.startswith("#")), "")
        return f"{self.index}-{self.language}-L{self.line}-{re.sub(r'[^A-Za-z0-9]+', '-', first)[:40].strip('-')}"


def readme_blocks(text: str) -> list[Block]:
    """Every ```python and ```bash block of ``text``, in order (other fences are not code to run)."""
    blocks, last = [], 0
    for found in _FENCE.finditer(text):
        language = found.group(1)
        if language in ("python", "bash"):
            line = text.count("\n", 0, found.start()) + 1
            blocks.append(Block(len(blocks), language, found.group(2), text[last : found.start()], line))
        last = found.end()
    return blocks


def docstring_example(doc: str) -> str:
    """The indented block after the first ``::`` of a docstring, dedented."""
    lines = doc.split("::\n", 1)[1].splitlines()
    body = []
    for line in lines[1:] if lines and not lines[0].strip() else lines:
        if line.strip() and not line.startswith("    "):
            break
        body.append(line[4:])
    return "\n".join(body).strip() + "\n"


def test_readme_has_no_untagged_code_blocks() -> None:
    """A fence without a language would escape this test: every block says what it is."""
    untagged = [m.start() for m in _FENCE.finditer(README.read_text()) if not m.group(1)]
    assert not untagged, f"untagged ``` blocks at offsets {untagged}: tag them ```bash or ```python"


# --- the reader's terminal -------------------------------------------------------


class Terminal:
    """One ``bash`` session fed line by line; each line's exit status and output come back."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: background jobs are killed with it
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(target=self._pump, args=(self.process.stdout, self.out.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, self.err.append), daemon=True).start()
        self.count = 0

    @staticmethod
    def _pump(stream: object, put: Callable[[str], object]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            put(line)

    def run(self, line: str, timeout: float) -> tuple[int, str, str]:
        """Type ``line``; its exit status, stdout and the stderr written meanwhile."""
        self.count += 1
        marker = f"@@readme-line-{self.count}@@"
        assert self.process.stdin is not None
        err_start = len(self.err)
        self.process.stdin.write(f"{line}\nprintf '\\n{marker} %d\\n' $?\n")
        self.process.stdin.flush()
        lines, deadline = [], time.monotonic() + timeout
        while True:
            try:
                got = self.out.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{line!r} did not finish in {timeout:.0f} s; output: {''.join(lines)}") from None
            if got.startswith(marker):
                out = "".join(lines)
                return int(got.split()[1]), out[:-1] if out.endswith("\n") else out, "".join(self.err[err_start:])
            lines.append(got)

    def close(self) -> None:
        """End the session and everything it started (the background sandbox too)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def leftovers(self) -> bool:
        """Whether any process of the session's group is still alive."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True


@dataclass
class Reader:
    """The reader's machine: a clone, a venv, a terminal."""

    clone: Path
    env: dict[str, str]
    terminal: Terminal
    python: Path


def _copy_repository(into: Path) -> None:
    """The files a clone would have, as they are in this working tree (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    clone = tmp_path_factory.mktemp("readme") / "learnkit"
    clone.mkdir()
    _copy_repository(clone)
    home = clone.parent / "home"
    home.mkdir()
    venv.create(clone / ".venv", with_pip=True, symlinks=True)
    python = clone / ".venv" / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Borrow the test environment's packages (after the venv's own), so nothing is downloaded.
    (Path(purelib) / "_readme_test_borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "LEARNKIT_JOURNAL", "VIRTUAL_ENV"} and not key.startswith("PYTEST")
    }
    env.update(
        PATH=f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(clone / ".venv"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PYTEST_ADDOPTS="--collect-only -q",  # scripts/test.sh collects the suite, does not run it again
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONDONTWRITEBYTECODE="1",
        # The borrowed packages' Jupyter data (Voila's templates, widget front ends) lives under the test
        # environment's prefix, where a real install into the venv would have put it.
        JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"),
    )
    terminal = Terminal(clone, env)
    try:
        yield Reader(clone, env, terminal, python)
    finally:
        terminal.close()
        deadline = time.monotonic() + 10
        while terminal.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not terminal.leftovers(), "a process the README started is still running"


# --- what a reader does by hand ----------------------------------------------------


def edit_activities_csv(reader: Reader) -> None:
    """What the README asks between export and apply: change cells of the demo assignment in the CSV."""
    path = reader.clone / "activities.csv"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the export wrote no activities"
    fields = list(rows[0])
    target = next(r for r in rows if r["@odata.type"].endswith("learningAssignment") and r["status"] != "completed")
    target["status"], target["completionPercentage"] = "completed", "100"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def edit_activities_xlsx(reader: Reader) -> None:
    """The same in the workbook, as Excel would save it: the demo assignment completed."""
    import openpyxl

    path = reader.clone / "activities.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["activities"]
    column = {cell.value: cell.column for cell in sheet[1]}
    row = next(
        r
        for r in range(2, sheet.max_row + 1)
        if str(sheet.cell(r, column["@odata.type"]).value).endswith("learningAssignment")
        and sheet.cell(r, column["status"]).value != "completed"
    )
    sheet.cell(row, column["status"]).value = "completed"
    sheet.cell(row, column["completionPercentage"]).value = 100
    book.save(path)


#: prose before a block -> the step a reader takes by hand before typing it
BY_HAND: dict[str, Callable[[Reader], None]] = {
    "Edit `activities.csv`": edit_activities_csv,
    "Edit `activities.xlsx`": edit_activities_xlsx,
}

#: a command the README says serves until interrupted
SERVES = re.compile(r"^learnkit sandbox --json\s*(#.*)?$")
#: A foreground web server: run until it prints its address, load the page, then Ctrl+C.
SERVES_PAGE = re.compile(r"^learnkit app\b")

#: seconds a line may take (installs and the quickstart are the long ones)
TIMEOUT = 600.0


def _interrupt_server(reader: Reader, line: str) -> None:
    """Run a foreground server line; once its JSON line is out, press Ctrl+C (SIGINT) and expect a clean exit."""
    command = line.split("#", 1)[0].strip()
    status, out, err = reader.terminal.run(f"{command} > served.json 2> served.err & echo $!", 30)
    assert status == 0, err
    pid, deadline = int(out.strip().splitlines()[-1]), time.monotonic() + 60
    served = reader.clone / "served.json"
    # The background job creates the file when it starts, which may be after `echo $!` returned.
    while not served.exists() or not served.read_text().endswith("\n"):
        assert time.monotonic() < deadline, (reader.clone / "served.err").read_text()
        time.sleep(0.1)
    info = json.loads(served.read_text().splitlines()[0])
    assert info["graph_url"].startswith("https://127.0.0.1:") and info["demo"]["registration_id"]
    status, out, err = reader.terminal.run(f"kill -INT {pid}; wait {pid}", 30)
    assert status == 0, f"interrupted sandbox exited {status}: {(reader.clone / 'served.err').read_text()}"


def _serve_page(reader: Reader, line: str) -> None:
    """Run a foreground web app line; once it prints its address, the page must load; then Ctrl+C, a clean exit."""
    import urllib.request

    command = line.split("#", 1)[0].strip()
    env = f"LEARNKIT_DATA_DIR={reader.clone / 'app-data'}"
    status, out, err = reader.terminal.run(f"{env} {command} > served.out 2> served.err & echo $!", 30)
    assert status == 0, err
    pid, deadline = int(out.strip().splitlines()[-1]), time.monotonic() + 120
    served = reader.clone / "served.out"
    address = None
    while address is None:
        assert time.monotonic() < deadline, (reader.clone / "served.err").read_text()
        found = re.search(r"http://127\.0\.0\.1:\d+/\S*", served.read_text() if served.exists() else "")
        address = found.group(0) if found else None
        time.sleep(0.2)
    with urllib.request.urlopen(address, timeout=60) as page:
        assert page.status == 200 and b"<html" in page.read(4096).lower()
    status, out, err = reader.terminal.run(f"kill -INT {pid}; wait {pid}", 60)
    assert status == 0, f"interrupted app exited {status}: {(reader.clone / 'served.err').read_text()}"


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def _expect(line: str, status: int, out: str, err: str) -> None:
    """What particular lines must print, beyond exiting 0."""
    assert status == 0, f"{line!r} exited {status}\nstdout:\n{out}\nstderr:\n{err}"
    if "quickstart" in line:
        assert "# learnkit quickstart" in out and "PATCH https://127.0.0.1:" in out and "HTTP 204" in out, out
        assert "TCP without encryption" not in out + err
        assert "Parent appears to have exited" not in out + err, "the notebook's kernel outlived the quickstart"
    if "scripts/test.sh" in line:
        assert re.search(r"\d+ tests collected", out), out[-2000:]
    if "from-our-lms.csv" in line and line.startswith("learnkit apply"):
        # A sheet of keys and values: its record read by key, then planned as an edited export.
        read = "1 to change, 0 already as the service holds them (skipped); records read by externalcourseActivityId"
        if "--dry-run" in line:
            assert out.startswith("dry run: nothing sent\n") and "completionPercentage: 0 → 40" in out, out
        else:
            assert re.match(r"journal \S+\napplied 1 \(of 1 row\)\n", out), out
        assert read in out, out
    elif "apply" in line and "--dry-run" in line:
        assert "dry run: nothing sent" in out and '"notStarted" → "completed"' in out, out
    elif re.match(r"learnkit apply .*# \"nothing to apply\"", line):
        assert out.startswith("nothing to apply: ") and "journal" not in out, out
    elif re.match(r"learnkit apply .*fixes\.csv", line):
        assert re.match(r"(journal \S+\n.*applied \d+|nothing to apply: )", out), out
    elif re.match(r"learnkit apply ", line):
        # Rows left as exported are neither read nor sent: only the edited one is planned.
        summary = r"applied 1 \(of 1 row\)\n\d+ rows: 1 edited, \d+ as exported"
        assert re.match(r"journal \d{8}T\d{6}-[0-9a-f]{6}\n" + summary, out), out
    if "--external-ids some-keys.txt" in line:
        assert "exported 2 activities to some.csv" in err and "not found" not in err, err
    if line.startswith("learnkit audit"):
        # The README states these counts for the seeded demo provider at AUDIT_NOW.
        assert "18 findings on 16 of 417 records" in out and "5 fixed records written" in out, out
    if line.startswith("learnkit export") and "--ids keys.csv" in line:
        assert re.search(r"exported 417 activities to activities\.(csv|xlsx)\n", err) and "not found" not in err, err
    if line.startswith("learnkit runs"):
        assert " apply " in out and "finished: applied 1" in out, out
    if line.startswith(("learnkit undo", "learnkit redo")):
        assert "applied 1 (of 1 row)" in out, out
    if line.startswith("learnkit doctor"):
        # The README's sandbox is a documented one: the provider-wide list is refused, by id still works.
        assert re.search(r"^list_provider_activities +application +refused 400 BadRequest", out, re.M), out
        assert re.search(r"^get_activity +application +works", out, re.M) and "profile written to" in out, out


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs(block: Block, reader: Reader) -> None:
    if block.language == "python":
        if TENANT_MARK in block.code.split("\n", 1)[0]:
            pytest.skip(f"README line {block.line}: needs a real tenant ({TENANT_MARK!r} in its first comment)")
        done = subprocess.run(
            [str(reader.python), "-c", block.code],
            cwd=reader.clone,
            env=reader.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert done.returncode == 0, f"README line {block.line}:\n{done.stdout}\n{done.stderr}"
        if "print(result.status, result.request_id)" in block.code:
            assert done.stdout.startswith("204 "), done.stdout
        return
    for prose, step in BY_HAND.items():
        if prose in block.prose:
            step(reader)
    for line in block.code.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if SERVES.match(line):
            _interrupt_server(reader, line)
            continue
        if SERVES_PAGE.match(line):
            _serve_page(reader, line)
            continue
        _expect(line, *reader.terminal.run(line, TIMEOUT))


def test_package_docstring_example_runs(reader: Reader) -> None:
    """``help(learnkit)`` shows an example: it runs as written."""
    assert learnkit.__doc__
    code = docstring_example(learnkit.__doc__)
    assert "learnkit.sandbox.start()" in code
    done = subprocess.run(
        [str(reader.python), "-c", code], cwd=reader.clone, env=reader.env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_readme_extraction_sees_every_kind_of_block() -> None:
    """The extraction itself: python and bash blocks, in order, with the prose before each."""
    text = "intro\n```bash\necho 1\n```\nEdit it, then:\n```python\nx = 1\n```\n```text\nnot code\n```\n"
    blocks = readme_blocks(text)
    assert [(b.language, b.code) for b in blocks] == [("bash", "echo 1\n"), ("python", "x = 1\n")]
    assert blocks[1].prose == "\nEdit it, then:\n"
    assert docstring_example("Intro::\n\n    a = 1\n    b = 2\n\nAfter.\n") == "a = 1\nb = 2\n"
