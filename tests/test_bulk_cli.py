"""``learnkit export | apply | undo | resume`` on the demo tenant, from a CSV, through ``learnkit.cli.main``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import GraphClient
from learnkit.bulk.fingerprints import canonical
from learnkit.bulk.frame import frame_to_activities
from learnkit.bulk.journal import Journal
from learnkit.cli import main
from tests.conftest import everything, keys_csv


@pytest.fixture
def connection(sb: Any, tmp_path: Path) -> list[str]:
    path = tmp_path / "sb.json"
    path.write_text(json.dumps(sb.to_json()))
    return ["--sandbox-json", str(path), "--journal", str(tmp_path / "journal.sqlite")]


def state(client: GraphClient, sb: Any) -> dict[str, Any]:
    frame = everything(client, sb, sb.demo["registration_id"])
    return {str(a["id"]): canonical(a) for a in frame_to_activities(frame)}


def export(sb: Any, connection: list[str], path: Path) -> pd.DataFrame:
    ids = keys_csv(sb, path.with_name("keys.csv"))
    assert (
        main(["export", "--provider", sb.demo["registration_id"], "--ids", ids, "-o", str(path), *connection[:2]]) == 0
    )
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def edit(raw: pd.DataFrame, sb: Any) -> pd.DataFrame:
    edited = raw.copy()
    mask = edited["id"] == sb.demo["assignment_id"]
    edited.loc[mask, "status"] = "completed"
    edited.loc[mask, "completionPercentage"] = "100"
    edited.loc[mask, "completedDateTime"] = "2024-03-01T12:00:00+01:00"
    edited.loc[mask, "notes.content"] = ""
    edited.loc[mask, "notes.contentType"] = ""
    mask = edited["id"] == sb.demo["self_initiated_id"]
    edited.loc[mask, "completionPercentage"] = "65"
    return edited


def test_export_writes_graph_columns(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = export(sb, connection, tmp_path / "out.csv")
    assert {
        "id",
        "@odata.type",
        "learningProviderId",
        "dueDateTime.dateTime",
        "notes.content",
        "@learnkit.etag",
    } <= set(raw.columns)
    assert sb.demo["assignment_id"] in set(raw["id"])
    ids = keys_csv(sb, tmp_path / "keys.csv")
    status, out, _ = run(["export", "--provider", sb.demo["registration_id"], "--ids", ids, *connection[:2]], capsys)
    assert status == 0 and out.splitlines()[0].startswith("id,@odata.type,learningProviderId")
    assert len(out.splitlines()) == len(raw) + 1


def test_apply_then_undo_from_a_csv(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = GraphClient.for_sandbox(sb)
    original = state(client, sb)
    raw = export(sb, connection, tmp_path / "activities.csv")
    edits = tmp_path / "edits.csv"
    edit(raw, sb).to_csv(edits, index=False)

    status, out, _ = run(["apply", str(edits), "--dry-run", "--no-progress", *connection], capsys)
    assert status == 0 and "dry run: nothing sent" in out and "dry-run 2" in out
    assert state(client, sb) == original

    status, out, _ = run(["apply", str(edits), "--no-progress", *connection], capsys)
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("journal ")
    run_id = lines[0].split()[1]
    assert lines[1] == "applied 2 (of 2 rows)"
    # Rows left as exported are skipped (neither read nor sent), and the CLI says so.
    assert lines[2] == f"{len(raw)} rows: 2 edited, {len(raw) - 2} as exported (skipped)"
    assignment = client.get_activity(sb.demo["assignment_id"])
    assert assignment.status == "completed" and assignment.completionPercentage == 100
    assert assignment.completedDateTime is not None and assignment.completedDateTime.isoformat().startswith(
        "2024-03-01T11:00:00"
    )
    assert assignment.notes is None  # blanked cells are nulls
    assert client.get_activity(sb.demo["self_initiated_id"]).completionPercentage == 65

    status, out, _ = run(["undo", run_id, "--no-progress", *connection], capsys)
    assert status == 0 and "applied 2 (of 2 rows)" in out
    assert state(client, sb) == original
    undo_id = out.splitlines()[0].split()[1]
    assert Journal(connection[3]).info(undo_id).parent == run_id


def test_apply_reads_edits_from_a_pipe(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = export(sb, connection, tmp_path / "activities.csv")
    text = edit(raw, sb).to_csv(index=False).encode()
    pipe = tmp_path / "edits"
    os.mkfifo(pipe)  # what the shell gives for `learnkit apply <(...)`: read once, to its end

    def feed() -> None:
        with open(pipe, "wb") as writer:
            writer.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    status, out, _ = run(["apply", str(pipe), "--dry-run", "--no-progress", *connection], capsys)
    writer.join(timeout=10)
    assert status == 0 and "dry run: nothing sent" in out and "dry-run 2" in out, out


def test_apply_refuses_bad_cells_before_sending(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = GraphClient.for_sandbox(sb)
    original = state(client, sb)
    raw = export(sb, connection, tmp_path / "activities.csv")
    bad = edit(raw, sb)
    bad.loc[3, "completionPercentage"] = "101"
    bad.loc[5, "dueDateTime.dateTime"] = "next week"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    status, out, err = run(["apply", str(tmp_path / "bad.csv"), "--no-progress", *connection], capsys)
    assert status == 2 and out == ""
    assert "row 5, completionPercentage" in err and "row 7, dueDateTime.dateTime" in err
    assert state(client, sb) == original
    assert len(Journal(connection[3]).runs()) == 0


def test_apply_exits_non_zero_on_a_conflict_and_names_it(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = GraphClient.for_sandbox(sb)
    raw = export(sb, connection, tmp_path / "activities.csv")
    edit(raw, sb).to_csv(tmp_path / "edits.csv", index=False)
    client.patch_activity(
        sb.demo["registration_id"],
        sb.demo["self_initiated_id"],
        {
            "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
            "status": "inProgress",
            "completionPercentage": 11,
        },
    )
    status, out, _ = run(["apply", str(tmp_path / "edits.csv"), "--no-progress", *connection], capsys)
    assert status == 1
    assert "conflict 1" in out and f"{sb.demo['self_initiated_id']}: conflict" in out
    assert client.get_activity(sb.demo["self_initiated_id"]).completionPercentage == 11
    status, out, _ = run(["apply", str(tmp_path / "edits.csv"), "--force", "--no-progress", *connection], capsys)
    assert status == 0 and "applied 1" in out
    assert client.get_activity(sb.demo["self_initiated_id"]).completionPercentage == 65


def test_resume_of_a_finished_run_sends_nothing_more(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = export(sb, connection, tmp_path / "activities.csv")
    edit(raw, sb).to_csv(tmp_path / "edits.csv", index=False)
    status, out, _ = run(["apply", str(tmp_path / "edits.csv"), "--no-progress", *connection], capsys)
    run_id = out.split()[1]
    attempts = len(Journal(connection[3]).attempts(run_id))
    status, out, _ = run(["resume", run_id, "--no-progress", *connection], capsys)
    assert status == 0 and "applied 2" in out
    assert len(Journal(connection[3]).attempts(run_id)) == attempts


def test_unknown_journal_id_and_no_connection_are_errors(
    connection: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, err = run(["undo", "no-such-run", *connection], capsys)
    assert status == 2 and "no run 'no-such-run'" in err
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    status, _, err = run(["resume", "x", "--journal", connection[3]], capsys)
    assert status == 2 and "no connection" in err


def test_an_untouched_export_applies_nothing_and_starts_no_run(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "untouched.csv"
    export(sb, connection, path)
    status, out, _ = run(["apply", str(path), *connection], capsys)
    assert status == 0 and out.startswith("nothing to apply: ") and "journal" not in out
    status, out, _ = run(["runs", "--journal", connection[3]], capsys)
    assert "apply" not in out


# --- Excel ---------------------------------------------------------------------------------------


def test_an_exported_workbook_opened_and_saved_applies_nothing_and_an_edited_one_shows_its_diff(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    client = GraphClient.for_sandbox(sb)
    original = state(client, sb)
    path = tmp_path / "activities.xlsx"
    ids = keys_csv(sb, tmp_path / "keys.csv")
    status, _, err = run(
        ["export", "--provider", sb.demo["registration_id"], "--ids", ids, "-o", str(path), *connection[:2]], capsys
    )
    assert status == 0 and f"to {path}" in err
    book = openpyxl.load_workbook(path)
    book.save(path)  # opened and saved by a spreadsheet program, nothing edited
    status, out, _ = run(["apply", str(path), *connection], capsys)
    assert status == 0 and out.startswith("nothing to apply: ") and "journal" not in out

    sheet = book["activities"]
    column = {cell.value: cell.column for cell in sheet[1]}
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, column["id"]).value == sb.demo["assignment_id"])
    sheet.cell(row, column["status"]).value = "completed"
    sheet.cell(row, column["completionPercentage"]).value = 100
    book.save(path)
    status, out, _ = run(["apply", str(path), "--dry-run", "--no-progress", *connection], capsys)
    assert status == 0 and "dry run: nothing sent" in out
    assert f'row {row} {sb.demo["assignment_id"]}: status: "' in out and '→ "completed"' in out
    assert state(client, sb) == original
    status, out, _ = run(["apply", str(path), "--no-progress", *connection], capsys)
    assert status == 0 and out.splitlines()[1] == "applied 1 (of 1 row)", out
    assignment = client.get_activity(sb.demo["assignment_id"])
    assert assignment.status == "completed" and assignment.completionPercentage == 100


def test_a_workbook_with_a_formula_is_refused_in_one_line_before_a_run_starts(
    sb: Any, connection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    path = tmp_path / "activities.xlsx"
    ids = keys_csv(sb, tmp_path / "keys.csv")
    assert (
        main(["export", "--provider", sb.demo["registration_id"], "--ids", ids, "-o", str(path), *connection[:2]]) == 0
    )
    book = openpyxl.load_workbook(path)
    sheet = book["activities"]
    status_column = next(cell.column for cell in sheet[1] if cell.value == "status")
    sheet.cell(2, status_column).value = "=B2"
    book.save(path)
    status, out, err = run(["apply", str(path), *connection], capsys)
    assert status != 0 and "row 2, status: holds a formula (=B2)" in err and "journal" not in out
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_exported_csv_starts_with_the_byte_order_mark_excel_needs(
    sb: Any, connection: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "activities.csv"
    raw = export(sb, connection, path)  # pandas reads it (it skips the mark)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfid,@odata.type,") and raw.columns[0] == "id"
