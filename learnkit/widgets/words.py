"""What a person reads: short ids with the whole one on hover, runs' sources in plain words, a save's outcome.

Every view says these things the same way, so they are written once here: an id is its last nine
characters (the demo's composite ids share their first half; the end tells them apart), the whole id
shows on hover and is selected whole by a click, ready to copy; a journal run's source is a word
("table", "form", "bulk edit", "audit fixes", "command line"), not a class path; and a bulk result is
counts first, then the rows that need attention, by name, never a DataFrame's text.

Example::

    short_id("b34b1d3c-0724-44f3-a23c-39f06e9b9e8b:ec7d816c-4f63-41c8-9c3e-815bd6408955")   # '…bd6408955'
    source_words("learnkit.widgets.BulkEditor")                                                # 'bulk edit'
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import pandas as pd

__all__ = [
    "BULK",
    "FIXES",
    "FORM",
    "TABLE",
    "id_html",
    "outcome",
    "plural",
    "short_id",
    "source_words",
]

#: What each view calls its saves in the journal (``learnkit runs`` and the History page show them).
TABLE, FORM, BULK, FIXES = "table", "form", "bulk edit", "audit fixes"
#: The names earlier versions journaled, and what they mean now.
_OLD_SOURCES = {
    "learnkit.widgets.ActivityTable": TABLE,
    "learnkit.widgets.ActivityForm": FORM,
    "learnkit.widgets.BulkEditor": BULK,
    "learnkit.widgets.FindingsPanel": FIXES,
    "learnkit app": "app",
    "workbench": "notebook",
}
#: How many rows that need attention a message names; the rest are counted.
SHOWN = 8
#: What a person reads for each outcome of a row, and the verb of each run kind.
_DONE = {"saved": "updated", "undone": "put back", "redone": "re-applied"}


def plural(count: int, word: str) -> str:
    """``3 rows``, ``1 row``.

    >>> plural(1, "row"), plural(3, "fix")
    ('1 row', '3 fixes')
    """
    if count == 1:
        return f"1 {word}"
    return f"{count:,} {word}es" if word.endswith(("s", "x", "ch")) else f"{count:,} {word}s"


def short_id(value: Any) -> str:
    """The end of an id, which tells the demo's ids apart (their first half is the learner's id).

    >>> short_id("b34b1d3c-0724-44f3-a23c-39f06e9b9e8b:ec7d816c-4f63-41c8-9c3e-815bd6408955")
    '…bd6408955'
    >>> short_id("abc")
    'abc'
    """
    text = str(value)
    return text if len(text) <= 10 else "…" + text[-9:]


def id_html(value: Any) -> str:
    """An id shortened, the whole of it on hover (shown in place, selected whole by a click: ready to copy).

    >>> "title='a-very-long-identifier'" in id_html("a-very-long-identifier")
    True
    """
    full = html.escape(str(value), quote=True)
    return (
        f"<code class='lk-id' title='{full}'><span class='lk-id-short'>{html.escape(short_id(value))}</span>"
        f"<span class='lk-id-full'>{full}</span></code>"
    )


def source_words(source: Any) -> str:
    """A journal run's source as a person reads it.

    >>> source_words("learnkit.widgets.ActivityForm"), source_words("/home/me/fixes.csv"), source_words("form")
    ('form', 'command line (fixes.csv)', 'form')
    >>> source_words("undo of 1f2e3d4c-5b6a-4789-90ab-cdef01234567")
    'undo of run …f01234567'
    """
    text = str(source or "")
    if text in _OLD_SOURCES:
        return _OLD_SOURCES[text]
    if text in (TABLE, FORM, BULK, FIXES, "notebook", "app") or not text:
        return text
    verb, _, run = text.partition(" of ")
    if verb in ("undo", "redo", "resume") and run:
        return f"{verb} of run {short_id(run)}"
    return f"command line ({PurePath(text).name})"


def outcome(result: Any, verb: str, describe: Callable[[str], str] = html.escape) -> tuple[str, str, str]:
    """A bulk result for a person: (headline, level, detail HTML).

    The headline counts ("Saved: 3 rows updated"); the detail names each row that needs attention
    (``describe(id)`` gives its HTML: the learner and course, the short id) with what happened and what to
    do. ``verb`` is ``saved``, ``undone`` or ``redone``.

    >>> frame = pd.DataFrame({"id": ["a", "b"], "status": ["applied", "conflict"], "message": ["", "changed"]})
    >>> from types import SimpleNamespace
    >>> outcome(SimpleNamespace(frame=frame, journal_id="r1"), "saved")[:2]
    ('Saved 1 of 2 rows: 1 conflict (listed below)', 'error')
    """
    table: pd.DataFrame = result.frame
    counts = table["status"].value_counts().to_dict()
    done, same = int(counts.get("applied", 0)), int(counts.get("unchanged", 0))
    problems = table[~table["status"].isin(["applied", "unchanged"])]
    word = verb.capitalize()
    run = (
        f"History lists it as run <code title='{html.escape(str(result.journal_id))}'>"
        + html.escape(short_id(result.journal_id))
        + "</code>."
    )
    if problems.empty:
        parts = [plural(done, "row") + " " + _DONE.get(verb, verb)] if done else []
        if same:
            parts.append(f"{plural(same, 'row')} already held these values")
        headline = f"{word}: " + ("; ".join(parts) or "nothing changed")
        return headline, "ok", f"<div class='lk-note lk-muted'>{run}</div>"
    states = problems["status"].value_counts()
    said = ", ".join(f"{int(n)} {state}" for state, n in states.items())
    headline = f"{word} {done} of {plural(len(table), 'row')}: {said} (listed below)"
    items = "".join(
        f"<li>{describe(str(row['id']))}: <b>{html.escape(str(row['status']))}</b>: "
        f"{html.escape(str(row.get('message') or ''))}</li>"
        for _, row in problems.head(SHOWN).iterrows()
    )
    more = f"<li>and {len(problems) - SHOWN} more</li>" if len(problems) > SHOWN else ""
    advice = (
        "Their edits are kept as pending changes. A <b>conflict</b> means the record changed since it was read: "
        "read the provider again to see it. A throttled or failed row can be saved again (after the wait Graph "
        "asked for, if it named one)."
    )
    return headline, "error", f"<ul class='lk-attention'>{items}{more}</ul><div class='lk-note'>{advice} {run}</div>"
