"""Nothing in the library imports the widgets: learnkit works headless, in scripts and in CI."""

from __future__ import annotations

import ast
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[2] / "learnkit"


def _parse(source: str) -> ast.Module:
    """``ast.parse``, once more if CPython 3.11 raises its spurious "AST constructor recursion depth
    mismatch" (python/cpython#106905: another thread compiling at the same moment; fixed in 3.12)."""
    try:
        return ast.parse(source)
    except SystemError:
        return ast.parse(source)


def test_no_library_module_imports_widgets() -> None:
    offenders = []
    for path in LIBRARY.rglob("*.py"):
        if "widgets" in path.relative_to(LIBRARY).parts:
            continue
        for node in ast.walk(_parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("learnkit.widgets")]
    assert offenders == []
