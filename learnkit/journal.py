"""The SQLite journal of bulk runs: every plan before it is sent, every attempt, every outcome.

One file holds many runs. A run (``apply``, ``undo`` or ``redo``) has one row per plan; a
row moves ``planned`` -> ``sending`` (the values it replaces and the body, written
before the PATCH goes out) -> ``applied`` | ``unchanged`` | ``conflict`` | ``failed``.
The ``attempts`` table has one line per sub-request that did not succeed (throttled,
failed, dropped), with its answer; a row's ``attempts`` counts its sends.
A file that is not a learnkit journal, or fails its integrity check or a row's
checksum, is refused with ``JournalError`` before anything is sent.

The default file is ``journal.sqlite`` in the user's data directory
(``platformdirs``); ``LEARNKIT_JOURNAL`` or a path overrides it.

Example::

    book = Journal()                      # ~/.local/share/learnkit/journal.sqlite on Linux
    book.runs()                           # the history: every run, newest first
    book.frame("20240501T101500-ab12cd")  # its rows: plan, state, values replaced
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import html
import json
import os
import secrets
import socket
import sqlite3
import threading
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, overload

import pandas as pd
import platformdirs

from learnkit.errors import JournalError
from learnkit.leases import process_alive
from learnkit.models import UPDATE_MODELS
from learnkit.plans import AS_EXPORTED, UNCHANGED, PatchPlan, changes_key, compact_json
from learnkit.service import Service

__all__ = ["Journal", "JournalError", "JournalRow", "RunHistory", "RunInfo", "RunSummary", "default_journal_path"]

#: ``PRAGMA application_id`` of a learnkit journal ("LKJ1"), and ``user_version``: the format of its tables.
APPLICATION_ID = 0x4C4B4A31
FORMAT = 2

# One row per plan, keyed by (run, idx) without a rowid: a plan's row in this table is the
# whole of what the journal keeps for it (about 200 to 300 bytes). Providers and types are
# stored once per run and referred to by position; ``before`` holds only what differs from
# ``body``; ``crc`` covers the row, so a damaged file is refused rather than resumed.
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
_KINDS = tuple(UPDATE_MODELS)
_SQLITE_MAGIC = b"SQLite format 3\x00"


class _OlderFormat(Exception):
    """The file is a journal of an older learnkit (format 1)."""


# Messages most rows end with, stored as a short code.
_STOCK = ("applied", UNCHANGED, AS_EXPORTED)


def _pack_message(message: str | None) -> str | None:
    if not message:
        return None
    return f"~{_STOCK.index(message)}" if message in _STOCK else message


def _unpack_message(text: str | None) -> str:
    if text and len(text) == 2 and text[0] == "~" and text[1].isdigit() and int(text[1]) < len(_STOCK):
        return _STOCK[int(text[1])]
    return text or ""


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
    return None if value is None else compact_json(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class RunInfo:
    """One run: its id, kind (``apply``/``undo``), the run it undoes, state, where it ran (this machine's
    ``host`` and ``pid``) and what it wrote to (``service``, ``providers``)."""

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
    tenant: str | None = None
    providers: tuple[str, ...] = ()
    #: Provider registration id -> its name, where the run's caller knew it (the app does).
    provider_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def service(self) -> Service:
        """The Graph host and tenant the run wrote to."""
        return Service(self.graph_url or "", self.tenant)


_NO_SERVICE = Service("", None)


@dataclass(frozen=True)
class RunSummary:
    """One line of the history: when, what kind, from where, how many rows, how they ended, and the
    service and providers it wrote to.

    >>> RunSummary("r1", "apply", None, "edits.csv", "finished", "2024-05-01T10:15:00", None, 3,
    ...            {"applied": 2, "conflict": 1}).outcome
    'applied 2, conflict 1'
    """

    id: str
    kind: str
    parent: str | None
    source: str | None
    state: str
    created: str
    finished: str | None
    rows: int
    counts: Mapping[str, int]
    service: Service = _NO_SERVICE
    providers: tuple[str, ...] = ()
    provider_names: Mapping[str, str] = field(default_factory=dict)
    #: The undo run that reverted this run, and the redo run that re-applied this undo (None: not so).
    undone_by: str | None = None
    redone_by: str | None = None

    @property
    def provider_label(self) -> str:
        """Its provider by name where known, else by the start of its id (``+N`` for more).

        >>> RunSummary("r", "apply", None, None, "finished", "", None, 1, {}, providers=("01e8f81b-30",),
        ...            provider_names={"01e8f81b-30": "Contoso"}).provider_label
        'Contoso'
        """
        if not self.providers:
            return "-"
        first = self.providers[0]
        shown = self.provider_names.get(first) or first.split("-")[0]
        return shown + (f" +{len(self.providers) - 1}" if len(self.providers) > 1 else "")

    @property
    def in_effect(self) -> bool:
        """An apply or redo that finished, changed something, and is not undone: what an undo would revert."""
        return (
            self.kind in ("apply", "redo")
            and self.state == "finished"
            and self.counts.get("applied", 0) > 0
            and self.undone_by is None
        )

    @property
    def redoable(self) -> bool:
        """An undo that finished, put something back, and is not redone: what a redo would re-apply."""
        return (
            self.kind == "undo"
            and self.state == "finished"
            and self.counts.get("applied", 0) > 0
            and self.redone_by is None
        )

    @property
    def outcome(self) -> str:
        """The counts in words, e.g. ``applied 2, conflict 1``."""
        return ", ".join(f"{state} {n}" for state, n in sorted(self.counts.items())) or "no rows"


_HISTORY_COLUMNS = ("when", "kind", "source", "rows", "outcome", "state", "parent")


class RunHistory(Sequence[RunSummary]):
    """The journal's runs, newest first: a sequence of ``RunSummary`` with a table view.

    >>> len(Journal(":memory:").runs())
    0
    """

    def __init__(self, runs: Sequence[RunSummary]) -> None:
        self._runs = tuple(runs)

    @overload
    def __getitem__(self, index: int) -> RunSummary: ...
    @overload
    def __getitem__(self, index: slice) -> RunHistory: ...
    def __getitem__(self, index: int | slice) -> RunSummary | RunHistory:
        if isinstance(index, slice):
            return RunHistory(self._runs[index])
        return self._runs[index]

    def __len__(self) -> int:
        return len(self._runs)

    def __repr__(self) -> str:
        lines = [f"{r.created[:19]}  {r.kind:5}  {r.id}  {r.rows} rows: {r.outcome}" for r in self._runs[:20]]
        more = [f"... and {len(self) - 20} more"] if len(self) > 20 else []
        return "\n".join([f"RunHistory({len(self)} runs)", *lines, *more])

    def last_in_effect(self) -> RunSummary | None:
        """The newest change not yet undone (``RunSummary.in_effect``): what "undo last" reverts."""
        return next((run for run in self._runs if run.in_effect), None)

    def last_undone(self) -> RunSummary | None:
        """The newest undo not yet redone (``RunSummary.redoable``): what "redo" re-applies."""
        return next((run for run in self._runs if run.redoable), None)

    def to_frame(self) -> pd.DataFrame:
        """One row per run, indexed by id: kind, parent, state, created, finished, source, service, providers,
        undone_by, redone_by, rows and a column per final state with its count."""
        states = sorted({state for r in self._runs for state in r.counts})
        frame: pd.DataFrame = pd.DataFrame(
            {
                "kind": [r.kind for r in self._runs],
                "parent": [r.parent for r in self._runs],
                "state": [r.state for r in self._runs],
                "created": [r.created for r in self._runs],
                "finished": [r.finished for r in self._runs],
                "source": [r.source for r in self._runs],
                "service": [r.service.label for r in self._runs],
                "providers": [", ".join(r.providers) for r in self._runs],
                "provider": [r.provider_label for r in self._runs],
                "undone_by": [r.undone_by for r in self._runs],
                "redone_by": [r.redone_by for r in self._runs],
                "rows": [r.rows for r in self._runs],
                **{state: [int(r.counts.get(state, 0)) for r in self._runs] for state in states},
            },
            index=pd.Index([r.id for r in self._runs], name="id"),
        )
        return frame

    def _repr_html_(self) -> str:
        # Colours come from JupyterLab's theme variables, so the table reads in light and dark themes.
        cell = "padding:2px 8px;text-align:left;border-bottom:1px solid var(--jp-border-color2, #8884)"
        head = "".join(f"<th style='{cell}'>{name}</th>" for name in _HISTORY_COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='{cell}'>{html.escape(str(value))}</td>"
                for value in (
                    r.created[:19].replace("T", " "),
                    r.kind,
                    r.source or "",
                    r.rows,
                    r.outcome,
                    r.state,
                    r.parent or "",
                )
            )
            + "</tr>"
            for r in self._runs[:50]
        )
        more = f"<p>... and {len(self) - 50} more</p>" if len(self) > 50 else ""
        return (
            "<div style='color:var(--jp-content-font-color1, inherit)'>"
            f"<b>{len(self)} journal run(s)</b>, newest first"
            f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"{more}</div>"
        )


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


def _text(parts: Sequence[Any]) -> bytes:
    return "\x1f".join(["" if p is None else str(p) for p in parts]).encode()


def _plan_crc(idx: int, plan: PatchPlan, providers: list[str], extra: str | None) -> int:
    """``_static_crc`` of a plan's row as stored: its address, kind, changes and (unless settled) extras."""
    return _static_crc(
        idx,
        plan.row,
        plan.activity_id,
        providers.index(plan.registration_id),
        _KINDS.index(plan.odata_type),
        _props(plan.changes) or "{}",
        extra,
    )


def _static_crc(idx: int, row: int, activity_id: str, where: int, kind_at: int, changes: str, extra: Any) -> int:
    """The checksum of what a row keeps from its plan (computed once per row, then continued)."""
    if extra is None:  # _text(...) spelled out for the usual case: this runs twice per row
        return zlib.crc32(f"{idx}\x1f{row}\x1f{activity_id}\x1f{where}\x1f{kind_at}\x1f{changes}\x1f".encode())
    return zlib.crc32(_text((idx, row, activity_id, where, kind_at, changes, extra)))


def _crc(static: int, state: str, before: str | None, body: str | None) -> int:
    # _text(("", state, before, body)) spelled out: this runs three times per row.
    return zlib.crc32(f"\x1f{state}\x1f{before or ''}\x1f{body or ''}".encode(), static)


# Property names as the journal stores them: a letter each (they repeat in every row's changes,
# before and body); names not listed are stored as they are.
_SHORT = {
    "assignedDateTime": "a",
    "completedDateTime": "c",
    "completionPercentage": "p",
    "dueDateTime": "d",
    "notes": "n",
    "status": "s",
    "startedDateTime": "t",
}
_LONG = {short: name for name, short in _SHORT.items()}


def _props(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    return compact_json({_SHORT.get(k, k): v for k, v in values.items()})


def _unprops(text: str | None) -> Any:
    found = _load(text)
    return {_LONG.get(k, k): v for k, v in found.items()} if isinstance(found, dict) else found


def _pack_values(before: Mapping[str, Any] | None, body: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """``before`` and ``body`` as stored: without ``@odata.type`` (the row has the kind), and ``before``
    only where it differs from ``body`` (``status`` is in every body and rarely changes)."""
    if body is None:
        return _props(before), None
    if before is None:
        return None, _props({k: v for k, v in body.items() if k != "@odata.type"})
    # Short names straight away (what _props does), in one pass over each.
    sent = {_SHORT.get(k, k): v for k, v in body.items() if k != "@odata.type"}
    kept = {
        short: v
        for k, v in before.items()
        if k != "@odata.type" and ((short := _SHORT.get(k, k)) not in sent or sent[short] != v)
    }
    return compact_json(kept), compact_json(sent)


def _unpack_values(kind: str, before: str | None, body: str | None) -> tuple[Any, Any]:
    sent = _unprops(body)
    kept = _unprops(before)
    if sent is None:
        return kept, None
    full_body = {"@odata.type": kind, **sent}
    if kept is None:
        return None, full_body
    return {"@odata.type": kind, **sent, **kept}, full_body


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
            if version != FORMAT:
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
                changes = _props(p.changes) or "{}"
                if key is not None:
                    known[key] = changes
            extra = {k: v for k, v in (("e", p.base_etag), ("x", dict(p.expect)), ("b", dict(p.base))) if v}
            extra_text = _dump(extra) if extra else None
            state, stock = finals.get(i, ("planned", None))
            message = _pack_message(stock)
            static = _static_crc(i, p.row, p.activity_id, where, kind_at, changes, extra_text)
            statics.append(static)
            texts.append(changes)
            crc = _crc(static, state, None, None)
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

    def mark_sending(self, run_id: str, sending: Sequence[tuple[int, PatchPlan, Any, Any]]) -> None:
        """Before a batch goes out: the rows about to be PATCHed, with the values replaced and the body."""
        self.write(run_id, sending=sending)

    def write(
        self,
        run_id: str,
        *,
        sending: Sequence[tuple[int, PatchPlan, Any, Any]] = (),
        outcomes: Sequence[tuple[int, PatchPlan, str, int | None, str, int, bool, Any, Any]] = (),
        answers: Sequence[tuple[int, str, int | None, str, float | None]] = (),
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
            for idx, plan, before, body in sending:
                packed = _pack_values(before, body)
                self._sent[(seq, idx)] = (before, body, packed)
                lines.append((*packed, self._row_crc(seq, idx, plan, providers, "sending", *packed), seq, idx))
            statements.append(
                (
                    "UPDATE plans SET state = 'sending', before = ?, body = ?, crc = ? WHERE run = ? AND idx = ?",
                    lines,
                    True,
                )
            )
        self._write(statements)

    @staticmethod
    def _extra_text(plan: PatchPlan) -> str | None:
        extra = {k: v for k, v in (("e", plan.base_etag), ("x", dict(plan.expect)), ("b", dict(plan.base))) if v}
        return _dump(extra) if extra else None

    def _row_crc(
        self, seq: int, idx: int, plan: PatchPlan, providers: list[str], state: str, before: Any, body: Any
    ) -> int:
        statics = self._statics.get(seq)
        if statics is None or idx >= len(statics):
            extra = {k: v for k, v in (("e", plan.base_etag), ("x", dict(plan.expect)), ("b", dict(plan.base))) if v}
            static = _plan_crc(idx, plan, providers, _dump(extra) if extra else None)
        else:
            static = statics[idx]
        return _crc(static, state, before, body)

    def record(
        self,
        run_id: str,
        outcomes: Sequence[tuple[int, PatchPlan, str, int | None, str, int, bool, Any, Any]],
        answers: Sequence[tuple[int, str, int | None, str, float | None]] = (),
    ) -> None:
        """After a batch: final rows ``(idx, plan, state, code, message, attempts, retryable, before, body)``,
        and a line ``(idx, method, status, error, retry_after)`` for each sub-request that did not succeed."""
        self.write(run_id, outcomes=outcomes, answers=answers)

    def _record_statements(
        self,
        seq: int,
        providers: list[str],
        outcomes: Sequence[tuple[int, PatchPlan, str, int | None, str, int, bool, Any, Any]],
        answers: Sequence[tuple[int, str, int | None, str, float | None]],
    ) -> list[tuple[str, Any, bool]]:
        stamp = _now()
        rows = []
        for idx, plan, state, code, message, sends, retryable, before, body in outcomes:
            sent = self._sent.pop((seq, idx), None)
            packed = (
                sent[2] if sent is not None and sent[0] is before and sent[1] is body else _pack_values(before, body)
            )
            if state in _SETTLED or (state == "failed" and not retryable):
                # Settled: nothing will read this row's base or expectations again (undo needs the
                # values it replaced and its body, which stay): the row keeps only those.
                extra: str | None = None
                texts = self._changes.get(seq)
                if texts is not None and idx < len(texts):
                    where, kind_at = providers.index(plan.registration_id), _KINDS.index(plan.odata_type)
                    static = _static_crc(idx, plan.row, plan.activity_id, where, kind_at, texts[idx], None)
                else:
                    static = _plan_crc(idx, plan, providers, None)
                crc = _crc(static, state, *packed)
                statics = self._statics.get(seq)
                if statics is not None and idx < len(statics):
                    statics[idx] = static
            else:
                extra = self._extra_text(plan)
                crc = self._row_crc(seq, idx, plan, providers, state, *packed)
            rows.append((state, code, _pack_message(message), sends, int(retryable), *packed, extra, crc, seq, idx))
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
            static = _static_crc(idx, row, activity_id, where, kind_at, changes, extra)
            statics.append(static)
            if crc != _crc(static, state, before, body):
                raise JournalError(
                    f"run {run_id}, row {row} of the journal {self.path} fails its checksum (the file was changed "
                    "outside learnkit, or damaged): nothing was sent; keep it aside for inspection"
                )
            try:
                kind = _KINDS[kind_at]
                more = _load(extra) or {}
                plan = PatchPlan(
                    int(row),
                    providers[where],
                    str(activity_id),
                    kind,
                    _unprops(changes),
                    more.get("e"),
                    dict(more.get("x") or {}),
                    dict(more.get("b") or {}),
                )
                full_before, full_body = _unpack_values(kind, before, body)
            except (IndexError, ValueError, TypeError, AttributeError) as exc:
                raise JournalError(
                    f"run {run_id}, row {row} of the journal {self.path} cannot be read: {exc}"
                ) from None
            out.append(
                JournalRow(idx, plan, state, full_before, full_body, code, _unpack_message(message), sends, bool(retry))
            )
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
