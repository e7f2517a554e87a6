"""Pending edits that survive a restart of the app: kept in a file only this user reads, per service and provider.

An analyst who edits cells and closes the tab (or stops ``learnkit app``) has not lost the edits: every
change of the workbench's pending edits is written here (0600), keyed by the service (``Service.key``:
the Graph host and tenant, so a sandbox kept in a file on a new port is the same one) and the provider.
Reading the same provider on the same service again puts them back, each through ``Workbench.edit``
(checked again; one whose record is gone or that is now refused is said, not kept), and the message
says how many came back. Nothing here is sent: the edits wait for "Save changes".

Example::

    drafts = Drafts(Path("~/.local/share/learnkit/app-drafts.json").expanduser())
    drafts.keep(bench)            # after each change of bench.pending
    drafts.restore(bench)         # after bench.load(...): how many edits came back
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from learnkit.errors import InvalidInputError
from learnkit.widgets.workbench import Workbench

__all__ = ["Drafts"]


def _plain(value: Any) -> Any:
    """A pending value as JSON: date-times as ISO 8601 text (``Workbench.edit`` reads it back)."""
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return value


class Drafts:
    """Pending edits kept in ``path`` (one JSON object: ``"service key|provider"`` -> id -> {column: value}).

    >>> import tempfile; d = Drafts(Path(tempfile.mkdtemp()) / "drafts.json"); d.stored()
    {}
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Drafts({str(self.path)!r})"

    def stored(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Everything kept (an unreadable file counts as empty: drafts are a convenience, never a blocker)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _key(bench: Workbench) -> str | None:
        if not bench.registration_id:
            return None
        service = bench.service()
        return None if service is None else f"{service.key}|{bench.registration_id.lower()}"

    def keep(self, bench: Workbench) -> None:
        """Write the workbench's pending edits (none: its entry is removed)."""
        key = self._key(bench)
        if key is None:
            return
        data = self.stored()
        pending = {i: {c: _plain(v) for c, v in changes.items()} for i, changes in bench.pending.items()}
        if pending:
            data[key] = pending
        elif key not in data:
            return
        else:
            del data[key]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(partial, self.path)  # whole or not at all: a crash mid-write leaves the last good file

    def restore(self, bench: Workbench) -> tuple[int, list[str]]:
        """Put the kept edits of this service and provider back as pending; (edits restored, refusals said)."""
        key = self._key(bench)
        kept = self.stored().get(key or "", {})
        restored, refused = 0, []
        for activity_id, changes in kept.items():
            for column, value in changes.items():
                try:
                    bench.position(activity_id)
                except InvalidInputError:
                    refused.append(f"{column} of {activity_id}: that record was not read this time")
                    continue
                problem = bench.edit(activity_id, column, value)
                if problem is None:
                    restored += 1
                else:
                    refused.append(f"{column} of {bench.describe(activity_id)}: {problem}")
        return restored, refused
