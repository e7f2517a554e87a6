"""learnkit.bulk.journal: runs, plans before sending, attempts, outcomes; default path; claiming a run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from learnkit.bulk.journal import Journal, default_journal_path
from learnkit.bulk.plans import PatchPlan
from learnkit.errors import JournalError
from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE

PLANS = [
    PatchPlan(2, "prov", "u:1", ASSIGNMENT_TYPE, {"completionPercentage": 40}, "etag1", {"learnerUserId": "u"}),
    PatchPlan(3, "prov", "u:2", SELF_INITIATED_TYPE, {"status": "completed"}),
]


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal(tmp_path / "nested" / "journal.sqlite")
    yield journal
    journal.close()


def test_start_writes_every_plan_before_anything_is_sent(book: Journal) -> None:
    run = book.start("apply", PLANS, force=True, graph_url="https://x/v1.0", source="edits.csv")
    info = book.info(run)
    assert (info.kind, info.state, info.force, info.source, info.pid) == (
        "apply",
        "running",
        True,
        "edits.csv",
        os.getpid(),
    )
    rows = book.rows(run)
    assert [r.plan for r in rows] == PLANS
    assert [r.state for r in rows] == ["planned", "planned"]
    assert book.path.exists()


def test_sending_then_outcome_is_recorded_with_the_values_replaced(book: Journal) -> None:
    run = book.start("apply", PLANS)
    before = {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 10}
    body = {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 40}
    book.mark_sending(run, [(0, PLANS[0], before, body)])
    sending = book.rows(run)[0]
    assert (sending.state, sending.before, sending.body) == ("sending", before, body)
    book.record(
        run,
        [(0, PLANS[0], "applied", 204, "applied", 1, False, before, body)],
        [(1, "GET", 429, "429 tooManyRequests", 1.0), (1, "GET", None, "connection lost", None)],
    )
    row = book.rows(run)[0]
    assert (row.state, row.code, row.attempts, row.before) == ("applied", 204, 1, before)
    attempts = book.attempts(run)  # only the sub-requests that did not succeed
    assert list(attempts["method"]) == ["GET", "GET"]
    assert list(attempts["status"].fillna(-1)) == [429, -1]
    assert list(attempts["retry_after"].fillna(-1)) == [1.0, -1]
    frame = book.frame(run)
    assert list(frame.index) == [2, 3] and list(frame["state"]) == ["applied", "planned"]


def test_an_outcome_with_other_values_than_its_sending_keeps_the_outcome_s(book: Journal) -> None:
    # The journal reuses the text it wrote for "sending" only for the very same values.
    run = book.start("apply", PLANS)
    before = {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 10}
    body = {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 40}
    book.write(run, sending=[(0, PLANS[0], before, body)])
    later = {**before, "completionPercentage": 12}
    book.write(run, outcomes=[(0, PLANS[0], "applied", 200, "applied", 2, False, later, dict(body))])
    assert (book.rows(run)[0].before, book.rows(run)[0].body) == (later, body)
    old = {"@odata.type": SELF_INITIATED_TYPE, "status": "inProgress"}
    new = {"@odata.type": SELF_INITIATED_TYPE, "status": "completed"}
    book.write(run, sending=[(1, PLANS[1], old, new)])
    book.write(run, outcomes=[(1, PLANS[1], "applied", 204, "applied", 1, False, old, new)])
    again = Journal(book.path)  # a second handle reads (and checks) what the first wrote
    assert [(r.state, r.before, r.body) for r in again.rows(run)] == [("applied", later, body), ("applied", old, new)]
    again.close()


def test_runs_lists_counts_by_state(book: Journal) -> None:
    first = book.start("apply", PLANS)
    book.record(
        first,
        [
            (0, PLANS[0], "applied", 204, "", 1, False, None, None),
            (1, PLANS[1], "conflict", None, "", 0, False, None, None),
        ],
    )
    book.finish(first)
    second = book.start("undo", PLANS[:1], parent=first)
    history = book.runs()
    assert [r.id for r in history] == [second, first]  # newest first
    assert (history[1].kind, history[1].rows, history[1].outcome) == ("apply", 2, "applied 1, conflict 1")
    assert history[0].parent == first and history[0].counts == {"planned": 1}
    page = history._repr_html_()
    assert "applied 1, conflict 1" in page and "var(--jp-" in page and "#" not in page.split("var(")[0]
    runs = history.to_frame()
    assert set(runs.index) == {first, second}
    assert runs.loc[first, "state"] == "finished" and runs.loc[first, "applied"] == 1
    assert runs.loc[first, "conflict"] == 1
    assert runs.loc[second, "parent"] == first and runs.loc[second, "planned"] == 1


def test_unknown_run_is_a_journal_error(book: Journal) -> None:
    with pytest.raises(JournalError, match="no run 'nope'"):
        book.info("nope")
    with pytest.raises(JournalError):
        book.rows("nope")


def test_claim_refuses_a_run_a_live_process_holds(book: Journal) -> None:
    run = book.start("apply", PLANS)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        book._write([("UPDATE runs SET pid = ? WHERE id = ?", (other.pid, run), False)])
        with pytest.raises(JournalError, match="still running"):
            book.claim(run)
    finally:
        other.kill()
        other.wait()
    claimed = book.claim(run)  # the holder is gone: take it over
    assert claimed.pid == os.getpid() and claimed.state == "running"


def test_a_second_handle_sees_what_the_first_wrote(book: Journal) -> None:
    run = book.start("apply", PLANS)
    other = Journal(book.path)
    try:
        assert [r.plan for r in other.rows(run)] == PLANS
    finally:
        other.close()


def test_default_path_is_in_the_data_folder_or_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LEARNKIT_JOURNAL", raising=False)
    monkeypatch.delenv("LEARNKIT_DATA_DIR", raising=False)
    path = default_journal_path()
    assert path.name == "journal.sqlite" and "learnkit" in str(path.parent)
    # Beside the leases and the remembered sign-ins: LEARNKIT_DATA_DIR moves them all (the suite's own folder).
    monkeypatch.setenv("LEARNKIT_DATA_DIR", str(tmp_path / "data"))
    assert default_journal_path() == tmp_path / "data" / "journal.sqlite"
    monkeypatch.setenv("LEARNKIT_JOURNAL", str(tmp_path / "mine.sqlite"))
    assert default_journal_path() == tmp_path / "mine.sqlite"
    journal = Journal()
    try:
        assert journal.path == tmp_path / "mine.sqlite"
    finally:
        journal.close()


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all\n" * 100)
    with pytest.raises(JournalError, match="not a learnkit journal"):
        Journal(garbage)
    import sqlite3

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x TEXT)")
    with pytest.raises(JournalError, match="not a learnkit journal"):
        Journal(other)


def test_a_truncated_or_damaged_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    book = Journal(path)
    many = [PatchPlan(i, "prov", f"u:{i}", ASSIGNMENT_TYPE, {"completionPercentage": i % 100}) for i in range(3000)]
    run = book.start("apply", many)
    book._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    book.close()
    data = path.read_bytes()
    half = tmp_path / "half.sqlite"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(JournalError):
        Journal(half).rows(run)
    # Flip bytes inside a stored plan: SQLite's structure is intact, the row's checksum is not.
    spot = data.find(b'{"completionPercentage":42}')  # as the journal writes it (and sqlite3 shows it)
    assert spot > 0
    flipped = tmp_path / "flipped.sqlite"
    forged = b'{"completionPercentage":99}'
    flipped.write_bytes(data[:spot] + forged + data[spot + len(forged) :])
    damaged = Journal(flipped)
    try:
        with pytest.raises(JournalError, match="checksum"):
            damaged.rows(run)
    finally:
        damaged.close()


def test_an_older_learnkit_journal_is_kept_aside_whole_and_a_new_one_started(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as db:  # the tables an older learnkit (format 1) wrote
        db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, kind TEXT)")
        db.execute("CREATE TABLE plans (run TEXT, idx INTEGER, plan TEXT)")
        db.execute("INSERT INTO runs VALUES ('old-run', 'apply')")
    with pytest.warns(UserWarning, match="older learnkit"):
        book = Journal(path)
    try:
        assert len(book.runs()) == 0
        assert book.start("apply", PLANS) in {r.id for r in book.runs()}
    finally:
        book.close()
    (kept,) = tmp_path.glob("journal.format1-*.sqlite")
    with sqlite3.connect(kept) as db:
        assert db.execute("SELECT id FROM runs").fetchall() == [("old-run",)]


SAMPLES = Path(__file__).parent / "samples"


def test_a_format_2_journal_is_upgraded_in_place_to_plain_names(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    from learnkit.bulk.plans import UNCHANGED

    # Written by learnkit's format-2 journal (one-letter names, "~N" messages, e/x/b extras): an applied row,
    # an unchanged one, and a planned one that still keeps its etag, expectations and base.
    path = tmp_path / "journal.sqlite"
    shutil.copy(SAMPLES / "journal-format2.sqlite", path)
    book = Journal(path)
    try:
        (run,) = [r.id for r in book.runs()]
        rows = book.rows(run)  # every checksum holds after the rewrite
        assert [r.state for r in rows] == ["applied", "unchanged", "planned"]
        assert [r.message for r in rows] == ["applied", UNCHANGED, ""]
        assert rows[0].before == {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 10}
        assert rows[0].body == {"@odata.type": ASSIGNMENT_TYPE, "status": "inProgress", "completionPercentage": 40}
        assert rows[2].plan == PatchPlan(
            4, "prov", "u:3", SELF_INITIATED_TYPE, {"completionPercentage": 5}, "etag3", {"learnerUserId": "v"},
            {"completionPercentage": 1},
        )  # fmt: skip
    finally:
        book.close()
    with sqlite3.connect(path) as db:  # what a person reads in sqlite3
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
        stored = db.execute("SELECT changes, extra, before, body, message FROM plans ORDER BY idx").fetchall()
    # The message a state says already ("applied") is not stored again.
    assert stored[0] == (
        '{"completionPercentage":40}',
        None,
        '{"completionPercentage":10}',
        '{"status":"inProgress","completionPercentage":40}',
        None,
    )
    assert stored[2][1] == '{"etag":"etag3","expect":{"learnerUserId":"v"},"base":{"completionPercentage":1}}'


def test_a_damaged_row_of_a_format_2_journal_stays_refused_after_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    data = (SAMPLES / "journal-format2.sqlite").read_bytes()
    spot = data.find(b'{"p":5}')
    assert spot > 0
    path.write_bytes(data[:spot] + b'{"p":6}' + data[spot + 7 :])
    book = Journal(path)
    try:
        (run,) = [r.id for r in book.runs()]
        with pytest.raises(JournalError, match="checksum"):
            book.rows(run)
    finally:
        book.close()


def test_every_message_reads_back_as_written_whether_its_state_implies_it_or_not(book: Journal) -> None:
    from learnkit.bulk.plans import AS_EXPORTED, UNCHANGED

    plans = [PatchPlan(i + 2, "prov", f"u:{i}", SELF_INITIATED_TYPE, {"completionPercentage": i}) for i in range(5)]
    plans.append(PatchPlan(9, "prov", "u:9", SELF_INITIATED_TYPE, {}))
    run = book.start("apply", plans, outcomes={5: ("unchanged", AS_EXPORTED)})
    said = [
        ("applied", "applied"),
        ("applied", "the service held the values this run sent"),
        ("unchanged", UNCHANGED),
        ("unchanged", AS_EXPORTED),  # a row with changes whose message is another state's: kept in full
        ("conflict", "completionPercentage: was 1, now 2"),
    ]
    book.write(
        run,
        outcomes=[(i, plans[i], state, None, message, 0, False, None, None) for i, (state, message) in enumerate(said)],
    )
    assert [(r.state, r.message) for r in book.rows(run)] == [*said, ("unchanged", AS_EXPORTED)]
