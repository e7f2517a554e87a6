"""A real browser on the editor app: Voila serves notebooks/editor-app.ipynb, Debian's Chromium (driven by
Playwright) edits the grid itself, saves, is refused, undoes from the history, reloads, in both themes.

The app runs as a person runs it: it starts its own sandbox on a file in its state folder (here a temporary
one, ``LEARNKIT_EDITOR_STATE``), and each page load is a new kernel that takes that file over from the last.
The test reads the sandbox over HTTP through the ``sandbox.json`` the app writes there.

The grid (ipydatagrid) draws on a canvas: a cell is found from the grid's geometry, which the test computes
with the same ``ActivityTable`` code the kernel runs, over the same sandbox. What a cell holds is read the
way a person sees it while editing: double-click opens the grid's own cell editor, filled with the value.

Screenshots go to ``test-artifacts/`` (gitignored). Nothing here skips: without Chromium, Voila or
Playwright the tests fail and say what is missing.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from learnkit import GraphClient
from learnkit.bulk.sources import ActivityIds
from learnkit.sandbox.seed import REGISTRATION_ID, build_tenant
from learnkit.widgets import ActivityTable, Workbench
from learnkit.widgets.words import short_id
from tests.browser.voila import ARTIFACTS, ROOT, launch, serving

pytestmark = pytest.mark.slow

#: The demo provider's activities, seeded inconsistencies included (the tables' and status lines' count).
DEMO_ROWS = sum(a["learningProviderId"] == REGISTRATION_ID for a in build_tenant().activities)
APP = ROOT / "notebooks" / "editor-app.ipynb"
#: Tall enough that the whole app (table, form, history) is in the screenshot.
VIEWPORT = {"width": 1280, "height": 1700}
LOAD_TIMEOUT = 120_000
STEP_TIMEOUT = 30_000

#: WCAG contrast of an element's text against the first opaque background behind it.
CONTRAST_JS = """
(el) => {
  const rgba = (s) => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : Math.pow((v / 255 + 0.055) / 1.055, 2.4)));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let node = el, bg = null;
  while (node && node.nodeType === 1) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c[3] > 0.5) { bg = c; break; }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255, 1];
  const ink = rgba(getComputedStyle(el).color);
  const fg = [0, 1, 2].map((i) => ink[i] * ink[3] + bg[i] * (1 - ink[3]));  // translucent text, as seen
  const [a, b] = [lum(fg) + 0.05, lum(bg) + 0.05];
  return Math.max(a, b) / Math.min(a, b);
}
"""


@contextlib.contextmanager
def serve(work: Path, **env: str) -> Iterator[str]:
    """Voila serving the editor app with these environment variables; yields its URL."""
    with serving(APP, cwd=ROOT, env=env, log=work / "voila.log") as url:
        yield url


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's state folder (its sandbox database, journal and sandbox.json): new for this module."""
    return tmp_path_factory.mktemp("editor-state")


@pytest.fixture(scope="module")
def voila(state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voila serving the editor app, which keeps its data in ``state``."""
    with serve(tmp_path_factory.mktemp("voila"), LEARNKIT_EDITOR_STATE=str(state)) as url:
        yield url


def connect(state: Path) -> tuple[GraphClient, dict[str, str]]:
    """A client of the sandbox the app's kernel runs now (its port changes with each kernel), and the demo ids."""
    info = json.loads((state / "sandbox.json").read_text())
    return GraphClient.for_sandbox(info), info["demo"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    for earlier in ARTIFACTS.glob("editor-app-*.png"):
        earlier.unlink()  # what test-artifacts/ shows is this run's: its screenshots, its failures
    with sync_playwright() as pw:
        chromium = launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass(frozen=True)
class Geometry:
    """Where the grid draws its cells, from the table the kernel builds (same code, same sandbox)."""

    ids: list[str]
    columns: list[str]
    widths: dict[str, int]
    base_width: int
    row_height: int
    header_height: int

    @classmethod
    def of(cls, client: GraphClient, registration_id: str, state: Path) -> Geometry:
        # The records the kernel reads: the demo provider's ids, from the keys file it wrote beside sandbox.json.
        source = ActivityIds.from_file(state / "sandbox-keys.csv")
        table = ActivityTable(Workbench(client, registration_id=registration_id, source=source))
        grid = table.grid
        return cls(
            ids=list(table._page_ids),  # the grid's rows show the ends of these ids
            columns=[str(c) for c in grid.data.columns],
            widths=dict(grid.column_widths),
            base_width=int(grid.base_column_size),
            row_height=int(grid.base_row_size),
            header_height=int(grid.base_column_header_size),
        )

    def point(self, viewport: dict[str, float], activity_id: str, column: str) -> tuple[float, float]:
        """The page coordinates of the middle of a body cell (the row header is the id column)."""
        left = self.widths.get("id", self.base_width)
        for name in self.columns[: self.columns.index(column)]:
            left += self.widths.get(name, self.base_width)
        x = viewport["x"] + left + self.widths.get(column, self.base_width) / 2
        y = viewport["y"] + self.header_height + self.row_height * (self.ids.index(activity_id) + 0.5)
        assert x < viewport["x"] + viewport["width"] and y < viewport["y"] + viewport["height"], "cell off screen"
        return x, y


class App:
    """The editor app in one browser page, with the moves a person makes."""

    def __init__(self, page: Any, state: Path) -> None:
        self.page = page
        self.state = state
        self.geometry: Geometry | None = None
        self.table = page.locator(".lk-activity-table")
        self.form = page.locator(".lk-activity-form")
        self.history = page.locator(".lk-history")
        self.message = page.locator(".lk-page-message")  # the page's one message, under the table

    @classmethod
    def open(cls, browser: Any, url: str, state: Path) -> App:
        app = cls(browser.new_page(viewport=VIEWPORT), state)
        app.page.goto(url, timeout=LOAD_TIMEOUT)
        app.wait_loaded()
        return app

    def reload(self) -> None:
        """Reload the page: a new kernel, which starts the sandbox again on the same file."""
        self.page.reload(timeout=LOAD_TIMEOUT)
        self.wait_loaded()

    def wait_loaded(self) -> None:
        self.form.locator(".lk-field-completionPercentage").wait_for(state="visible", timeout=LOAD_TIMEOUT)
        self.table.locator(".lm-DataGrid-viewport canvas").first.wait_for(state="visible", timeout=LOAD_TIMEOUT)
        self.table.get_by_text(f"of {DEMO_ROWS} rows").wait_for(timeout=STEP_TIMEOUT)
        client, demo = self.connect()
        self.geometry = Geometry.of(client, demo["registration_id"], self.state)

    def connect(self) -> tuple[GraphClient, dict[str, str]]:
        return connect(self.state)

    def cell(self, activity_id: str, column: str) -> tuple[float, float]:
        assert self.geometry is not None
        viewport = self.table.locator(".lm-DataGrid-viewport").first.bounding_box()
        return self.geometry.point(viewport, activity_id, column)

    def open_editor(self, activity_id: str, column: str) -> Any:
        """Double-click the cell: the grid's own editor opens on it, holding the cell's value."""
        self.page.mouse.dblclick(*self.cell(activity_id, column))
        editor = self.table.locator("input.lm-DataGrid-cellEditorInput")
        editor.wait_for(state="visible", timeout=STEP_TIMEOUT)
        return editor

    def shown(self, activity_id: str, column: str) -> str:
        """What the grid shows in a cell (read from its editor, then Escape: nothing is edited)."""
        editor = self.open_editor(activity_id, column)
        value = str(editor.input_value())
        self.page.keyboard.press("Escape")
        editor.wait_for(state="hidden", timeout=STEP_TIMEOUT)
        return value

    def type_into(self, activity_id: str, column: str, text: str) -> None:
        """Double-click the cell, replace its value with ``text``, press Enter."""
        self.open_editor(activity_id, column)
        self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def labelled(self, label: str, control: str) -> Any:
        """The table's input or select whose widget label reads ``label``."""
        label_element = self.page.locator("label", has_text=re.compile(f"^{re.escape(label)}$"))
        return self.table.locator(".widget-inline-hbox", has=label_element).locator(control)

    def cell_editor_value(self) -> str:
        """The value box of the table's cell editor (row id, column, value, Set), under the grid."""
        row = self.table.locator(".widget-hbox", has=self.page.locator("label", has_text=re.compile("^row id$")))
        return str(row.locator("input[type=text]").nth(1).input_value())

    def wait_form_value(self, expected: str) -> None:
        box = self.form.locator(".lk-field-completionPercentage .lk-input-text input")
        deadline = time.monotonic() + STEP_TIMEOUT / 1000
        while box.input_value() != expected:
            assert time.monotonic() < deadline, f"the form shows {box.input_value()!r}, not {expected!r}"
            time.sleep(0.1)

    def contrast(self, locator: Any) -> float:
        return float(locator.first.evaluate(CONTRAST_JS))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def test_grid_edit_save_refusal_undo_and_reload(state: Path, voila: str, browser: Any) -> None:
    column = "completionPercentage"
    app = App.open(browser, voila, state)
    try:
        reader, demo = app.connect()
        aid = demo["assignment_id"]
        before = reader.get_activity(aid).completionPercentage
        new, kept = (42, 64) if before != 42 else (43, 65)
        # Double-click the cell: the click selects the row (the form loads it), the grid opens its editor.
        assert app.shown(aid, column) == str(before)
        assert app.labelled("row id", "input").input_value() == aid
        assert app.labelled("column", "select").input_value() == column
        app.form.locator("table.lk-header").get_by_text(aid).wait_for(timeout=STEP_TIMEOUT)

        app.type_into(aid, column, str(new))
        # The row by learner, course and the end of its id (the whole id on hover), never the whole GUID.
        said = re.compile(rf"{column} of .+, {re.escape(short_id(aid))} = {new}: pending, 1 row to save")
        app.message.locator(".lk-ok").get_by_text(said).wait_for(timeout=STEP_TIMEOUT)
        assert app.contrast(app.message.locator(".lk-ok")) >= 4.5
        pending = app.table.locator("table.lk-pending")
        pending.get_by_text(short_id(aid)).wait_for(timeout=STEP_TIMEOUT)
        cells = [c.strip() for c in pending.locator("tr", has_text=short_id(aid)).locator("td").all_inner_texts()]
        assert cells[0].endswith(short_id(aid)) and cells[1:] == [column, str(before), f"→ {new}"]
        assert reader.get_activity(aid).completionPercentage == before  # pending: nothing sent yet

        app.table.get_by_role("button", name="Save changes (1 row)").click()
        app.message.get_by_text("Saved: 1 row updated").wait_for(timeout=STEP_TIMEOUT)
        app.table.get_by_text("no pending changes").wait_for(timeout=STEP_TIMEOUT)
        assert reader.get_activity(aid).completionPercentage == new
        app.wait_form_value(str(new))
        assert app.shown(aid, column) == str(new)
        assert app.cell_editor_value() == str(new)  # the value box of the cell editor under the grid

        app.type_into(aid, column, "150")
        refusal = app.message.locator(".lk-refused")
        reason = "Input should be less than or equal to 100 (got 150)"
        refused = re.compile(rf"refused: {column} of .+, {re.escape(short_id(aid))}: {re.escape(reason)}")
        refusal.get_by_text(refused).wait_for(timeout=STEP_TIMEOUT)
        assert app.page.get_by_text(refused).count() == 1, "one message for the page, not one per view"
        assert app.table.get_by_text("no pending changes").is_visible()
        assert app.shown(aid, column) == str(new)  # the cell holds the saved value again
        assert refusal.is_visible(), "the refusal must stay until the next action"
        assert reader.get_activity(aid).completionPercentage == new
        assert app.contrast(refusal) >= 4.5
        app.history.locator(".lk-run").first.get_by_text("1 row applied").wait_for(timeout=STEP_TIMEOUT)
        app.screenshot("editor-app-light.png")

        app.history.locator("button.lk-undo-run").first.click()
        app.message.get_by_text("Undone: 1 row put back").wait_for(timeout=STEP_TIMEOUT)
        assert reader.get_activity(aid).completionPercentage == before
        app.wait_form_value(str(before))
        assert app.shown(aid, column) == str(before)
        app.history.locator(".lk-run").first.get_by_text(re.compile(r"\bundo\b")).wait_for(timeout=STEP_TIMEOUT)

        # A reload is a new kernel on the same sandbox file (taken over from the previous kernel).
        app.type_into(aid, column, str(kept))
        app.table.get_by_role("button", name="Save changes (1 row)").click()
        app.message.get_by_text("Saved: 1 row updated").wait_for(timeout=STEP_TIMEOUT)
        app.reload()
        app.page.get_by_text(f"Data kept in {state / 'sandbox.db'}").wait_for(timeout=STEP_TIMEOUT)
        reader, _ = app.connect()
        assert reader.get_activity(aid).completionPercentage == kept
        app.wait_form_value(str(kept))
        assert app.shown(aid, column) == str(kept)
        assert app.history.locator(".lk-run").count() == 3  # the journal is kept too: apply, undo, apply
    except BaseException:
        app.screenshot("editor-app-light-failure.png")
        raise
    finally:
        app.page.close()


# Voila 0.5 takes the theme from ``?theme=`` (``VoilaConfiguration.allow_theme_override``, YES by default).
def test_dark_theme_reads_well(state: Path, voila: str, browser: Any) -> None:
    app = App.open(browser, voila + "?theme=dark", state)
    try:
        _, demo = app.connect()
        background = app.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        dark = [int(v) for v in re.findall(r"\d+", background)[:3]]
        assert sum(dark) < 3 * 96, f"the dark theme did not apply: body background {background}"
        app.type_into(demo["self_initiated_id"], "completionPercentage", "55")
        app.table.locator("table.lk-pending").get_by_text(short_id(demo["self_initiated_id"])).wait_for(
            timeout=STEP_TIMEOUT
        )
        assert app.contrast(app.message.locator(".lk-ok")) >= 4.5, "the pending message is hard to read"
        app.type_into(demo["assignment_id"], "completionPercentage", "150")
        refusal = app.message.locator(".lk-refused")
        refusal.wait_for(timeout=STEP_TIMEOUT)
        for what, locator in {
            "refusal": refusal,
            "pending table": app.table.locator("table.lk-pending td"),
            "form header": app.form.locator("table.lk-header td code"),
            "form label": app.form.locator(".lk-field b"),
            "history run": app.history.locator(".lk-run, i"),
            "page label": app.table.get_by_text(f"of {DEMO_ROWS} rows"),
        }.items():
            assert app.contrast(locator) >= 4.5, f"{what} is hard to read on the dark theme"
        app.screenshot("editor-app-dark.png")
    except BaseException:
        app.screenshot("editor-app-dark-failure.png")
        raise
    finally:
        app.page.close()
