"""learnkit.bulk._columnar and the vectorised CSV path: each fast path agrees with the reference it replaces."""

from __future__ import annotations

import csv
import io
import zlib
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from learnkit.bulk._columnar import crc32_matrix, decode_fingerprints, hex_fingerprints, iso_matrix, parse_iso_cells
from learnkit.bulk.csvfile import (
    ETAG_COLUMN,
    PlanList,
    _plans,
    plan_csv,
    plans_from_frame,
    read_csv,
    unchanged_rows,
    write_csv,
)
from learnkit.bulk.csvio import _has_escapes
from learnkit.bulk.fingerprints import activity_etag, etags_match, row_etags
from learnkit.bulk.frame import activities_frame, frame_to_activities, parse_datetimes
from learnkit.bulk.plans import edited_only
from learnkit.errors import InvalidRowsError
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE
from learnkit.times import parse_iso

FIRST = int(np.datetime64("0001-01-01T00:00:00", "us").view(np.int64))
LAST = int(np.datetime64("9999-12-31T23:59:59.999999", "us").view(np.int64))


def reference_micros(text: Any, aware: bool) -> int | None:
    """What ``learnkit.times.parse_iso`` makes of a cell, in microseconds (UTC when aware); None if refused."""
    try:
        moment = parse_iso(text)
        if (moment.tzinfo is None) == aware:
            return None
        if aware:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError, TypeError):
        return None
    return int(np.datetime64(moment, "us").view(np.int64))


# ISO-like texts, in and out of range, in Graph's shapes and near them.
_fields = st.tuples(
    st.sampled_from([0, 1, 2, 999, 1582, 1900, 1970, 2000, 2024, 9998, 9999]) | st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 60),
    st.integers(0, 60),
)
iso_like = st.builds(
    lambda f, sep, frac, off: f"{f[0]:04d}-{f[1]:02d}-{f[2]:02d}{sep}{f[3]:02d}:{f[4]:02d}:{f[5]:02d}{frac}{off}",
    _fields,
    st.sampled_from(["T", "T", "T", " ", "t"]),
    st.sampled_from(["", "."]) | st.text("0123456789", min_size=1, max_size=10).map(lambda d: "." + d),
    st.sampled_from(["", "Z", "z", "+00:00", "-05:30", "+23:59", "-23:59", "+14:00", "-12:60", "+0530", "+24:00"]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(iso_like | st.text(max_size=30) | st.none() | st.integers(), max_size=40), st.booleans())
def test_parse_iso_cells_takes_only_what_parse_iso_reads_the_same(cells: list[Any], aware: bool) -> None:
    micros, ok = parse_iso_cells(cells, aware=aware)
    for cell, value, taken in zip(cells, micros.tolist(), ok.tolist(), strict=True):
        if taken:
            assert value == reference_micros(cell, aware), cell
            assert FIRST <= value <= LAST


@settings(max_examples=200)
@given(st.lists(iso_like, max_size=40), st.booleans())
def test_parse_datetimes_agrees_with_parse_iso_cell_by_cell(cells: list[str], aware: bool) -> None:
    values, problems = parse_datetimes(pd.Series(cells, dtype=object), aware=aware)
    micros = values.dt.tz_localize(None) if aware else values
    for cell, value, problem in zip(cells, micros.tolist(), problems.tolist(), strict=True):
        expected = reference_micros(cell, aware)
        if expected is None:
            assert problem and pd.isna(value), cell
        else:
            assert problem is None and int(np.datetime64(value, "us").view(np.int64)) == expected, cell


def test_graph_shapes_take_the_fast_path() -> None:
    cells = ["2021-05-11T22:57:17.1234567Z", "2021-05-11T22:57:17+02:00", "2024-02-29T00:00:00.5-00:30"]
    micros, ok = parse_iso_cells(cells, aware=True)
    assert ok.all() and micros.tolist() == [reference_micros(c, True) for c in cells]
    assert parse_iso_cells(["2023-02-29T00:00:00Z", "2024-01-01T24:00:00Z"], aware=True)[1].tolist() == [False] * 2


@given(st.lists(st.integers(FIRST, LAST), max_size=50))
def test_iso_matrix_writes_what_numpy_writes(micros: list[int]) -> None:
    values = np.array(micros, dtype=np.int64)
    expected = np.datetime_as_string(values.view("datetime64[us]"), unit="us").tolist()
    assert [bytes(row).decode() for row in iso_matrix(values)] == expected


@given(st.lists(st.binary(min_size=7, max_size=7), max_size=30), st.binary(max_size=12), st.binary(max_size=8))
def test_crc32_matrix_is_zlibs_crc(rows: list[bytes], prefix: bytes, suffix: bytes) -> None:
    matrix = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 7)
    assert crc32_matrix(prefix, matrix, suffix).tolist() == [zlib.crc32(prefix + r + suffix) for r in rows]


@given(st.lists(st.lists(st.integers(0, 2**32 - 1), min_size=3, max_size=3), min_size=1, max_size=20))
def test_fingerprints_decode_back(hashes: list[list[int]]) -> None:
    matrix = np.array(hashes, dtype=np.uint32)
    texts = hex_fingerprints("v2:", matrix)
    assert texts == ["v2:" + "".join(f"{h:08x}" for h in row) for row in hashes]
    decoded, valid = decode_fingerprints("v2:", texts, 3)
    assert valid.all() and (decoded == matrix).all()
    wrong = [texts[0].upper(), texts[0][:-1], "v1:" + texts[0][3:], texts[0][:-1] + "é", None, 7]
    assert not decode_fingerprints("v2:", wrong, 3)[1].any()


# --- fingerprints of whole frames --------------------------------------------------------


def _iso_z(micros: int) -> str:
    return str(np.datetime_as_string(np.int64(micros).astype("datetime64[us]"), unit="us")) + "Z"


_instants = st.integers(FIRST, LAST).map(_iso_z)
_texts = st.text(st.characters(codec="utf-8"), max_size=12)
_ZONES = ["UTC", "Pacific Standard Time", "Europe/Paris"]


def _due(zones: list[str], *, ends: bool) -> st.SearchStrategy[dict[str, Any] | None]:
    """Due dates; without ``ends``, none so close to year 1 or 9999 that its zone moves it out of the calendar."""
    day = 86_400_000_000
    moments = _instants if ends else st.integers(FIRST + 2 * day, LAST - 2 * day).map(_iso_z)
    local = moments.map(lambda t: t[:-1] + "0")
    return st.none() | st.fixed_dictionaries(
        {"dateTime": st.none() | local, "timeZone": st.none() | st.sampled_from(zones)}
    )


_notes = st.none() | st.fixed_dictionaries(
    # Graph's content types; an empty one reads back as missing (a coded cell), so it is not drawn.
    {"contentType": st.none() | st.sampled_from(["text", "html"]), "content": st.none() | _texts}
)


@st.composite
def activities(draw: st.DrawFn, *, sendable: bool = False) -> dict[str, Any]:
    """An activity as Graph may hold it; ``sendable``: one an edit of can be sent (a status, a zone known)."""
    assigned = draw(st.booleans())
    statuses = st.sampled_from(["inProgress", "completed"])
    item: dict[str, Any] = {
        "@odata.type": ASSIGNMENT_TYPE if assigned else SELF_INITIATED_TYPE,
        "id": draw(st.uuids()).hex,
        "learningProviderId": "prov",
        "status": draw(statuses if sendable else st.none() | statuses | st.just("notStarted")),
        "completionPercentage": draw(st.none() | st.integers(0, 100)),
        "completedDateTime": draw(st.none() | _instants),
    }
    if assigned:
        zones = _ZONES if sendable else [*_ZONES, "Mars/Olympus", ""]
        due = draw(_due(zones, ends=not sendable))
        if sendable and due is not None and (due["dateTime"] is None) != (due["timeZone"] is None):
            due = None  # half a due date is refused on an edited row
        item |= {"assignedDateTime": draw(st.none() | _instants), "dueDateTime": due, "notes": draw(_notes)}
    else:
        item["startedDateTime"] = draw(st.none() | _instants)
    return item


def reference_etag(activity: dict[str, Any]) -> str | None:
    try:
        return activity_etag(activity)
    except Exception:
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activities(), min_size=1, max_size=25))
def test_row_etags_and_etags_match_equal_activity_etag(items: list[dict[str, Any]]) -> None:
    frame = activities_frame(items)
    expected = [reference_etag(a) for a in frame_to_activities(frame)]
    assert row_etags(frame).tolist() == expected
    exported = [
        e if i % 3 else (None if e is None else e[:-1] + ("0" if e[-1] != "0" else "1")) for i, e in enumerate(expected)
    ]
    assert etags_match(frame, exported).tolist() == [e is not None and i % 3 != 0 for i, e in enumerate(expected)]


# --- the CSV path --------------------------------------------------------------------------


def csv_text(items: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    write_csv(activities_frame(items), buffer)
    return buffer.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activities(sendable=True), min_size=1, max_size=12), st.data())
def test_plan_csv_plans_what_read_csv_then_plans_from_frame_plan(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    """The lean path (``plan_csv``) and the typed one (``read_csv`` + ``plans_from_frame``) agree row for row."""
    text = csv_text(items)
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    rows = data.draw(st.lists(st.integers(0, len(items) - 1), unique=True))
    for row in rows:
        table.loc[row, "completionPercentage"] = str(data.draw(st.integers(0, 100)))
    edited = table.to_csv(index=False)

    def outcome(make: Any) -> Any:
        try:
            return list(make())
        except InvalidRowsError as exc:  # an edited row with no status, say: both refuse the same cells
            return exc.cells

    lean = outcome(lambda: plan_csv(io.StringIO(edited)).plans)
    assert lean == outcome(lambda: plans_from_frame(read_csv(io.StringIO(edited))))
    if not isinstance(lean[0] if lean else None, tuple):
        # The properties left out are those the engine's own check (edited_only) would drop, one plan at a time.
        frame = read_csv(io.StringIO(edited))
        whole = _plans(frame[~unchanged_rows(frame)])
        assert lean == [kept for plan in whole if (kept := edited_only(plan)) is not None]
    assert isinstance(plan_csv(io.StringIO(text)).plans, PlanList)
    assert plan_csv(io.StringIO(text)).unchanged == len(items)


def test_plan_list_is_a_sequence_made_once() -> None:
    items = [
        {"@odata.type": SELF_INITIATED_TYPE, "id": f"id-{i}", "learningProviderId": "p", "status": "inProgress"}
        for i in range(3)
    ]
    frame = read_csv(io.StringIO(csv_text(items)))
    frame["completionPercentage"] = pd.array([5, 6, 7], dtype="Int64")
    plans = PlanList(frame)
    assert len(plans) == 3 and plans._plans is None  # nothing made to count them
    assert plans[0] is plans[0] and [p.row for p in plans] == [2, 3, 4] and plans[1:] == list(plans)[1:]
    assert plans == _plans(frame) and plans != [] and bool(PlanList(frame.iloc[:0])) is False
    # Against the exported fingerprints, only the edited cell is planned.
    assert [dict(p.changes) for p in plans_from_frame(frame)] == [{"completionPercentage": v} for v in (5, 6, 7)]


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a,b\r\n1,don't\r\n", False),
        ("a,b\r\n1,'=1+1\r\n", True),
        ("a,b\r\n'x,2\r\n", True),
        ('a,b\r\n1,"\'=1,2"\r\n', True),
        ("'a,b\r\n1,2\r\n", True),
        ("a,b\n1,2\n'3,4\n", True),
        ("a,b\r\n1,2\r\n", False),
    ],
)
def test_escapes_are_found_wherever_a_cell_can_begin(text: str, escaped: bool) -> None:
    assert _has_escapes(text) is escaped


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8"), max_size=8), min_size=1, max_size=8))
def test_every_escaped_cell_is_unescaped(contents: list[str]) -> None:
    items = [
        {
            "@odata.type": ASSIGNMENT_TYPE,
            "id": f"id-{i}",
            "learningProviderId": "p",
            "status": "inProgress",
            "notes": {"contentType": "text", "content": content},
        }
        for i, content in enumerate(contents)
    ]
    back = read_csv(io.StringIO(csv_text(items)))
    assert [None if pd.isna(v) else v for v in back["notes.content"].tolist()] == contents


def test_ids_differing_only_in_case_or_spaces_repeat_a_row() -> None:
    items = [
        {"@odata.type": SELF_INITIATED_TYPE, "id": i, "learningProviderId": "p", "status": "inProgress"}
        for i in ("abc", "ABC", " abc ", "other")
    ]
    with pytest.raises(InvalidRowsError) as caught:
        plan_csv(io.StringIO(csv_text(items)))
    assert [(row, column) for row, column, _ in caught.value.cells] == [(3, "id"), (4, "id")]
    assert ETAG_COLUMN in csv_text(items)


def test_an_edited_row_with_a_bad_date_is_refused_by_row_and_column() -> None:
    items = [{"@odata.type": SELF_INITIATED_TYPE, "id": "a", "learningProviderId": "p", "status": "inProgress"}]
    table = pd.read_csv(io.StringIO(csv_text(items)), dtype=str, keep_default_na=False)
    table.loc[0, "completedDateTime"] = "2023-02-29T00:00:00Z"
    with pytest.raises(InvalidRowsError) as caught:
        plan_csv(io.StringIO(table.to_csv(index=False)))
    assert [(row, column) for row, column, _ in caught.value.cells] == [(2, "completedDateTime")]
    assert datetime(2024, 2, 29)  # the same day exists in a leap year: only the calendar refused it


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.text("a'\",\r\n =", max_size=5), min_size=2, max_size=2), min_size=1, max_size=6),
    st.sampled_from(["\r\n", "\n"]),
)
def test_no_cell_beginning_with_an_apostrophe_is_missed(rows: list[list[str]], ending: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerows([["a", "b"], *rows])
    text = buffer.getvalue()
    cells = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).to_numpy().ravel().tolist()
    if any(cell.startswith("'") for cell in cells):
        assert _has_escapes(text)
