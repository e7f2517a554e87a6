"""``learnkit sandbox --load FILE`` (and ``start(load=...)``): a rehearsal on a copy of real activities.

A provider exported from one sandbox, loaded into a fresh one, exports again to the same rows;
with ``--pseudonymize`` every user id is consistently renamed and nothing else changes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from learnkit import cli
from learnkit.sandbox import Sandbox, start
from learnkit.sandbox.load import pseudonym
from learnkit.sandbox.seed import build_tenant
from tests.conftest import client_credentials_token

PROVIDERS = "/employeeExperience/learningProviders"
USER_COLUMNS = ("learnerUserId", "assignerUserId")


def export(info: dict[str, Any], registration: str, folder: Path, name: str) -> str:
    """``learnkit export`` against a sandbox described by ``info``; the CSV's text."""
    described = folder / f"{name}.json"
    described.write_text(json.dumps(info))
    described.chmod(0o600)
    out = folder / f"{name}.csv"
    # The whole provider, as the list gives it: the sandboxes here serve it (contract metadata).
    argv = ["export", "--sandbox-json", str(described), "--provider", registration, "--list", "-o", str(out)]
    assert cli.main(argv) == 0
    return out.read_text(encoding="utf-8-sig")  # the export starts with the byte-order mark Excel needs


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


class Served:
    """``learnkit sandbox --load ... --json`` in a child process, stopped by SIGTERM."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "learnkit", "sandbox", "--json", "--contract", "metadata", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(self.process.communicate(timeout=30)[1])
        self.info: dict[str, Any] = json.loads(line)

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


@pytest.fixture
def exported(clean_sandbox: Sandbox, tmp_path: Path) -> tuple[str, str]:
    """(registration id, CSV text) of the second demo provider (both types, seeded inconsistencies included)."""
    registration = clean_sandbox.demo["other_registration_id"]
    clean_sandbox.set_contract("metadata")
    return registration, export(clean_sandbox.to_json(), registration, tmp_path, "original")


@pytest.fixture
def served() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for child in started:
        child.stop()


def test_a_loaded_export_exports_to_the_same_rows(
    exported: tuple[str, str], tmp_path: Path, served: list[Served]
) -> None:
    registration, original = exported
    source = tmp_path / "activities.csv"
    source.write_text(original)
    served.append(Served("--load", str(source)))
    again = export(served[0].info, registration, tmp_path, "again")
    assert len(rows(original)) == sum(a["learningProviderId"] == registration for a in build_tenant().activities)
    assert again == original


def test_pseudonymized_load_renames_every_user_consistently(
    exported: tuple[str, str], tmp_path: Path, served: list[Served]
) -> None:
    registration, original = exported
    source = tmp_path / "activities.csv"
    source.write_text(original)
    served.append(Served("--load", str(source), "--pseudonymize"))
    renamed = rows(export(served[0].info, registration, tmp_path, "renamed"))
    before = rows(original)
    assert len(renamed) == len(before)
    mapping: dict[str, str] = {}
    for old, new in zip(before, renamed, strict=True):
        for column in USER_COLUMNS:
            if old[column]:
                assert new[column] == pseudonym(old[column]) != old[column]
                assert mapping.setdefault(old[column], new[column]) == new[column]
            else:
                assert new[column] == ""
        learner, _, rest = old["id"].partition(":")
        assert new["id"] == f"{pseudonym(learner)}:{rest}"
        unchanged = [c for c in old if c not in (*USER_COLUMNS, "id", "@learnkit.etag")]
        assert {c: new[c] for c in unchanged} == {c: old[c] for c in unchanged}
    assert len(set(mapping.values())) == len(mapping) > 1
    # the same input gives the same pseudonyms, here through the Python API
    with start(load=source, pseudonymize=True, contract="metadata") as again:
        assert export(again.to_json(), registration, tmp_path, "twice") == export(
            served[0].info, registration, tmp_path, "once"
        )


@pytest.mark.parametrize("shape", ["json lines", "one Graph answer"])
def test_graph_json_loads_as_it_was(listing_sb: Any, graph: Any, tmp_path: Path, shape: str) -> None:
    registration = graph.sb.demo["registration_id"]
    answer = graph.get(f"{PROVIDERS}/{registration}/learningCourseActivities?$top=999").json()
    listed = answer["value"]
    source = tmp_path / ("activities.jsonl" if shape == "json lines" else "page.json")
    text = (
        "".join(json.dumps(item) + "\n" for item in listed) if shape == "json lines" else json.dumps(answer, indent=2)
    )
    source.write_text(text)
    with start(load=source, contract="metadata") as loaded:
        assert loaded.demo["registration_id"] == registration
        with loaded.session() as http:
            again = http.get(
                f"{loaded.graph_url}{PROVIDERS}/{registration}/learningCourseActivities?$top=999",
                headers={"Authorization": f"Bearer {client_credentials_token(loaded)}"},
                timeout=10,
            )
    assert again.status_code == 200
    assert again.json()["value"] == listed


@pytest.mark.slow  # starts learnkit in a process of its own
def test_a_bad_row_is_refused_naming_its_row_and_field(exported: tuple[str, str], tmp_path: Path) -> None:
    _, original = exported
    lines = original.splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    broken = next(csv.reader([lines[3]]))
    broken[header.index("learnerUserId")] = ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(broken)
    source = tmp_path / "broken.csv"
    source.write_text("".join(lines[:3]) + out.getvalue() + "".join(lines[4:]))
    done = subprocess.run(
        [sys.executable, "-m", "learnkit", "sandbox", "--load", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 2
    assert "broken.csv row 4" in done.stderr and "learnerUserId" in done.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "learnkit", "sandbox", "--pseudonymize"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert refused.returncode == 2 and "--load" in refused.stderr
