"""One browser test file at a time, whatever ``pytest -n`` does with the rest.

A Voila kernel and a Chromium each take most of a core while a page loads: two files of them at
once on a 2-core machine push the first page past its timeouts. Each file holds a lock shared by
the processes of one test run (``PYTEST_XDIST_TESTRUNUID``) for as long as it runs; other test
files keep the other processes busy meanwhile.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock


@pytest.fixture(scope="module", autouse=True)
def one_browser_file_at_a_time() -> Iterator[None]:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    with FileLock(Path(tempfile.gettempdir()) / f"learnkit-browser-{run}.lock"):
        yield
