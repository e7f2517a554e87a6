"""A real browser, no network: Voila renders the find-and-fix app; a click on a findings bar filters the table,
"Apply" fixes the seeded records as one journal run (the service is read back over HTTP), "Undo" restores them.

The app's own notebook (``notebooks/find-and-fix-app.ipynb``) runs on a sandbox this test starts, so the test
reads the records itself. Nothing here skips: without Chromium, Voila or Playwright the test fails.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import learnkit.sandbox
from learnkit import GraphClient
from learnkit.audit import audit
from learnkit.bulk.frame import read_activities
from learnkit.bulk.journal import Journal
from learnkit.bulk.sources import ActivityIds
from learnkit.sandbox.cli import write_keys
from learnkit.sandbox.seed import AUDIT_NOW
from learnkit.widgets.findings import SOURCE
from tests.browser.voila import ARTIFACTS, ROOT, launch, serving

pytestmark = pytest.mark.slow

APP = ROOT / "notebooks" / "find-and-fix-app.ipynb"
STEP = 30_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    """(Voila's URL, the sandbox the app uses, the app's journal)."""
    folder = tmp_path_factory.mktemp("find-and-fix")
    sandbox = learnkit.sandbox.start(db=folder / "graph.db")
    info = folder / "sandbox.json"
    fd = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(sandbox.to_json(), handle)
    keys = folder / "sandbox-keys.csv"
    write_keys(sandbox, keys)  # what `learnkit sandbox --keys-out` writes: the provider's records, by id
    journal = folder / "journal.db"
    env = {
        "LEARNKIT_SANDBOX_JSON": str(info),
        "LEARNKIT_SANDBOX_KEYS": str(keys),
        "LEARNKIT_JOURNAL": str(journal),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    try:
        with serving(APP, cwd=ROOT, env=env, log=folder / "voila.log") as url:
            yield url, sandbox, journal
    finally:
        sandbox.stop()


def test_click_a_bar_then_apply_the_fixes_and_undo(served: tuple[str, Any, Path]) -> None:
    from playwright.sync_api import Route, sync_playwright

    url, sandbox, journal = served
    client = GraphClient.for_sandbox(sandbox)
    reg = sandbox.demo["registration_id"]
    before = audit(read_activities(client, reg, source=ActivityIds(sandbox.activity_ids(reg))), now=AUDIT_NOW)
    fixable = len(before.fixable)
    assert fixable > 0
    refused: list[tuple[str, str]] = []

    def loopback_only(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            refused.append((route.request.resource_type, route.request.url))
            route.abort()

    ARTIFACTS.mkdir(exist_ok=True)
    for earlier in ARTIFACTS.glob("find-and-fix-*.png"):
        earlier.unlink()
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1500, "height": 2000})
        try:
            page.route("**/*", loopback_only)
            page.goto(url, timeout=120_000)
            charts = page.locator(".lk-provider-charts")
            panel = page.locator(".lk-findings")
            charts.wait_for(state="visible", timeout=120_000)
            panel.wait_for(state="visible", timeout=STEP)
            summary = panel.locator(".lk-audit")
            assert f"fixes proposed for {before.fixable['id'].nunique()} records" in summary.inner_text()
            findings_chart = charts.locator(".bqplot").nth(3)
            rules = findings_chart.locator(".bargroup rect")
            rules.first.wait_for(state="visible", timeout=STEP)
            assert rules.count() == before.findings["rule"].nunique()

            # Click a rule's bar (the chart orders them by severity): the table keeps that rule's records.
            rules.first.click()
            selection = charts.locator(".lk-chart-selection")
            selection.get_by_text("findings of ", exact=False).wait_for(timeout=STEP)
            clicked = re.search(r"findings of ([\w-]+)", selection.inner_text())
            assert clicked and clicked[1] in set(before.findings["rule"]), selection.inner_text()
            records = before.findings.loc[before.findings["rule"] == clicked[1], "id"].nunique()
            assert f"{records} of {len(before.frame)} rows" in selection.inner_text()
            table_label = page.locator(".lk-activity-table").get_by_text("rows", exact=False).first
            assert f"{records} of" in table_label.inner_text() or f"of {records} rows" in table_label.inner_text()
            page.screenshot(path=str(ARTIFACTS / "find-and-fix-filtered.png"), full_page=True)

            # Apply every proposed fix: one journal run, the panel and the findings chart follow.
            apply_button = panel.locator("button", has_text=f"Apply {fixable} fixes to ")
            apply_button.click()
            summary.get_by_text("fixes proposed for 0 records", exact=False).wait_for(timeout=60_000)
            page.get_by_text("Saved:", exact=False).wait_for(timeout=STEP)  # said once, for the whole page
            after = audit(read_activities(client, reg, source=ActivityIds(sandbox.activity_ids(reg))), now=AUDIT_NOW)
            assert after.fixable.empty and len(after.findings) == len(before.findings) - fixable
            fixed_rules = set(before.findings["rule"]) - set(after.findings["rule"])
            page.wait_for_function(
                "([n]) => document.querySelectorAll('.lk-provider-charts .bqplot')[3]"
                ".querySelectorAll('.bargroup rect').length === n",
                arg=[after.findings["rule"].nunique()],
                timeout=STEP,
            )
            assert fixed_rules  # some rules had only fixable findings: their bars are gone
            runs = Journal(journal).runs().to_frame()
            assert runs.iloc[0]["source"] == SOURCE and runs.iloc[0]["applied"] == before.fixable["id"].nunique()
            page.screenshot(path=str(ARTIFACTS / "find-and-fix-applied.png"), full_page=True)

            # Undo: the replaced values go back, and so do the findings.
            panel.locator("button", has_text="Undo fixes").click()
            restored = f"fixes proposed for {before.fixable['id'].nunique()} records"
            summary.get_by_text(restored, exact=False).wait_for(timeout=60_000)
            again = audit(read_activities(client, reg, source=ActivityIds(sandbox.activity_ids(reg))), now=AUDIT_NOW)
            key = ["id", "rule", "field", "current", "proposed"]
            assert again.findings[key].equals(before.findings[key])
            page.screenshot(path=str(ARTIFACTS / "find-and-fix-undone.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "find-and-fix-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    # Voila's page template asks a CDN for Font Awesome's stylesheet (icons); nothing else may leave loopback.
    others = [(kind, url) for kind, url in refused if not (kind == "stylesheet" and "fontawesome" in url)]
    assert others == [], others
