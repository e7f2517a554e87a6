"""Print pip constraints that pin each core dependency to the lowest version ``pyproject.toml`` declares.

pip has no ``--resolution=lowest``; installing with ``-c`` these lines does the same for the core (the
``[project] dependencies``), so CI can show that the lower bounds are true (``.ci/run``). A dependency
without a lower bound (``>=``, ``~=`` or ``==``) is an error: its lowest version is whatever is oldest.

Example::

    python scripts/lowest.py > lowest.txt      # pydantic==2.11.0, requests==2.32.0, ...
    python -m pip install -c lowest.txt -e ".[bulk,sandbox]"
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def lowest(requirement: str) -> str:
    """The constraint pinning ``requirement`` to its lower bound: ``lowest("msal>=1.29")`` -> ``msal==1.29``."""
    parsed = Requirement(requirement)
    floors = [s.version for s in parsed.specifier if s.operator in (">=", "~=", "==")]
    if not floors:
        raise SystemExit(f"scripts/lowest.py: {requirement!r} declares no lower bound")
    marker = f"; {parsed.marker}" if parsed.marker else ""
    return f"{parsed.name}=={max(floors, key=Version)}{marker}"


def main() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    for requirement in project["dependencies"]:
        print(lowest(requirement))


if __name__ == "__main__":
    sys.exit(main())
