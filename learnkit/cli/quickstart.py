"""``learnkit quickstart``: run the quickstart notebook on a fresh embedded sandbox.

The notebook starts its own sandbox, so this needs no tenant and no network; its
headings and printed outputs are shown here. ``--lab`` opens it in JupyterLab instead
(as root too), with JupyterLab's ``--no-browser``, ``--ip``, ``--port`` passed through
and anything after ``--`` given to JupyterLab as is.

Example: ``python -m learnkit quickstart --lab --no-browser --ip 0.0.0.0 --port 8888``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from learnkit.errors import CommandError

from . import port_number
from .kernels import kernel_sockets

__all__ = ["add_arguments", "notebook_path", "run"]

_NAME = "01-quickstart.ipynb"


def notebook_path() -> Path:
    """Where the quickstart notebook is: the source tree's, else the copy shipped in the wheel."""
    package = Path(__file__).resolve().parents[1]  # learnkit/, this module being learnkit/cli/quickstart.py
    source = package.parent / "notebooks" / _NAME
    return source if source.exists() else package / "_notebooks" / _NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lab`` and the JupyterLab options it passes through; ``--timeout`` for running it here."""
    parser.add_argument("--lab", action="store_true", help="open the notebook in JupyterLab instead of running it")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (default 600)")
    lab = parser.add_argument_group("JupyterLab (with --lab)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser; print the URL")
    lab.add_argument("--ip", metavar="ADDRESS", help="address JupyterLab listens on (its default: localhost)")
    lab.add_argument("--port", type=port_number, metavar="N", help="port JupyterLab listens on (its default: 8888)")
    lab.add_argument(
        "--allow-root", action="store_true", help="run as root (implied when running as root: Jupyter refuses it)"
    )
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER, metavar="-- ...", help="more options for JupyterLab")


def lab_command(args: argparse.Namespace, path: Path) -> list[str]:
    """The ``jupyter lab`` command line for ``args``.

    >>> lab_command(argparse.Namespace(no_browser=True, ip="0.0.0.0", port=8888, allow_root=True,
    ...                                jupyter_args=["--", "--ServerApp.token=x"]), Path("q.ipynb"))[4:]
    ['q.ipynb', '--no-browser', '--ip=0.0.0.0', '--port=8888', '--allow-root', '--ServerApp.token=x']
    """
    command = [sys.executable, "-m", "jupyter", "lab", str(path)]
    if args.no_browser:
        command.append("--no-browser")
    if args.ip:
        command.append(f"--ip={args.ip}")
    if args.port:
        command.append(f"--port={args.port}")
    # Jupyter refuses to start as root unless told; a container's shell often is root.
    if args.allow_root or (hasattr(os, "geteuid") and os.geteuid() == 0):
        command.append("--allow-root")
    extra = list(args.jupyter_args or [])
    return command + (extra[1:] if extra[:1] == ["--"] else extra)


def _headings(source: str) -> list[str]:
    return [line for line in source.splitlines() if line.startswith("#")]


def run(args: argparse.Namespace) -> int:
    """Run (or open) the quickstart; prints each heading and each cell's text output."""
    path = notebook_path()
    if args.lab:
        return subprocess.call(lab_command(args, path))
    # JupyterLab's options without --lab: the analyst meant to open the notebook, not to run it here.
    lab_options = ("no_browser", "ip", "port", "allow_root")
    given = [f"--{name.replace('_', '-')}" for name in lab_options if getattr(args, name)] + args.jupyter_args
    if given:
        raise CommandError(f"{' '.join(given)}: options for JupyterLab, which need --lab (it opens the notebook there)")
    try:
        import nbformat
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient
    except ImportError:
        print("the quickstart needs the notebook extra: python -m pip install 'learnkit[notebook]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / _NAME
        shutil.copy(path, copy)
        notebook = nbformat.read(copy, as_version=4)  # type: ignore[no-untyped-call]
        # The kernel talks over local sockets where Jupyter has them: no port opened, and no warning about it.
        kernel = KernelManager(kernel_name="python3", **kernel_sockets(work))
        try:
            NotebookClient(
                notebook, km=kernel, timeout=args.timeout, kernel_name="python3", resources={"metadata": {"path": work}}
            ).execute()
        finally:
            # nbclient leaves a kernel it was handed running; stopped here, it does not outlive us with a warning.
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=False)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for title in _headings(cell.source):
                print(f"\n{title}")
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            if text:
                print(text.rstrip())
    print(f"\nRan {path.name} on a fresh sandbox. Open it yourself with: python -m learnkit quickstart --lab")
    return 0
