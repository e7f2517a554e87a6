"""Ten things an analyst does in `learnkit app`, in Chromium, each ending in one clear message.

One app (its own sandbox, a temporary data folder and journal) serves the whole module. Every task asserts
on the page's text: one message area, replaced by each action and cleared when the row or page changes; no
DataFrame's text (``dtype:``, a header row of ``id status code message``); no provider GUID in the header.
Every page is shot in the light theme and the dark one (``test-artifacts/usability-*.png``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from learnkit.sandbox.seed import REGISTRATION_ID, build_tenant
from tests.browser.test_app import HEADER, ROW, environment, learnkit_app, open_page, pick_first_row
from tests.browser.voila import ARTIFACTS, launch

pytestmark = pytest.mark.slow

DEMO_ROWS = sum(a["learningProviderId"] == REGISTRATION_ID for a in build_tenant().activities)
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: What a DataFrame's text looks like on a page: never what a person should read.
DUMP = re.compile(r"dtype: |\bid\s+status\s+code\s+message\b|Name: \w+, dtype")
STEP = 60_000


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("usability")
    env = environment(folder)
    with learnkit_app(["--contract", "metadata"], env, folder / "app.log") as url:
        yield url, folder


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    for earlier in ARTIFACTS.glob("usability-*.png"):
        earlier.unlink()
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            yield browser
        finally:
            browser.close()


def shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"usability-{name}.png"), full_page=True)


def clean(page: Any) -> str:
    """The page's text, checked for what must never show; returned for more checks."""
    text = str(page.locator(".lk-app").inner_text())
    assert not DUMP.search(text), f"a DataFrame's text on the page: {DUMP.search(text)}"
    header = str(page.locator(".lk-app-status").inner_text())
    assert not GUID.search(header), f"an id where the provider's name belongs: {header}"
    assert page.locator(".lk-app-message .lk-message").count() <= 1, "more than one message"
    return text


def said(page: Any, words: str) -> str:
    """Wait for the one message area to say ``words``; returns all it says (checked clean)."""
    area = page.locator(".lk-app-message")
    area.get_by_text(words, exact=False).first.wait_for(timeout=STEP)
    page.wait_for_function("() => !document.querySelector('.lk-app-working').innerText.trim()", timeout=STEP)
    clean(page)
    return str(area.inner_text())


def quiet(page: Any) -> None:
    """The message area says nothing (the last action's words went with its row or page)."""
    page.wait_for_function("() => !document.querySelector('.lk-app-message').innerText.trim()", timeout=STEP)


def choose(page: Any, scope: str, label: str, value: str) -> None:
    """Pick the option reading ``value`` in the dropdown labelled ``label`` inside ``scope`` (ipywidgets writes
    its options' spaces as no-break spaces)."""
    select = page.locator(f"{scope} .widget-dropdown", has_text=label).locator("select").first
    texts = [t.replace("\xa0", " ") for t in select.locator("option").all_inner_texts()]
    select.select_option(index=texts.index(value))


def pick_second_row(page: Any) -> None:
    """Click the grid's second body row (a canvas: found from its geometry, as ``pick_first_row`` does)."""
    grid = page.locator(".lk-activity-table .lm-DataGrid").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 60, box["y"] + HEADER + ROW + ROW // 2)


def set_in_table(page: Any, column: str, value: str) -> None:
    """The cell editor under the grid: choose the selected row's ``column``, type ``value``, Set."""
    table = page.locator(".lk-activity-table")
    box = table.locator(".widget-text input").last
    table.locator(".widget-dropdown", has_text="column").locator("select").select_option(column)
    # The kernel fills the box with the selected row's value, as the form shows it: type once both have arrived,
    # or the two would mix. Both are looked up anew at each check: the form builds new fields for a new record
    # (on a busy machine, after this call began), and a handle taken before would keep the old field's value.
    page.wait_for_function(
        """column => {
            const boxes = document.querySelectorAll('.lk-activity-table .widget-text input');
            const form = document.querySelector(`.lk-activity-form .lk-field-${column} .lk-input-text input`);
            return boxes.length > 0 && form !== null && boxes[boxes.length - 1].value === form.value;
        }""",
        arg=column,
        timeout=STEP,
    )
    box.fill(value)
    table.locator("button", has_text="Set").click()


def connect_and_read(page: Any, url: str) -> None:
    page.goto(url, timeout=120_000)
    page.locator(".lk-app").wait_for(state="visible", timeout=120_000)
    page.locator(".lk-connect button", has_text="Connect").click()
    page.locator(".lk-provider-note").get_by_text("3 providers").wait_for(timeout=STEP)
    page.locator(".lk-source-note").get_by_text("This tenant serves the provider's list").wait_for(timeout=STEP)
    page.locator("button.lk-load").click()
    said(page, f"{DEMO_ROWS} activities of Contoso Academy")


def test_ten_analyst_tasks_each_end_in_one_clear_message(app_url: tuple[str, Path], chromium: Any) -> None:
    url, folder = app_url
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(url, timeout=120_000)
        page.locator(".lk-app").wait_for(state="visible", timeout=120_000)
        # Before connecting, every page says what to do next; nothing looks clickable that is not.
        assert "learnkit-demo" in page.locator(".lk-app-choice-note").inner_text()
        shoot(page, "01-connect")
        open_page(page, "Activities")
        assert "Connect on page 1" in page.locator(".lk-activities-guide").inner_text()
        shoot(page, "02-activities-before-connecting")
        open_page(page, "Connect")

        # 1. Connect and read the demo provider: named, not numbered.
        page.locator(".lk-connect button", has_text="Connect").click()
        page.locator(".lk-provider-note").get_by_text("3 providers").wait_for(timeout=STEP)
        assert "Contoso Academy" in page.locator(".lk-provider-choice").inner_text().replace("\xa0", " ")
        shoot(page, "03-provider")
        page.locator("button.lk-load").click()
        said(page, f"{DEMO_ROWS} activities of Contoso Academy")
        assert "Contoso Academy" in page.locator(".lk-app-status").inner_text()

        # 2. Find a learner's record: filter by the learner's name, click the row, the form names them.
        table = page.locator(".lk-activity-table")
        choose(page, ".lk-activity-table", "filter", "learner")
        table.locator(".widget-dropdown select").nth(1).select_option(index=0)  # contains
        table.locator("input[placeholder=value]").fill("Adele")
        table.locator("button", has_text="Filter").click()
        table.get_by_text(re.compile(r"\d+ of \d+ rows")).first.wait_for(timeout=STEP)
        pick_first_row(page)
        header = page.locator(".lk-activity-form .lk-header")
        assert "Adele Vance" in header.inner_text()
        shoot(page, "04-found-a-learner")

        # 3. Fix a percentage in the form: one message, in words.
        form = page.locator(".lk-activity-form")
        form.locator(".lk-field-completionPercentage .lk-input-text input").fill("64")
        form.locator(".lk-preview").get_by_text('"completionPercentage": 64').wait_for(timeout=STEP)
        form.locator("button.lk-patch").click()
        words = said(page, "Saved: 1 row updated")
        assert "History lists it as run" in words
        shoot(page, "05-fixed-a-percentage")

        # 4. Another row: the last row's result is gone (no stale message).
        table.locator("button", has_text="Show all").click()
        pick_second_row(page)
        quiet(page)

        # 5. A table edit shows in the form for that row (one state), then is discarded.
        page.locator(".lk-activity-form .lk-field-completionPercentage .lk-input-text input").wait_for()
        form_value = form.locator(".lk-field-completionPercentage .lk-input-text input")
        set_in_table(page, "completionPercentage", "25")
        said(page, "pending, 1 row to save")
        assert form_value.input_value() == "25" and "This row has pending edits" in form.inner_text()
        assert "Save changes (1 row)" in page.locator("button.lk-app-save").first.inner_text()
        shoot(page, "06-table-edit-in-the-form")
        page.locator("button.lk-app-discard").first.click()  # beside Save changes
        said(page, "discarded the pending edits of 1 row")

        # 6. Bulk-complete a course for a team: the learners of one course, completed in one save.
        choose(page, ".lk-activity-table", "filter", "content title")
        table.locator(".widget-dropdown select").nth(1).select_option(index=1)  # =
        title = str(page.evaluate("() => document.querySelector('.lk-activity-form .lk-header').innerText"))
        course = re.search(r"course\s+(.+)", title)
        assert course, title
        table.locator("input[placeholder=value]").fill(course.group(1).strip())
        table.locator("button", has_text="Filter").click()
        table.locator("label", has_text="select every filtered row").click()
        open_page(page, "Bulk edit")
        bulk = page.locator(".lk-bulk-editor")
        selected = bulk.locator(".lk-bulk-selection").inner_text()
        count = int(re.search(r"(\d+) rows? selected", selected).group(1))  # type: ignore[union-attr]
        assert count > 1, selected
        bulk.locator(".lk-bulk-value select").select_option("completed")
        bulk.locator("button.lk-stage").click()
        said(page, f"status set to 'completed' on {count} rows")
        shoot(page, "07-bulk-staged")
        page.locator("button.lk-app-save").nth(1).click()
        said(page, "Saved:")
        assert "No pending changes" in bulk.locator(".lk-bulk-preview").inner_text()
        shoot(page, "08-bulk-saved")

        # 7. Undo a mistake: the bulk save goes back, in words.
        open_page(page, "History")
        history = page.locator(".lk-history")
        history.get_by_text("from the bulk edit").first.wait_for(timeout=STEP)
        assert "learnkit.widgets" not in history.inner_text()
        history.locator("button", has_text="Undo last save").click()
        said(page, "Undone:")
        shoot(page, "09-undone")

        # 8. Apply the audit's fixes, at the README's clock: errors first, fixes and records counted apart.
        open_page(page, "Audit")
        panel = page.locator(".lk-findings")
        panel.wait_for(state="visible", timeout=STEP)
        panel.locator(".lk-audit-clock input").fill("2024-01-01T00:00:00Z")
        panel.locator("button", has_text="Audit at this time").click()
        said(page, "audited at 2024-01-01 00:00 UTC")
        first_severity = panel.locator("table.lk-rule-counts tr").nth(1).locator("td").nth(1).inner_text()
        assert first_severity == "error"
        apply = panel.locator("button", has_text=re.compile(r"Apply \d+ fix(es)? to \d+ records?"))
        records = int(re.search(r"to (\d+) record", apply.inner_text()).group(1))  # type: ignore[union-attr]
        shoot(page, "10-audit")
        apply.click()
        said(page, f"Saved: {records} rows updated")
        shoot(page, "11-audit-fixed")

        # 9. A provider whose sync is off: flagged, with how to turn it on.
        open_page(page, "Provider")
        choose(page, ".lk-provider-page", "provider", "Northwind Skills (sync off: read only)")
        page.locator("button.lk-load").click()
        said(page, "activities of Northwind Skills")
        warning = page.locator(".lk-provider-warning")
        assert "sync turned off" in warning.inner_text() and "isCourseActivitySyncEnabled" in warning.inner_text()
        shoot(page, "12-sync-off")

        # 10. Pending edits survive a restart of the page: edit, reload, the edit is back.
        open_page(page, "Provider")
        choose(page, ".lk-provider-page", "provider", "Contoso Academy")
        page.locator("button.lk-load").click()
        said(page, "activities of Contoso Academy")
        pick_first_row(page)
        set_in_table(page, "completionPercentage", "12")
        said(page, "pending, 1 row to save")
        connect_and_read(page, url)  # a new page: a new kernel
        said(page, "1 unsaved edit from your last session put back")
        shoot(page, "13-restored-after-restart")
    except Exception:
        shoot(page, "failure")
        raise
    finally:
        page.close()
    log = (folder / "app.log").read_text()
    assert "not trusted" not in log and "without encryption" not in log, log
    assert "learnkit app: read 417 activities of Contoso Academy" in log, log


def test_every_page_in_the_dark_theme(app_url: tuple[str, Path], chromium: Any) -> None:
    url, _ = app_url
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    try:
        connect_and_read(page, url + "&theme=dark")
        pick_first_row(page)
        for name in ("Connect", "Provider", "Activities", "Bulk edit", "History", "Audit"):
            open_page(page, name)
            if name == "Audit":
                page.locator(".lk-findings").wait_for(state="visible", timeout=STEP)
            # connected: no page may still say otherwise (the History page once did)
            assert "Not connected" not in clean(page), name
            shoot(page, f"dark-{name.lower().replace(' ', '-')}")
    finally:
        page.close()
