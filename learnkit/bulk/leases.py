"""Per-record leases on this machine: no two bulk runs read-and-write one record at the same time.

A bulk run (apply, undo, redo, resume) takes a lease on every record it may write before it
reads any of them, and lets them go when it ends. A record leased by another live run (a
process on this machine that is still running) is not read or sent: its row ends as a
``conflict`` naming that run, to apply again once it has finished. So of two runs that
overlap, one writes a record and the other reports it, and a run that starts after the
other finished reads what it wrote and sees the change as a conflict: no run reports
``applied`` for a value another run overwrote.

Leases live in one SQLite file per user (``$LEARNKIT_LEASES``, else ``leases.sqlite`` in
learnkit's data folder, ``$LEARNKIT_DATA_DIR``), whatever journal each run writes to. A
lease whose process is gone (killed) is taken over. Graph offers no conditional write for
course activities (no ETag, no ``If-Match``), so runs on two machines cannot see each
other: only their conflict check (the record read just before it is written) stands
between them.

Example::

    leases = Leases()
    holder, busy = leases.acquire("graph.microsoft.com|72f9...", ["id-1", "id-2"])
    ...                                   # read, decide, send the records not in ``busy``
    leases.release(holder)
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from learnkit.userdata import data_dir

__all__ = ["Lease", "Leases", "default_leases_path", "process_alive", "shared_leases"]

# One row per run holding leases: taking and letting go of a run's records is one INSERT and one DELETE,
# whatever their number (a row per record cost 6 to 12 ms for 2,000 records, before the first read).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS holders (
    holder TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    since TEXT NOT NULL,
    activities TEXT NOT NULL
);
"""
#: The table an older learnkit keeps its leases in, one row per record. Never written; its live leases still stand,
#: so a run of an older learnkit on this machine keeps its records until it ends.
_LEGACY = "leases"


def default_leases_path() -> Path:
    """``$LEARNKIT_LEASES``, else ``leases.sqlite`` in learnkit's data folder.

    >>> default_leases_path().name
    'leases.sqlite'
    """
    override = os.environ.get("LEARNKIT_LEASES")
    return Path(override) if override else data_dir() / "leases.sqlite"


@dataclass(frozen=True)
class Lease:
    """Who holds a record: the process (``pid`` on ``host``) and since when (UTC, ISO 8601)."""

    pid: int
    host: str
    since: str

    def describe(self) -> str:
        """``another run (process 4242, since 10:15:02 UTC)``."""
        return f"another run (process {self.pid}, since {self.since[11:19]} UTC)"


def process_alive(pid: int) -> bool:
    """Whether a process of this machine is running (one of another user's counts as running).

    >>> process_alive(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Leases:
    """The lease file. Each method is one transaction; safe to share between threads of one process.

    >>> leases = Leases(":memory:")
    >>> holder, busy = leases.acquire("svc", ["a", "b"])
    >>> leases.acquire("svc", ["b", "c"])[1].keys() == {"b"}
    True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_leases_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit, with BEGIN IMMEDIATE around each acquire: two processes never take one record.
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=60)
        if str(self.path) != ":memory:":
            os.chmod(self.path, 0o600)  # before the first write: SQLite gives its -wal and -shm files this mode
        # Write-ahead log, synced at checkpoints: a lease outlives a crash of its process (what it guards
        # against), and taking and letting go of a run's leases costs no fsync before its first read.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Leases({str(self.path)!r})"

    def acquire(self, service: str, activity_ids: Iterable[str]) -> tuple[str, Mapping[str, Lease]]:
        """Lease every record not held by another live run; ``(holder, {id: lease of the run holding it})``.

        ``holder`` names this acquisition for ``release``. A lease whose process is gone is taken over.
        """
        holder = secrets.token_hex(8)
        host, pid, since = socket.gethostname(), os.getpid(), datetime.now(timezone.utc).isoformat(timespec="seconds")
        wanted = list(dict.fromkeys(activity_ids))
        busy: dict[str, Lease] = {}
        db = self._db
        with self._lock:  # one transaction at a time on a connection runs in other threads share
            db.execute("BEGIN IMMEDIATE")
            try:
                others = db.execute(
                    "SELECT holder, pid, host, since, activities FROM holders WHERE service = ?", (service,)
                ).fetchall()
                gone = []
                for other, other_pid, other_host, other_since, activities in others:
                    # Another host's lease cannot be checked: it stands. One of this host's stands while its
                    # process lives; a dead run's leases are all let go at once.
                    if other_host != host or process_alive(int(other_pid)):
                        lease = Lease(int(other_pid), other_host, other_since)
                        busy.update(dict.fromkeys(set(json.loads(activities)).intersection(wanted), lease))
                    else:
                        gone.append((other,))
                if gone:
                    db.executemany("DELETE FROM holders WHERE holder = ?", gone)
                busy.update(self._legacy_busy(service, wanted, host))
                db.execute(
                    "INSERT INTO holders (holder, service, pid, host, since, activities) VALUES (?, ?, ?, ?, ?, ?)",
                    (holder, service, pid, host, since, json.dumps([a for a in wanted if a not in busy])),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return holder, busy

    def _legacy_busy(self, service: str, wanted: list[str], host: str) -> dict[str, Lease]:
        """The records an older learnkit's live run holds in its table of one row per record (looked for at each
        acquisition: an older learnkit may make its table after this file was opened)."""
        db = self._db
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_LEGACY,)).fetchone() is None:
            return {}
        if db.execute(f"SELECT 1 FROM {_LEGACY} LIMIT 1").fetchone() is None:
            return {}
        busy = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound values, with room to spare
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for activity, other_pid, other_host, other_since in db.execute(
                f"SELECT activity, pid, host, since FROM {_LEGACY} WHERE service = ? AND activity IN ({marks})",
                (service, *chunk),
            ):
                if other_host != host or process_alive(int(other_pid)):
                    busy[activity] = Lease(int(other_pid), other_host, other_since)
        return busy

    def release(self, holder: str) -> None:
        """Let go of every record ``holder`` leased."""
        with self._lock:
            self._db.execute("DELETE FROM holders WHERE holder = ?", (holder,))

    def close(self) -> None:
        """Close the file."""
        self._db.close()


_shared: tuple[tuple[int, str], Leases] | None = None
_shared_lock = threading.Lock()


def shared_leases() -> Leases:
    """This process's ``Leases`` on ``default_leases_path()``, opened once and kept open.

    Each bulk run takes and lets go of its leases through it, without opening the file (and, on closing,
    checkpointing its write-ahead log) every time. A new path (``$LEARNKIT_LEASES`` changed) opens a new
    one; a forked child opens its own.

    >>> shared_leases() is shared_leases()
    True
    """
    global _shared
    path = default_leases_path()
    key = (os.getpid(), str(path))
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            _shared = (key, Leases(path))  # a run still holding the one before keeps it until it ends
        return _shared[1]
