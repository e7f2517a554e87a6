"""One rule places a due date's wall-clock time: ``times.zoned_instant`` (PEP 495's ``fold=0``).

Every surface that turns ``dueDateTime`` into an instant (the plans, the audit, the CSV reader's
fingerprint, the table, the form) is checked against it on the times clocks repeat or skip, in
zones that shift by an hour either way round the year and by half an hour (Lord Howe).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from learnkit.audit import audit, due_instants
from learnkit.bulk.csvfile import plan_csv, read_csv, write_csv
from learnkit.bulk.fingerprints import canonical, fingerprint, row_etags
from learnkit.bulk.frame import activities_frame
from learnkit.models import ASSIGNMENT_TYPE
from learnkit.times import utc_text, zoned_instant
from learnkit.widgets import ActivityForm
from learnkit.widgets.table import ActivityTable
from tests.widgets.test_form_unit import ASSIGNMENT

# (zone as Graph may name it, the IANA zone, a wall-clock time the clocks repeat or skip)
CASES = [
    ("Pacific Standard Time", "America/Los_Angeles", "2024-11-03T01:30:00"),  # repeated
    ("America/Los_Angeles", "America/Los_Angeles", "2024-03-10T02:30:00"),  # skipped
    ("Europe/London", "Europe/London", "2024-10-27T01:30:00"),  # repeated
    ("GMT Standard Time", "Europe/London", "2024-03-31T01:30:00"),  # skipped
    ("Australia/Lord_Howe", "Australia/Lord_Howe", "2024-04-07T01:45:00"),  # repeated: 30 minutes
    ("Lord Howe Standard Time", "Australia/Lord_Howe", "2024-10-06T02:15:00"),  # skipped: 30 minutes
    ("AUS Eastern Standard Time", "Australia/Sydney", "2024-04-07T02:30:00"),  # repeated, in April
    ("Australia/Sydney", "Australia/Sydney", "2024-10-06T02:30:00"),  # skipped, in October
    ("Europe/London", "Europe/London", "2024-07-01T12:00:00"),  # an ordinary summer day
]
IDS = [f"{key}-{local}" for _, key, local in CASES]


def expected(key: str, local: str) -> datetime:
    """The rule, written out with the standard library alone: the offset in force before the change."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(key), fold=0).astimezone(timezone.utc)


def record(name: str, local: str, **more: Any) -> dict[str, Any]:
    return {**ASSIGNMENT, "dueDateTime": {"dateTime": local + ".0000000", "timeZone": name}, **more}


def test_the_rule_reads_a_repeated_time_as_the_first_and_a_skipped_one_with_the_offset_before() -> None:
    # What issue 23 found the audit and the plans disagreeing on: Pacific time, 2024-11-03 01:30.
    assert utc_text(zoned_instant("2024-11-03T01:30:00", "Pacific Standard Time")) == "2024-11-03T08:30:00.000000+00:00"
    assert utc_text(zoned_instant("2024-03-10T02:30:00", "Pacific Standard Time")) == "2024-03-10T10:30:00.000000+00:00"
    # Lord Howe moves half an hour: 01:45 is repeated, read at +11:00 (daylight), the first of the two.
    assert utc_text(zoned_instant("2024-04-07T01:45:00", "Australia/Lord_Howe")) == "2024-04-06T14:45:00.000000+00:00"


@pytest.mark.parametrize(("name", "key", "local"), CASES, ids=IDS)
def test_the_plans_place_it_by_the_rule(name: str, key: str, local: str) -> None:
    assert canonical(record(name, local))["dueDateTime"] == utc_text(expected(key, local))


def test_the_plans_place_a_shared_wall_clock_time_in_each_records_own_zone_read_after_read() -> None:
    # The plans keep each placed instant by the text and zone the service wrote (a cohort shares its due date):
    # the same local time in another zone, read second, third or later, is still its own instant.
    local = "2024-07-01T12:00:00"
    for _ in range(3):
        for name, key in (("Romance Standard Time", "Europe/Paris"), ("Pacific Standard Time", "America/Los_Angeles")):
            assert canonical(record(name, local))["dueDateTime"] == utc_text(expected(key, local))


def test_the_plans_refuse_a_date_that_does_not_parse_each_time_it_is_read() -> None:
    # Nothing is kept for a value that failed: it fails again, not as a remembered instant.
    for _ in range(2):
        with pytest.raises(ValueError, match="not an ISO 8601"):
            canonical({**ASSIGNMENT, "assignedDateTime": "next Tuesday"})
        with pytest.raises(ValueError, match="not an ISO 8601"):
            canonical(record("UTC", "the first of July"))


@pytest.mark.parametrize(("name", "key", "local"), CASES, ids=IDS)
def test_the_audit_places_it_by_the_rule(name: str, key: str, local: str) -> None:
    frame = activities_frame([record(name, local)])
    assert due_instants(frame)[0] == pd.Timestamp(expected(key, local))
    # Overdue from the microsecond after that instant, not before it.
    moment = expected(key, local)
    before = audit(frame, rules=["overdue"], now=moment - timedelta(microseconds=1))
    after = audit(frame, rules=["overdue"], now=moment + timedelta(microseconds=1))
    assert (len(before.findings), len(after.findings)) == (0, 1)


@pytest.mark.parametrize(("name", "key", "local"), CASES, ids=IDS)
def test_the_csv_reader_fingerprints_it_by_the_rule(tmp_path: Path, name: str, key: str, local: str) -> None:
    path = tmp_path / "due.csv"
    write_csv(activities_frame([record(name, local)]), path)
    frame = read_csv(path)
    by_rule = fingerprint(
        {**canonical(record(name, "2000-01-01T00:00:00")), "dueDateTime": utc_text(expected(key, local))}
    )
    assert row_etags(frame).tolist() == [by_rule]
    assert plan_csv(path).unchanged == 1  # as exported: the column-at-a-time fingerprint is the reference's


@pytest.mark.parametrize(("name", "key", "local"), CASES, ids=IDS)
def test_the_table_places_an_edited_due_date_by_the_rule(name: str, key: str, local: str) -> None:
    table = ActivityTable([record(name, "2000-01-01T00:00:00")])
    assert table.set_cell(ASSIGNMENT["id"], "dueDateTime.dateTime", local) is None
    (plan,) = table.workbench.plans()
    wanted = canonical({"@odata.type": ASSIGNMENT_TYPE, **plan.changes})
    assert wanted["dueDateTime"] == utc_text(expected(key, local))


@pytest.mark.parametrize(("name", "key", "local"), CASES, ids=IDS)
def test_the_form_places_a_picked_time_by_the_rule(name: str, key: str, local: str) -> None:
    form = ActivityForm(None, ASSIGNMENT)
    for field in ("dueDateTime", "assignedDateTime"):  # a due date, and an instant picked as a time in a zone
        form.editors[field].picker.value = datetime.fromisoformat(local)
        form.editors[field].zone.value = name
    assert form.body is not None
    assert canonical({"@odata.type": ASSIGNMENT_TYPE, **form.body})["dueDateTime"] == utc_text(expected(key, local))
    assert utc_text(datetime.fromisoformat(form.body["assignedDateTime"])) == utc_text(expected(key, local))
