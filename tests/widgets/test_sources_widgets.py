"""``Workbench.load`` through ``learnkit.bulk.sources``: each source, the frame ``read_activities`` makes, what was not
found, the refusal of a tenant without the provider's list (said, nothing lost), progress as batches arrive, and
``reload`` reading the same records again. Against the session's sandbox, each test naming its contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from learnkit import GraphClient
from learnkit.bulk.frame import read_activities
from learnkit.bulk.journal import Journal
from learnkit.bulk.sources import ActivityIds, ExternalIds, Learners, ProviderList
from learnkit.errors import InvalidInputError, SourceRequiredError
from learnkit.sandbox.seed import REGISTRATION_ID, build_tenant
from learnkit.widgets import Workbench
from tests.widgets.conftest import contract, demo_source

#: The demo provider's activities, as seeded (the list's and the ids' count).
DEMO_ROWS = sum(a["learningProviderId"] == REGISTRATION_ID for a in build_tenant().activities)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite")


def same_frame(bench: Workbench, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(bench.frame.reset_index(drop=True), expected.reset_index(drop=True))


@pytest.mark.parametrize("name", ["documented", "metadata"])
def test_each_documented_source_loads_the_frame_read_activities_makes(
    name: str, sb: Any, client: GraphClient, journal: Journal
) -> None:
    contract(sb, name)
    reg = sb.demo["registration_id"]
    bench = Workbench(client, journal=journal)
    for source in (ExternalIds(sb.external_ids()), ActivityIds(sb.activity_ids())):
        bench.load(reg, source=source)
        same_frame(bench, read_activities(client, reg, source=source))
        assert bench.source == source and bench.registration_id == reg and bench.not_found == ()
        assert bench.message.startswith(f"{len(bench.frame)} activities of Contoso Academy by {len(source)} ")
    assert len(bench.frame) == DEMO_ROWS  # by id: every record; by external id, a key held twice reaches one
    assert bench.frame["id"].tolist() == sb.activity_ids()  # in the order asked, as the list orders them


def test_learners_lists_need_a_delegated_sign_in_and_keep_the_providers_records(
    sb: Any, client: GraphClient, journal: Journal
) -> None:
    contract(sb, "documented")
    reg, learner = sb.demo["registration_id"], sb.demo["learner_id"]
    bench = Workbench(client, journal=journal)
    with pytest.raises(Exception, match="delegated"):
        bench.load(reg, source=Learners([learner]))
    assert bench.level == "error" and "not loaded" in bench.message and bench.source is None
    delegated = GraphClient.for_sandbox(sb, delegated=True)
    bench = Workbench(
        delegated, registration_id=reg, source=Learners([learner, "00000000-0000-4000-8000-0000000000aa"])
    )
    seeded = [a for a in build_tenant().activities if a["learningProviderId"] == reg]
    theirs = {a["id"] for a in seeded if a["learnerUserId"].lower() == learner.lower()}
    assert set(bench.frame["id"]) == theirs and theirs
    assert bench.not_found == ("00000000-0000-4000-8000-0000000000aa",)
    assert "from 2 learners' lists; 1 of 2 learner ids not found: '00000000-" in bench.message


def test_the_list_where_served_and_its_refusal_said_with_nothing_lost(
    sb: Any, client: GraphClient, journal: Journal
) -> None:
    contract(sb, "metadata")
    reg, aid = sb.demo["registration_id"], sb.demo["assignment_id"]
    bench = Workbench(client, registration_id=reg, journal=journal)  # no source: the list, served here
    assert bench.source == ProviderList() and len(bench.frame) == DEMO_ROWS
    assert bench.message.startswith(f"{DEMO_ROWS} activities of Contoso Academy from its list")

    contract(sb, "documented")
    assert bench.edit(aid, "completionPercentage", 31) is None
    before, pending = bench.frame.copy(), dict(bench.pending)
    with pytest.raises(SourceRequiredError) as refused:
        bench.load()
    assert "400" in refused.value.reason
    assert bench.level == "refused"
    assert bench.message.startswith(f"not loaded: this tenant does not serve the list of provider {reg}'s activities")
    assert f"Nothing changed here: {DEMO_ROWS} activities and 1 row(s) of pending edits kept" in bench.message
    same_frame(bench, before)
    assert bench.pending == pending and bench.edited_frame().at[bench.position(aid), "completionPercentage"] == 31
    assert bench.source == ProviderList()  # the last read's, still

    # Naming the records reads them; the pending edit goes, as with any read.
    bench.load(source=demo_source(sb))
    assert len(bench.frame) == DEMO_ROWS and bench.pending == {} and bench.source == demo_source(sb)


def test_keys_not_found_are_counted_and_the_first_few_named(sb: Any, client: GraphClient, journal: Journal) -> None:
    contract(sb, "documented")
    reg = sb.demo["registration_id"]
    missing = [f"no-such-key-{n}" for n in range(7)]
    keys = [*sb.external_ids()[:10], *missing]
    bench = Workbench(client, registration_id=reg, source=ExternalIds(keys), journal=journal)
    assert len(bench.frame) == 10 and bench.not_found == tuple(missing)
    shown = ", ".join(repr(k) for k in missing[:5])
    assert f"by 17 external ids; 7 of 17 external ids not found: {shown} and 2 more" in bench.message
    # Another provider's record, named by its id, is left out and counted.
    other = next(a["id"] for a in build_tenant().activities if a["learningProviderId"] != reg)
    bench.load(source=ActivityIds([*sb.activity_ids()[:3], other]))
    assert len(bench.frame) == 3 and "; 1 record(s) of another provider left out" in bench.message


def test_progress_is_heard_as_batches_arrive(sb: Any, client: GraphClient, journal: Journal) -> None:
    contract(sb, "documented")
    heard: list[int] = []
    bench = Workbench(client, journal=journal)
    bench.load(sb.demo["registration_id"], source=demo_source(sb), on_page=heard.append)
    assert heard == sorted(set(heard)) and heard[-1] == DEMO_ROWS
    assert len(heard) >= DEMO_ROWS // 20 // 2  # batches of 20 (several together): many counts, growing


def test_reload_reads_the_same_records_after_a_save(
    sb: Any, client: GraphClient, reader: GraphClient, journal: Journal
) -> None:
    contract(sb, "documented")
    reg = sb.demo["registration_id"]
    some = sb.activity_ids()[:12]
    bench = Workbench(client, registration_id=reg, source=ActivityIds(some), journal=journal)
    aid = some[0]
    assert bench.edit(aid, "completionPercentage", 64) is None
    bench.save()
    assert bench.frame.at[bench.position(aid), "completionPercentage"] == 64  # read back by id after the save
    changed = some[1]
    status = bench.frame.at[bench.position(changed), "status"]
    body = {"@odata.type": bench.row_type(changed), "status": status, "completionPercentage": 3}
    reader.patch_activity(reg, changed, body)
    bench.reload()
    assert bench.frame["id"].tolist() == some and bench.source == ActivityIds(some)
    assert bench.frame.at[bench.position(changed), "completionPercentage"] == 3


def test_load_needs_a_client_and_a_provider() -> None:
    with pytest.raises(InvalidInputError, match="connect a client"):
        Workbench().load(source=ExternalIds(["k"]))
    with pytest.raises(Exception):  # noqa: B017  traitlets refuses what is not a source
        Workbench().source = ["k"]  # type: ignore[assignment]
