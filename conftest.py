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
    _kernels_on_unix_sockets()


def _kernels_on_unix_sockets() -> None:
    """nbval's kernels talk to the test over Unix sockets in a private folder (``learnkit.cli.kernels``), as
    ``learnkit app`` and the browser tests' Voila do: under ``pytest -n`` another process could take a TCP port
    between jupyter_client picking it and the kernel binding it (CI saw this kill a Voila kernel). nbval has no
    option for the transport, so its ``KernelManager`` is swapped for one that asks for the sockets.
    """
    try:
        import nbval.kernel
    except ImportError:  # the notebooks' layer is not installed: nothing to start
        return
    from jupyter_client.manager import KernelManager

    from learnkit.cli.kernels import kernel_sockets

    class UnixSocketKernelManager(KernelManager):  # type: ignore[misc]
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**{**kernel_sockets(tempfile.mkdtemp(dir=_DATA_DIR)), **kwargs})

    nbval.kernel.KernelManager = UnixSocketKernelManager


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The notebooks under nbval and the tests in a browser are slow: each starts a kernel or Chromium."""
    for item in items:
        if item.path.suffix == ".ipynb" or "browser" in item.path.parts:
            item.add_marker(pytest.mark.slow)
