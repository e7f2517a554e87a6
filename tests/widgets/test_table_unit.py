"""The activity table without a server: filter, sort, select, validated edits, pending changes."""

from __future__ import annotations

from typing import Any

import pytest

from learnkit.errors import InvalidInputError
from learnkit.widgets.table import ActivityTable
from learnkit.widgets.words import short_id
from tests.widgets.test_form_unit import ASSIGNMENT, SELF_INITIATED

ROWS: list[dict[str, Any]] = [
    ASSIGNMENT,
    SELF_INITIATED,
    {**SELF_INITIATED, "id": "s2", "status": "completed", "completionPercentage": 100},
]
AID, SID = ASSIGNMENT["id"], SELF_INITIATED["id"]


def grid_edit(table: ActivityTable, row: int, column: str, value: Any) -> None:
    """What the kernel receives when a user types into a grid cell in the browser."""
    index = table.grid._column_name_to_index(column)
    table.grid._DataGrid__handle_custom_msg(
        None, {"event_type": "cell-changed", "row": row, "column_index": index, "value": value}, []
    )


def test_filter_sort_and_page() -> None:
    table = ActivityTable(ROWS, page_size=2)
    assert "page 1/2" in table.page_label.value
    assert table.set_filter("status", "=", "completed") == 1
    assert table.set_filter("completionPercentage", ">=", "30") == 2
    table.sort_by("completionPercentage", ascending=False)
    assert list(table.workbench.frame.loc[table.view_index, "id"]) == ["s2", SID]
    assert list(table.grid.data.index) == ["s2", short_id(SID)]
    table.clear_filter()
    table.show_page(1)
    assert len(table.grid.data) == 1
    with pytest.raises(InvalidInputError, match="filter value"):
        table.set_filter("completionPercentage", ">", "lots")


def test_filter_widgets_drive_the_view() -> None:
    table = ActivityTable(ROWS)
    table.filter_column.value, table.filter_op.value, table.filter_value.value = "status", "=", "inProgress"
    table.filter_button.click()
    assert list(table.workbench.frame.loc[table.view_index, "id"]) == [SID]
    table.sort_column.value = "completionPercentage"
    table.clear_filter_button.click()
    assert len(table.view_index) == 3


def test_selection_gives_ids() -> None:
    table = ActivityTable(ROWS)
    table.select_rows([0, 2])
    assert table.selected_ids() == [AID, "s2"]
    table.select_all.value = True
    table.set_filter("@odata.type", "contains", "SelfInitiated")
    assert table.selected_ids() == [SID, "s2"]


def test_grid_shows_short_types_whole_headers_and_the_end_of_each_id() -> None:
    table = ActivityTable(ROWS)
    assert list(table.grid.data["type"]) == ["assignment", "self-initiated course", "self-initiated course"]
    # The end of each id, which tells them apart; the id column no longer takes a third of the grid.
    assert list(table.grid.data.index) == ["…2ac120003", "…2ac120004", "s2"]
    widths = table.grid.column_widths
    assert widths["completionPercentage"] >= 8 * len("completionPercentage")
    assert 80 <= widths["id"] <= 120
    assert all(b.layout.width == "auto" for b in (table.apply_button, table.discard_button, table.cell_set))


def test_valid_grid_edit_is_pending_with_old_and_new() -> None:
    table = ActivityTable(ROWS)
    grid_edit(table, 0, "completionPercentage", "70")
    assert table.pending == {AID: {"completionPercentage": 70}}
    pending = table.pending_frame()
    assert pending.to_dict("records") == [{"id": AID, "column": "completionPercentage", "old": 0, "new": 70}]
    assert "70" in table.pending_view.value and "<table" in table.pending_view.value
    assert "pending, 1 row to save" in table.message.value
    [plan] = table.workbench.plans()
    assert (plan.activity_id, dict(plan.changes)) == (AID, {"completionPercentage": 70})


def test_invalid_grid_edit_is_refused_marked_and_put_back() -> None:
    table = ActivityTable(ROWS)
    grid_edit(table, 0, "completionPercentage", "150")
    assert table.pending == {}
    assert table.refused[-1][:2] == (AID, "completionPercentage")
    assert "less than or equal to 100" in table.message.value and "completionPercentage" in table.message.value
    assert "pending" not in table.message.value and "lk-refused" in table.message.value
    assert table.grid.get_cell_value_by_index("completionPercentage", 0) == 0


def test_set_control_with_an_invalid_value_is_refused_with_the_reason() -> None:
    table = ActivityTable(ROWS)
    table.cell_id.value = AID
    table.cell_column.value = "completionPercentage"
    table.cell_text.value = "150"
    table.cell_set.click()
    assert table.pending == {}
    assert "refused" in table.message.value and "less than or equal to 100" in table.message.value


def test_read_only_and_wrong_type_columns_are_refused() -> None:
    table = ActivityTable(ROWS)
    assert "read-only" in (table.set_cell(AID, "learnerUserId", "someone") or "")
    assert "read-only" in (table.set_cell(SID, "dueDateTime.dateTime", "2024-01-01T00:00:00") or "")
    assert "notStarted" not in str(table.set_cell(SID, "status", "notStarted") is None)
    assert table.set_cell(SID, "status", "notStarted") is not None  # self-initiated: inProgress/completed only
    assert table.pending == {}


def test_cell_editor_offers_the_enum_values_of_the_rows_type() -> None:
    table = ActivityTable(ROWS)
    table.cell_id.value = SID
    table.cell_column.value = "status"
    assert table.cell_value.children == (table.cell_choice,)
    assert table.cell_choice.options == ("inProgress", "completed")
    table.cell_choice.value = "completed"
    table.cell_set.click()
    assert table.pending == {SID: {"status": "completed"}}
    table.cell_id.value = AID
    table.cell_column.value = "notes.contentType"
    assert table.cell_choice.options == ("text", "html")


def test_discard_restores_graph_values() -> None:
    table = ActivityTable(ROWS)
    table.set_cell(AID, "notes.content", "changed")
    edited = table.workbench.edited_frame()
    assert edited.at[table.workbench.position(AID), "notes.content"] == "changed"
    table.discard_button.click()
    edited = table.workbench.edited_frame()
    assert table.pending == {}
    assert edited.at[table.workbench.position(AID), "notes.content"] == ASSIGNMENT["notes"]["content"]


def test_setting_back_the_original_value_drops_the_change() -> None:
    table = ActivityTable(ROWS)
    table.set_cell(AID, "completionPercentage", 5)
    table.set_cell(AID, "completionPercentage", 0)
    assert table.pending == {} and table.workbench.plans() == []


def test_a_frame_from_learnkit_frame_is_accepted() -> None:
    from learnkit.bulk.frame import activities_frame

    table = ActivityTable(activities_frame(ROWS))
    assert table.set_cell(AID, "completionPercentage", 40) is None
    assert table.pending == {AID: {"completionPercentage": 40}}


def test_a_new_read_clears_a_cell_target_whose_record_is_gone() -> None:
    # Seen in the app: after reading another provider, the cell editor still named a row of the first one.
    from learnkit.bulk.frame import activities_frame

    table = ActivityTable(ROWS)
    table.cell_id.value, table.cell_text.value = AID, "40"
    table.workbench.frame = activities_frame(ROWS)  # the same records read again: the target stays
    assert (table.cell_id.value, table.cell_text.value) == (AID, "40")
    table.workbench.frame = activities_frame([r for r in ROWS if r["id"] != AID])
    assert (table.cell_id.value, table.cell_text.value) == ("", "")
