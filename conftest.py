"""Whatever pytest runs here (tests, doctests, nbval): the editor app and the bulk runs' record leases never reuse a
person's or an earlier run's data.

``notebooks/editor-app.ipynb`` keeps its sandbox and journal in ``LEARNKIT_EDITOR_STATE``
(a folder in the user's data directory by default). Each pytest session gets a new
temporary one, and a sandbox a person named in ``LEARNKIT_SANDBOX_JSON`` is not used;
the kernels nbval starts inherit this environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_STATE = tempfile.mkdtemp(prefix="learnkit-editor-state-")


def pytest_configure(config: pytest.Config) -> None:
    os.environ["LEARNKIT_EDITOR_STATE"] = _STATE
    # Bulk runs lease records in a file of the user's; the suite's runs use one of their own.
    os.environ["LEARNKIT_LEASES"] = os.path.join(_STATE, "leases.sqlite")
    os.environ.pop("LEARNKIT_SANDBOX_JSON", None)
    os.environ.pop("LEARNKIT_EDITOR_RESET", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_STATE, ignore_errors=True)
