"""ProviderCharts: selections set as the browser sets them (the widgets' traits) filter the ActivityTable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE
from learnkit.widgets import ActivityTable, Workbench
from learnkit.widgets.charts import COMPLETION_BINS, ProviderCharts

NOW = "2025-06-01T12:00:00Z"


def assignment(n: int, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "@odata.type": ASSIGNMENT_TYPE,
        "id": f"a{n}",
        "learningProviderId": "prov",
        "learnerUserId": "learner",
        "learningContentId": "content-a",
        "externalcourseActivityId": f"ext-a{n}",
        "status": "inProgress",
        "completionPercentage": 40,
        "assignedDateTime": "2025-01-10T09:00:00Z",
        "dueDateTime": {"dateTime": "2025-12-31T17:00:00.0000000", "timeZone": "UTC"},
        "notes": {"contentType": "text", "content": "Please finish it."},
    }
    record.update(values)
    return record


def course(n: int, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "@odata.type": SELF_INITIATED_TYPE,
        "id": f"c{n}",
        "learningProviderId": "prov",
        "learnerUserId": "learner",
        "learningContentId": "content-b",
        "externalcourseActivityId": f"ext-c{n}",
        "status": "inProgress",
        "completionPercentage": 40,
        "startedDateTime": "2025-01-10T09:00:00Z",
    }
    record.update(values)
    return record


def due(month: str) -> dict[str, str]:
    return {"dateTime": f"2025-{month}-15T17:00:00.0000000", "timeZone": "UTC"}


RECORDS = [
    assignment(1, status="notStarted", completionPercentage=0, dueDateTime=due("02")),  # overdue, Feb
    assignment(2, completionPercentage=15, dueDateTime=due("03")),  # overdue, Mar
    assignment(3, completionPercentage=25, dueDateTime=due("03")),  # overdue, Mar
    assignment(4, status="notStarted", completionPercentage=30),  # not-started-with-progress
    assignment(5, status="completed", completionPercentage=100, completedDateTime="2025-03-01T00:00:00Z",
               dueDateTime=due("01")),  # completed: not overdue
    course(1, completionPercentage=55),
    course(2, status="completed", completionPercentage=100, completedDateTime="2025-04-01T00:00:00Z"),
    course(3, status="completed", completionPercentage=90, completedDateTime="2025-04-01T00:00:00Z"),  # below 100
]  # fmt: skip


@pytest.fixture
def charts() -> ProviderCharts:
    table = ActivityTable(Workbench(activities=RECORDS), page_size=50)
    return ProviderCharts(table, now=NOW)


def shown(charts: ProviderCharts) -> set[str]:
    return {str(i) for i in charts.table.workbench.frame.loc[charts.table.view_index, "id"]}


def test_the_charts_count_the_frame(charts: ProviderCharts) -> None:
    # Short ids would read the same ("content-"): the bars are labelled with the whole ids.
    assert list(charts.status_bars.x) == ["content-a", "content-b"]
    assert list(charts.status_bars.labels) == ["notStarted", "inProgress", "completed"]
    # Rows: statuses; columns: content-a, content-b.
    assert np.asarray(charts.status_bars.y).tolist() == [[2, 0], [2, 1], [1, 2]]
    assert int(np.sum(charts.completion_bars.y)) == len(RECORDS)
    by_bin = dict(zip([label for label, _, _ in COMPLETION_BINS], charts.completion_bars.y, strict=True))
    assert by_bin["0–9"] == 1 and by_bin["20–29"] == 1 and by_bin["90–99"] == 1 and by_bin["100"] == 2
    months = [str(np.datetime64(m, "M")) for m in charts.overdue_bars.x]
    assert months == ["2025-02", "2025-03"] and list(charts.overdue_bars.y) == [1, 2]
    # Errors at the top of the chart (an ordinal axis draws its first value at the bottom), each severity its colour.
    assert list(charts.findings_bars.x) == ["overdue", "completed-below-100", "not-started-with-progress"]
    assert list(charts.findings_bars.y) == [3, 1, 1]
    colours = list(charts.findings_bars.colors)
    assert colours[-1] != colours[0] and charts.findings_bars.label_display  # a count beside each bar


def test_clicking_a_status_bar_filters_the_table_by_content(charts: ProviderCharts) -> None:
    charts.status_bars.selected = [1]  # what a click on the second bar sends from the browser
    assert shown(charts) == {"c1", "c2", "c3"}
    assert charts.selection_text == "content: content-b: 3 of 8 rows"
    assert "content: content-b" in charts.table.page_label.value
    charts.status_bars.selected = [0, 1]
    assert len(shown(charts)) == len(RECORDS)
    charts.status_bars.selected = []
    assert len(shown(charts)) == len(RECORDS) and charts.selection_text == ""


def test_brushing_completion_keeps_the_bars_it_covers(charts: ProviderCharts) -> None:
    charts.completion_brush.selected = np.array([12.0, 38.0])  # covers the 10–19, 20–29 and 30–39 bars
    assert shown(charts) == {"a2", "a3", "a4"}
    assert "completion 10–39 %" in charts.selection_text
    charts.completion_brush.selected = np.array([96.0, 104.0])
    assert shown(charts) == {"a5", "c2"}
    charts.completion_brush.selected = None
    assert len(shown(charts)) == len(RECORDS)


def test_brushing_due_months_keeps_the_overdue_assignments_due_then(charts: ProviderCharts) -> None:
    # The browser sends a DateScale brush as two dates.
    charts.overdue_brush.selected = np.array(["2025-03-05", "2025-03-20"], dtype="datetime64[ms]")
    assert shown(charts) == {"a2", "a3"}
    assert "overdue, due 2025-03 to 2025-03" in charts.selection_text
    charts.overdue_brush.selected = np.array(["2025-01-20", "2025-03-02"], dtype="datetime64[ms]")
    assert shown(charts) == {"a1", "a2", "a3"}


def test_clicking_a_rule_keeps_its_records_and_one_selection_at_a_time(charts: ProviderCharts) -> None:
    charts.findings_bars.selected = [list(charts.findings_bars.x).index("completed-below-100")]
    assert shown(charts) == {"c3"}
    charts.status_bars.selected = [0]  # another chart's selection replaces it
    assert charts.findings_bars.selected is None
    assert shown(charts) == {"a1", "a2", "a3", "a4", "a5"}
    charts.show_all()
    assert len(shown(charts)) == len(RECORDS) and charts.status_bars.selected is None


def test_a_chart_selection_and_the_table_filter_combine(charts: ProviderCharts) -> None:
    charts.table.set_filter("status", "=", "inProgress")
    charts.status_bars.selected = [0]
    assert shown(charts) == {"a2", "a3"}
    charts.table.clear_filter()
    assert len(shown(charts)) == len(RECORDS)


def test_the_charts_follow_the_workbench(charts: ProviderCharts) -> None:
    charts.findings_bars.selected = [list(charts.findings_bars.x).index("completed-below-100")]
    fixed = [r for r in RECORDS if r["id"] != "c3"] + [
        course(3, status="completed", completionPercentage=100, completedDateTime="2025-04-01T00:00:00Z")
    ]
    charts.workbench.set_activities(fixed)
    assert "completed-below-100" not in list(charts.findings_bars.x)
    assert charts.findings_bars.selected is None and len(shown(charts)) == len(RECORDS)


def test_the_chart_front_end_is_installed_locally_not_fetched() -> None:
    # What renders the charts in JupyterLab, Notebook 7 and Voila: the extension bqplot installs beside Python.
    figure = ProviderCharts(ActivityTable(Workbench(activities=RECORDS)), now=NOW).status_figure
    bundle = figure._repr_mimebundle_()
    assert set(bundle) >= {"application/vnd.jupyter.widget-view+json"}
    assert "http" not in str(bundle.get("application/vnd.jupyter.widget-view+json"))
    extension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "bqplot" / "package.json"
    assert extension.is_file(), f"bqplot's JupyterLab extension is missing: {extension}"
    assert figure._view_module == "bqplot"
