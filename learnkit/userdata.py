"""learnkit's folder in the user's data directory: remembered sign-ins, the app's kept sandbox, the record leases.

Example: ``data_dir() / "leases.sqlite"``
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_VARIABLE", "data_dir"]

#: The environment variable that moves learnkit's data folder.
DATA_DIR_VARIABLE = "LEARNKIT_DATA_DIR"


def data_dir(environ: dict[str, str] | None = None) -> Path:
    """``$LEARNKIT_DATA_DIR``, else learnkit's folder in the user's data directory.

    >>> str(data_dir({"LEARNKIT_DATA_DIR": "/tmp/lk"}))
    '/tmp/lk'
    """
    env = os.environ if environ is None else environ
    if env.get(DATA_DIR_VARIABLE):
        return Path(env[DATA_DIR_VARIABLE]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("learnkit", appauthor=False))
