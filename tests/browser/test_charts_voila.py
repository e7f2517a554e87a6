"""A real browser, no network: Voila renders the provider charts beside the table; a click and a brush filter it.

Every request that leaves loopback is refused, so the charts must come from what is installed.
Nothing here skips: without Chromium, Voila or Playwright the test fails and says what is missing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import nbformat
import pytest

import learnkit.sandbox
from learnkit.sandbox.cli import write_keys
from tests.browser.voila import ARTIFACTS, ROOT, launch, serving

APP = """\
import json, os
import learnkit
from learnkit.bulk.sources import ActivityIds
from learnkit.widgets import ActivityTable, ProviderCharts, Workbench
info = json.loads(open(os.environ["LEARNKIT_SANDBOX_JSON"]).read())
client = learnkit.GraphClient.for_sandbox(info)
keys = ActivityIds.from_file(os.environ["LEARNKIT_SANDBOX_KEYS"])
bench = Workbench(client, registration_id=info["demo"]["registration_id"], source=keys,
                  journal=os.environ["LEARNKIT_JOURNAL"])
table = ActivityTable(bench)
charts = ProviderCharts(table, now="2025-06-01T00:00:00Z")
display(charts, table)
"""


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("charts")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(APP)]
    nbformat.write(notebook, folder / "charts.ipynb")
    sandbox = learnkit.sandbox.start(db=folder / "graph.db")
    info = folder / "sandbox.json"
    fd = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(sandbox.to_json(), handle)
    keys = folder / "sandbox-keys.csv"
    write_keys(sandbox, keys)  # what `learnkit sandbox --keys-out` writes: the provider's records, by id
    env = {
        "LEARNKIT_SANDBOX_JSON": str(info),
        "LEARNKIT_SANDBOX_KEYS": str(keys),
        "LEARNKIT_JOURNAL": str(folder / "journal.db"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    try:
        with serving("charts.ipynb", cwd=folder, env=env, log=folder / "voila.log") as url:
            yield url
    finally:
        sandbox.stop()


def test_charts_render_offline_and_a_click_and_a_brush_filter_the_table(voila: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    refused: list[tuple[str, str]] = []

    def loopback_only(route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            refused.append((route.request.resource_type, url))
            route.abort()

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1300})
            page.route("**/*", loopback_only)
            page.goto(voila, timeout=120_000)
            charts = page.locator(".lk-provider-charts")
            charts.wait_for(state="visible", timeout=120_000)
            bars = charts.locator(".bqplot .bargroup rect")
            bars.first.wait_for(state="visible", timeout=60_000)
            assert bars.count() > 20
            label = page.locator(".lk-activity-table").get_by_text("rows", exact=False).first
            everything = label.inner_text()

            # A click on the last (widest) segment of the first content's bar keeps that content's rows.
            charts.locator(".bqplot").first.locator(".bargroup").first.locator("rect").last.click()
            selection = charts.locator(".lk-chart-selection")
            selection.get_by_text("content:", exact=False).wait_for(timeout=30_000)
            narrowed = selection.inner_text()
            assert " of " in narrowed and narrowed.split(": ")[-1] != everything

            # A brush across the completion chart's right half keeps the rows the bars it covers hold.
            plot = charts.locator(".bqplot").nth(1).locator("svg").first.bounding_box()
            assert plot is not None
            y = plot["y"] + plot["height"] * 0.5
            page.mouse.move(plot["x"] + plot["width"] * 0.55, y)
            page.mouse.down()
            page.mouse.move(plot["x"] + plot["width"] * 0.75, y, steps=8)
            page.mouse.move(plot["x"] + plot["width"] * 0.93, y, steps=8)
            page.mouse.up()
            selection.get_by_text("completion", exact=False).wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "charts-voila.png"), full_page=False)
            page.locator("button", has_text="Show all rows").click()
            page.wait_for_function(
                "() => !document.querySelector('.lk-chart-selection').innerText.trim()", timeout=30_000
            )
        finally:
            browser.close()
    # Voila's page template asks a CDN for Font Awesome's stylesheet (icons); nothing else may leave loopback.
    others = [(kind, url) for kind, url in refused if not (kind == "stylesheet" and "fontawesome" in url)]
    assert others == [], others
