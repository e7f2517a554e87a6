"""A real browser: Voila serves the editor app, Debian's Chromium (driven by Playwright) edits and PATCHes.

Nothing here skips: without Chromium, Voila or Playwright the test fails and says what is missing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from learnkit import GraphClient

pytestmark = pytest.mark.slow  # run by scripts/test.sh; deselect with -m "not slow"

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "notebooks" / "editor-app.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def voila(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    sandbox.reset()  # the session's sandbox (tests/conftest.py), demo tenant rebuilt for this module
    info = tmp_path_factory.mktemp("voila") / "sandbox.json"
    fd = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(sandbox.to_json(), handle)
    port = free_port()
    env = {**os.environ, "LEARNKIT_SANDBOX_JSON": str(info), "NO_PROXY": "127.0.0.1,localhost"}
    log = (tmp_path_factory.mktemp("voila") / "voila.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(APP), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--ServerApp.open_browser=False"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited with {proc.returncode}: see {log.name}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not answer on {url} within 60 s: see {log.name}") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_change_completion_and_patch_in_chromium(sandbox: Any, voila: str) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    aid = sandbox.demo["assignment_id"]
    reader = GraphClient.for_sandbox(sandbox)
    assert reader.get_activity(aid).completionPercentage != 73
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(voila, timeout=120_000)
            form = page.locator(".lk-activity-form")
            form.wait_for(state="visible", timeout=120_000)
            box = form.locator(".lk-field-completionPercentage .lk-input-text input")
            box.fill("73")
            preview = form.locator(".lk-preview")
            preview.get_by_text('"completionPercentage": 73').wait_for(timeout=30_000)
            button = form.locator("button.lk-patch")
            assert button.is_enabled()
            button.click()
            form.locator(".lk-result").get_by_text("204 No Content").wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "editor-app-patched.png"), full_page=False)
        finally:
            browser.close()
    assert reader.get_activity(aid).completionPercentage == 73
