"""Text work on whole columns at C speed: ISO 8601 date-times in Graph's shapes, their canonical text, CRC-32.

What makes reading 100,000 CSV rows cost about what ``pandas.read_csv`` costs: no
per-cell Python for the common shapes. A column of cells is grouped by length, each
group becomes one ``uint8`` matrix (one row per cell, one column per character), and
parsing, formatting and hashing are a few NumPy operations per character position.
Anything outside the plain shapes is left to the caller's one-by-one reference path
(``learnkit.times.parse_iso``), so the fast path never decides a case the reference
would decide otherwise.

Example::

    micros, ok = parse_iso_cells(["2024-01-02T03:04:05.5Z", "soon"], aware=True)
    crc32_matrix(b'completedDateTime="', iso_matrix(micros[ok]), b'+00:00"')
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "crc32_matrix",
    "crc32_texts",
    "decode_fingerprints",
    "hex_fingerprints",
    "iso_matrix",
    "parse_iso_cells",
]

Int64s = np.ndarray[Any, np.dtype[np.int64]]
UInt32s = np.ndarray[Any, np.dtype[np.uint32]]
Bools = np.ndarray[Any, np.dtype[np.bool_]]
Bytes2D = np.ndarray[Any, np.dtype[np.uint8]]

_DAY = 86_400_000_000
#: Years 1 to 9999 (Python's datetime, and .NET's behind Graph), in microseconds since 1970.
_CALENDAR = (-62_135_596_800_000_000, 253_402_300_799_999_999)
_ZERO, _NINE = ord("0"), ord("9")
# Positions of "YYYY-MM-DDTHH:MM:SS": digits, and the separators between them.
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_SEPARATORS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _crc_table() -> UInt32s:
    """The reflected CRC-32 table zlib uses (polynomial 0xEDB88320)."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1).astype(np.uint32)
    return table


_CRC_TABLE = _crc_table()


def crc32_texts(prefix: bytes, texts: Sequence[str]) -> UInt32s:
    """``zlib.crc32(prefix + text)`` of each text (UTF-8), one C call each: for columns of few distinct values.

    >>> int(crc32_texts(b"a=", ["1"])[0]) == zlib.crc32(b"a=1")
    True
    """
    start = zlib.crc32(prefix)
    return np.fromiter((zlib.crc32(t.encode(), start) for t in texts), dtype=np.uint32, count=len(texts))


def crc32_matrix(prefix: bytes, matrix: Bytes2D, suffix: bytes = b"") -> UInt32s:
    """``zlib.crc32(prefix + row + suffix)`` of every row of a ``uint8`` matrix, a character position at a time.

    >>> m = np.frombuffer(b"abcxyz", dtype=np.uint8).reshape(2, 3)
    >>> [int(c) for c in crc32_matrix(b"p=", m, b"!")] == [zlib.crc32(b"p=abc!"), zlib.crc32(b"p=xyz!")]
    True
    """
    # zlib's running value is the register inverted; a common prefix leaves every row in the same state.
    state = np.full(len(matrix), ~np.uint32(zlib.crc32(prefix)), dtype=np.uint32)
    columns = np.ascontiguousarray(matrix.T)
    for column in columns:
        state = _CRC_TABLE[(state ^ column) & 0xFF] ^ (state >> 8)
    for byte in suffix:
        state = _CRC_TABLE[(state ^ byte) & 0xFF] ^ (state >> 8)
    return ~state


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_fingerprints(version: str, hashes: UInt32s) -> list[str]:
    """``version`` then each hash as 8 hex digits, for every row of an ``(n, k)`` matrix of CRC-32s.

    >>> hex_fingerprints("v2:", np.array([[1, 255]], dtype=np.uint32))
    ['v2:00000001000000ff']
    """
    rows, count = hashes.shape
    octets = hashes.astype(">u4").view(np.uint8).reshape(rows, 4 * count)
    head = len(version)
    out = np.empty((rows, head + 8 * count), dtype=np.uint8)
    out[:, :head] = np.frombuffer(version.encode("ascii"), dtype=np.uint8)
    out[:, head::2] = _HEX[octets >> 4]
    out[:, head + 1 :: 2] = _HEX[octets & 15]
    width = head + 8 * count
    text = out.tobytes().decode("ascii")
    return [text[i : i + width] for i in range(0, rows * width, width)]


_NIBBLE = np.full(256, 16, dtype=np.uint8)
_NIBBLE[_HEX] = np.arange(16, dtype=np.uint8)


def _lengths(texts: Sequence[Any]) -> Int64s:
    """Each text's length, -1 for what is not text (one C pass when all are text)."""
    if set(map(type, texts)) == {str}:
        return np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return np.fromiter((len(t) if type(t) is str else -1 for t in texts), dtype=np.int64, count=len(texts))


def decode_fingerprints(version: str, texts: Sequence[Any], count: int) -> tuple[UInt32s, Bools]:
    """The inverse of ``hex_fingerprints`` for fingerprints of ``count`` hashes, and which texts were one.

    A text that is not exactly ``version`` and ``8 * count`` lowercase hex digits is not
    one (its row of hashes is left 0).

    >>> decode_fingerprints("v2:", ["v2:00000001000000ff", "v2:0000000100000OFF", None], 2)[1].tolist()
    [True, False, False]
    """
    width = len(version) + 8 * count
    rows = len(texts)
    hashes = np.zeros((rows, count), dtype=np.uint32)
    valid = np.zeros(rows, dtype=bool)
    sized = np.flatnonzero(_lengths(texts) == width)
    if not len(sized):
        return hashes, valid
    chosen = texts if len(sized) == rows else [texts[i] for i in sized.tolist()]
    # One character per byte: anything not ASCII becomes "?", which is no hex digit.
    matrix = np.frombuffer("".join(chosen).encode("ascii", "replace"), dtype=np.uint8).reshape(len(sized), width)
    head = len(version)
    nibbles = _NIBBLE[matrix[:, head:]]
    ok = (matrix[:, :head] == np.frombuffer(version.encode("ascii"), dtype=np.uint8)).all(axis=1)
    ok &= nibbles.max(axis=1) < 16
    octets = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
    hashes[sized] = octets.view(">u4").reshape(len(sized), count)
    valid[sized] = ok
    return hashes, valid


def _digits(matrix: Bytes2D, positions: Sequence[int]) -> Int64s:
    """The decimal number written at ``positions`` of each row."""
    value = np.zeros(len(matrix), dtype=np.int64)
    for position in positions:
        value = value * 10 + (matrix[:, position].astype(np.int64) - _ZERO)
    return value


def _days_from_civil(year: Int64s, month: Int64s, day: Int64s) -> Int64s:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm, vectorised)."""
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: Int64s = era * 146097 + day_of_era - 719468
    return days


def _civil_from_days(days: Int64s) -> tuple[Int64s, Int64s, Int64s]:
    """Year, month and day of days since 1970-01-01 (the inverse of ``_days_from_civil``)."""
    days = days + 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted + 2) // 5 + 1
    month = np.where(shifted < 10, shifted + 3, shifted - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def _parse_group(matrix: Bytes2D, fraction: int, offset: int) -> tuple[Int64s, Bools]:
    """Rows of one exact shape: ``YYYY-MM-DDTHH:MM:SS``, then ``.`` and ``fraction`` digits (if any), then
    nothing (``offset`` 0), ``Z`` (1) or ``±hh:mm`` (6). Microseconds since the epoch (UTC when there is an
    offset), and which rows are in the shape with every field in range."""
    digit = (matrix >= _ZERO) & (matrix <= _NINE)
    ok = digit[:, _DIGITS].all(axis=1)
    for position, char in _SEPARATORS.items():
        ok &= matrix[:, position] == ord(char)
    at = 19
    micro = np.zeros(len(matrix), dtype=np.int64)
    if fraction:
        ok &= matrix[:, at] == ord(".")
        ok &= digit[:, at + 1 : at + 1 + fraction].all(axis=1)
        # Cut to microseconds, as learnkit.times.parse_iso does (never rounded).
        kept = min(fraction, 6)
        micro = _digits(matrix, range(at + 1, at + 1 + kept)) * 10 ** (6 - kept)
        at += 1 + fraction
    shift = np.zeros(len(matrix), dtype=np.int64)
    if offset == 1:
        ok &= matrix[:, at] == ord("Z")
    elif offset == 6:
        sign = matrix[:, at]
        ok &= ((sign == ord("+")) | (sign == ord("-"))) & (matrix[:, at + 3] == ord(":"))
        ok &= digit[:, [at + 1, at + 2, at + 4, at + 5]].all(axis=1)
        hours, minutes = _digits(matrix, (at + 1, at + 2)), _digits(matrix, (at + 4, at + 5))
        ok &= (hours <= 23) & (minutes <= 59)
        shift = np.where(sign == ord("-"), -1, 1) * (hours * 60 + minutes) * 60_000_000
    year, month, day = _digits(matrix, (0, 1, 2, 3)), _digits(matrix, (5, 6)), _digits(matrix, (8, 9))
    hour, minute, second = _digits(matrix, (11, 12)), _digits(matrix, (14, 15)), _digits(matrix, (17, 18))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    clock = ((hour * 60 + minute) * 60 + second) * 1_000_000 + micro
    micros = _days_from_civil(year, month, day) * _DAY + clock - shift
    # An offset can move an instant out of the years 1 to 9999 (Python's datetime refuses it there).
    ok &= (micros >= _CALENDAR[0]) & (micros <= _CALENDAR[1])
    return micros, ok


def _shapes(length: int, aware: bool) -> list[tuple[int, int]]:
    """The (fraction digits, offset length) pairs a cell of ``length`` characters can have."""
    offsets = (1, 6) if aware else (0,)
    return [
        (fraction, offset)
        for fraction in range(10)
        for offset in offsets
        if 19 + (1 + fraction if fraction else 0) + offset == length
    ]


def parse_iso_cells(cells: Sequence[Any], *, aware: bool) -> tuple[Int64s, Bools]:
    """Cells in Graph's plain ISO shapes as microseconds since the epoch, and which cells were.

    ``aware``: ``YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±hh:mm)``, returned in UTC; otherwise the
    same with no offset. A cell is only taken when it is text in exactly that shape with
    every field in range (a real date, hours to 23, seconds to 59); every other cell
    (another spelling, an error to explain, not text) is left for ``learnkit.times.parse_iso``.

    >>> micros, ok = parse_iso_cells(["1970-01-01T00:00:01.5+01:00", "1970-02-30T00:00:00Z"], aware=True)
    >>> micros[ok].tolist(), ok.tolist()
    ([-3598500000], [True, False])
    """
    values = cells if isinstance(cells, list) else list(cells)
    n = len(values)
    micros = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    if not n:
        return micros, ok
    lengths = _lengths(values)
    for length in np.unique(lengths).tolist():
        shapes = _shapes(int(length), aware)
        if not shapes:
            continue
        rows = np.flatnonzero(lengths == length)
        texts = values if len(rows) == n else [values[i] for i in rows.tolist()]
        # One character per byte: anything not ASCII becomes "?", which no shape takes.
        matrix = np.frombuffer("".join(texts).encode("ascii", "replace"), dtype=np.uint8).reshape(len(rows), length)
        for fraction, offset in shapes:
            pending = np.flatnonzero(~ok[rows])  # a cell in one shape is in no other of its length
            if not len(pending):
                break
            parsed, good = _parse_group(matrix if len(pending) == len(rows) else matrix[pending], fraction, offset)
            micros[rows[pending[good]]] = parsed[good]
            ok[rows[pending[good]]] = True
    return micros, ok


def iso_matrix(micros: Int64s) -> Bytes2D:
    """``YYYY-MM-DDTHH:MM:SS.ffffff`` of each instant (microseconds since the epoch, years 1 to 9999) as bytes.

    >>> iso_matrix(np.array([1_500_000], dtype=np.int64)).tobytes()
    b'1970-01-01T00:00:01.500000'
    """
    days, clock = np.divmod(micros, _DAY)
    year, month, day = _civil_from_days(days)
    seconds, micro = np.divmod(clock, 1_000_000)
    minutes, second = np.divmod(seconds, 60)
    hour, minute = np.divmod(minutes, 60)
    out = np.empty((len(micros), 26), dtype=np.uint8)
    for position, char in {**_SEPARATORS, 19: "."}.items():
        out[:, position] = ord(char)
    for value, start, width in (
        (year, 0, 4),
        (month, 5, 2),
        (day, 8, 2),
        (hour, 11, 2),
        (minute, 14, 2),
        (second, 17, 2),
        (micro, 20, 6),
    ):
        for place in range(width - 1, -1, -1):
            value, digit = np.divmod(value, 10)
            out[:, start + place] = digit + _ZERO
    return out
