"""The SQLite journal of bulk runs: every plan before it is sent, every attempt, every outcome.

One file holds many runs. A run (``apply``, ``undo`` or ``redo``) has one row per plan; a
row moves ``planned`` -> ``sending`` (the values it replaces and the body, written
before the PATCH goes out) -> ``applied`` | ``unchanged`` | ``conflict`` | ``failed``.
The ``attempts`` table has one line per sub-request that did not succeed (throttled,
failed, dropped), with its answer; a row's ``attempts`` counts its sends.
A file that is not a learnkit journal, or fails its integrity check or a row's
checksum, is refused with ``JournalError`` before anything is sent.

The default file is ``journal.sqlite`` in learnkit's data folder (``learnkit.userdata.data_dir``,
which ``LEARNKIT_DATA_DIR`` moves); ``LEARNKIT_JOURNAL`` or a path overrides it.

Example::

    book = Journal()                      # ~/.local/share/learnkit/journal.sqlite on Linux
    book.runs()                           # the history: every run, newest first
    book.frame("20240501T101500-ab12cd")  # its rows: plan, state, values replaced
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import json
import os
import secrets
import socket
import sqlite3
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from learnkit.errors import JournalError
from learnkit.service import Service
from learnkit.userdata import data_dir

from . import journal_rows as codec
from .journal_history import RunHistory, RunInfo, RunSummary
from .journal_rows import Answer, JournalRow, Outcome, Sending
from .leases import process_alive
from .plans import PatchPlan, changes_key

__all__ = [
    "Answer",
    "Journal",
    "JournalRow",
    "Outcome",
    "RunHistory",
    "RunInfo",
    "RunSummary",
    "Sending",
    "default_journal_path",
]

#: ``PRAGMA application_id`` of a learnkit journal ("LKJ1"), and ``user_version``: the format of its tables.
APPLICATION_ID = 0x4C4B4A31
FORMAT = 3

# One row per plan, keyed by (run, idx) without a rowid: a plan's row in this table is the
# whole of what the journal keeps for it (about 200 to 300 bytes). Providers and types are
# stored once per run and referred to by position; ``before`` holds only what differs from
# ``body``; ``crc`` covers the row, so a damaged file is refused rather than resumed. How the values
# are written (JSON under Graph's property names, readable in sqlite3): ``learnkit.bulk.journal_rows``.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    parent TEXT,
    graph_url TEXT,
    tenant TEXT,
    source TEXT,
    force INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    host TEXT,
    pid INTEGER,
    created TEXT NOT NULL,
    finished TEXT,
    providers TEXT NOT NULL DEFAULT '[]',
    names TEXT,
    total INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS plans (
    run INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    row INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    provider INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    changes TEXT NOT NULL,
    extra TEXT,
    state TEXT NOT NULL,
    before TEXT,
    body TEXT,
    code INTEGER,
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    retryable INTEGER NOT NULL DEFAULT 0,
    crc INTEGER NOT NULL,
    PRIMARY KEY (run, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts (
    run INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    method TEXT NOT NULL,
    answered TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    retry_after REAL
);
"""

_FINAL = ("applied", "unchanged", "conflict", "failed")
_SETTLED = ("applied", "unchanged", "conflict")
_KINDS = codec.KINDS
_SQLITE_MAGIC = b"SQLite format 3\x00"


class _OlderFormat(Exception):
    """The file is a journal of an older learnkit (format 1)."""


def default_journal_path() -> Path:
    """``$LEARNKIT_JOURNAL``, else ``journal.sqlite`` in learnkit's data folder (beside the leases).

    >>> default_journal_path().name
    'journal.sqlite'
    """
    override = os.environ.get("LEARNKIT_JOURNAL")
    if override:
        return Path(override)
    return data_dir() / "journal.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Journal:
    """A journal file. Safe to share between threads; each method is one transaction.

    Opening a file that is not a learnkit journal, or one that fails its integrity check,
    raises ``JournalError`` (nothing is read from it, nothing sent).

    >>> len(Journal(":memory:").runs())
    0
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        memory = str(self.path) == ":memory:"
        existing = not memory and self.path.exists() and self.path.stat().st_size > 0
        if existing:
            self._check_header()
        elif not memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Per run, each row's checksum of its plan part, so outcomes only add what changed, and its
        # changes as stored (the checksum of a settled row, which keeps no extras, starts from them).
        self._statics: dict[int, list[int]] = {}
        self._changes: dict[int, list[str]] = {}
        # A run's seq and providers never change once written: read once per run, not per write.
        self._heads: dict[str, tuple[int, list[str]]] = {}
        # (seq, idx) -> the before and body last written as "sending", and their stored text: an outcome
        # that carries the very same values (the usual "applied") does not encode them again.
        self._sent: dict[tuple[int, int], tuple[Any, Any, tuple[str | None, str | None]]] = {}
        self._db = self._connect()
        try:
            try:
                self._open(existing)
            except _OlderFormat:
                # An older learnkit's journal (format 1): kept whole beside a new one, never rewritten.
                self._db.close()
                kept = self._set_aside()
                warnings.warn(
                    f"{self.path} was a journal of an older learnkit (format 1): its runs are kept in {kept} "
                    "(that learnkit can still undo them); this journal starts afresh",
                    UserWarning,
                    stacklevel=2,
                )
                self._db = self._connect()
                self._open(False)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(
                f"{self.path} is not a readable learnkit journal ({exc}): nothing was sent; "
                "keep it aside and use another journal file"
            ) from None
        except JournalError:
            self._db.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path} cannot be opened as a journal: {exc}") from None

    def _set_aside(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        kept = self.path.with_name(f"{self.path.stem}.format1-{stamp}{self.path.suffix}")
        for extra in ("", "-wal", "-shm"):
            source = Path(str(self.path) + extra)
            if source.exists():
                source.rename(Path(str(kept) + extra))
        return kept

    def _check_header(self) -> None:
        with open(self.path, "rb") as handle:
            magic = handle.read(len(_SQLITE_MAGIC))
        if magic != _SQLITE_MAGIC:
            raise JournalError(
                f"{self.path} is not a learnkit journal (not an SQLite file): nothing was sent; "
                "pass the journal file that `learnkit apply` wrote, or a new path"
            )

    def _open(self, existing: bool) -> None:
        db = self._db
        if existing:
            found = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if found != APPLICATION_ID:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if {"runs", "plans"} <= tables and found == 0:
                    raise _OlderFormat
                raise JournalError(
                    f"{self.path} is an SQLite file but not a learnkit journal: nothing was sent; "
                    "pass the journal file that `learnkit apply` wrote, or a new path"
                )
            if version not in (2, FORMAT):
                raise JournalError(
                    f"{self.path} is a learnkit journal of format {version}; this learnkit reads format {FORMAT}"
                )
            problems = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise JournalError(
                    f"{self.path} fails its integrity check ({'; '.join(problems)}): nothing was sent; "
                    "keep it aside for inspection and use another journal file"
                )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cell_size_check=ON")
        if not existing:
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={FORMAT}")
            db.executescript(_SCHEMA)
        else:
            columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            # A journal written before runs recorded their tenant (matched by graph_url alone) or names.
            for column in ("tenant", "names"):
                if column not in columns:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")
            if version == 2:
                # Format 2 stored one-letter names and message codes: its rows are rewritten once, in one
                # transaction, with the names a person reads in sqlite3 (the runs themselves stay as they were).
                db.execute("BEGIN IMMEDIATE")
                try:
                    codec.upgrade_format_2(db)
                    db.execute(f"PRAGMA user_version={FORMAT}")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")

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

    def _seq(self, run_id: str) -> tuple[int, list[str]]:
        head = self._heads.get(run_id)
        if head is not None:
            return head
        with self._lock:
            found = self._db.execute("SELECT seq, providers FROM runs WHERE id = ?", (run_id,)).fetchone()
        if found is None:
            raise JournalError(f"no run {run_id!r} in the journal {self.path}")
        head = self._heads[run_id] = (int(found[0]), list(json.loads(found[1])))
        return head

    # --- runs

    def start(
        self,
        kind: str,
        plans: Sequence[PatchPlan],
        *,
        parent: str | None = None,
        force: bool = False,
        graph_url: str | None = None,
        tenant: str | None = None,
        source: str | None = None,
        provider_names: Mapping[str, str] | None = None,
        outcomes: Mapping[int, tuple[str, str]] | None = None,
    ) -> str:
        """Write a new run and all its plans in one transaction; its id.

        ``graph_url`` and ``tenant`` name the service it writes to (``GraphClient.service()``);
        ``provider_names`` the names of its providers, where the caller knows them (for the history).
        Plans start ``planned``; ``outcomes`` maps a plan's position to a final ``(state, message)``
        decided without the service (a CSV row no cell of which was edited).
        """
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        stamp = _now()
        providers: dict[str, int] = {}
        finals = outcomes or {}
        lines = []
        statics: list[int] = []
        texts: list[str] = []
        known: dict[Any, str] = {}  # rows of a bulk edit share their changes: each distinct one encoded once
        for i, p in enumerate(plans):
            where = providers.setdefault(p.registration_id, len(providers))
            kind_at = _KINDS.index(p.odata_type)
            key = changes_key(p)
            changes = known.get(key) if key is not None else None
            if changes is None:
                changes = codec.props(p.changes) or "{}"
                if key is not None:
                    known[key] = changes
            extra_text = codec.extra_text(p)
            state, message = finals.get(i, ("planned", None))
            static = codec.static_crc(i, p.row, p.activity_id, where, kind_at, changes, extra_text)
            statics.append(static)
            texts.append(changes)
            crc = codec.crc(static, state, None, None)
            message = codec.pack_message(message, state, changes)
            lines.append((i, p.row, p.activity_id, where, kind_at, changes, extra_text, state, message, crc))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO runs (id, kind, parent, graph_url, tenant, source, force, state, host, pid, created,"
                    " providers, total, names) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        kind,
                        parent,
                        graph_url,
                        tenant,
                        source,
                        int(force),
                        socket.gethostname(),
                        os.getpid(),
                        stamp,
                        json.dumps(list(providers)),
                        len(plans),
                        json.dumps({k: v for k, v in (provider_names or {}).items() if k in providers}) or None,
                    ),
                )
                seq = int(cursor.lastrowid or 0)
                self._db.executemany(
                    "INSERT INTO plans (run, idx, row, activity_id, provider, kind, changes, extra, state, message,"
                    " crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(seq, *line) for line in lines],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._statics[seq] = statics
            self._changes[seq] = texts
            self._heads[run_id] = (seq, list(providers))
        return run_id

    def info(self, run_id: str) -> RunInfo:
        """The run's header; ``JournalError`` if there is none with that id."""
        with self._lock:
            found = self._db.execute(
                "SELECT id, kind, parent, graph_url, source, force, state, host, pid, created, finished, tenant,"
                " providers, names FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
        if found is None:
            raise JournalError(f"no run {run_id!r} in the journal {self.path}")
        values = list(found)
        values[5] = bool(values[5])
        values[12] = tuple(json.loads(values[12]))
        values[13] = json.loads(values[13] or "{}")
        return RunInfo(*values)

    def claim(self, run_id: str) -> RunInfo:
        """Take over a run to resume it; refused while another live process on this host runs it."""
        info = self.info(run_id)
        if (
            info.state == "running"
            and info.pid not in (None, os.getpid())
            and info.host == socket.gethostname()
            and process_alive(int(info.pid or 0))
        ):
            raise JournalError(f"run {run_id} is still running in process {info.pid}: wait for it, or stop it first")
        self._write(
            [
                (
                    "UPDATE runs SET state = 'running', pid = ?, host = ?, finished = NULL WHERE id = ?",
                    (os.getpid(), socket.gethostname(), run_id),
                    False,
                )
            ]
        )
        return self.info(run_id)

    def finish(self, run_id: str, state: str = "finished") -> None:
        """Mark a run finished (every row final) or interrupted."""
        self._write([("UPDATE runs SET state = ?, finished = ? WHERE id = ?", (state, _now(), run_id), False)])
        # What was kept in memory to write its rows faster goes (a resume recomputes it from the rows).
        head = self._heads.get(run_id)
        if head is not None:
            self._statics.pop(head[0], None)
            self._changes.pop(head[0], None)
            for key in [key for key in self._sent if key[0] == head[0]]:
                del self._sent[key]

    def runs(self, *, service: Service | None = None, provider: str | None = None) -> RunHistory:
        """Every run, newest first: when, kind, source, rows, how many ended in each state, the parent, and the
        service and providers it wrote to; only those of ``service`` and of ``provider`` when given.

        Example: ``Journal().runs(service=client.service())``
        """
        with self._lock:
            heads = self._db.execute(
                "SELECT seq, id, kind, parent, source, state, created, finished, total, graph_url, tenant, providers,"
                " names FROM runs ORDER BY seq DESC"
            ).fetchall()
            counts: dict[int, dict[str, int]] = {}
            for seq, state, n in self._db.execute("SELECT run, state, COUNT(*) FROM plans GROUP BY run, state"):
                counts.setdefault(seq, {})[state] = n
        # A run is undone (an undo redone) by its newest child of that kind that finished clean: an undo whose
        # rows conflicted or failed leaves its parent in effect, for the person to look at.
        reverted: dict[tuple[str, str], str] = {}
        for seq, run_id, kind, parent, _, state, *_ in heads:
            clean = not ({"conflict", "failed"} & set(counts.get(seq, {})))
            if parent and kind in ("undo", "redo") and state == "finished" and clean:
                reverted.setdefault((parent, kind), run_id)  # newest first: the first seen is the newest
        found = []
        for seq, run_id, kind, parent, source, state, created, finished, total, url, tenant, where, names in heads:
            ran_on = Service(url or "", tenant)
            touched = tuple(json.loads(where))
            if service is not None and not ran_on.same_as(service):
                continue
            if provider is not None and provider.lower() not in {p.lower() for p in touched}:
                continue
            found.append(
                RunSummary(
                    run_id,
                    kind,
                    parent,
                    source,
                    state,
                    created,
                    finished,
                    total,
                    counts.get(seq, {}),
                    ran_on,
                    touched,
                    json.loads(names or "{}"),
                    reverted.get((run_id, "undo")),
                    reverted.get((run_id, "redo")),
                )
            )
        return RunHistory(found)

    # --- rows

    def mark_sending(self, run_id: str, sending: Sequence[Sending]) -> None:
        """Before a batch goes out: the rows about to be PATCHed, with the values replaced and the body."""
        self.write(run_id, sending=sending)

    def write(
        self,
        run_id: str,
        *,
        sending: Sequence[Sending] = (),
        outcomes: Sequence[Outcome] = (),
        answers: Sequence[Answer] = (),
    ) -> None:
        """``record`` and ``mark_sending`` in one transaction (the engine's writes, batched).

        A row's ``before`` and ``body`` are JSON values the journal keeps: they are not changed in place
        once passed (an outcome with the same objects as its "sending" reuses their stored text).
        """
        if not (sending or outcomes or answers):
            return
        seq, providers = self._seq(run_id)
        statements = self._record_statements(seq, providers, outcomes, answers) if outcomes or answers else []
        if sending:
            lines = []
            statics = self._statics.get(seq) or []  # looked up once per write, not per row
            for idx, plan, before, body in sending:
                packed = codec.pack_values(before, body)
                self._sent[(seq, idx)] = (before, body, packed)
                static = statics[idx] if idx < len(statics) else self._static(seq, idx, plan, providers)
                lines.append((*packed, codec.crc(static, "sending", *packed), seq, idx))
            statements.append(
                (
                    "UPDATE plans SET state = 'sending', before = ?, body = ?, crc = ? WHERE run = ? AND idx = ?",
                    lines,
                    True,
                )
            )
        self._write(statements)

    def _static(self, seq: int, idx: int, plan: PatchPlan, providers: list[str]) -> int:
        """A row's ``static_crc`` as this object last wrote it; computed from the plan when another wrote the run."""
        statics = self._statics.get(seq)
        if statics is None or idx >= len(statics):
            return codec.plan_crc(idx, plan, providers, codec.extra_text(plan))
        return statics[idx]

    def record(
        self,
        run_id: str,
        outcomes: Sequence[Outcome],
        answers: Sequence[Answer] = (),
    ) -> None:
        """After a batch: the final rows (``Outcome``), and an ``Answer`` for each sub-request that did not
        succeed (its line in the ``attempts`` table)."""
        self.write(run_id, outcomes=outcomes, answers=answers)

    def _record_statements(
        self,
        seq: int,
        providers: list[str],
        outcomes: Sequence[Outcome],
        answers: Sequence[Answer],
    ) -> list[tuple[str, Any, bool]]:
        stamp = _now()
        rows = []
        # This run's stored changes and checksums, looked up once per write, not per row.
        texts = self._changes.get(seq) or []
        statics = self._statics.get(seq) or []
        for idx, plan, state, code, message, sends, retryable, before, body in outcomes:
            sent = self._sent.pop((seq, idx), None)
            packed = (
                sent[2]
                if sent is not None and sent[0] is before and sent[1] is body
                else codec.pack_values(before, body)
            )
            if state in _SETTLED or (state == "failed" and not retryable):
                # Settled: nothing will read this row's base or expectations again (undo needs the
                # values it replaced and its body, which stay): the row keeps only those.
                extra: str | None = None
                if idx < len(texts):
                    where, kind_at = providers.index(plan.registration_id), _KINDS.index(plan.odata_type)
                    static = codec.static_crc(idx, plan.row, plan.activity_id, where, kind_at, texts[idx], None)
                else:
                    static = codec.plan_crc(idx, plan, providers, None)
                crc = codec.crc(static, state, *packed)
                if idx < len(statics):
                    statics[idx] = static
            else:
                extra = codec.extra_text(plan)
                crc = codec.crc(self._static(seq, idx, plan, providers), state, *packed)
            changes = texts[idx] if idx < len(texts) else codec.props(plan.changes) or "{}"
            stored = codec.pack_message(message, state, changes)
            rows.append((state, code, stored, sends, int(retryable), *packed, extra, crc, seq, idx))
        return [
            (
                "UPDATE plans SET state = ?, code = ?, message = ?, attempts = ?, retryable = ?, before = ?,"
                " body = ?, extra = ?, crc = ? WHERE run = ? AND idx = ?",
                rows,
                True,
            ),
            (
                "INSERT INTO attempts (run, idx, method, answered, status, error, retry_after)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (seq, idx, method, stamp, status, error or None, after)
                    for idx, method, status, error, after in answers
                ],
                True,
            ),
        ]

    def rows(self, run_id: str) -> list[JournalRow]:
        """Every plan of a run, in order, with its state; ``JournalError`` if a row fails its checksum."""
        seq, providers = self._seq(run_id)
        with self._lock:
            found = self._db.execute(
                "SELECT idx, row, activity_id, provider, kind, changes, extra, state, before, body, code, message,"
                " attempts, retryable, crc FROM plans WHERE run = ? ORDER BY idx",
                (seq,),
            ).fetchall()
        out = []
        statics: list[int] = []
        for (
            idx,
            row,
            activity_id,
            where,
            kind_at,
            changes,
            extra,
            state,
            before,
            body,
            code,
            message,
            sends,
            retry,
            crc,
        ) in found:
            static = codec.static_crc(idx, row, activity_id, where, kind_at, changes, extra)
            statics.append(static)
            if crc != codec.crc(static, state, before, body):
                raise JournalError(
                    f"run {run_id}, row {row} of the journal {self.path} fails its checksum (the file was changed "
                    "outside learnkit, or damaged): nothing was sent; keep it aside for inspection"
                )
            try:
                kind = _KINDS[kind_at]
                etag, expect, base = codec.extras(extra)
                plan = PatchPlan(
                    int(row), providers[where], str(activity_id), kind, codec.load(changes), etag, expect, base
                )
                full_before, full_body = codec.unpack_values(kind, before, body)
            except (IndexError, ValueError, TypeError, AttributeError) as exc:
                raise JournalError(
                    f"run {run_id}, row {row} of the journal {self.path} cannot be read: {exc}"
                ) from None
            message = codec.unpack_message(message, state, changes)
            out.append(JournalRow(idx, plan, state, full_before, full_body, code, message, sends, bool(retry)))
        return out

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
        """Every sub-request of a run that did not succeed: row index, method, when answered, status, error,
        retry-after (a successful one shows in its row's ``attempts`` count)."""
        seq, _ = self._seq(run_id)
        with self._lock:
            frame: pd.DataFrame = pd.read_sql_query(
                "SELECT idx, method, answered, status, error, retry_after FROM attempts WHERE run = ? ORDER BY rowid",
                self._db,
                params=(seq,),
            )
        return frame
