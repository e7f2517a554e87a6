"""A sheet of keys and new values (``learnkit.bulk.keyed``): its records read by id or by the provider's key, then
planned as an edited export; through Python and ``learnkit apply``, on the sandbox as Graph's pages document it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import GraphClient, apply_csv
from learnkit.bulk import undo
from learnkit.bulk.journal import Journal
from learnkit.bulk.keyed import is_keyed, plan_sheet
from learnkit.cli import main
from learnkit.errors import InvalidInputError, InvalidRowsError
from tests.conftest import everything


def held(client: GraphClient, sb: Any) -> pd.DataFrame:
    return everything(client, sb).set_index("id")


def sheet(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sheet_of_external_ids_and_values_applies_only_what_it_sets_and_undoes(
    client: GraphClient, sb: Any, tmp_path: Path
) -> None:
    reg = sb.demo["registration_id"]
    before = held(client, sb)
    assignment = before.loc[sb.demo["assignment_id"]]
    course = before.loc[sb.demo["self_initiated_id"]]
    assert assignment["notes.content"] and assignment["completionPercentage"] != 67
    values = sheet(
        tmp_path / "from-our-lms.csv",
        "externalcourseActivityId,completionPercentage,notes.content,My comments\n"
        f"{assignment['externalcourseActivityId']},67,'=text not a formula,checked\n"
        f"{course['externalcourseActivityId']},{course['completionPercentage']},,\n",  # as held: nothing to send
    )
    edits = plan_sheet(client, values, provider=reg)
    assert edits.summary() == (
        "2 rows: 1 to change, 1 already as the service holds them (skipped); "
        "records read by externalcourseActivityId; column(s) kept aside, not sent: My comments"
    )
    (plan,) = edits.plans
    assert (plan.row, plan.activity_id, plan.registration_id) == (2, sb.demo["assignment_id"], reg)
    assert plan.changes == {
        "completionPercentage": 67,
        "notes": {"content": "=text not a formula", "contentType": "text"},
    }

    journal = Journal(tmp_path / "journal.sqlite")
    with pytest.warns(UserWarning, match="My comments"):
        result = apply_csv(client, values, provider=reg, journal=journal, progress=False)
    assert result.summary() == {"applied": 1}  # the row already as held makes no plan, as in an export
    after = held(client, sb)
    assert after.loc[sb.demo["assignment_id"], "completionPercentage"] == 67
    assert after.loc[sb.demo["assignment_id"], "notes.content"] == "=text not a formula"
    # What the sheet left blank or did not name is as it was.
    untouched = [c for c in before.columns if c not in ("completionPercentage", "notes.content")]
    pd.testing.assert_frame_equal(after[untouched], before[untouched])
    # Applied again: everything already holds, nothing planned.
    assert not plan_sheet(client, values, provider=reg).plans

    assert undo(client, result.journal_id, journal=journal, progress=False).summary() == {"applied": 1}
    pd.testing.assert_frame_equal(held(client, sb), before)


def test_a_blank_cell_leaves_the_value_an_export_would_clear(client: GraphClient, sb: Any, tmp_path: Path) -> None:
    assignment = held(client, sb).loc[sb.demo["assignment_id"]]
    values = sheet(tmp_path / "v.csv", f"id,notes.content,completionPercentage\n{assignment.name},,5\n")
    (plan,) = plan_sheet(client, values, provider=sb.demo["registration_id"]).plans
    assert plan.changes == {"completionPercentage": 5}


def test_headers_typed_by_hand_in_another_case_are_graphs_columns(client: GraphClient, sb: Any, tmp_path: Path) -> None:
    key = held(client, sb).loc[sb.demo["self_initiated_id"], "externalcourseActivityId"]
    values = sheet(tmp_path / "v.csv", f"ExternalCourseActivityId, CompletionPercentage\n{key},12\n")
    (plan,) = plan_sheet(client, values, provider=sb.demo["registration_id"]).plans
    assert (plan.activity_id, plan.changes) == (sb.demo["self_initiated_id"], {"completionPercentage": 12})
    twice = sheet(tmp_path / "w.csv", f"id,ID,completionPercentage\n{key},{key},12\n")
    with pytest.raises(InvalidInputError, match="the column 'id' twice"):
        plan_sheet(client, twice, provider=sb.demo["registration_id"])


def test_ids_in_any_case_and_a_provider_column_need_no_provider_option(
    client: GraphClient, sb: Any, tmp_path: Path
) -> None:
    reg = sb.demo["registration_id"]
    values = sheet(
        tmp_path / "v.csv", f"learningProviderId,id,completionPercentage\n{reg},{sb.demo['assignment_id'].upper()},9\n"
    )
    (plan,) = plan_sheet(client, values).plans
    assert (plan.activity_id, plan.changes) == (sb.demo["assignment_id"], {"completionPercentage": 9})


def test_every_row_whose_key_names_no_record_of_the_provider_is_refused_before_anything_is_sent(
    client: GraphClient, sb: Any, tmp_path: Path
) -> None:
    reg, other = sb.demo["registration_id"], sb.demo["other_registration_id"]
    theirs = sb.activity_ids(other)[0]
    values = sheet(
        tmp_path / "v.csv",
        f"id,completionPercentage\n{sb.demo['assignment_id']},5\nnot-an-activity,5\n,5\n{theirs},5\n{reg},150\n",
    )
    before = held(client, sb)
    with pytest.raises(InvalidRowsError) as refused:
        plan_sheet(client, values, provider=reg)
    assert refused.value.cells == [
        (3, "id", f"no activity with this id on provider {reg}"),
        (4, "id", "shouldn't be empty: it addresses the record"),
        (5, "id", f"an activity of another provider on provider {reg}"),
        (6, "id", f"no activity with this id on provider {reg}"),
    ]
    # Keys that do name records: their cells are checked as an export's, by the sheet's own row numbers.
    values = sheet(tmp_path / "w.csv", f"id,completionPercentage\n{sb.demo['assignment_id']},150\n")
    with pytest.raises(InvalidRowsError, match="row 2, completionPercentage"):
        plan_sheet(client, values, provider=reg)
    pd.testing.assert_frame_equal(held(client, sb), before)


def test_a_sheet_without_a_provider_says_how_to_name_one(client: GraphClient, sb: Any, tmp_path: Path) -> None:
    values = sheet(tmp_path / "v.csv", "externalcourseActivityId,completionPercentage\nk-1,5\n")
    with pytest.raises(InvalidInputError, match="--provider REGISTRATION_ID"):
        plan_sheet(client, values)


def test_which_sheets_are_keyed() -> None:
    assert is_keyed(pd.DataFrame(columns=["id", "completionPercentage"]))
    assert not is_keyed(pd.DataFrame(columns=["completionPercentage"]))  # no key: the export's error names `id`
    assert not is_keyed(pd.DataFrame(columns=["id", "@odata.type", "learningProviderId", "status"]))
    assert not is_keyed(pd.DataFrame(columns=["id", "status", "@learnkit.etag"]))  # an export, cut down


def test_cli_applies_a_sheet_of_keys_and_values_and_guards_the_provider(
    client: GraphClient, sb: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, other = sb.demo["registration_id"], sb.demo["other_registration_id"]
    connection = tmp_path / "sb.json"
    connection.write_text(json.dumps(sb.to_json()))
    common = ["--sandbox-json", str(connection), "--journal", str(tmp_path / "j.sqlite"), "--no-progress"]
    key = held(client, sb).loc[sb.demo["self_initiated_id"], "externalcourseActivityId"]
    values = str(sheet(tmp_path / "v.csv", f"externalcourseActivityId,completionPercentage\n{key},44\n"))

    assert main(["apply", values, *common]) == 2
    assert "--provider REGISTRATION_ID" in capsys.readouterr().err
    assert main(["apply", values, "--provider", other, *common]) == 2  # read from the other: not found there
    assert f"row 2, externalcourseActivityId: no activity with this externalcourseActivityId on provider {other}" in (
        capsys.readouterr().err
    )
    assert main(["apply", values, "--provider", reg, "--dry-run", *common]) == 0
    out = capsys.readouterr().out
    assert "completionPercentage: " in out and "→ 44" in out and "dry run: nothing sent" in out
    assert main(["apply", values, "--provider", reg, *common]) == 0
    assert "records read by externalcourseActivityId" in capsys.readouterr().out
    assert held(client, sb).loc[sb.demo["self_initiated_id"], "completionPercentage"] == 44

    # On a sheet that names its provider in a column, --provider is a guard.
    named = str(
        sheet(tmp_path / "n.csv", f"learningProviderId,id,completionPercentage\n{reg},{sb.demo['assignment_id']},1\n")
    )
    assert main(["apply", named, "--provider", other, *common]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"not of --provider {other}; nothing sent" in err
