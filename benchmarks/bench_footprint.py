"""Import time and installed size: learnkit vs msgraph-sdk.

Import time is the best of ``--repeat`` fresh interpreters timing the import a user
writes (``import learnkit``; ``from msgraph import GraphServiceClient``), plus the
bulk path (``from learnkit.bulk import apply``, which brings pandas). Installed size is what the
distribution's own files take on disk, then with every distribution it needs,
transitively (a dependency shared by both is counted in both).

Run: ``python -m benchmarks.bench_footprint``
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

import learnkit
from benchmarks.common import environment, table

IMPORTS = {
    "learnkit": "import learnkit",
    "learnkit.bulk": "from learnkit.bulk import apply",
    "msgraph-sdk": "from msgraph import GraphServiceClient",
}


def import_seconds(statement: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    ]
    return min(runs)


def _name(dist: metadata.Distribution) -> str:
    return re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()


def dist_bytes(dist: metadata.Distribution) -> int:
    """Bytes of a distribution's installed files (for an editable install: its source package)."""
    if _name(dist) == "learnkit":
        root = Path(learnkit.__file__).parent
        return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    total = 0
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def closure(name: str) -> dict[str, metadata.Distribution]:
    """A distribution and every distribution it requires (no extras), transitively."""
    found: dict[str, metadata.Distribution] = {}
    todo = [name]
    while todo:
        try:
            dist = metadata.distribution(todo.pop())
        except metadata.PackageNotFoundError:
            continue
        key = _name(dist)
        if key in found:
            continue
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rows = []
    for label, statement in IMPORTS.items():
        dist_name = "learnkit" if label.startswith("learnkit") else label
        try:
            seconds = import_seconds(statement, args.repeat)
        except subprocess.CalledProcessError:
            rows.append([f"`{statement}`", "not installed", "", "", ""])
            continue
        dists = closure(dist_name)
        own = dist_bytes(dists[dist_name])
        everything = sum(dist_bytes(d) for d in dists.values())
        rows.append(
            [
                f"`{statement}`",
                f"{seconds * 1000:.0f} ms",
                f"{own / 1e6:.1f} MB",
                f"{everything / 1e6:.0f} MB",
                len(dists),
            ]
        )
    text = "\n".join(
        [
            f"### (f) import time and installed size (best of {args.repeat} fresh interpreters)\n",
            table(["import", "import time", "package on disk", "with its dependencies", "distributions"], rows),
            "\nlearnkit's dependencies include what its other parts need (the sandbox's FastAPI and uvicorn, "
            "ipywidgets, pandas); msgraph-sdk's do not include pandas.\n",
            f"_{environment()}._\n",
        ]
    )
    print(text)
    return text


if __name__ == "__main__":
    main()
