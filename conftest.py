"""What every test of the repository shares, wherever pytest starts (tests, doctests, notebooks).

Each test process keeps learnkit's data folder (leases, the token cache, the app's sandbox) in a
temporary folder of its own (``$LEARNKIT_DATA_DIR``): the suite never touches the user's, and the
processes ``pytest -n`` starts never share one. The notebooks (nbval) and the browser tests are
marked ``slow``, so ``pytest -m "not slow"`` is the fast layer.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_DATA_DIR = tempfile.mkdtemp(prefix="learnkit-test-data-")


def pytest_configure(config: pytest.Config) -> None:
    os.environ["LEARNKIT_DATA_DIR"] = _DATA_DIR  # the notebooks' kernels and the commands inherit it


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The notebooks under nbval and the tests in a browser are slow: each starts a kernel or Chromium."""
    for item in items:
        if item.path.suffix == ".ipynb" or "browser" in item.path.parts:
            item.add_marker(pytest.mark.slow)
