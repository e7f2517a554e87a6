"""``learnkit quickstart``: run the quickstart notebook on a fresh embedded sandbox.

The notebook starts its own sandbox, so this needs no tenant and no network.
``--lab`` opens it in JupyterLab instead of running it here.

Example: ``python -m learnkit quickstart``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["add_arguments", "notebook_path", "run"]

_NAME = "01-quickstart.ipynb"


def notebook_path() -> Path:
    """Where the quickstart notebook is: the source tree's, else the copy shipped in the wheel."""
    source = Path(__file__).resolve().parents[1] / "notebooks" / _NAME
    return source if source.exists() else Path(__file__).resolve().parent / "_notebooks" / _NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lab``: open JupyterLab on the notebook instead of running it here."""
    parser.add_argument("--lab", action="store_true", help="open the notebook in JupyterLab")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (default 600)")


def run(args: argparse.Namespace) -> int:
    """Run (or open) the quickstart; prints each cell's text output."""
    path = notebook_path()
    if args.lab:
        return subprocess.call([sys.executable, "-m", "jupyter", "lab", str(path)])
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        print("the quickstart needs the notebook extra: python -m pip install 'learnkit[notebook]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / _NAME
        shutil.copy(path, copy)
        notebook = nbformat.read(copy, as_version=4)  # type: ignore[no-untyped-call]
        NotebookClient(
            notebook, timeout=args.timeout, kernel_name="python3", resources={"metadata": {"path": work}}
        ).execute()
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            title = next((line for line in cell.source.splitlines() if line.startswith("#")), "")
            if title:
                print(f"\n{title}")
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            if text:
                print(text.rstrip())
    print(f"\nRan {path.name} on a fresh sandbox. Open it yourself with: python -m learnkit quickstart --lab")
    return 0
