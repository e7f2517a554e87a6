"""The SQLite journal of bulk runs: every plan before it is sent, every attempt, every outcome.

One file holds many runs. A run (``apply`` or ``undo``) has one row per plan; a
row moves ``planned`` -> ``sending`` (the values it replaces and the body, written
before the PATCH goes out) -> ``applied`` | ``unchanged`` | ``conflict`` | ``failed``.
The ``attempts`` table has one line per sub-request sent, with its answer.

The default file is ``journal.sqlite`` in the user's data directory
(``platformdirs``); ``LEARNKIT_JOURNAL`` or a path overrides it.

Example::

    book = Journal()                      # ~/.local/share/learnkit/journal.sqlite on Linux
    book.runs()                           # a DataFrame of runs, newest first
    book.frame("20240501T101500-ab12cd")  # its rows: plan, state, values replaced
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import platformdirs

from learnkit.errors import LearnkitError
from learnkit.plans import PatchPlan

__all__ = ["Journal", "JournalError", "JournalRow", "RunInfo", "default_journal_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    parent TEXT,
    graph_url TEXT,
    source TEXT,
    force INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    host TEXT,
    pid INTEGER,
    created TEXT NOT NULL,
    finished TEXT
);
CREATE TABLE IF NOT EXISTS plans (
    run TEXT NOT NULL REFERENCES runs(id),
    idx INTEGER NOT NULL,
    row INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    plan TEXT NOT NULL,
    state TEXT NOT NULL,
    before TEXT,
    body TEXT,
    code INTEGER,
    message TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    retryable INTEGER NOT NULL DEFAULT 0,
    updated TEXT NOT NULL,
    PRIMARY KEY (run, idx)
);
CREATE TABLE IF NOT EXISTS attempts (
    run TEXT NOT NULL,
    idx INTEGER NOT NULL,
    method TEXT NOT NULL,
    sent TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    retry_after REAL
);
CREATE INDEX IF NOT EXISTS attempts_row ON attempts (run, idx);
"""

_FINAL = ("applied", "unchanged", "conflict", "failed")


class JournalError(LearnkitError):
    """A journal run cannot be used as asked: unknown id, not finished, or running in another process.

    Example: ``Journal().info("no-such-run")`` raises ``JournalError("no run 'no-such-run' in the journal ...")``
    """


def default_journal_path() -> Path:
    """``$LEARNKIT_JOURNAL``, else ``journal.sqlite`` in the user's data directory.

    >>> default_journal_path().name
    'journal.sqlite'
    """
    override = os.environ.get("LEARNKIT_JOURNAL")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("learnkit", appauthor=False)) / "journal.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class RunInfo:
    """One run: its id, kind (``apply``/``undo``), the run it undoes, state, and where it ran."""

    id: str
    kind: str
    parent: str | None
    graph_url: str | None
    source: str | None
    force: bool
    state: str
    host: str | None
    pid: int | None
    created: str
    finished: str | None


@dataclass(frozen=True)
class JournalRow:
    """One plan of a run, where it got to, and the values its PATCH replaced (``before``)."""

    index: int
    plan: PatchPlan
    state: str
    before: dict[str, Any] | None
    body: dict[str, Any] | None
    code: int | None
    message: str
    attempts: int
    retryable: bool


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Journal:
    """A journal file. Safe to share between threads; each method is one transaction.

    >>> Journal(":memory:").runs().empty
    True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _write(self, statements: Iterable[tuple[str, Sequence[Any] | Iterable[Sequence[Any]], bool]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params, many in statements:
                    if many:
                        self._db.executemany(sql, params)
                    else:
                        self._db.execute(sql, params)  # type: ignore[arg-type]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- runs

    def start(
        self,
        kind: str,
        plans: Sequence[PatchPlan],
        *,
        parent: str | None = None,
        force: bool = False,
        graph_url: str | None = None,
        source: str | None = None,
    ) -> str:
        """Write a new run and all its plans (state ``planned``) in one transaction; its id."""
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        stamp = _now()
        self._write(
            [
                (
                    "INSERT INTO runs (id, kind, parent, graph_url, source, force, state, host, pid, created)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    (run_id, kind, parent, graph_url, source, int(force), socket.gethostname(), os.getpid(), stamp),
                    False,
                ),
                (
                    "INSERT INTO plans (run, idx, row, activity_id, plan, state, updated)"
                    " VALUES (?, ?, ?, ?, ?, 'planned', ?)",
                    [
                        (run_id, i, p.row, p.activity_id, json.dumps(p.to_json(), separators=(",", ":")), stamp)
                        for i, p in enumerate(plans)
                    ],
                    True,
                ),
            ]
        )
        return run_id

    def info(self, run_id: str) -> RunInfo:
        """The run's header; ``JournalError`` if there is none with that id."""
        with self._lock:
            found = self._db.execute(
                "SELECT id, kind, parent, graph_url, source, force, state, host, pid, created, finished"
                " FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
        if found is None:
            raise JournalError(f"no run {run_id!r} in the journal {self.path}")
        values = list(found)
        values[5] = bool(values[5])
        return RunInfo(*values)

    def claim(self, run_id: str) -> RunInfo:
        """Take over a run to resume it; refused while another live process on this host runs it."""
        info = self.info(run_id)
        if (
            info.state == "running"
            and info.pid not in (None, os.getpid())
            and info.host == socket.gethostname()
            and _alive(int(info.pid or 0))
        ):
            raise JournalError(f"run {run_id} is still running in process {info.pid}: wait for it, or stop it first")
        self._write(
            [("UPDATE runs SET state = 'running', pid = ?, host = ?, finished = NULL WHERE id = ?",
              (os.getpid(), socket.gethostname(), run_id), False)]
        )
        return self.info(run_id)

    def finish(self, run_id: str, state: str = "finished") -> None:
        """Mark a run finished (every row final) or interrupted."""
        self._write([("UPDATE runs SET state = ?, finished = ? WHERE id = ?", (state, _now(), run_id), False)])

    def runs(self) -> pd.DataFrame:
        """Every run, newest first, with how many rows ended in each state."""
        with self._lock:
            runs = pd.read_sql_query(
                "SELECT id, kind, parent, state, created, finished, source, graph_url FROM runs ORDER BY created DESC",
                self._db,
            )
            counts = pd.read_sql_query("SELECT run, state, COUNT(*) AS n FROM plans GROUP BY run, state", self._db)
        table = counts.pivot(index="run", columns="state", values="n") if len(counts) else pd.DataFrame()
        frame: pd.DataFrame = runs.set_index("id").join(table)
        for state in table.columns:
            frame[state] = frame[state].fillna(0).astype(int)
        return frame

    # --- rows

    def mark_sending(
        self,
        run_id: str,
        sending: Sequence[tuple[int, Any, Any]],
        attempts: Sequence[tuple[int, str]],
    ) -> None:
        """Before a batch goes out: rows about to be PATCHed (values replaced, body) and an attempt line each."""
        stamp = _now()
        self._write(
            [
                (
                    "UPDATE plans SET state = 'sending', before = ?, body = ?, updated = ? WHERE run = ? AND idx = ?",
                    [(_dump(before), _dump(body), stamp, run_id, idx) for idx, before, body in sending],
                    True,
                ),
                (
                    "INSERT INTO attempts (run, idx, method, sent) VALUES (?, ?, ?, ?)",
                    [(run_id, idx, method, stamp) for idx, method in attempts],
                    True,
                ),
            ]
        )

    def record(
        self,
        run_id: str,
        outcomes: Sequence[tuple[int, str, int | None, str, int, bool, Any, Any]],
        answers: Sequence[tuple[int, int | None, str, float | None]],
    ) -> None:
        """After a batch: final rows ``(idx, state, code, message, attempts, retryable, before, body)``
        and each sub-request's answer ``(idx, status, error, retry_after)`` on its latest attempt line."""
        stamp = _now()
        self._write(
            [
                (
                    "UPDATE plans SET state = ?, code = ?, message = ?, attempts = ?, retryable = ?, before = ?,"
                    " body = ?, updated = ? WHERE run = ? AND idx = ?",
                    [
                        (state, code, message, sends, int(retryable), _dump(before), _dump(body), stamp, run_id, idx)
                        for idx, state, code, message, sends, retryable, before, body in outcomes
                    ],
                    True,
                ),
                (
                    "UPDATE attempts SET status = ?, error = ?, retry_after = ? WHERE rowid = ("
                    "SELECT MAX(rowid) FROM attempts WHERE run = ? AND idx = ?)",
                    [(status, error or None, retry_after, run_id, idx) for idx, status, error, retry_after in answers],
                    True,
                ),
            ]
        )

    def rows(self, run_id: str) -> list[JournalRow]:
        """Every plan of a run, in order, with its state."""
        self.info(run_id)
        with self._lock:
            found = self._db.execute(
                "SELECT idx, plan, state, before, body, code, message, attempts, retryable"
                " FROM plans WHERE run = ? ORDER BY idx",
                (run_id,),
            ).fetchall()
        return [
            JournalRow(idx, PatchPlan.from_json(json.loads(plan)), state, _load(before), _load(body), code, message,
                       attempts, bool(retryable))
            for idx, plan, state, before, body, code, message, attempts, retryable in found
        ]

    def frame(self, run_id: str) -> pd.DataFrame:
        """A run's rows as a DataFrame: row, id, state, code, message, attempts, before, body."""
        entries = self.rows(run_id)
        frame: pd.DataFrame = pd.DataFrame(
            {
                "id": [e.plan.activity_id for e in entries],
                "state": [e.state for e in entries],
                "code": pd.array([e.code for e in entries], dtype="Int64"),
                "message": [e.message for e in entries],
                "attempts": [e.attempts for e in entries],
                "before": [e.before for e in entries],
                "body": [e.body for e in entries],
            },
            index=pd.Index([e.plan.row for e in entries], name="row"),
        )
        return frame

    def attempts(self, run_id: str) -> pd.DataFrame:
        """Every sub-request a run sent: row index, method, when, status, error, retry-after."""
        with self._lock:
            frame: pd.DataFrame = pd.read_sql_query(
                "SELECT idx, method, sent, status, error, retry_after FROM attempts WHERE run = ? ORDER BY rowid",
                self._db,
                params=(run_id,),
            )
        return frame
