"""What the browser tests share: Debian's Chromium and its flags, where screenshots go, and Voila in a
subprocess (serve a notebook on a free loopback port, stop it after)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from learnkit.cli.kernels import voila_kernel_options

ROOT = Path(__file__).resolve().parents[2]
#: Screenshots of every browser test, for a person to look at.
ARTIFACTS = ROOT / "test-artifacts"
#: Debian's Chromium: browser downloads do not work here.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless, through playwright (``sync_playwright()``'s object)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(notebook: str | Path, *, cwd: Path, env: Mapping[str, str], log: Path) -> Iterator[str]:
    """Voila serving ``notebook`` (relative to ``cwd``) with ``env`` added to this process's; yields its URL."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
             "--Voila.ip=127.0.0.1", "--ServerApp.open_browser=False",
             # as `learnkit app` does: no race for kernel ports with the suite's other servers
             *voila_kernel_options()],
            cwd=cwd, env={**os.environ, "NO_PROXY": "127.0.0.1,localhost", **env}, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"voila exited with {proc.returncode}: see {log}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"voila did not answer on {url} within 60 s: see {log}") from None
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
