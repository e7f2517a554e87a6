"""A record's fingerprint, the one home of it: per record (the reference) and a column at a time (the fast path).

A fingerprint (``@learnkit.etag``) is ``v2:`` and a CRC-32 per updatable property of the
record's canonical JSON, in the update model's ``UPDATABLE`` order. ``canonical`` puts an
activity's updatable values in a form where equal meaning compares equal (instants in UTC, a
due date the instant it names, notes a ``[contentType, content]`` pair); ``fingerprint`` and
``activity_etag`` hash it, one record at a time: the reference, which the engine calls for
every record it reads and the plans read (``learnkit.bulk.plans.moved_since``, ``edited_only``).

``row_etags`` and ``etag_differences`` give the same answer for a whole frame (what the CSV
path and ``export`` compute) at a cost that grows with the distinct values, not the rows: each
property's canonical JSON is formed and hashed once per distinct value (instants as byte
matrices, ``learnkit.bulk._columnar``; due dates placed by ``learnkit.bulk.frame.local_instants``,
the one rule), and only rows it cannot place for certain (an unknown zone, an instant near the
calendar's ends) go through the reference. ``tests/test_columnar.py`` checks the two agree on
generated frames (hypothesis).

Example::

    activity_etag(client.get_activity_json(activity_id))        # one record
    frame["@learnkit.etag"] = row_etags(frame)                  # what write_csv adds
    etags_match(read_csv("edits.csv"), exported)                # which rows are as exported
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from learnkit._extras import require
from learnkit.errors import InvalidInputError
from learnkit.models import INSTANT_PROPERTIES, UPDATE_MODELS, normalize_odata_type
from learnkit.times import parse_iso, utc_text, zoned_instant

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    _Hashes = np.ndarray[Any, np.dtype[np.uint32]]

# The reference (one record) needs nothing but the standard library: the plans, the engine and a form use it
# without the bulk extra. The fast path (a frame) imports numpy, pandas and the frame's column code where it
# runs; the first of them (``learnkit.bulk.frame``) names the missing extra.

__all__ = [
    "FIELD_HASH_DIGITS",
    "FINGERPRINT_VERSION",
    "UNCHECKED",
    "activity_etag",
    "canonical",
    "compact_json",
    "etag_differences",
    "etags_match",
    "field_hash",
    "field_hashes",
    "fingerprint",
    "property_hash",
    "record_etag",
    "row_etags",
]


# --- one record: the reference -------------------------------------------------------


# The canonical text of instants a provider's records share (a cohort's due date, a bulk assignment's time),
# kept by what the service wrote (a text, or a due date's text and zone): parsing and placing one costs more
# than the rest of a record's canonical form, and a conflict check reads each record's every date. Cleared
# when full, as _HASHES is; a value that does not parse is not kept (its error is raised each time).
_PLACED: dict[str | tuple[str, str], str] = {}
_PLACED_KEPT = 1 << 14


def _placed(key: str | tuple[str, str], place: Callable[..., str], *args: Any) -> str:
    found = _PLACED.get(key)
    if found is None:
        if len(_PLACED) >= _PLACED_KEPT:
            _PLACED.clear()
        found = _PLACED[key] = place(*args)
    return found


def _instant(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return _placed(value, _instant_of, value)
    return _instant_of(value)


def _instant_of(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value
    else:
        try:  # the C parser first: Graph's own spellings are ISO 8601 it reads
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            moment = parse_iso(str(value))
    return utc_text(moment)


def _due_instant(value: Any) -> str | None:
    if not isinstance(value, Mapping) or value.get("dateTime") is None:
        return None
    text = str(value["dateTime"])
    name = str(value.get("timeZone") or "UTC")
    return _placed((text, name), _due_instant_of, text, name)


def _due_instant_of(text: str, name: str) -> str:
    try:  # the C parser first, as for instants
        local = datetime.fromisoformat(text)
    except ValueError:
        local = parse_iso(text)
    try:
        return _instant_of(zoned_instant(local, name))
    except ValueError:
        # A zone no one knows (a tenant can hold one; learnkit.audit finds it): compared as written, so the
        # record can still be fingerprinted and left as it is. An update naming it is refused by the models.
        return f"{text} {name}"


def canonical(activity: Mapping[str, Any]) -> dict[str, Any]:
    """The updatable values of an activity's JSON in a form where equal meaning compares equal.

    Date-times become UTC instants, ``dueDateTime`` the instant it names, ``notes``
    a ``[contentType, content]`` pair.

    >>> canonical({"@odata.type": "#microsoft.graph.learningSelfInitiatedCourse", "status": "completed",
    ...            "completedDateTime": "2024-01-02T03:04:05+01:00"})["completedDateTime"]
    '2024-01-02T02:04:05.000000+00:00'
    """
    named = activity.get("@odata.type")
    kind = named if named in UPDATE_MODELS else normalize_odata_type(named)
    out: dict[str, Any] = {"@odata.type": kind}
    for name in UPDATE_MODELS[kind].UPDATABLE:
        value = activity.get(name)
        if name in INSTANT_PROPERTIES:
            out[name] = _instant(value)
        elif name == "dueDateTime":
            out[name] = _due_instant(value)
        elif name == "notes":
            pair = [value.get("contentType") or "text", value.get("content")] if isinstance(value, Mapping) else None
            out[name] = pair
        else:
            out[name] = getattr(value, "value", value)
    return out


#: Marks a per-property fingerprint (``activity_etag``); a bare 16-hex value is an older
#: learnkit's fingerprint of the whole record, still honoured (it cannot say which property moved).
FINGERPRINT_VERSION = "v2:"
FIELD_HASH_DIGITS = 8  # hex digits per property: a CRC-32, so an edit mistaken for "as exported" is 1 in 4e9 at worst


def field_hash(name: str, value_json: str) -> str:
    """One property's hash in a fingerprint, from the compact JSON text of its canonical value.

    CRC-32 (not a cryptographic hash: nothing here is a secret) catches every change of up
    to 32 bits outright. ``learnkit.bulk.fingerprints.row_etags`` computes the same a column at a time.

    >>> field_hash("completionPercentage", "40")
    '084c3670'
    """
    return f"{zlib.crc32(f'{name}={value_json}'.encode()):08x}"


# One encoder for every hash: ``json.dumps`` with options builds a new one on each call, and even a kept
# ``JSONEncoder.encode`` builds its C encoder on each call (a third of the time for a small dict): the C
# encoder is built once here, as ``JSONEncoder.iterencode`` would build it, without the cycle check
# (``markers``: its state is per call); what is encoded here is JSON read or validated, never cyclic.
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_MAKE_C_ENCODER: Callable[..., Callable[[Any, int], Sequence[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)  # CPython's (not in typeshed); None elsewhere
_C_ENCODER = (
    None
    if _MAKE_C_ENCODER is None
    else _MAKE_C_ENCODER(
        None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
)
_ASCII_TEXT = json.encoder.encode_basestring_ascii


def compact_json(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, faster for the scalars most properties hold.

    >>> compact_json({"a": [1, None]}), compact_json("x"), compact_json(True)
    ('{"a":[1,null]}', '"x"', 'true')
    """
    kind = type(value)
    if value is None:
        return "null"
    if kind is str:
        return _ASCII_TEXT(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


# Field hashes of the values a provider's records share (a status, a percentage, an empty date, notes), kept: a
# conflict check hashes every property of every record it reads. Keyed with the type (True == 1, but their
# JSON differs); cleared when full rather than evicted one by one.
_HASHES: dict[tuple[str, type, Any], str] = {}
_HASHES_KEPT = 1 << 14


def property_hash(name: str, value: Any) -> str:
    kind = type(value)
    key: tuple[str, type, Any]
    if kind is str or kind is int or value is None:
        key = (name, kind, value)
    elif kind is list and len(value) == 2 and type(value[0]) is str and type(value[1]) in (str, type(None)):
        key = (name, kind, (value[0], value[1]))  # canonical notes, [contentType, content]: a cohort's are alike
    else:
        return field_hash(name, compact_json(value))
    found = _HASHES.get(key)
    if found is None:
        if len(_HASHES) >= _HASHES_KEPT:
            _HASHES.clear()
        found = _HASHES[key] = field_hash(name, compact_json(value))
    return found


UNCHECKED = "-" * FIELD_HASH_DIGITS


def fingerprint(canon: Mapping[str, Any], only: Collection[str] | None = None) -> str:
    """``activity_etag`` from values already in canonical form (saves computing them twice).

    With ``only``, the other properties are left unchecked (an undo checks only what its run wrote).
    """
    kind = canon["@odata.type"]
    return FINGERPRINT_VERSION + "".join(
        property_hash(n, canon.get(n)) if only is None or n in only else UNCHECKED
        for n in UPDATE_MODELS[kind].UPDATABLE
    )


def activity_etag(activity: Mapping[str, Any]) -> str:
    """A fingerprint of an activity's updatable values: a short hash per property, in a fixed order.

    Per property, so a CSV row that only carries the fingerprint still tells which
    properties the analyst edited (their cells no longer hash to it) and which moved on
    the service since the export (the service's values no longer do).

    >>> activity_etag({"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress"})[:3]
    'v2:'
    """
    return fingerprint(canonical(activity))


def record_etag(canon: Mapping[str, Any]) -> str:
    """An older learnkit's fingerprint (one hash of the whole record), to honour files it exported."""
    text = json.dumps(dict(canon), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def field_hashes(etag: str, kind: str) -> dict[str, str] | None:
    """The per-property hashes of a v2 fingerprint for a record of ``kind``; None if it is not one."""
    names = UPDATE_MODELS[kind].UPDATABLE
    digits = etag[len(FINGERPRINT_VERSION) :]
    if not etag.startswith(FINGERPRINT_VERSION) or len(digits) != FIELD_HASH_DIGITS * len(names):
        return None
    return {n: digits[i * FIELD_HASH_DIGITS : (i + 1) * FIELD_HASH_DIGITS] for i, n in enumerate(names)}


# --- a column at a time: the fast path -----------------------------------------------


def _code_hashes(name: str, codes: np.ndarray[Any, np.dtype[np.intp]], texts: Sequence[str]) -> _Hashes:
    """Each row's ``field_hash`` from its distinct value's code (``-1``: missing) and each code's JSON text."""
    from ._columnar import crc32_texts

    table = crc32_texts(f"{name}=".encode(), [*texts, "null"])
    hashes: _Hashes = table[codes]  # code -1 is the last entry: null
    return hashes


def _json_hashes(name: str, values: pd.Series | None, n: int) -> _Hashes:
    """``field_hash`` of each text cell's JSON (``json.dumps``' ASCII form; ``null`` unless it is text)."""
    import numpy as np
    import pandas as pd

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
    import numpy as np
    import pandas as pd

    from ._columnar import crc32_matrix, iso_matrix
    from .frame import CALENDAR

    codes, distinct = pd.factorize(micros)
    inside = (distinct >= CALENDAR[0]) & (distinct <= CALENDAR[1])
    table = np.full(len(distinct) + 1, zlib.crc32(f"{name}=null".encode()), dtype=np.uint32)
    table[:-1][inside] = crc32_matrix(f'{name}="'.encode(), iso_matrix(distinct[inside]), b'+00:00"')
    hashes: _Hashes = table[codes]
    return hashes


def _notes_hashes(content: pd.Series | None, content_type: pd.Series | None, n: int) -> _Hashes:
    """``field_hash`` of each row's canonical notes: ``[contentType, content]`` (``"text"`` by default), or null."""
    import numpy as np
    import pandas as pd

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
        import numpy as np

        return np.stack([self.hashes[key][rows] for key in UPDATE_MODELS[kind].UPDATABLE], axis=1)


def _fingerprints(
    frame: pd.DataFrame, rows_of: dict[str, np.ndarray[Any, np.dtype[np.intp]]] | None = None
) -> _Fingerprints:
    """The per-property hashes of every row: each property's canonical JSON formed and hashed once per
    distinct value (instants as byte matrices, ``learnkit.bulk._columnar``)."""
    import numpy as np
    import pandas as pd

    from .frame import CALENDAR, LOCAL_COLUMN, NAT, kind_rows, local_instants, micros_of

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
        micros = micros_of(values) if values is not None else np.full(n, NAT, dtype=np.int64)
        slow |= (micros != NAT) & ((micros < CALENDAR[0]) | (micros > CALENDAR[1]))
        hashes[name] = _instant_hashes(name, micros)
    percent = column("completionPercentage")
    if percent is None:
        hashes["completionPercentage"] = _code_hashes("completionPercentage", np.full(n, -1, dtype=np.intp), [])
    else:
        codes, numbers = pd.factorize(percent.astype("Int64"))
        hashes["completionPercentage"] = _code_hashes("completionPercentage", codes, [str(v) for v in numbers.tolist()])
    hashes["status"] = _json_hashes("status", column("status"), n)
    hashes["notes"] = _notes_hashes(column("notes.content"), column("notes.contentType"), n)
    due = np.full(n, NAT, dtype=np.int64)
    local = column(LOCAL_COLUMN)
    if local is not None:
        zones = column("dueDateTime.timeZone")
        micros = micros_of(local)
        due, placed = local_instants(micros, zones.to_numpy(dtype=object) if zones is not None else None)
        # An unknown zone is compared as written, and an instant past the calendar has no etag: the reference.
        slow |= (micros != NAT) & ~placed
    hashes["dueDateTime"] = _instant_hashes("dueDateTime", due)
    return _Fingerprints(rows_of, hashes, slow)


def _one_by_one(frame: pd.DataFrame, positions: np.ndarray[Any, np.dtype[np.intp]]) -> list[str | None]:
    """``activity_etag`` of the rows at ``positions`` the reference way (None where it has none)."""
    from .frame import row_activity

    out: list[str | None] = []
    if not len(positions):
        return out
    for record in frame.iloc[positions].to_dict("records"):
        try:
            out.append(activity_etag(row_activity(record)))
        except (InvalidInputError, ValueError, OverflowError, KeyError):
            out.append(None)
    return out


def row_etags(frame: pd.DataFrame) -> pd.Series:
    """``activity_etag`` of each row's updatable values, a column at a time (None if it has none).

    Equal to ``[activity_etag(a) for a in frame_to_activities(frame)]``, at a fraction
    of the cost: each property's canonical JSON is formed and hashed once per distinct
    value, and only the rows pandas cannot place for certain (a due date in a DST gap or
    overlap, near the calendar's ends) go through ``activity_etag`` itself.

    >>> from learnkit.bulk.frame import activities_frame
    >>> row_etags(activities_frame([{"id": "a", "@odata.type": "#microsoft.graph.learningAssignment",
    ...                              "status": "inProgress"}])).str.len().tolist()
    [51]
    """
    require("bulk", __name__)  # named, not a bare ModuleNotFoundError of numpy
    import numpy as np
    import pandas as pd

    from ._columnar import hex_fingerprints

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

    >>> from learnkit.bulk.frame import activities_frame
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

    The second part is what ``learnkit.bulk.plans.edited_only`` works out for one plan, for every
    row at once: ``same[p][i]`` is True when row ``i``'s ``p`` hashes to the part of its
    exported fingerprint for ``p`` (so ``p`` was not edited), or when the row's type has no
    ``p``. It is False wherever that cannot be told (no fingerprint, an older kind of one).

    >>> from learnkit.bulk.frame import activities_frame
    >>> f = activities_frame([{"id": "a", "@odata.type": "#microsoft.graph.learningAssignment", "status": "x"}])
    >>> same = etag_differences(f, row_etags(f.assign(status="y")).tolist())[1]
    >>> bool(same["status"][0]), bool(same["notes"][0])
    (False, True)
    """
    require("bulk", __name__)  # named, not a bare ModuleNotFoundError of numpy
    import numpy as np

    from ._columnar import decode_fingerprints

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
