"""Names beside ids in the real widgets, on the real sandbox: the table, the form, the charts, and the
fallback to ids alone (one note) for a token that may not read users. Names are never sent."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from learnkit import GraphClient
from learnkit.bulk.journal import Journal
from learnkit.errors import PermissionWarning
from learnkit.widgets import ActivityForm, ActivityTable, Workbench
from learnkit.widgets.charts import ProviderCharts
from learnkit.widgets.words import id_html
from tests.widgets.conftest import demo_source


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite")


def row(table: ActivityTable, activity_id: str) -> Any:
    """The grid's row for an activity (the page shown)."""
    return table.grid.data.iloc[table._page_ids.index(activity_id)]


def test_the_table_shows_each_learners_and_assigners_name_beside_the_id(
    sb: Any, client: GraphClient, journal: Journal
) -> None:
    bench = Workbench(client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)
    table = ActivityTable(bench, page_size=1000)
    columns = list(table.grid.data.columns)
    assert columns.index("learner") < columns.index("learnerUserId")  # the name first, its id further on
    assert columns.index("assigner") + 1 == columns.index("assignerUserId")
    first = row(table, sb.demo["assignment_id"])
    assert (first["learner"], first["learnerUserId"]) == ("Adele Vance", sb.demo["learner_id"])
    assert first["assigner"] == "Megan Bowen"
    # Every learner of the provider has a name shown; none of them is made up.
    shown = table.grid.data
    assert (shown["learner"] != "").all()
    for learner_id, name in zip(shown["learnerUserId"], shown["learner"], strict=True):
        assert bench.user_name(learner_id).displayName == name  # type: ignore[union-attr]
    assert "learner" not in bench.frame.columns and "user_names" not in bench.message


def test_a_name_is_display_only_refused_as_an_edit_and_never_in_a_plan(
    sb: Any, client: GraphClient, journal: Journal, reader: GraphClient
) -> None:
    bench = Workbench(client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)
    table = ActivityTable(bench)
    aid = sb.demo["assignment_id"]
    problem = table.set_cell(aid, "learner", "Someone Else")
    assert problem is not None and "read-only" in problem and bench.pending == {}
    assert table.set_cell(aid, "completionPercentage", 30) is None
    (plan,) = bench.plans()
    assert "completionPercentage" in plan.changes
    assert set(plan.changes) <= {"@odata.type", "status", "completionPercentage"}
    result = table.apply()
    assert result.summary() == {"applied": 1}
    (sent,) = list(result.frame["patch"])
    assert set(sent) <= {"@odata.type", "status", "completionPercentage"}
    assert reader.get_activity(aid).completionPercentage == 30
    assert row(table, aid)["learner"] == "Adele Vance"  # still shown after the read-back


def test_the_form_header_shows_the_learners_name_and_mail_and_the_assigner(
    sb: Any, client: GraphClient, journal: Journal
) -> None:
    bench = Workbench(client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)
    form = ActivityForm(bench, sb.demo["assignment_id"])
    learner = sb.demo["learner_id"]
    assert form.user_text() == f"Adele Vance <adele.vance@contoso.example> ({learner})"
    assert "Adele Vance &lt;adele.vance@contoso.example&gt;" in form.header.value
    # The learner's id shortened like every id, the whole of it on hover: never in brackets after the name.
    assert f"({learner})" not in form.header.value and id_html(learner) in form.header.value
    assert "assigned by" in form.header.value and "Megan Bowen" in form.header.value
    # A form on its own client (no table) looks the names up too.
    alone = ActivityForm(client, sb.demo["self_initiated_id"])
    assert alone.user_text().startswith("Adele Vance <")  # type: ignore[union-attr]
    assert "assigned by" not in alone.header.value  # a self-initiated course has no assigner


def test_a_chart_selection_names_its_learners(sb: Any, client: GraphClient, journal: Journal) -> None:
    bench = Workbench(client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)
    table = ActivityTable(bench)
    charts = ProviderCharts(table, now="2025-01-01T00:00:00Z")
    assert charts.learners_text == ""
    charts.status_bars.selected = [0]
    shown = set(table.workbench.frame.loc[table.view_index, "learnerUserId"])
    text = charts.learners_text
    assert text.startswith("learners: ")
    named = [bench.user_name(u).displayName for u in shown]  # type: ignore[union-attr]
    assert all(name in text for name in named[:8]) or len(named) > 8
    assert not any(u in text for u in shown)  # names, not ids
    charts.show_all()
    assert charts.learners_text == ""
    charts.close()


def test_without_the_permission_the_views_show_ids_and_one_note(sb: Any, journal: Journal) -> None:
    weak = GraphClient.for_sandbox(sb, app="learnkit-nonames")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bench = Workbench(weak, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)
        bench.reload()  # a second read asks for nothing and warns no more
        table = ActivityTable(bench)
        form = ActivityForm(bench, sb.demo["assignment_id"])
    notes = [w for w in caught if issubclass(w.category, PermissionWarning)]
    assert len(notes) == 1 and "User.ReadBasic.All" in str(notes[0].message)
    assert bench.user_names == {} and "User.ReadBasic.All" in bench.names_note
    assert "User.ReadBasic.All" in bench.message and f"{len(bench.frame)} activities" in bench.message
    assert "learner" not in table.grid.data.columns and "learnerUserId" in table.grid.data.columns
    assert form.user_text() == sb.demo["learner_id"]
    # Editing and saving work as ever.
    assert table.set_cell(sb.demo["assignment_id"], "completionPercentage", 20) is None
    assert table.apply().summary() == {"applied": 1}


def test_the_table_filters_and_sorts_by_learner_name(sb: Any, client: GraphClient, journal: Journal) -> None:
    bench = Workbench(client, registration_id=sb.demo["registration_id"], source=demo_source(sb), journal=journal)
    table = ActivityTable(bench, page_size=1000)
    assert "learner" in table.filter_column.options and "assigner" in table.sort_column.options
    mine = int((bench.frame["learnerUserId"].str.lower() == sb.demo["learner_id"].lower()).sum())
    assert table.set_filter("learner", "contains", "adele") == mine > 0
    assert set(table.grid.data["learner"]) == {"Adele Vance"}
    table.clear_filter()
    table.sort_by("learner", ascending=False)
    shown = list(table.grid.data["learner"])
    assert shown == sorted(shown, reverse=True) and len(set(shown)) > 1
