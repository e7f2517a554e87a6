"""The demo tenant's seeded inconsistencies: the audit finds each of them and nothing else, their fixes go
through the one journaled path (library and command line), and undo brings them back."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import GraphClient
from learnkit.audit import RULES, audit
from learnkit.bulk.frame import activities_frame
from learnkit.sandbox.seed import (
    ASSIGNMENT_ID,
    AUDIT_NOW,
    DEMO_IDS,
    SEEDED_INCONSISTENCIES,
    SELF_INITIATED_ID,
    build_tenant,
)
from tests.conftest import everything, keys_csv

PROVIDERS = (DEMO_IDS["registration_id"], DEMO_IDS["other_registration_id"], DEMO_IDS["disabled_registration_id"])


def seeded_pairs(ids: set[str] | None = None) -> set[tuple[str, str]]:
    """(rule, record id) of every seeded inconsistency (of the records ``ids`` only, if given)."""
    return {(r, i) for r, found in SEEDED_INCONSISTENCIES.items() for i in found if ids is None or i in ids}


def pairs(findings: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(findings["rule"], findings["id"], strict=True))


def test_every_rule_has_seeded_records_spread_over_the_providers() -> None:
    tenant = build_tenant()
    assert set(SEEDED_INCONSISTENCIES) == {r.id for r in RULES}
    by_id = {a["id"]: a for a in tenant.activities}
    assert all(len(ids) >= 2 for ids in SEEDED_INCONSISTENCIES.values()), dict(SEEDED_INCONSISTENCIES)
    providers = {by_id[i]["learningProviderId"] for ids in SEEDED_INCONSISTENCIES.values() for i in ids}
    assert providers == set(PROVIDERS)


def test_the_seed_is_the_same_every_time_and_keeps_the_documented_examples() -> None:
    first, again = build_tenant(), build_tenant()
    assert first.activities == again.activities and first.inconsistencies == again.inconsistencies
    assert {k: tuple(v) for k, v in first.inconsistencies.items()} == dict(SEEDED_INCONSISTENCIES)
    assert build_tenant(seed=7).inconsistencies != first.inconsistencies
    by_id = {a["id"]: a for a in first.activities}
    assert by_id[ASSIGNMENT_ID]["status"] == "notStarted" and by_id[ASSIGNMENT_ID]["completionPercentage"] == 0
    assert by_id[SELF_INITIATED_ID]["completionPercentage"] == 10
    assert len(by_id) == len(first.activities)


def test_in_memory_the_audit_finds_the_seeded_records_and_nothing_else() -> None:
    result = audit(activities_frame(build_tenant().activities), now=AUDIT_NOW)
    assert pairs(result.findings) == seeded_pairs()


@pytest.mark.parametrize("registration", PROVIDERS, ids=["contoso", "fabrikam", "northwind-sync-off"])
def test_the_sandbox_serves_them_and_the_audit_finds_each_and_nothing_else(
    sb: Any, client: GraphClient, registration: str
) -> None:
    frame = everything(client, sb, registration)
    ids = set(frame["id"])
    expected = seeded_pairs(ids)
    assert expected, "every provider holds seeded inconsistencies"
    assert pairs(audit(frame, now=AUDIT_NOW).findings) == expected
    for _, record_id in expected:  # each one is served on its own too (an odd zone, a repeated id, HTML)
        assert client.get_activity(record_id).id == record_id


def test_a_repeated_external_id_addresses_the_first_record(client: GraphClient) -> None:
    first, second = SEEDED_INCONSISTENCIES["duplicate-external-id"][:2]
    reg = DEMO_IDS["registration_id"]
    shared = client.get_activity(first).externalcourseActivityId
    assert shared is not None and client.get_activity(second).externalcourseActivityId == shared
    assert client.get_activity_by_external_id(reg, shared).id == first


def test_fixes_clear_the_fixable_findings_and_undo_brings_them_back(
    sb: Any, client: GraphClient, tmp_path: Path
) -> None:
    from learnkit.bulk import apply, undo
    from learnkit.bulk.journal import Journal

    reg = DEMO_IDS["registration_id"]
    journal = Journal(tmp_path / "journal.db")
    before = audit(everything(client, sb, reg), now=AUDIT_NOW)
    assert len(before.fixable) and before.unplanned == []
    applied = apply(client, before.plans, journal=journal, progress=False)
    assert set(applied.frame["status"]) == {"applied"}
    after = audit(everything(client, sb, reg), now=AUDIT_NOW)
    assert after.fixable.empty
    assert pairs(after.findings) == pairs(before.findings[before.findings["proposed"].isna()])
    undo(client, applied.journal_id, journal=journal, progress=False)
    assert pairs(audit(everything(client, sb, reg), now=AUDIT_NOW).findings) == pairs(before.findings)


# --- the same on the command line ------------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from learnkit.cli import main

    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _findings(path: Path) -> set[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return {(row["rule"], row["id"]) for row in csv.DictReader(handle)}


@pytest.mark.slow  # starts learnkit in a process of its own
def test_cli_audit_fixes_apply_audit_again_then_undo_last(
    sb: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = tmp_path / "sb.json"
    info.write_text(json.dumps(sb.to_json()))
    connection = ["--sandbox-json", str(info)]
    journal = ["--journal", str(tmp_path / "journal.db"), "--no-progress"]
    reg = sb.demo["registration_id"]
    fixes = tmp_path / "fixes.csv"
    keys = keys_csv(sb, tmp_path / "keys.csv")

    def audit_cli(name: str, *extra: str) -> tuple[str, set[tuple[str, str]]]:
        found = tmp_path / f"{name}.csv"
        status, out, err = _cli(
            ["audit", "--provider", reg, "--ids", keys, "--now", AUDIT_NOW, "-o", str(found), *extra, *connection],
            capsys,
        )
        assert status == 0, err
        return out, _findings(found)

    out, first = audit_cli("first", "--fixes", str(fixes))
    ids = {i for _, i in first}
    assert first == seeded_pairs(ids)
    with fixes.open(newline="", encoding="utf-8-sig") as handle:
        fixed = [row["id"] for row in csv.DictReader(handle)]
    assert fixed and f"{len(fixed)} fixed records written" in out

    status, out, err = _cli(["apply", str(fixes), *connection, *journal], capsys)
    assert status == 0, out + err
    assert f"applied {len(fixed)} (of {len(fixed)} rows)" in out

    out, second = audit_cli("second")
    assert "fixes proposed for 0 records" in out
    assert second < first and {i for _, i in first - second} <= set(fixed)

    status, out, err = _cli(["undo", "--last", *connection, *journal], capsys)
    assert status == 0, out + err
    _, third = audit_cli("third")
    assert third == first


def test_an_export_holding_an_unknown_time_zone_applies_an_edit_of_another_row(
    sb: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record with a zone no one knows is fingerprinted as written: left as exported, it is skipped, not refused."""
    info = tmp_path / "sb.json"
    info.write_text(json.dumps(sb.to_json()))
    connection = ["--sandbox-json", str(info)]
    sheet = tmp_path / "activities.csv"
    ids = keys_csv(sb, tmp_path / "keys.csv")
    export = ["export", "--provider", sb.demo["registration_id"], "--ids", ids, "-o", str(sheet), *connection]
    status, _, err = _cli(export, capsys)
    assert status == 0, err
    with sheet.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    odd = {row["id"] for row in rows if row["dueDateTime.timeZone"] == "Eastern Time"}
    assert odd and odd <= set(SEEDED_INCONSISTENCIES["unknown-time-zone"])
    target = next(row for row in rows if row["id"] == ASSIGNMENT_ID)
    target["completionPercentage"] = "20"
    target["status"] = "inProgress"
    with sheet.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    status, out, err = _cli(
        ["apply", str(sheet), *connection, "--journal", str(tmp_path / "j.db"), "--no-progress"], capsys
    )
    assert status == 0, out + err
    assert f"{len(rows)} rows: 1 edited, {len(rows) - 1} as exported" in out


def test_a_misspelt_time_zone_is_fixed_through_the_journal_and_its_undo_refuses_to_write_it_back(
    sb: Any, client: GraphClient, tmp_path: Path
) -> None:
    from learnkit import bulk

    record = sb._store.get_activity(ASSIGNMENT_ID)
    due = {"dateTime": "2022-06-30T17:00:00.0000000", "timeZone": "pacific standard time"}
    sb._store.save_activity({**record, "dueDateTime": due})
    result = audit(everything(client, sb, DEMO_IDS["registration_id"]), now=AUDIT_NOW)
    [plan] = [p for p in result.plans if p.activity_id == ASSIGNMENT_ID]
    assert plan.changes == {"dueDateTime": {**due, "timeZone": "Pacific Standard Time"}}
    journal = tmp_path / "journal.sqlite"
    applied = bulk.apply(client, [plan], journal=journal, progress=False)
    assert applied.summary() == {"applied": 1}
    assert client.get_activity(ASSIGNMENT_ID).model_dump(by_alias=True)["dueDateTime"]["timeZone"] == (
        "Pacific Standard Time"
    )
    # Undo would write back a zone Graph refuses: it is refused before sending, naming the field.
    undone = bulk.undo(client, str(applied.journal_id), journal=journal, progress=False)
    assert undone.summary() == {"failed": 1}
    message = undone.frame["message"].iloc[0]
    # The field, the value that cannot go back, why, and what to do instead.
    assert message.startswith("dueDateTime: cannot put back ") and '"pacific standard time"' in message
    assert "nothing was sent" in message and "learnkit apply" in message
    assert sb._store.get_activity(ASSIGNMENT_ID)["dueDateTime"]["timeZone"] == "Pacific Standard Time"
