"""The sandbox's SQLite store: the tenant's users, providers, contents and activities, and its keys.

One connection in WAL mode, guarded by a lock, so the server's event loop and
the caller's thread (``reset``, ``seed_bulk``) may use it at once. Each entity
is kept as its Graph JSON; ``seq`` orders collections and drives paging.

Example: ``store = Store(Path("graph.db")); store.get_activity("8ba2228a-e020-11ec-9d64-0242ac120003")``
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from learnkit.sandbox.seed import Tenant

__all__ = ["Duplicate", "Page", "Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE COLLATE NOCASE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS providers (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE COLLATE NOCASE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contents (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    provider_id TEXT NOT NULL COLLATE NOCASE, external_id TEXT NOT NULL, data TEXT NOT NULL,
    UNIQUE (provider_id, external_id));
CREATE TABLE IF NOT EXISTS activities (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    provider_id TEXT NOT NULL COLLATE NOCASE, learner_id TEXT NOT NULL COLLATE NOCASE,
    external_id TEXT NOT NULL, data TEXT NOT NULL,
    UNIQUE (provider_id, external_id));
CREATE INDEX IF NOT EXISTS activities_by_provider ON activities (provider_id, seq);
CREATE INDEX IF NOT EXISTS activities_by_learner ON activities (learner_id, seq);
CREATE INDEX IF NOT EXISTS contents_by_provider ON contents (provider_id, seq);
"""

Collection = Literal["providers", "provider_activities", "learner_activities", "contents"]

# Fixed SQL per collection, so no caller text ever reaches a query.
_COLLECTIONS: dict[str, tuple[str, str]] = {
    "providers": ("providers", "1 = 1 OR ? IS NULL"),
    "provider_activities": ("activities", "provider_id = ?"),
    "learner_activities": ("activities", "learner_id = ?"),
    "contents": ("contents", "provider_id = ?"),
}


def _external_key(activity: dict[str, Any]) -> str:
    """The external_id column: the activity's externalcourseActivityId, optional on create, so one without
    it gets a key of its own that no URL's external id can name (its id behind a NUL)."""
    external = activity.get("externalcourseActivityId")
    return str(external) if external is not None else "\x00" + str(activity["id"])


def _tenant_keys(activities: Iterable[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each activity of a tenant being loaded with its external_id column.

    A tenant may hold one external id twice under a provider (a real one can, and the audit
    looks for it): the later records get a key of their own (the external id, a NUL, their id),
    so addressing the external id reaches the first, as creating a second one stays refused.
    """
    seen: set[tuple[str, str]] = set()
    for activity in activities:
        key = _external_key(activity)
        pair = (str(activity["learningProviderId"]).lower(), key)
        if pair in seen:
            key = f"{key}\x00{activity['id']}"
        seen.add(pair)
        yield activity, key


class Duplicate(Exception):
    """An entity with that (provider, external id) or id already exists."""


@dataclass(frozen=True)
class Page:
    """One page of a collection: its items, the ``seq`` to continue after (None: last page), the total."""

    items: list[dict[str, Any]]
    next_after: int | None
    total: int | None


class Store:
    """The tenant in SQLite; every method is safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        # The file holds the signing key and client secrets: owner-only before SQLite writes a byte (SQLite
        # gives its -wal and -shm files the database's mode; ones left by an older run are narrowed too).
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if name == path or name.exists():
                os.close(os.open(name, os.O_RDWR | os.O_CREAT, 0o600))
                os.chmod(name, 0o600)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA cache_size=-65536")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return json.loads(row[0]) if row else None

    # --- meta -------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A stored setting (keys, secrets), or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def clear_meta(self) -> None:
        """Forget every stored setting: the next Identity makes a new signing key, secrets and certificates."""
        with self._lock:
            self._db.execute("DELETE FROM meta")

    def has_tenant(self) -> bool:
        """True once a tenant has been loaded."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM providers LIMIT 1").fetchone() is not None

    # --- the whole tenant ---------------------------------------------------

    def replace_tenant(self, tenant: Tenant) -> None:
        """Drop every user, provider, content and activity, and load ``tenant``."""
        with self._transaction() as db:
            for table in ("users", "providers", "contents", "activities"):
                db.execute(f"DELETE FROM {table}")
            db.executemany(
                "INSERT INTO users (id, data) VALUES (?, ?)",
                ((u["id"], json.dumps(u)) for u in tenant.users),
            )
            db.executemany(
                "INSERT INTO providers (id, data) VALUES (?, ?)",
                ((p["id"], json.dumps(p)) for p in tenant.providers),
            )
            db.executemany(
                "INSERT INTO contents (id, provider_id, external_id, data) VALUES (?, ?, ?, ?)",
                ((c["id"], pid, c["externalId"], json.dumps(c)) for pid, c in tenant.contents),
            )
            self._insert_activities(db, tenant.activities)

    def add_activities(self, activities: Iterable[dict[str, Any]]) -> None:
        """Insert many activities in one transaction (for benchmarks)."""
        with self._transaction() as db:
            self._insert_activities(db, activities)

    @staticmethod
    def _insert_activities(db: sqlite3.Connection, activities: Iterable[dict[str, Any]]) -> None:
        db.executemany(
            "INSERT INTO activities (id, provider_id, learner_id, external_id, data) VALUES (?, ?, ?, ?, ?)",
            (
                (a["id"], a["learningProviderId"], a["learnerUserId"], key, json.dumps(a))
                for a, key in _tenant_keys(activities)
            ),
        )

    def count(self, table: Literal["users", "providers", "contents", "activities"]) -> int:
        """How many rows a table holds."""
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def ids(self, table: Literal["users", "contents"], provider_id: str | None = None) -> list[str]:
        """Ids of users, or of one provider's contents, in order."""
        with self._lock:
            if table == "contents":
                rows = self._db.execute(
                    "SELECT id FROM contents WHERE provider_id = ? ORDER BY seq", (provider_id,)
                ).fetchall()
            else:
                rows = self._db.execute("SELECT id FROM users ORDER BY seq").fetchall()
        return [str(r[0]) for r in rows]

    def activity_keys(self, provider_id: str) -> list[tuple[str, str | None]]:
        """A provider's activities' ``(id, externalcourseActivityId)``, in order."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM activities WHERE provider_id = ? ORDER BY seq", (provider_id,))
            records = [json.loads(r[0]) for r in rows.fetchall()]
        return [(str(r["id"]), r.get("externalcourseActivityId")) for r in records]

    # --- single entities ----------------------------------------------------

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        """A user's JSON, or None."""
        return self._one("SELECT data FROM users WHERE id = ?", user_id)

    def find_user(self, key: str) -> dict[str, Any] | None:
        """A user's JSON by id or userPrincipalName (neither case-sensitive), or None."""
        return self.get_user(key) or self._one(
            "SELECT data FROM users WHERE json_extract(data, '$.userPrincipalName') = ? COLLATE NOCASE", key
        )

    def add_users(self, users: Iterable[dict[str, Any]]) -> None:
        """Insert many users in one transaction (for benchmarks)."""
        with self._transaction() as db:
            db.executemany("INSERT INTO users (id, data) VALUES (?, ?)", ((u["id"], json.dumps(u)) for u in users))

    def get_provider(self, provider_id: str) -> dict[str, Any] | None:
        """A provider's JSON, or None."""
        return self._one("SELECT data FROM providers WHERE id = ?", provider_id)

    def save_provider(self, provider: dict[str, Any]) -> None:
        """Replace a provider's JSON."""
        with self._lock:
            self._db.execute("UPDATE providers SET data = ? WHERE id = ?", (json.dumps(provider), provider["id"]))

    def insert_provider(self, provider: dict[str, Any]) -> None:
        """Register a provider (its id is new: the service made it)."""
        with self._lock:
            self._db.execute("INSERT INTO providers (id, data) VALUES (?, ?)", (provider["id"], json.dumps(provider)))

    def delete_provider(self, provider_id: str) -> None:
        """Remove a provider with the contents and activities it contains.

        One transaction: a reader never sees the activities of a provider that is gone.
        """
        with self._transaction() as db:
            for table in ("contents", "activities"):
                db.execute(f"DELETE FROM {table} WHERE provider_id = ?", (provider_id,))
            db.execute("DELETE FROM providers WHERE id = ?", (provider_id,))

    def get_content(self, content_id: str) -> tuple[str, dict[str, Any]] | None:
        """(provider id, content JSON) of a content, or None."""
        with self._lock:
            row = self._db.execute("SELECT provider_id, data FROM contents WHERE id = ?", (content_id,)).fetchone()
        return (str(row[0]), json.loads(row[1])) if row else None

    def get_content_by_external_id(self, provider_id: str, external_id: str) -> dict[str, Any] | None:
        """A provider's content by its externalId, or None."""
        return self._one(
            "SELECT data FROM contents WHERE provider_id = ? AND external_id = ?", provider_id, external_id
        )

    def insert_content(self, provider_id: str, content: dict[str, Any]) -> None:
        """Add a content; raises Duplicate if the provider already has its externalId."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO contents (id, provider_id, external_id, data) VALUES (?, ?, ?, ?)",
                    (content["id"], provider_id, content["externalId"], json.dumps(content)),
                )
        except sqlite3.IntegrityError as exc:
            raise Duplicate(content["externalId"]) from exc

    def save_content(self, provider_id: str, content: dict[str, Any]) -> None:
        """Replace a content's JSON (its externalId may change); raises Duplicate if another has it."""
        try:
            with self._lock:
                self._db.execute(
                    "UPDATE contents SET external_id = ?, data = ? WHERE id = ? AND provider_id = ?",
                    (content["externalId"], json.dumps(content), content["id"], provider_id),
                )
        except sqlite3.IntegrityError as exc:
            raise Duplicate(content["externalId"]) from exc

    def delete_content(self, content_id: str) -> None:
        """Remove a content."""
        with self._lock:
            self._db.execute("DELETE FROM contents WHERE id = ?", (content_id,))

    def get_activity(self, activity_id: str) -> dict[str, Any] | None:
        """An activity's JSON, or None."""
        return self._one("SELECT data FROM activities WHERE id = ?", activity_id)

    def get_activity_by_external_id(self, provider_id: str, external_id: str) -> dict[str, Any] | None:
        """A provider's activity by its externalcourseActivityId, or None."""
        return self._one(
            "SELECT data FROM activities WHERE provider_id = ? AND external_id = ?", provider_id, external_id
        )

    def insert_activity(self, activity: dict[str, Any]) -> None:
        """Add an activity; raises Duplicate if the provider already has its external id."""
        try:
            with self._lock:
                self._insert_activities(self._db, [activity])
        except sqlite3.IntegrityError as exc:
            raise Duplicate(activity["externalcourseActivityId"]) from exc

    def save_activity(self, activity: dict[str, Any]) -> None:
        """Replace an activity's JSON (its ids do not change)."""
        with self._lock:
            self._db.execute("UPDATE activities SET data = ? WHERE id = ?", (json.dumps(activity), activity["id"]))

    def delete_activity(self, activity_id: str) -> None:
        """Remove an activity."""
        with self._lock:
            self._db.execute("DELETE FROM activities WHERE id = ?", (activity_id,))

    # --- collections --------------------------------------------------------

    def page(
        self,
        collection: Collection,
        key: str | None,
        *,
        after: int | None,
        offset: int,
        limit: int,
        count: bool,
    ) -> Page:
        """One page of a collection, in ``seq`` order, after ``after`` and skipping ``offset``.

        Example: ``store.page("provider_activities", REGISTRATION_ID, after=None, offset=0, limit=100, count=True)``
        """
        table, where = _COLLECTIONS[collection]
        sql = f"SELECT seq, data FROM {table} WHERE ({where}) AND seq > ? ORDER BY seq LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, (key, after or 0, limit + 1, offset)).fetchall()
            total = None
            if count:
                total = int(self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", (key,)).fetchone()[0])
        more = limit > 0 and len(rows) > limit
        rows = rows[:limit]
        return Page(
            items=[json.loads(r[1]) for r in rows],
            next_after=int(rows[-1][0]) if more else None,
            total=total,
        )
