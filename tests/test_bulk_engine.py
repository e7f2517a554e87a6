"""learnkit.bulk as an analyst meets it: results as an object, already-held values, named conflicts,
reads by the page, progress callbacks, and journals that are not what they claim."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from learnkit import GraphClient, RetryPolicy
from learnkit.bulk import BulkResult, apply_csv, apply_frame, resume, undo
from learnkit.bulk.csvfile import write_csv
from learnkit.bulk.engine import Engine
from learnkit.bulk.fingerprints import activity_etag
from learnkit.bulk.journal import Journal
from learnkit.bulk.plans import PatchPlan, edited_only
from learnkit.errors import JournalError
from learnkit.models import SELF_INITIATED_TYPE
from tests.conftest import everything

FAST = RetryPolicy(max_attempts=10, backoff=0.01, max_backoff=0.05)


@pytest.fixture
def sb(clean_sandbox: Any) -> Any:
    return clean_sandbox


@pytest.fixture
def client(sb: Any) -> GraphClient:
    return GraphClient.for_sandbox(sb, retry=FAST)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal(tmp_path / "journal.sqlite")
    yield journal
    journal.close()


def options(book: Journal | None) -> dict[str, Any]:
    return {"journal": book, "progress": False, "retry": FAST}


def bump(df: pd.DataFrame, n: int) -> pd.DataFrame:
    edited = df.copy()
    rows = edited.index[edited["status"] == "inProgress"][:n]
    edited.loc[rows, "completionPercentage"] = (edited.loc[rows, "completionPercentage"] % 98) + 1
    return edited


def seeded_edit(sb: Any, client: GraphClient, seed: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``seed`` records more for the demo provider, then (everything it holds, the same with the completion of the
    first ``n`` seeded in-progress records moved on by one). The demo tenant's own records are left alone: they hold
    values the audit finds wrong on purpose, which an edit is rightly refused for."""
    registration = sb.demo["registration_id"]
    sb.seed_bulk(seed, registration)
    before = everything(client, sb, registration)
    seeded = before[before["externalcourseActivityId"].str.startswith("bulk-") & (before["status"] == "inProgress")]
    rows = seeded.index[:n]
    assert len(rows) == n
    edited = before.copy()
    edited.loc[rows, "completionPercentage"] = edited.loc[rows, "completionPercentage"] % 98 + 1
    return before, edited


def on_service(client: GraphClient) -> dict[str, Any]:
    """The service a run started by hand is recorded against: the client's, as ``bulk.apply`` records it."""
    service = client.service()
    return {"graph_url": service.graph_url, "tenant": service.tenant_id}


def test_result_is_an_object_with_counts_a_diff_and_a_theme_safe_display(
    sb: Any, client: GraphClient, book: Journal
) -> None:
    before = everything(client, sb, sb.demo["registration_id"])
    edited = bump(before, 3)
    preview = apply_frame(client, before, edited, **options(book), dry_run=True)
    assert isinstance(preview, BulkResult) and preview.dry_run and preview.journal_id is None
    changes = preview.changes()
    assert list(changes.columns) == ["row", "id", "field", "before", "after"]
    assert set(changes["field"]) == {"completionPercentage"}
    old = before.set_index("id")["completionPercentage"]
    new = edited.set_index("id")["completionPercentage"]
    for _, line in changes.iterrows():
        assert (line["before"], line["after"]) == (old[line["id"]], new[line["id"]])
    result = apply_frame(client, before, edited, **options(book))
    assert result.summary() == {"applied": 3} and result.ok and len(result) == 3
    page = result._repr_html_()
    assert "applied <b>3</b>" in page and result.journal_id in page
    assert "var(--jp-" in page and "color:#" not in page and "background:#" not in page


def test_reapplying_what_the_service_holds_is_unchanged_never_a_conflict(
    sb: Any, client: GraphClient, book: Journal, tmp_path: Path
) -> None:
    before = everything(client, sb, sb.demo["registration_id"])
    exported = tmp_path / "activities.csv"
    write_csv(before, exported)
    sheet = pd.read_csv(exported, dtype=str, keep_default_na=False)
    rows = sheet.index[sheet["status"] == "inProgress"][:2]
    sheet.loc[rows, "completionPercentage"] = "77"
    edits = tmp_path / "edits.csv"
    sheet.to_csv(edits, index=False)
    first = apply_csv(client, edits, **options(book))
    assert first.summary()["applied"] == 2
    again = apply_csv(client, edits, **options(book))  # the same file once more: its etags are now stale
    # Its two edited rows (the others are as exported: no plan) are already held: unchanged, not sent.
    assert again.summary() == {"unchanged": 2}
    assert (again.frame["attempts"] == 0).all()
    reverted = undo(client, first.journal_id, **options(book))
    assert reverted.summary() == {"applied": 2}
    twice = undo(client, first.journal_id, **options(book))
    assert twice.summary() == {"unchanged": 2}, twice.frame["message"].tolist()


def test_a_file_applied_then_edited_further_applies_again(
    sb: Any, client: GraphClient, book: Journal, tmp_path: Path
) -> None:
    registration = sb.demo["registration_id"]
    exported = tmp_path / "activities.csv"
    write_csv(everything(client, sb, registration), exported)
    sheet = pd.read_csv(exported, dtype=str, keep_default_na=False)
    assigned = sheet["@odata.type"].str.endswith("learningAssignment") & (sheet["status"] == "inProgress")
    row = sheet.index[assigned][0]
    activity_id, notes = sheet.loc[row, "id"], sheet.loc[row, "notes.content"]
    edits = tmp_path / "edits.csv"
    sheet.loc[row, "completionPercentage"] = "61"
    sheet.to_csv(edits, index=False)
    first = apply_csv(client, edits, **options(book))
    assert first.summary() == {"applied": 1}
    # The analyst goes on editing the same file: its etags still name the export, and the service now holds
    # the 61 this file put there. That is no one else's change: the new edit goes, the 61 is not sent again.
    sheet.loc[row, "notes.content"] = "called the learner"
    sheet.to_csv(edits, index=False)
    again = apply_csv(client, edits, **options(book))
    assert again.summary() == {"applied": 1}, again.frame["message"].tolist()
    assert set(again.frame["patch"].iloc[0]) == {"@odata.type", "status", "notes"}
    # Each run undoes what it wrote.
    assert undo(client, again.journal_id, **options(book)).summary() == {"applied": 1}
    held = client.get_activity(activity_id)
    assert held.notes is not None and held.notes.content == notes and held.completionPercentage == 61


def test_rows_as_exported_are_neither_read_nor_sent(
    sb: Any, client: GraphClient, book: Journal, tmp_path: Path
) -> None:
    before = everything(client, sb, sb.demo["registration_id"])
    exported = tmp_path / "activities.csv"
    write_csv(before, exported)
    result = apply_csv(client, exported, **options(book))
    assert len(result) == 0 and result.summary() == {}
    assert result.stats["requests"] == 0 and result.stats["round_trips"] == 0
    # A row with some cells as exported sends (and reads) only for the cells that differ.
    sheet = pd.read_csv(exported, dtype=str, keep_default_na=False)
    row = sheet.index[sheet["status"] == "inProgress"][0]
    sheet.loc[row, "completionPercentage"] = "93"
    sheet.to_csv(tmp_path / "edits.csv", index=False)
    one = apply_csv(client, tmp_path / "edits.csv", **options(book))
    assert one.summary() == {"applied": 1}
    assert set(one.frame["patch"].iloc[0]) == {"@odata.type", "status", "completionPercentage"}


def test_a_conflict_names_each_field_with_its_old_and_current_value(
    sb: Any, client: GraphClient, book: Journal, tmp_path: Path
) -> None:
    registration = sb.demo["registration_id"]
    before = everything(client, sb, registration)
    edited = bump(before, 1)
    victim = edited.loc[edited["completionPercentage"] != before["completionPercentage"], "id"].iloc[0]
    kind = before.set_index("id").loc[victim, "@odata.type"]
    was = int(before.set_index("id").loc[victim, "completionPercentage"])
    client.patch_activity(
        registration, victim, {"@odata.type": kind, "status": "inProgress", "completionPercentage": 3}
    )
    result = apply_frame(client, before, edited, **options(book))
    message = result.frame.set_index("id").loc[victim, "message"]
    assert result.summary() == {"conflict": 1}
    assert f"completionPercentage was {was}, now 3" in message and "etag" not in message
    # From a CSV, only the fingerprint is known: the field and its current value are named.
    exported = tmp_path / "activities.csv"
    write_csv(before, exported)
    sheet = pd.read_csv(exported, dtype=str, keep_default_na=False)
    sheet.loc[sheet["id"] == victim, "completionPercentage"] = "50"
    sheet.to_csv(tmp_path / "edits.csv", index=False)
    from_csv = apply_csv(client, tmp_path / "edits.csv", **options(book))
    line = from_csv.frame.set_index("id").loc[victim]
    assert line["status"] == "conflict" and "completionPercentage now 3" in line["message"]


def test_many_records_of_one_provider_are_read_by_the_page(
    sb: Any, listing_sb: Any, client: GraphClient, book: Journal
) -> None:
    before = everything(client, sb, sb.demo["registration_id"])
    edited = bump(before, 45)
    seen: list[tuple[int, int]] = []
    result = apply_frame(client, before, edited, journal=book, retry=FAST, progress=lambda d, t: seen.append((d, t)))
    assert result.summary() == {"applied": 45}
    assert result.stats["pages"] >= 1 and result.stats["requests"] == 45 + result.stats["pages"]
    assert seen and seen[-1] == (45, 45) and all(t == 45 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_edited_only_keeps_the_cells_that_differ_from_the_fingerprint() -> None:
    read = {"@odata.type": SELF_INITIATED_TYPE, "status": "inProgress", "completionPercentage": 10}
    plan = PatchPlan(
        2, "p", "a", SELF_INITIATED_TYPE, {"status": "inProgress", "completionPercentage": 40}, activity_etag(read)
    )
    kept = edited_only(plan)
    assert kept is not None and dict(kept.changes) == {"completionPercentage": 40}


def test_a_journal_that_is_not_one_is_refused_and_nothing_is_sent(sb: Any, client: GraphClient, tmp_path: Path) -> None:
    garbage = tmp_path / "journal.sqlite"
    garbage.write_bytes(b"\x00garbage" * 500)
    before = everything(client, sb, sb.demo["registration_id"])
    with pytest.raises(JournalError, match="not a learnkit journal"):
        apply_frame(client, before, bump(before, 2), journal=garbage, progress=False)
    with pytest.raises(JournalError):
        resume(client, "20240101T000000-abcdef", journal=garbage, progress=False)
    assert everything(client, sb, sb.demo["registration_id"]).equals(before)


def test_flipped_bytes_in_a_journal_stop_resume_before_anything_is_sent(
    sb: Any, client: GraphClient, tmp_path: Path
) -> None:
    path = tmp_path / "journal.sqlite"
    book = Journal(path)
    before = everything(client, sb, sb.demo["registration_id"])
    edited = bump(before, 2)
    from learnkit.bulk.edits import diff

    plans = diff(before, edited)
    run = book.start("apply", plans, **on_service(client))
    book._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    book.close()
    data = path.read_bytes()
    # as the journal writes it
    value = f'{{"completionPercentage":{plans[0].changes["completionPercentage"]}}}'.encode()
    spot = data.find(value)
    assert spot > 0
    forged = f'{{"completionPercentage":{(plans[0].changes["completionPercentage"] + 1) % 100}}}'.encode()
    path.write_bytes(data[:spot] + forged.ljust(len(value)) + data[spot + len(value) :])
    with pytest.raises(JournalError, match="checksum"):
        resume(client, run, journal=path, progress=False)
    assert everything(client, sb, sb.demo["registration_id"]).equals(before)


class Sent:
    """The requests a client's session sends (its response hooks see every one)."""

    def __init__(self, client: GraphClient) -> None:
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[bytes] = []
        client.session.hooks["response"].append(self._hook)

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.requests.append((response.request.method or "", response.request.url or ""))
        body = response.request.body
        self.bodies.append(body if isinstance(body, bytes) else (body or "").encode())

    def pages(self) -> list[dict[str, list[str]]]:
        """The queries of the list's pages (the probe of whether it is served, $select=id alone, left out)."""
        queries = [parse_qs(urlsplit(url).query) for method, url in self.requests if method == "GET"]
        return [q for q in queries if q.get("$select") != ["id"]]

    def writes(self) -> int:
        """PATCHes sent, directly or inside a $batch."""
        direct = sum(1 for method, _ in self.requests if method == "PATCH")
        return direct + sum(body.count(b'"method":"PATCH"') for body in self.bodies)


def test_pages_ask_only_for_what_decisions_read_and_each_page_once(
    sb: Any, listing_sb: Any, client: GraphClient, book: Journal
) -> None:
    registration = sb.demo["registration_id"]
    before, edited = seeded_edit(sb, client, 3000, 1100)  # more than a page: the pages they span go with the first
    total = len(before)
    sent = Sent(client)
    result = apply_frame(client, before, edited, **options(book))
    assert result.summary() == {"applied": 1100}
    pages = sent.pages()
    probes = [q for q in pages if q["$top"] == ["1"]]  # a one-record read that asks how many there are
    full = [q for q in pages if q["$top"] == ["999"]]
    assert len(probes) == 1 and "$count" in probes[0] and len(full) + 1 == len(pages) == result.stats["pages"]
    assert sorted(int(q.get("$skip", ["0"])[0]) for q in full) == list(range(0, total, 999))  # each page once
    for query in pages:
        chosen = query["$select"][0].split(",")
        assert "id" in chosen and "completionPercentage" in chosen and "dueDateTime" in chosen
        assert "learnerUserId" not in chosen and "assignerUserId" not in chosen  # nothing the decisions do not read
    assert result.stats["requests"] == 1100 + len(pages)
    now = everything(client, sb, registration).set_index("id")["completionPercentage"]
    wanted = edited.set_index("id")["completionPercentage"]
    assert (now.reindex(wanted.index) == wanted).all()


def test_a_run_that_cannot_start_sends_no_patch_and_stops_its_reads(
    sb: Any, client: GraphClient, book: Journal
) -> None:
    registration = sb.demo["registration_id"]
    before = everything(client, sb, registration)
    edited = bump(before, 30)
    sent = Sent(client)

    def refuse(run_id: str) -> None:
        raise KeyboardInterrupt  # the caller stops while the run is being journaled

    with pytest.raises(KeyboardInterrupt):
        apply_frame(client, before, edited, **options(book), on_start=refuse)
    assert sent.requests and sent.writes() == 0  # the first reads may have gone; nothing was written
    assert not [t for t in threading.enumerate() if t.name.startswith("learnkit-bulk")]
    assert everything(client, sb, registration).equals(before)


class InFlight:
    """The requests a client has in flight at once, at most, and the bodies in the order they left: its
    connection adapter's ``send`` counted (page reads and ``$batch`` POSTs both go through it)."""

    def __init__(self, client: GraphClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = self.most = 0
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        adapter = client.session.get_adapter(client.graph_url)
        send = adapter.send

        def counted(request: Any, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
                body = request.body
                self.bodies.append(body if isinstance(body, bytes) else (body or "").encode())
            try:
                return send(request, *args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        monkeypatch.setattr(adapter, "send", counted)


def test_concurrency_bounds_every_request_in_flight_pages_included(
    sb: Any, listing_sb: Any, client: GraphClient, book: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, edited = seeded_edit(sb, client, 3000, 1100)
    sb.set_latency(20)  # answers overlap, so the engine has the chance to exceed its bound
    watched = InFlight(client, monkeypatch)
    result = apply_frame(client, before, edited, **options(book), concurrency=3)
    assert result.summary() == {"applied": 1100} and result.stats["pages"] >= 2
    assert 1 < watched.most <= 3  # pages and batches share the three


def test_patches_start_while_later_records_are_still_to_read(
    sb: Any, client: GraphClient, book: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, edited = seeded_edit(sb, client, 800, 160)  # eight batches of reads by id (the documented contract)
    watched = InFlight(client, monkeypatch)
    result = apply_frame(client, before, edited, **options(book), concurrency=2)
    assert result.summary() == {"applied": 160} and result.stats["pages"] == 0
    batches = [body for body in watched.bodies if b'"requests"' in body]
    first_write = next(i for i, body in enumerate(batches) if b'"method":"PATCH"' in body)
    # A decided row goes before the next read: at most the first two batches of reads precede the first write.
    assert 1 <= first_write <= 2 and sum(b'"method":"GET"' in body for body in batches) == 8


def test_a_slot_freed_by_patches_alone_is_busy_again_before_their_answer_is_taken_in(
    sb: Any, client: GraphClient, book: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, edited = seeded_edit(sb, client, 800, 200)  # ten batches of reads by id, ten of PATCHes
    sb.set_latency(20)
    in_flight: list[int] = []  # requests in flight as each answer to PATCHes alone is taken in
    take_in = Engine._after

    def after(self: Engine, batch: Any, future: Any) -> None:
        if batch.writes_only:
            in_flight.append(len(self._inflight))
        take_in(self, batch, future)

    monkeypatch.setattr(Engine, "_after", after)
    result = apply_frame(client, before, edited, **options(book), concurrency=2)
    assert result.summary() == {"applied": 200}
    # While reads are left, the slot such an answer freed already carries the next request (two in flight, not one).
    assert in_flight and max(in_flight) == 2, in_flight


def test_the_last_reads_go_before_patches_so_no_round_carries_one_batch_alone(
    sb: Any, client: GraphClient, book: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seven batches of reads, two slots: read then write in lockstep takes 8 rounds.
    before, edited = seeded_edit(sb, client, 800, 140)
    watched = InFlight(client, monkeypatch)
    sb.set_latency(30)  # distinct rounds of round trips, whatever the load (the fixture resets it for the next test)
    result = apply_frame(client, before, edited, **options(book), concurrency=2)
    assert result.summary() == {"applied": 140}
    kinds = [b'"method":"GET"' in body for body in watched.bodies if b'"requests"' in body]
    # Once the reads left fit in one round of the slots (the seventh), they go before the PATCHes due: the
    # seventh read leaves before the fifth and sixth reads' PATCHes, and the last round is PATCHes only.
    assert kinds.count(True) == 7 and kinds.count(False) == 7
    assert kinds[::-1].index(True) >= 2, kinds
