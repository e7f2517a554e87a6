"""Names a person recognises: the display name and mail behind a user id, read in ``$batch``es, kept for the session.

Activities name their learner and assigner by id. ``Names`` asks Graph for the users it has not
seen yet, 20 to a ``$batch`` (``GET /users/{id}?$select=id,displayName,mail,userPrincipalName``),
several batches at once, and remembers every answer, a user Graph does not know included (as
None), so a second look costs nothing. Ids are compared without regard to case (GUIDs are).

Without the permission (Graph answers 403) it stops asking, leaves the ids as they are, and says
once which permission would show names. Names are for display: nothing here is ever sent back.

Example::

    names = names_for(client)                       # the client's session cache
    found = names.resolve(frame["learnerUserId"])   # {id: UserName or None}
    names.label(learner_id)                         # 'Adele Vance', or the id when unknown
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from learnkit import paths
from learnkit.client import GraphClient
from learnkit.errors import (
    ForbiddenError,
    GraphError,
    InvalidInputError,
    LearnkitError,
    PermissionWarning,
    error_from_response,
)
from learnkit.limits import BATCH_LIMIT
from learnkit.permissions import PERMISSIONS

__all__ = ["CONCURRENCY", "SELECT", "Names", "UserName", "names_for"]

log = logging.getLogger(__name__)

#: The properties asked for: what a person reads, and the id to match the answer by.
SELECT = ("id", "displayName", "mail", "userPrincipalName")
#: Batches in flight at once. Lookups are reads that change nothing, so no pacing; 8 keeps 1,000 names
#: (50 batches) to a handful of round-trip times without crowding a service that also takes the writes.
CONCURRENCY = 8
_OPERATION = "get_user"


@dataclass(frozen=True)
class UserName:
    """What Graph says about one user (any of the three may be missing)."""

    id: str
    displayName: str | None = None
    mail: str | None = None
    userPrincipalName: str | None = None

    @property
    def label(self) -> str:
        """The text a person reads: the display name, else the principal name, mail or id.

        >>> UserName("u1", displayName="Adele Vance").label
        'Adele Vance'
        """
        return self.displayName or self.userPrincipalName or self.mail or self.id


def _key(user_id: str) -> str:
    return user_id.strip().lower()


def _ids(values: Iterable[object]) -> list[str]:
    """The distinct non-empty string ids among ``values`` (NaN, None and blanks left out), in order."""
    seen: dict[str, str] = {}
    for value in values:
        if isinstance(value, str) and value.strip():
            seen.setdefault(_key(value), value.strip())
    return list(seen.values())


def _denied_note() -> str:
    need = PERMISSIONS[_OPERATION]
    others = [p for p in need.application if p != need.least_privileged]
    return (
        f"names not shown: the token may not read users (Graph answered 403); showing ids. "
        f"Grant {need.least_privileged} (or {', '.join(others)}) and have an administrator consent"
    )


class Names:
    """A session's cache of user names, filled by ``$batch`` lookups through one ``GraphClient``.

    ``note`` is the one thing to tell a person (None while all is well): set once when the
    token lacks the permission, then every later lookup is answered from the cache alone.
    ``round_trips`` counts the ``$batch`` requests sent.

    >>> names = Names(None)
    >>> names.resolve(["u1"]), names.label("u1")
    ({'u1': None}, 'u1')
    """

    def __init__(
        self,
        client: GraphClient | None,
        *,
        concurrency: int = CONCURRENCY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        self._sleep = sleep
        self._known: dict[str, UserName | None] = {}
        self._lock = threading.Lock()
        self._fetching = threading.Lock()
        self.denied = False
        self.note: str | None = None
        self.round_trips = 0
        if client is not None:
            # The note below says it in terms of names; the client's generic warning would say it twice.
            client.silence_permission_warning(_OPERATION)

    def __repr__(self) -> str:
        found = sum(v is not None for v in self._known.values())
        return f"Names(known={len(self._known)}, found={found}, denied={self.denied}, round_trips={self.round_trips})"

    # --- reading the cache ---------------------------------------------------

    def get(self, user_id: str) -> UserName | None:
        """The cached answer for ``user_id`` (None: unknown to Graph, or not looked up); never a request."""
        return self._known.get(_key(user_id)) if isinstance(user_id, str) else None

    def label(self, user_id: str) -> str:
        """The name to show for ``user_id`` from the cache, or the id itself."""
        found = self.get(user_id)
        return found.label if found is not None else user_id

    def known(self, user_id: str) -> bool:
        """True when ``user_id`` was looked up already (found or not)."""
        return isinstance(user_id, str) and _key(user_id) in self._known

    # --- looking up ----------------------------------------------------------

    def resolve(self, user_ids: Iterable[object]) -> dict[str, UserName | None]:
        """Each distinct id of ``user_ids`` -> its ``UserName`` (None: not found, or not readable).

        Only ids not seen before are asked for, in ``$batch``es of ``BATCH_LIMIT``; once
        Graph has refused the permission, nothing is asked. Other failures (network,
        throttling past the retry policy) leave those ids unresolved, to be asked again
        by a later call, and set ``note``.
        """
        ids = _ids(user_ids)
        if self.client is not None and not self.denied and any(_key(i) not in self._known for i in ids):
            # One lookup at a time: a second caller (another view's thread) waits, then finds them cached.
            with self._fetching:
                unknown = [i for i in ids if _key(i) not in self._known]
                if unknown and not self.denied:
                    try:
                        self._fetch(unknown)
                    except LearnkitError as exc:
                        log.warning("user names not read: %s", exc)
                        self.note = f"names not shown: {exc}"
        return {i: self._known.get(_key(i)) for i in ids}

    def _fetch(self, ids: Sequence[str]) -> None:
        chunks = [list(ids[i : i + BATCH_LIMIT]) for i in range(0, len(ids), BATCH_LIMIT)]
        attempt = 0
        while chunks:
            attempt += 1
            # The first batch goes alone: a 403 there means none of the others is worth sending.
            retry, wait = self._send(chunks[0], attempt)
            if self.denied:
                return
            rest = chunks[1:]
            if rest:
                workers = min(self.concurrency, len(rest))
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="learnkit-names") as pool:
                    for more, pause in pool.map(self._send, rest, [attempt] * len(rest)):
                        retry += more
                        wait = max(wait, pause)
            chunks = [retry[i : i + BATCH_LIMIT] for i in range(0, len(retry), BATCH_LIMIT)]
            if chunks:
                self._sleep(wait)

    def _send(self, chunk: Sequence[str], attempt: int) -> tuple[list[str], float]:
        """One ``$batch`` of lookups; returns the ids to ask again (throttled) and how long to wait first."""
        assert self.client is not None
        requests: list[dict[str, Any]] = []
        for n, user_id in enumerate(chunk):
            try:
                url = f"{paths.user(user_id)}?$select={','.join(SELECT)}"
            except InvalidInputError:
                self._remember(user_id, None)
                continue
            requests.append({"id": str(n), "method": "GET", "url": url})
        if not requests:
            return [], 0.0
        with self._lock:
            self.round_trips += 1
        answers = self.client.batch(requests, operation=_OPERATION)
        retry: list[str] = []
        wait = 0.0
        for answer in answers:
            try:
                user_id = chunk[int(str(answer.get("id")))]
            except (ValueError, IndexError):
                continue  # an id we did not send: nothing to match it with
            status = answer.get("status")
            body = answer.get("body")
            if status == 200 and isinstance(body, dict):
                self._remember(user_id, _user_name(user_id, body))
                continue
            error = error_from_response(int(status) if isinstance(status, int) else 0, body, answer.get("headers"))
            if isinstance(error, ForbiddenError):
                self._deny()
            elif error.status in (400, 404):
                self._remember(user_id, None)  # no such user (or no such id): remembered, not asked again
            else:
                delay = self.client.retry.delay(error, attempt)
                if delay is None:
                    self.note = f"names of some users not shown: {_short(error)}"
                else:
                    retry.append(user_id)
                    wait = max(wait, delay)
        return retry, wait

    def _remember(self, user_id: str, found: UserName | None) -> None:
        with self._lock:
            self._known[_key(user_id)] = found

    def _deny(self) -> None:
        with self._lock:
            if self.denied:
                return
            self.denied = True
            self.note = _denied_note()
        warnings.warn(self.note, PermissionWarning, stacklevel=5)  # at the caller of resolve


def _user_name(asked: str, body: dict[str, Any]) -> UserName:
    def text(name: str) -> str | None:
        value = body.get(name)
        return value if isinstance(value, str) and value else None

    return UserName(text("id") or asked, text("displayName"), text("mail"), text("userPrincipalName"))


def _short(error: GraphError) -> str:
    return f"{error.status} {error.code}".strip()


_SESSIONS: weakref.WeakKeyDictionary[GraphClient, Names] = weakref.WeakKeyDictionary()
_SESSIONS_LOCK = threading.Lock()


def names_for(client: GraphClient) -> Names:
    """The session cache of ``client``: the same ``Names`` for as long as the client lives.

    Example: ``names_for(client).resolve([learner_id])``
    """
    with _SESSIONS_LOCK:
        names = _SESSIONS.get(client)
        if names is None:
            names = _SESSIONS[client] = Names(client)
        return names
