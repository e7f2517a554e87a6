"""The fingerprint of a record's updatable values, a column at a time: what the CSV path and ``export`` compute.

A fingerprint (``@learnkit.etag``) is ``v2:`` and a CRC-32 per updatable property of the
record's canonical JSON, in the update model's ``UPDATABLE`` order. The per-record reference
is ``learnkit.plans.activity_etag`` (``fingerprint`` of ``canonical``), which the engine
calls for every record it reads; this module gives the same answer for a whole frame at a
cost that grows with the distinct values, not the rows: each property's canonical JSON is
formed and hashed once per distinct value (instants as byte matrices, ``learnkit._columnar``;
due dates placed by ``learnkit.frame.local_instants``, the one rule), and only rows it cannot
place for certain (an unknown zone, an instant near the calendar's ends) go through the
reference. ``tests/test_columnar.py`` checks the two agree on generated frames (hypothesis).

Example::

    frame["@learnkit.etag"] = row_etags(frame)                  # what write_csv adds
    etags_match(read_csv("edits.csv"), exported)                # which rows are as exported
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np
import pandas as pd

from learnkit.errors import InvalidInputError
from learnkit.models import UPDATE_MODELS

from ._columnar import crc32_matrix, crc32_texts, decode_fingerprints, hex_fingerprints, iso_matrix
from .frame import (
    _CALENDAR,
    _NAT,
    LOCAL_COLUMN,
    _micros,
    _row_activity,
    kind_rows,
    local_instants,
)
from .plans import FINGERPRINT_VERSION, INSTANT_PROPERTIES, activity_etag

__all__ = ["etag_differences", "etags_match", "row_etags"]

_Hashes = np.ndarray[Any, np.dtype[np.uint32]]


def _code_hashes(name: str, codes: np.ndarray[Any, np.dtype[np.intp]], texts: Sequence[str]) -> _Hashes:
    """Each row's ``field_hash`` from its distinct value's code (``-1``: missing) and each code's JSON text."""
    table = crc32_texts(f"{name}=".encode(), [*texts, "null"])
    hashes: _Hashes = table[codes]  # code -1 is the last entry: null
    return hashes


def _json_hashes(name: str, values: pd.Series | None, n: int) -> _Hashes:
    """``field_hash`` of each text cell's JSON (``json.dumps``' ASCII form; ``null`` unless it is text)."""
    if values is None:
        return _code_hashes(name, np.full(n, -1, dtype=np.intp), [])
    codes, distinct = pd.factorize(values.to_numpy(dtype=object))
    texts = [encode_basestring_ascii(v) if isinstance(v, str) else "null" for v in distinct.tolist()]
    return _code_hashes(name, codes, texts)


def _instant_hashes(name: str, micros: np.ndarray[Any, np.dtype[np.int64]]) -> _Hashes:
    """``field_hash`` of each instant's canonical JSON (``"…T….ffffff+00:00"``, as ``learnkit.times.utc_text``).

    Only the distinct instants are formatted and hashed; NaT (and an instant outside the
    years 1 to 9999, which the caller fingerprints one by one) is ``null``.
    """
    codes, distinct = pd.factorize(micros)
    inside = (distinct >= _CALENDAR[0]) & (distinct <= _CALENDAR[1])
    table = np.full(len(distinct) + 1, zlib.crc32(f"{name}=null".encode()), dtype=np.uint32)
    table[:-1][inside] = crc32_matrix(f'{name}="'.encode(), iso_matrix(distinct[inside]), b'+00:00"')
    hashes: _Hashes = table[codes]
    return hashes


def _notes_hashes(content: pd.Series | None, content_type: pd.Series | None, n: int) -> _Hashes:
    """``field_hash`` of each row's canonical notes: ``[contentType, content]`` (``"text"`` by default), or null."""
    content_codes, contents = pd.factorize(
        content.to_numpy(dtype=object) if content is not None else np.full(n, None, dtype=object)
    )
    type_codes, types = pd.factorize(
        content_type.to_numpy(dtype=object) if content_type is not None else np.full(n, None, dtype=object)
    )
    # One code per (content, type) pair present, 0 meaning missing on each side.
    pairs = (content_codes.astype(np.int64) + 1) * (len(types) + 1) + (type_codes + 1)
    codes, distinct = pd.factorize(pairs)
    content_json = ["null", *(encode_basestring_ascii(v) if isinstance(v, str) else "null" for v in contents.tolist())]
    type_json = ['"text"', *(encode_basestring_ascii(t) if isinstance(t, str) and t else '"text"' for t in types)]
    texts = [
        "null" if pair == 0 else f"[{type_json[pair % (len(types) + 1)]},{content_json[pair // (len(types) + 1)]}]"
        for pair in distinct.tolist()
    ]
    return _code_hashes("notes", codes, texts)


@dataclass
class _Fingerprints:
    """Each row's per-property hashes (``field_hash`` as numbers), its type, and the rows to do one by one."""

    rows_of: dict[str, np.ndarray[Any, np.dtype[np.intp]]]
    hashes: dict[str, _Hashes]
    slow: np.ndarray[Any, np.dtype[np.bool_]]

    def matrix(self, kind: str, rows: np.ndarray[Any, np.dtype[np.intp]]) -> _Hashes:
        """The ``(rows, properties)`` hashes of rows of ``kind``, properties in ``UPDATABLE`` order."""
        return np.stack([self.hashes[key][rows] for key in UPDATE_MODELS[kind].UPDATABLE], axis=1)


def _fingerprints(
    frame: pd.DataFrame, rows_of: dict[str, np.ndarray[Any, np.dtype[np.intp]]] | None = None
) -> _Fingerprints:
    """The per-property hashes of every row: each property's canonical JSON formed and hashed once per
    distinct value (instants as byte matrices, ``learnkit._columnar``)."""
    n = len(frame)

    def column(name: str) -> pd.Series | None:
        return frame[name] if name in frame.columns else None

    if rows_of is None:
        types = frame["@odata.type"] if "@odata.type" in frame.columns else pd.Series(None, index=frame.index)
        rows_of = kind_rows(types)
    slow = np.zeros(n, dtype=bool)
    hashes: dict[str, _Hashes] = {}
    for name in INSTANT_PROPERTIES:
        values = column(name)
        micros = _micros(values) if values is not None else np.full(n, _NAT, dtype=np.int64)
        slow |= (micros != _NAT) & ((micros < _CALENDAR[0]) | (micros > _CALENDAR[1]))
        hashes[name] = _instant_hashes(name, micros)
    percent = column("completionPercentage")
    if percent is None:
        hashes["completionPercentage"] = _code_hashes("completionPercentage", np.full(n, -1, dtype=np.intp), [])
    else:
        codes, numbers = pd.factorize(percent.astype("Int64"))
        hashes["completionPercentage"] = _code_hashes("completionPercentage", codes, [str(v) for v in numbers.tolist()])
    hashes["status"] = _json_hashes("status", column("status"), n)
    hashes["notes"] = _notes_hashes(column("notes.content"), column("notes.contentType"), n)
    due = np.full(n, _NAT, dtype=np.int64)
    local = column(LOCAL_COLUMN)
    if local is not None:
        zones = column("dueDateTime.timeZone")
        micros = _micros(local)
        due, placed = local_instants(micros, zones.to_numpy(dtype=object) if zones is not None else None)
        # An unknown zone is compared as written, and an instant past the calendar has no etag: the reference.
        slow |= (micros != _NAT) & ~placed
    hashes["dueDateTime"] = _instant_hashes("dueDateTime", due)
    return _Fingerprints(rows_of, hashes, slow)


def _one_by_one(frame: pd.DataFrame, positions: np.ndarray[Any, np.dtype[np.intp]]) -> list[str | None]:
    """``activity_etag`` of the rows at ``positions`` the reference way (None where it has none)."""
    out: list[str | None] = []
    if not len(positions):
        return out
    for record in frame.iloc[positions].to_dict("records"):
        try:
            out.append(activity_etag(_row_activity(record)))
        except (InvalidInputError, ValueError, OverflowError, KeyError):
            out.append(None)
    return out


def row_etags(frame: pd.DataFrame) -> pd.Series:
    """``learnkit.plans.activity_etag`` of each row's updatable values, a column at a time (None if it has none).

    Equal to ``[activity_etag(a) for a in frame_to_activities(frame)]``, at a fraction
    of the cost: each property's canonical JSON is formed and hashed once per distinct
    value, and only the rows pandas cannot place for certain (a due date in a DST gap or
    overlap, near the calendar's ends) go through ``activity_etag`` itself.

    >>> from learnkit.frame import activities_frame
    >>> row_etags(activities_frame([{"id": "a", "@odata.type": "#microsoft.graph.learningAssignment",
    ...                              "status": "inProgress"}])).str.len().tolist()
    [51]
    """
    found = _fingerprints(frame)
    etags = np.full(len(frame), None, dtype=object)
    for kind, rows in found.rows_of.items():
        if len(rows):
            etags[rows] = hex_fingerprints(FINGERPRINT_VERSION, found.matrix(kind, rows))
    slow = np.flatnonzero(found.slow)
    if len(slow):
        etags[slow] = _one_by_one(frame, slow)
    result: pd.Series = pd.Series(etags, index=frame.index, dtype=object)
    return result


def etags_match(
    frame: pd.DataFrame, exported: Sequence[Any] | np.ndarray[Any, np.dtype[np.object_]]
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Whether each row's fingerprint (``row_etags``) is the ``exported`` one, compared as numbers.

    The same answer as ``row_etags(frame) == exported`` (a missing etag matches nothing),
    without writing 100,000 fingerprints out as text to compare them.

    >>> from learnkit.frame import activities_frame
    >>> f = activities_frame([{"id": "a", "@odata.type": "#microsoft.graph.learningAssignment"}])
    >>> etags_match(f, row_etags(f).tolist()).tolist(), etags_match(f, ["v2:0"]).tolist()
    ([True], [False])
    """
    return etag_differences(frame, exported)[0]


def etag_differences(
    frame: pd.DataFrame,
    exported: Sequence[Any] | np.ndarray[Any, np.dtype[np.object_]],
    rows_of: dict[str, np.ndarray[Any, np.dtype[np.intp]]] | None = None,
) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], dict[str, np.ndarray[Any, np.dtype[np.bool_]]]]:
    """``etags_match``, and per updatable property which rows still hold the value their fingerprint names.

    The second part is what ``learnkit.plans.edited_only`` works out for one plan, for every
    row at once: ``same[p][i]`` is True when row ``i``'s ``p`` hashes to the part of its
    exported fingerprint for ``p`` (so ``p`` was not edited), or when the row's type has no
    ``p``. It is False wherever that cannot be told (no fingerprint, an older kind of one).

    >>> from learnkit.frame import activities_frame
    >>> f = activities_frame([{"id": "a", "@odata.type": "#microsoft.graph.learningAssignment", "status": "x"}])
    >>> same = etag_differences(f, row_etags(f.assign(status="y")).tolist())[1]
    >>> bool(same["status"][0]), bool(same["notes"][0])
    (False, True)
    """
    found = _fingerprints(frame, rows_of)
    given = np.asarray(exported, dtype=object)
    n = len(frame)
    match = np.zeros(n, dtype=bool)
    same = {p: np.zeros(n, dtype=bool) for model in UPDATE_MODELS.values() for p in model.UPDATABLE}
    for kind, rows_of_kind in found.rows_of.items():
        names = UPDATE_MODELS[kind].UPDATABLE
        for name in same.keys() - set(names):
            same[name][rows_of_kind] = True  # a property the type does not have is never edited
        rows = rows_of_kind[~found.slow[rows_of_kind]]
        if not len(rows):
            continue
        decoded, valid = decode_fingerprints(FINGERPRINT_VERSION, given[rows].tolist(), len(names))
        equal = (decoded == found.matrix(kind, rows)) & valid[:, None]
        match[rows] = equal.all(axis=1)
        for column, name in enumerate(names):
            same[name][rows] = equal[:, column]
    slow = np.flatnonzero(found.slow)
    kind_of = {int(row): kind for kind, rows in found.rows_of.items() for row in rows[found.slow[rows]].tolist()}
    for row, ours, theirs in zip(slow.tolist(), _one_by_one(frame, slow), given[slow].tolist(), strict=True):
        match[row] = ours is not None and ours == theirs
        if ours is not None and row in kind_of and isinstance(theirs, str) and len(theirs) == len(ours):
            # Hash by hash, as for the other rows (the fingerprint's parts follow UPDATABLE's order).
            head = len(FINGERPRINT_VERSION)
            for place, name in enumerate(UPDATE_MODELS[kind_of[row]].UPDATABLE):
                part = slice(head + 8 * place, head + 8 * place + 8)
                same[name][row] = theirs[:head] == ours[:head] and ours[part] == theirs[part]
    return match, same
