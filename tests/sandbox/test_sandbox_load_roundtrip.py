"""``learnkit sandbox --load FILE`` reads what learnkit writes, exactly, and refuses the rest in one line.

Export, load and export again give the same bytes whatever the text (formula-like notes and their
``'`` escape, padded spaces, line breaks, Unicode, empty versus null); a note of a million characters
loads; CSVs in Windows-1252 or UTF-16 load as their UTF-8 twin does; deep JSON, ``1e400`` and other
input Graph could not hold are refused naming the file, where and the column; ``--pseudonymize``
leaves no user id in any text; and nothing loaded makes the sandbox answer 500.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from learnkit import cli
from learnkit.bulk.csvfile import write_csv
from learnkit.bulk.frame import activities_frame
from learnkit.errors import InvalidInputError, LoadError
from learnkit.limits import MAX_BODY_BYTES
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.sandbox import start
from learnkit.sandbox.load import load_tenant, pseudonym
from learnkit.sandbox.seed import ASSIGNER_ID, LEARNER_ID, REGISTRATION_ID, build_tenant
from tests.conftest import client_credentials_token

ACTIVITIES = f"/employeeExperience/learningProviders/{REGISTRATION_ID}/learningCourseActivities"

#: Texts a spreadsheet or a CSV reader could change: formulas and their escape, spaces, breaks, Unicode.
TRICKY = (
    "=1+1",
    "@at",
    "+x",
    "-5",
    "'",
    "''",
    "'quoted",
    "",
    " ",
    "  padded  ",
    "\ttab first",
    "line1\nline2",
    "crlf\r\nend",
    "lone\rcarriage return",
    "ends with a break\n",
    'He said "hi", then left',
    "héllo ✓ 😀 日本語 שלום",
    "\ufeffbyte-order mark first",
    "NA",
    "null",
    "007",
)


def provider_activities() -> list[dict[str, Any]]:
    """The demo provider's activities (both types), as the demo tenant holds them."""
    return [copy.deepcopy(a) for a in build_tenant().activities if a["learningProviderId"] == REGISTRATION_ID]


def tricky_activities() -> list[dict[str, Any]]:
    """Demo activities whose notes and external ids hold every ``TRICKY`` text, plus a null and an empty note."""
    activities = provider_activities()
    assignments = [a for a in activities if a["@odata.type"] == ASSIGNMENT_TYPE]
    for activity, text in zip(assignments, TRICKY, strict=False):
        activity["notes"] = {"contentType": "text", "content": text}
        activity["externalcourseActivityId"] = f"{text}#{activity['id']}"  # unique, and as tricky
    assignments[len(TRICKY)]["notes"] = None  # no note at all
    assignments[len(TRICKY) + 1]["notes"] = {"contentType": "html", "content": None}  # a body without content
    return activities


def write_lines(path: Path, activities: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in activities), encoding="utf-8")
    return path


def export(info: dict[str, Any], folder: Path, name: str) -> Path:
    """``learnkit export`` of the demo provider from a sandbox described by ``info``: the CSV written."""
    described = folder / f"{name}.json"
    described.write_text(json.dumps(info))
    described.chmod(0o600)
    out = folder / f"{name}.csv"
    # The whole provider as its list gives it: the sandboxes here serve it (contract metadata).
    argv = ["export", "--sandbox-json", str(described), "--provider", REGISTRATION_ID, "--list", "-o", str(out)]
    assert cli.main(argv) == 0
    return out


def test_export_load_export_gives_the_same_bytes(tmp_path: Path) -> None:
    source = tricky_activities()
    with start(load=write_lines(tmp_path / "tricky.jsonl", source), contract="metadata") as first:
        once = export(first.to_json(), tmp_path, "once")
    with start(load=once, contract="metadata") as second:
        twice = export(second.to_json(), tmp_path, "twice")
    assert twice.read_bytes() == once.read_bytes()
    # ... and the values are the ones Graph held, not merely stable: every note and external id as it was
    loaded = {a["id"]: a for a in load_tenant(once).activities}
    for activity in source:
        assert loaded[activity["id"]].get("notes") == activity.get("notes")
        assert loaded[activity["id"]]["externalcourseActivityId"] == activity["externalcourseActivityId"]


def test_a_note_of_a_million_characters_loads_and_one_past_graphs_limit_is_refused(tmp_path: Path) -> None:
    activity = next(a for a in provider_activities() if a["@odata.type"] == ASSIGNMENT_TYPE)
    note = ("=a million characters, " * 50_000)[:1_000_000]
    activity["notes"] = {"contentType": "text", "content": note}
    path = tmp_path / "long.csv"
    write_csv(activities_frame([activity]), path)
    assert load_tenant(path).activities[0]["notes"]["content"] == note
    activity["notes"]["content"] = "x" * MAX_BODY_BYTES
    write_csv(activities_frame([activity]), path)
    with pytest.raises(LoadError, match="bytes of JSON") as refused:
        load_tenant(path)
    assert str(refused.value).startswith(f"{path} row 2: ")


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (a file Graph could not have written, where its refusal must point)."""
    good = provider_activities()[0]
    deep = json.dumps(good)[:-1] + ', "notes": ' + "[" * 5000 + "]" * 5000 + "}"
    csv_path = folder / "huge-number.csv"
    write_csv(activities_frame(provider_activities()[:3]), csv_path)
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode(), newline="")))
    rows[2][rows[0].index("completionPercentage")] = "1e400"  # spreadsheet row 3
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    csv_path.write_bytes(out.getvalue().encode())
    files = {
        "deep JSON line": ("deep.jsonl", json.dumps(good) + "\n" + deep + "\n", "line 2: nests deeper than"),
        "deep JSON document": ("deep.json", "[" * 100_000, "line 1: nests deeper than"),
        "1e400 in JSON": (
            "huge.jsonl",
            json.dumps({**good, "completionPercentage": 0}).replace(
                '"completionPercentage": 0', '"completionPercentage": 1e400'
            ),
            "line 1, completionPercentage: ",
        ),
        "NaN in JSON": (
            "nan.jsonl",
            json.dumps({**good, "completionPercentage": float("nan")}),
            "line 1, completionPercentage: ",
        ),
        "not JSON": ("broken.jsonl", json.dumps(good) + "\n{oops\n", "line 2, column 2: not JSON"),
        "a note that is not text": (
            "notes.jsonl",
            json.dumps({**good, "@odata.type": ASSIGNMENT_TYPE, "notes": {"content": 5}}),
            "line 1, notes.content: ",
        ),
    }
    out = {name: (write(folder / file, text), where) for name, (file, text, where) in files.items()}
    out["1e400 in a CSV"] = (csv_path, "row 3, completionPercentage: '1e400' is not a whole number")
    return out


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name",
    [
        "deep JSON line",
        "deep JSON document",
        "1e400 in JSON",
        "NaN in JSON",
        "not JSON",
        "a note that is not text",
        "1e400 in a CSV",
    ],
)
def test_input_graph_could_not_hold_is_refused_in_one_line_naming_where(tmp_path: Path, name: str) -> None:
    path, where = bad_files(tmp_path)[name]
    with pytest.raises(LoadError) as refused:
        load_tenant(path)
    message = str(refused.value)
    assert message.startswith(f"{path} {where}"), message
    assert "\n" not in message


@pytest.mark.slow  # starts learnkit in a process of its own
@pytest.mark.parametrize("name", ["deep JSON line", "1e400 in a CSV"])
def test_the_command_refuses_them_in_one_line_with_status_2(tmp_path: Path, name: str) -> None:
    path, where = bad_files(tmp_path)[name]
    done = subprocess.run(
        [sys.executable, "-m", "learnkit", "sandbox", "--load", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"learnkit sandbox: {path} {where}"), done.stderr
    assert done.stderr.count("\n") == 1 and "unexpected" not in done.stderr and not done.stdout


ACCENTED = "Café crème – 20 € “quoted” naïve"  # every character in Windows-1252 too


# The export itself is UTF-8 with the byte-order mark; "utf-8" is its twin without the mark.
@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8"])
def test_a_csv_in_another_encoding_loads_as_its_utf8_twin(tmp_path: Path, encoding: str) -> None:
    activities = tricky_activities()[:8]
    for activity in activities:
        if activity.get("notes"):
            activity["notes"]["content"] = f"{ACCENTED} {activity['notes']['content']}"
    utf8 = tmp_path / "utf8.csv"
    write_csv(activities_frame(activities), utf8)
    other = tmp_path / f"{encoding}.csv"
    other.write_bytes(utf8.read_text(encoding="utf-8-sig").encode(encoding))
    assert other.read_bytes() != utf8.read_bytes()
    assert load_tenant(other).activities == load_tenant(utf8).activities
    assert any(ACCENTED in str(a["notes"]) for a in load_tenant(other).activities)


def test_json_saved_as_utf16_loads_and_undecodable_files_are_refused_naming_them(tmp_path: Path) -> None:
    answer = {"value": provider_activities()[:3]}
    utf16 = tmp_path / "answer.json"
    utf16.write_bytes(json.dumps(answer, ensure_ascii=False).encode("utf-16"))  # what PowerShell's > writes
    assert [a["id"] for a in load_tenant(utf16).activities] == [a["id"] for a in answer["value"]]
    for name in ("garbage.csv", "garbage.json"):
        path = tmp_path / name
        path.write_bytes(b"\x81\x8d\x00\x01\x02 neither UTF-8 nor Windows-1252 \xff\xfe\xfe")
        with pytest.raises(InvalidInputError) as refused:
            load_tenant(path)
        assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_pseudonymize_leaves_no_user_id_in_any_text(tmp_path: Path) -> None:
    activities = provider_activities()[:20]
    learner = activities[0]["learnerUserId"]
    first = next(a for a in activities if a["@odata.type"] == ASSIGNMENT_TYPE)
    first["notes"] = {"contentType": "text", "content": f"Ask {ASSIGNER_ID.upper()} or {learner}; cc {LEARNER_ID}x."}
    first["externalcourseActivityId"] = f"{learner.upper()}-python-101"
    users = {a[name].lower() for a in activities for name in ("learnerUserId", "assignerUserId") if a.get(name)}
    write_csv(activities_frame(activities), tmp_path / "real.csv")
    for path in (write_lines(tmp_path / "real.jsonl", activities), tmp_path / "real.csv"):
        tenant = load_tenant(path, pseudonymize=True)
        # the demo learner is added to every loaded tenant, for delegated sign-in: it is no user of the file
        held = json.dumps([tenant.activities, [u for u in tenant.users if u["id"] != LEARNER_ID]]).lower()
        assert not [user for user in users if user in held]
        renamed = next(a for a in tenant.activities if a["id"].endswith(first["id"].partition(":")[2]))
        assert renamed["notes"]["content"] == (
            f"Ask {pseudonym(ASSIGNER_ID)} or {pseudonym(learner)}; cc {pseudonym(LEARNER_ID)}x."
        )
        assert renamed["externalcourseActivityId"] == f"{pseudonym(learner)}-python-101"
        assert renamed["learnerUserId"] == pseudonym(first["learnerUserId"])


#: Values of a property that a file may hold and Graph never would: each is refused, or served without a 500.
HOSTILE: tuple[tuple[str, Any], ...] = (
    ("status", ["completed"]),
    ("status", {"value": "completed"}),
    ("status", 3),
    ("completionPercentage", float("nan")),
    ("completionPercentage", 10**40),
    ("completionPercentage", "50"),
    ("completedDateTime", 1_700_000_000),
    ("completedDateTime", "0001-01-01T00:00:00+01:00"),
    ("notes", "a plain string"),
    ("notes", {"contentType": "text", "content": ["a", "list"]}),
    ("dueDateTime", {"dateTime": "2024-01-01T00:00:00.0000000"}),
    ("dueDateTime", "2024-01-01T00:00:00Z"),
    ("externalcourseActivityId", {"x": 1}),
    ("assignerUserId", 7),
)


def test_nothing_loaded_makes_the_sandbox_answer_500(tmp_path: Path) -> None:
    # Records Graph could hold, odd as they are: kept and served.
    activities = tricky_activities()[:30]
    odd_ids = ["a b", "x/y", "q?z=1", "h#x", "pct%20", "é", "'quote'", "back\\slash", "dot.", "\x01control"]
    for activity, odd in zip(activities, odd_ids, strict=False):
        activity["id"] = odd
    activities[0]["status"] = "aFutureStatus"
    activities[1]["externalcourseActivityId"] = None
    activities[2]["dueDateTime"] = {"dateTime": "9999-12-31T23:59:59.9999999", "timeZone": "Line Islands Standard Time"}
    # Records it could not: each refused in one line, or else served with the others.
    assignment = next(a for a in provider_activities() if a["@odata.type"] == ASSIGNMENT_TYPE)
    for n, (name, value) in enumerate(HOSTILE):
        hostile = {**assignment, "id": f"hostile-{n}", "externalcourseActivityId": f"hostile-{n}", name: value}
        try:
            load_tenant(write_lines(tmp_path / f"hostile-{n}.jsonl", [hostile]))
        except LoadError as exc:
            assert "\n" not in str(exc)
        else:
            activities.append(hostile)
    loaded = write_lines(tmp_path / "odd.jsonl", activities)
    with start(load=loaded, contract="metadata") as sb, sb.session() as http:
        headers = {"Authorization": f"Bearer {client_credentials_token(sb)}"}
        listed = http.get(f"{sb.graph_url}{ACTIVITIES}?$top=999", headers=headers, timeout=10)
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["value"]) == len(activities)
        for activity in activities:
            address = f"{sb.graph_url}{ACTIVITIES}/{quote(activity['id'], safe='')}"
            body = {"@odata.type": activity["@odata.type"], "status": "inProgress", "completionPercentage": 5}
            answers = [
                http.get(address, headers=headers, timeout=10),
                http.patch(address, json=body, headers=headers, timeout=10),
            ]
            assert [a.status_code for a in answers if a.status_code >= 500] == [], activity["id"]
        again = export(sb.to_json(), tmp_path, "odd")
    assert len(load_tenant(again).activities) == len(activities)
