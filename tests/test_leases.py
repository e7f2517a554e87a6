"""No lost update between runs of one machine: two bulk runs on overlapping records never both apply one.

Each run leases the records it may write before reading them (``learnkit.bulk.leases``); a record
another live run holds ends as a conflict naming it. Driven for real: two applies at once on
the sandbox with 30 ms of latency, in threads (20 times) and as two ``learnkit apply`` processes.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import GraphClient, RetryPolicy
from learnkit.bulk import apply
from learnkit.bulk.edits import diff
from learnkit.bulk.frame import read_activities
from learnkit.bulk.journal import Journal
from learnkit.bulk.leases import Leases
from learnkit.bulk.sources import ActivityIds
from tests.conftest import everything, keys_csv

ROOT = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(max_attempts=8, backoff=0.01, max_backoff=0.05)


def test_a_leased_record_is_busy_until_released(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "leases.sqlite")
    holder, busy = leases.acquire("svc", ["a", "b"])
    assert busy == {}
    _, busy = leases.acquire("svc", ["b", "c"])
    assert set(busy) == {"b"} and busy["b"].pid == os.getpid()
    assert "another run (process" in busy["b"].describe()
    _, busy = leases.acquire("another-service", ["a"])
    assert busy == {}  # the same id on another service is another record
    leases.release(holder)
    assert set(leases.acquire("svc", ["a", "b", "c"])[1]) == {"c"}  # c is the second acquisition's
    assert oct((tmp_path / "leases.sqlite").stat().st_mode & 0o777) == "0o600"


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_dead_process_lease_is_taken_over_and_another_host_lease_stands(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "leases.sqlite")
    insert = "INSERT INTO holders (holder, service, pid, host, since, activities) VALUES (?, ?, ?, ?, ?, ?)"
    since = "2026-01-01T00:00:00+00:00"
    leases._db.execute(insert, ("h1", "svc", _dead_pid(), socket.gethostname(), since, '["gone", "also"]'))
    leases._db.execute(insert, ("h2", "svc", os.getpid(), "another-host", since, '["far"]'))
    holder, busy = leases.acquire("svc", ["gone", "far"])
    assert set(busy) == {"far"} and busy["far"].host == "another-host"
    # The dead run's row went as a whole; the live ones (the other host's and this acquisition) stay.
    assert {r[0] for r in leases._db.execute("SELECT holder FROM holders")} == {"h2", holder}


def test_an_older_learnkit_live_lease_still_stands(tmp_path: Path) -> None:
    # The table an older learnkit wrote, one row per record: its live leases stand, its dead ones do not,
    # even when that learnkit made its table after this one opened the file.
    path = tmp_path / "leases.sqlite"
    leases = Leases(path)
    with sqlite3.connect(path) as older:
        older.execute(
            "CREATE TABLE leases (service TEXT NOT NULL, activity TEXT NOT NULL, holder TEXT NOT NULL,"
            " pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (service, activity))"
        )
        rows = [("svc", "live", "o1", os.getpid()), ("svc", "dead", "o2", _dead_pid())]
        older.executemany(
            "INSERT INTO leases VALUES (?, ?, ?, ?, ?, '2026-01-01T00:00:00+00:00')",
            [(*row, socket.gethostname()) for row in rows],
        )
    holder, busy = leases.acquire("svc", ["live", "dead", "new"])
    assert set(busy) == {"live"}
    assert set(leases.acquire("svc", ["dead", "new"])[1]) == {"dead", "new"}  # now this run's
    leases.release(holder)
    assert set(leases.acquire("svc", ["live", "dead", "new"])[1]) == {"live"}


def overlapping_plans(client: GraphClient, reg: str, ids: list[str], value: int, rows: slice) -> list[Any]:
    """Plans setting the completion of ``ids[rows]`` to ``value``, based on what the service holds now."""
    before = read_activities(client, reg, source=ActivityIds(ids[rows]))
    edited = before.copy()
    edited["completionPercentage"] = value
    return diff(before, edited)


@pytest.mark.slow  # two applies racing over a slow sandbox
def test_two_concurrent_applies_never_both_apply_a_record(sb: Any, client: GraphClient, tmp_path: Path) -> None:
    reg = sb.demo["registration_id"]
    frame = everything(client, sb)
    ids = frame.loc[frame["status"] == "inProgress", "id"].tolist()[:120]
    sb.set_latency(30)
    try:
        for round_ in range(20):
            a_value, b_value = 2 * round_ + 1, 2 * round_ + 2
            plans = {
                a_value: overlapping_plans(client, reg, ids, a_value, slice(0, 90)),
                b_value: overlapping_plans(client, reg, ids, b_value, slice(30, 120)),
            }
            results: dict[int, pd.DataFrame] = {}

            def run(value: int, todo: list[Any], into: dict[int, pd.DataFrame]) -> None:
                book = Journal(tmp_path / f"journal-{value}.sqlite")  # another journal: the leases are shared
                into[value] = apply(client, todo, journal=book, progress=False, retry=FAST).frame

            threads = [threading.Thread(target=run, args=(v, plans[v], results)) for v in plans]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert set(results) == {a_value, b_value}
            held = read_activities(client, reg, source=ActivityIds(ids)).set_index("id")["completionPercentage"]
            applied = {v: set(frame.loc[frame["status"] == "applied", "id"]) for v, frame in results.items()}
            both = applied[a_value] & applied[b_value]
            assert not both, f"round {round_}: {len(both)} records reported applied by both runs"
            for value, written in applied.items():
                wrong = [i for i in written if held[i] != value]
                assert not wrong, f"round {round_}: run {value} reported applied, the service holds another value"
            overlap = {p.activity_id for p in plans[a_value]} & {p.activity_id for p in plans[b_value]}
            assert len(overlap) == 60
            # Every overlapping record was applied by one run and reported by the other.
            assert overlap <= applied[a_value] | applied[b_value]
    finally:
        sb.set_latency(0)


@pytest.mark.slow  # two processes
def test_two_apply_processes_on_overlapping_rows(sb: Any, tmp_path: Path) -> None:
    info = tmp_path / "sb.json"
    info.write_text(json.dumps(sb.to_json()))
    exported = tmp_path / "activities.csv"
    export = [
        sys.executable,
        "-m",
        "learnkit",
        "export",
        "--sandbox-json",
        str(info),
        "--ids",
        keys_csv(sb, tmp_path / "k.csv"),
    ]
    subprocess.run([*export, "--provider", sb.demo["registration_id"], "-o", str(exported)], check=True, cwd=ROOT)
    frame = pd.read_csv(exported, dtype=str, keep_default_na=False)
    in_progress = frame.index[frame["status"] == "inProgress"]
    for name, rows, value in (("a", in_progress[:90], "71"), ("b", in_progress[30:120], "72")):
        edited = frame.copy()
        edited.loc[rows, "completionPercentage"] = value
        edited.to_csv(tmp_path / f"{name}.csv", index=False)
    apply_command = [sys.executable, "-m", "learnkit", "apply", "--sandbox-json", str(info), "--no-progress"]
    sb.set_latency(30)
    try:
        procs = [
            subprocess.Popen(
                [*apply_command, str(tmp_path / f"{name}.csv"), "--journal", str(tmp_path / f"{name}.sqlite")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for name in ("a", "b")
        ]
        outs = [proc.communicate(timeout=180) for proc in procs]
    finally:
        sb.set_latency(0)
    applied = [
        Journal(tmp_path / f"{name}.sqlite").frame(out[0].split()[1]) for name, out in zip("ab", outs, strict=True)
    ]
    ids = [set(f.loc[f["state"] == "applied", "id"]) for f in applied]
    assert not ids[0] & ids[1]
    assert any("being written by another run" in out[0] or "conflict" in out[0] for out in outs)


@pytest.fixture(autouse=True)
def _no_latency_left(sb: Any) -> Any:
    yield
    sb.set_latency(0)


def test_the_lease_file_and_its_write_ahead_log_are_owner_only(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "leases.sqlite")
    try:
        leases.acquire("svc", ["a", "b"])
        files = sorted(p.name for p in tmp_path.iterdir())
        assert files == ["leases.sqlite", "leases.sqlite-shm", "leases.sqlite-wal"]  # WAL mode: no fsync per run
        assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o600"}
    finally:
        leases.close()
