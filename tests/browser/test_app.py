"""`learnkit app` in a real browser: Voila serves the workbench, Debian's Chromium (Playwright) drives it.

Each test starts the command as a person would (a subprocess, on loopback, with a temporary
data folder and journal so nothing touches the user's), walks the pages and keeps a
screenshot of each step under test-artifacts/. Nothing skips: a missing Chromium fails.
Each names its sandbox's contract: ``metadata`` serves the provider's list, ``documented``
refuses it, and the Provider page then reads the records the demo provider's keys name.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from learnkit import GraphClient
from learnkit.sandbox.seed import REGISTRATION_ID, build_tenant
from tests.browser.test_editor_app import CONTRAST_JS
from tests.browser.voila import ARTIFACTS, ROOT, launch

pytestmark = pytest.mark.slow

#: The demo provider's activities, seeded inconsistencies included (the tables' and status lines' count).
DEMO_ROWS = sum(a["learningProviderId"] == REGISTRATION_ID for a in build_tenant().activities)
#: The demo provider's distinct external ids (one key is held by two records: it reaches the first).
DEMO_KEYS = len(
    {a["externalcourseActivityId"] for a in build_tenant().activities if a["learningProviderId"] == REGISTRATION_ID}
)
#: ipydatagrid's default header and row heights (px): where a click lands on a body row of the canvas.
HEADER, ROW = 20, 20


def learnkit_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "learnkit", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@contextmanager
def learnkit_app(args: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """Run `learnkit app ARGS` until its URL line; yields the URL; Ctrl+C (SIGINT) stops it, cleanly."""
    with log.open("w") as errors:
        proc = subprocess.Popen([sys.executable, "-m", "learnkit", "app", "--port", "0", *args], env=env,
                                stdout=subprocess.PIPE, stderr=errors, text=True)  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.search(r"serving (http://127\.0\.0\.1:\d+/\?token=[\w-]+) ", line)
            assert found, f"no URL in {line!r}; stderr: {log.read_text()}"
            yield found.group(1)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                status = proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
    assert status == 0, log.read_text()


def environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "LEARNKIT_"))}
    env.update(LEARNKIT_DATA_DIR=str(tmp / "data"), LEARNKIT_JOURNAL=str(tmp / "journal.sqlite"),
               PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,localhost")  # fmt: skip
    return env


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)


def settled(page: Any) -> None:
    """Wait until the header says nothing runs (a read's last count is gone)."""
    page.wait_for_function("() => !document.querySelector('.lk-app-working').innerText.trim()", timeout=60_000)


def open_page(page: Any, name: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=name).click()


def pick_first_row(page: Any) -> str:
    """Click the first body row of the grid (a canvas); returns the id the form then shows."""
    grid = page.locator(".lk-activity-table .lm-DataGrid").first
    grid.wait_for(state="visible", timeout=30_000)  # the Activities page opens once the read has finished
    page.wait_for_timeout(300)  # the canvas paints its rows after the page shows
    box = grid.bounding_box()
    assert box is not None
    # Past the row header (the id column, as wide as the longest id) into the body: a cell of the first row
    # near the grid's right edge, clear of the vertical scroll bar.
    page.mouse.click(box["x"] + box["width"] - 60, box["y"] + HEADER + ROW // 2)
    # The header's one whole id is the row's (selected whole by a click); the others show their end.
    whole = page.locator(".lk-activity-form .lk-header code.lk-id-whole")
    whole.get_by_text(re.compile(r"[0-9a-f]{8}-")).wait_for(timeout=30_000)
    return str(whole.inner_text())


def edit_in_form(page: Any, value: int) -> None:
    form = page.locator(".lk-activity-form")
    form.locator(".lk-field-completionPercentage .lk-input-text input").fill(str(value))
    form.locator(".lk-preview").get_by_text(f'"completionPercentage": {value}').wait_for(timeout=30_000)
    form.locator("button.lk-patch").click()


def test_app_on_its_own_sandbox_edit_save_undo_and_state_kept(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    import learnkit.sandbox

    env = environment(tmp_path)
    with learnkit_app(["--contract", "metadata"], env, tmp_path / "app.log") as url, sync_playwright() as pw:
        # Without the token printed with the URL, the page is not served (to other users of loopback).
        bare = requests.get(url.split("?")[0], allow_redirects=False, timeout=30)
        assert bare.status_code in (302, 401, 403), bare.status_code
        chromium = launch(pw)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=120_000)
            page.locator(".lk-app").wait_for(state="visible", timeout=120_000)
            shoot(page, "1-connect")

            page.locator(".lk-connect button", has_text="Connect").click()
            page.locator(".lk-provider-note").get_by_text("3 providers").wait_for(timeout=60_000)
            # The tenant serves the list (metadata): it is offered, and chosen.
            page.locator(".lk-source-note").get_by_text("This tenant serves the provider's list").wait_for(
                timeout=60_000
            )
            expect(page.locator(".lk-source-choice input[type=radio]").first).to_be_checked(timeout=30_000)
            shoot(page, "2-provider")

            page.locator("button.lk-load").click()
            status = page.locator(".lk-app-status")
            status.get_by_text(f"{DEMO_ROWS} activities").wait_for(timeout=60_000)
            page.locator(".lk-activity-table").wait_for(state="visible")
            activity_id = pick_first_row(page)
            shoot(page, "3-activities")

            edit_in_form(page, 73)
            message = page.locator(".lk-app-message")
            message.get_by_text("Saved: 1 row updated").wait_for(timeout=60_000)
            shoot(page, "4-saved")

            open_page(page, "History")
            history = page.locator(".lk-history")
            history.get_by_text("save from the form").first.wait_for(timeout=30_000)
            history.locator("button", has_text="Undo last save").click()
            message.get_by_text("Undone: 1 row put back").wait_for(timeout=60_000)
            shoot(page, "5-undone")

            open_page(page, "Activities")
            edit_in_form(page, 42)  # kept: read back below from the sandbox's database
            message.get_by_text("Saved: 1 row updated").wait_for(timeout=60_000)
        finally:
            chromium.close()

    runs = learnkit_cli("runs", env=env)
    assert runs.returncode == 0, runs.stderr
    kinds = [line.split()[3] for line in runs.stdout.splitlines()[1:]]  # JOURNAL_ID, date, time, KIND, ...
    assert kinds == ["apply", "undo", "apply"], runs.stdout
    # The app has stopped: its tenant, in the data folder, holds the last save.
    with learnkit.sandbox.start(db=tmp_path / "data" / "app-sandbox" / "graph.db") as sb:
        assert GraphClient.for_sandbox(sb).get_activity(activity_id).completionPercentage == 42


def test_app_on_a_running_sandbox_with_device_code_then_cli_undo(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    import learnkit.sandbox

    env = environment(tmp_path)
    with learnkit.sandbox.start(contract="metadata") as sb:  # the provider's list is read
        sb.set_auto_approve(False)  # the code is approved on the sandbox's sign-in page, as a person would
        described = tmp_path / "sandbox.json"
        fd = os.open(described, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(sb.to_json()) + "\n")
        reader = GraphClient.for_sandbox(sb)
        with learnkit_app(["--sandbox-json", str(described)], env, tmp_path / "app.log") as url, \
                sync_playwright() as pw:  # fmt: skip
            chromium = launch(pw)
            try:
                context = chromium.new_context(viewport={"width": 1400, "height": 1000}, ignore_https_errors=True)
                page = context.new_page()
                page.goto(url, timeout=120_000)
                page.locator(".lk-app").wait_for(state="visible", timeout=120_000)
                page.locator(".lk-connect label", has_text="also sign the demo user in").click()
                page.locator(".lk-connect button", has_text="Connect").click()
                sign_in = page.locator(".lk-app-sign-in")
                sign_in.get_by_text("enter the code").wait_for(timeout=60_000)
                text = sign_in.inner_text()
                code = text.split("enter the code ")[1].split()[0]
                login = re.search(r"https://\S+/devicelogin", text)
                assert login, text
                shoot(page, "6-device-code")

                approve = context.new_page()
                approve.goto(login.group(0))
                approve.locator("input[name=user_code]").fill(code)
                approve.locator("button, input[type=submit]").first.click()
                approve.get_by_text("Signed in as").wait_for(timeout=30_000)
                approve.screenshot(path=str(ARTIFACTS / "app-7-approved.png"))
                approve.close()

                note = page.locator(".lk-provider-note")
                note.get_by_text("from Graph").wait_for(timeout=60_000)
                assert "Contoso Academy" in page.locator(".lk-provider-choice").inner_text().replace("\xa0", " ")
                sb.set_latency(400)  # each page of the read waits: its progress is on the page meanwhile
                page.locator("button.lk-load").click()
                page.locator(".lk-app-working").get_by_text("so far").wait_for(timeout=60_000)
                shoot(page, "8-loading")
                page.locator(".lk-app-status").get_by_text(f"{DEMO_ROWS} activities").wait_for(timeout=60_000)
                sb.set_latency(0)
                activity_id = pick_first_row(page)
                before = reader.get_activity(activity_id).completionPercentage
                value = 61 if before != 61 else 62
                edit_in_form(page, value)
                page.locator(".lk-app-message").get_by_text("Saved: 1 row updated").wait_for(timeout=60_000)
                shoot(page, "9-saved-on-running-sandbox")
            finally:
                chromium.close()
        assert reader.get_activity(activity_id).completionPercentage == value

        runs = learnkit_cli("runs", "--last", env=env)
        assert runs.returncode == 0 and runs.stdout.strip(), runs.stderr
        undo = learnkit_cli("undo", "--last", "--sandbox-json", str(described), "--no-progress", env=env)
        assert undo.returncode == 0, undo.stderr
        assert reader.get_activity(activity_id).completionPercentage == before


def test_app_on_a_documented_sandbox_reads_by_the_demo_keys_edits_and_saves_in_both_themes(tmp_path: Path) -> None:
    """The tenant refuses the provider's list: the page says so, greys it out, and reads the records named by
    keys, pasted, uploaded or the demo provider's own; in the light theme and the dark."""
    from playwright.sync_api import expect, sync_playwright

    import learnkit.sandbox

    env = environment(tmp_path)
    keys = tmp_path / "keys.txt"
    keys.write_text("# three of the demo provider's keys\n" + "\n".join(
        sorted({a["externalcourseActivityId"] for a in build_tenant().activities
                if a["learningProviderId"] == REGISTRATION_ID})[:3]) + "\nno-such-key\n")  # fmt: skip
    with learnkit_app(["--contract", "documented"], env, tmp_path / "app.log") as url, sync_playwright() as pw:
        chromium = launch(pw)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=120_000)
            page.locator(".lk-app").wait_for(state="visible", timeout=120_000)
            page.locator(".lk-connect button", has_text="Connect").click()
            note = page.locator(".lk-source-note")
            note.get_by_text("This tenant does not serve the provider's list").wait_for(timeout=60_000)
            assert "400 BadRequest" in note.inner_text()
            radios = page.locator(".lk-source-choice input[type=radio]")
            expect(radios.nth(1)).to_be_checked(timeout=30_000)  # external ids chosen instead
            assert not radios.first.is_checked()
            listed = page.locator(".lk-source-choice .widget-radio-box label").first
            assert listed.evaluate("(el) => getComputedStyle(el).pointerEvents") == "none"  # not choosable
            listed.click(force=True)
            page.wait_for_timeout(500)
            assert radios.nth(1).is_checked() and not radios.first.is_checked()
            shoot(page, "10-provider-documented")

            # A file of keys, uploaded: read as `--external-ids FILE` reads it.
            with page.expect_file_chooser() as chooser:  # the button opens the browser's file picker
                page.locator(".lk-keys-upload").click()
            chooser.value.set_files(str(keys))
            page.locator(".lk-keys-note").get_by_text("4 external ids, from keys.txt").wait_for(timeout=30_000)
            page.locator("button.lk-load").click()
            message = page.locator(".lk-app-message")
            message.get_by_text("3 activities of ").wait_for(timeout=60_000)
            assert "1 of 4 external ids not found: 'no-such-key'" in message.inner_text()
            settled(page)
            shoot(page, "11-loaded-from-uploaded-keys")

            open_page(page, "Provider")
            page.locator("button.lk-demo-keys").click()
            page.locator(".lk-keys-note").get_by_text(f"{DEMO_KEYS} external ids, from the demo provider").wait_for(
                timeout=30_000
            )
            shoot(page, "12-demo-keys")
            page.locator("button.lk-load").click()
            page.locator(".lk-app-status").get_by_text(f"{DEMO_KEYS} activities").wait_for(timeout=60_000)
            activity_id = pick_first_row(page)
            edit_in_form(page, 74)
            message.get_by_text("Saved: 1 row updated").wait_for(timeout=60_000)
            shoot(page, "13-saved-documented")

            # The dark theme: the same page, readable.
            dark = chromium.new_page(viewport={"width": 1400, "height": 1000})
            dark.goto(url + "&theme=dark", timeout=120_000)
            dark.locator(".lk-app").wait_for(state="visible", timeout=120_000)
            background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
            assert sum(int(v) for v in re.findall(r"\d+", background)[:3]) < 3 * 96, background
            dark.locator(".lk-connect button", has_text="Connect").click()
            dark.locator(".lk-source-note").get_by_text("does not serve").wait_for(timeout=60_000)
            dark.locator("button.lk-demo-keys").click()
            dark.locator(".lk-keys-note").get_by_text("from the demo provider").wait_for(timeout=30_000)
            for what in (".lk-source-guide .lk-note", ".lk-source-note .lk-note", ".lk-keys-help .lk-note",
                         ".lk-keys-note .lk-note", ".lk-source-choice .widget-radio-box label >> nth=1",
                         ".lk-keys textarea"):  # fmt: skip
                ratio = float(dark.locator(what).first.evaluate(CONTRAST_JS))
                assert ratio >= 4.5, f"{what} is hard to read on the dark theme ({ratio:.1f})"
            shoot(dark, "14-provider-dark")
        finally:
            chromium.close()

    # The app has stopped: its tenant holds the save.
    with learnkit.sandbox.start(db=tmp_path / "data" / "app-sandbox" / "graph.db") as sb:
        assert GraphClient.for_sandbox(sb).get_activity(activity_id).completionPercentage == 74
