"""Which extra brings which part: a missing third-party module becomes a message naming the extra.

``pip install learnkit`` is the client alone; the DataFrame/CSV/bulk path, the widgets,
the sandbox and the notebook tools each come with an extra (``pyproject.toml``). This
module is the one map from a third-party import to the extra that installs it.

Example::

    >>> EXTRA_OF["pandas"]
    'bulk'
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import TYPE_CHECKING

from learnkit.errors import MissingExtraError

if TYPE_CHECKING:
    import ast

__all__ = ["EXTRA_OF", "import_part", "install_hint", "require", "type_checking_block"]

#: top-level module name -> the extra of ``pyproject.toml`` that installs it
EXTRA_OF: dict[str, str] = {
    "pandas": "bulk",
    "numpy": "bulk",
    "tqdm": "bulk",
    "openpyxl": "excel",
    "ipywidgets": "widgets",
    "ipydatagrid": "widgets",
    "bqplot": "widgets",
    "fastapi": "sandbox",
    "starlette": "sandbox",
    "uvicorn": "sandbox",
    "trustme": "sandbox",
    "jwt": "sandbox",
    "filelock": "sandbox",
    "nbclient": "notebook",
    "nbformat": "notebook",
    "jupyterlab": "notebook",
    "ipykernel": "notebook",
    "voila": "notebook",
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: ``install_hint("bulk")`` -> ``python -m pip install 'learnkit[bulk]'``."""
    return f"python -m pip install 'learnkit[{extra}]'"


def import_part(name: str) -> ModuleType:
    """Import the learnkit module ``name``; a missing dependency raises ``MissingExtraError`` naming its extra."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in EXTRA_OF:
            raise MissingExtraError(name, missing) from exc
        raise


def type_checking_block(source: str) -> list[ast.stmt]:
    """The statements of the ``if TYPE_CHECKING:`` block of the module file ``source``: what a package that
    loads its names on first use (``learnkit``, ``learnkit.bulk``) declares once, for mypy and for itself."""
    import ast  # here, not at import: only a first lookup of a lazy name reads the block
    from pathlib import Path

    tree = ast.parse(Path(source).read_text(encoding="utf-8"))
    return next(n.body for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")


def require(extra: str, part: str) -> None:
    """Raise ``MissingExtraError`` for ``part`` unless the modules ``extra`` brings can be imported.

    For the top of a package that needs an extra, so that ``from learnkit.sandbox import start``
    names the extra too, not only ``learnkit.sandbox`` reached as an attribute.

    >>> require("bulk", "learnkit.bulk.frame")  # installed here: nothing happens
    """
    for module, needed_by in EXTRA_OF.items():
        if needed_by == extra and importlib.util.find_spec(module) is None:
            raise MissingExtraError(part, module)
