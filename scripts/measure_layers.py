"""Measure what each install layer of learnkit puts on disk: one fresh venv per layer.

Builds the wheel of this checkout, then for the bare install and each extra creates a
virtual environment under a temporary folder, installs the wheel with that extra, and
reports the size of site-packages and the number of distributions, less what an empty
venv already holds (pip itself). Prints a Markdown table.

Example: ``python scripts/measure_layers.py`` (about 5 minutes; needs the package index)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: layer name -> the pip requirement suffix and what it is for
LAYERS: dict[str, tuple[str, str]] = {
    "learnkit": ("", "client, models, errors, sign-in"),
    "learnkit[bulk]": ("[bulk]", "+ pandas, CSV, bulk $batch, journal"),
    "learnkit[sandbox]": ("[sandbox]", "+ the embedded Graph"),
    "learnkit[widgets]": ("[widgets]", "+ ipywidgets workbench (includes bulk)"),
    "learnkit[excel]": ("[excel]", "+ openpyxl, .xlsx export and apply (includes bulk)"),
    "learnkit[notebook]": ("[notebook]", "everything, with JupyterLab and Voila"),
}


def site_packages(venv: Path) -> Path:
    """The venv's purelib folder (where pip installs)."""
    py = venv / "bin" / "python"
    out = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def footprint(folder: Path) -> tuple[int, int]:
    """Bytes on disk under ``folder`` and the number of ``*.dist-info`` in it."""
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return size, len(list(folder.glob("*.dist-info")))


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)], check=True)
    return next(out.glob("learnkit-*.whl"))


def measure(wheel: Path, suffix: str, work: Path) -> tuple[int, int]:
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = site_packages(venv)
    base_size, base_count = footprint(site)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-cache-dir", f"{wheel}{suffix}"], check=True
    )
    size, count = footprint(site)
    return size - base_size, count - base_count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", nargs="*", choices=sorted(LAYERS), help="measure only these layers")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="learnkit-layers-") as tmp:
        wheel = build_wheel(Path(tmp) / "wheel")
        for name, (suffix, what) in LAYERS.items():
            if args.only and name not in args.only:
                continue
            with tempfile.TemporaryDirectory(dir=tmp) as work:
                size, count = measure(wheel, suffix, Path(work))
            rows.append((name, what, size, count))
            print(f"{name}: {size / 1e6:.1f} MB, {count} distributions", file=sys.stderr, flush=True)
    print("| `pip install` | what it adds | installed size | distributions |")
    print("|---|---|---|---|")
    for name, what, size, count in rows:
        print(f"| `{name}` | {what} | {size / 1e6:.0f} MB | {count} |")
    print(f"\n_Python {sysconfig.get_python_version()}, {sys.platform}; site-packages of a fresh venv, less pip._")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
