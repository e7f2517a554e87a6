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


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    found: list[str] = []
    for node in ast.walk(_parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found += [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
    return found


def _command_line(name: str) -> bool:
    """Whether ``name`` is learnkit's command line: ``learnkit.cli`` or a ``*_cli`` module (the sandbox's too)."""
    parts = name.split(".")
    return parts[0] == "learnkit" and any(p == "cli" or p.endswith("_cli") for p in parts[1:])


def test_only_the_command_line_imports_the_command_line() -> None:
    # The widgets, the app and the library build their clients from learnkit.settings, as the command line does;
    # `learnkit doctor`'s probes are the library's (learnkit.doctor), its options and printing learnkit.cli.doctor.
    modules = [
        p for p in LIBRARY.rglob("*.py") if not _command_line(".".join(("learnkit", *p.relative_to(LIBRARY).parts)))
    ]
    offenders = {
        path.relative_to(LIBRARY).as_posix() for path in modules for name in _imports(path) if _command_line(name)
    }
    assert any("widgets" in p.parts for p in modules)
    assert offenders == {"__main__.py"}  # `python -m learnkit` is the command line's other door


def test_the_command_line_check_knows_a_command_line_module() -> None:
    assert _command_line("learnkit.cli") and _command_line("learnkit.cli.app")
    assert _command_line("learnkit.sandbox.cli") and _command_line("learnkit.cli.client_from_args")
    assert not _command_line("learnkit.client") and not _command_line("learnkit.settings")


def test_a_long_running_kernel_keeps_only_the_newest_callback_errors() -> None:
    import ipywidgets as widgets

    from learnkit.widgets import CALLBACK_ERRORS, guarded

    area = widgets.HTML()
    failing = [guarded(lambda n=n: 1 / 0 if n >= 0 else None, area) for n in range(150)]
    try:
        for call in failing:
            call()
        assert len(CALLBACK_ERRORS) == 100 and "ZeroDivisionError" in area.value
    finally:
        CALLBACK_ERRORS.clear()  # these were on purpose: the suite's check that none is raised must not see them
