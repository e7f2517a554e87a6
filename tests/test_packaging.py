"""Packaging: the layers and their extras, the metadata, the docs' links, and a bare install that PATCHes.

The bare-install test builds the wheel, installs it without extras in a new virtual environment
(dependencies from the package index, as a user's ``pip install learnkit`` would), and sends a
PATCH from there to a sandbox that runs in this test environment.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
from importlib.metadata import metadata, version
from pathlib import Path
from typing import Any

import pytest

import learnkit
from learnkit._extras import EXTRA_OF
from learnkit.errors import MissingExtraError

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def relative_links(path: Path) -> list[str]:
    """The link targets of a Markdown file that are not URLs or in-page anchors."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    targets = [a or b for a, b in _LINK.findall(text)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_repository(path: Path) -> None:
    links = relative_links(path)
    if path.name == "README.md":
        assert "docs/design.md" in links and "docs/api-reference.md" in links
    for link in links:
        target = (path.parent / link.split("#", 1)[0]).resolve()
        assert target.is_relative_to(ROOT), f"{path.name} links outside the repository: {link}"
        assert target.exists(), f"{path.name}: {link} does not exist"


def test_link_finder_sees_links_and_skips_urls_and_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[a](docs/x.md) [b](https://example.org) [c](#here)\n```\n[d](nowhere.md)\n```\n![e](img.png)\n")
    assert relative_links(page) == ["docs/x.md", "img.png"]


def test_version_license_and_metadata() -> None:
    assert learnkit.__version__ == version("learnkit") == PYPROJECT["project"]["version"]
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    info = metadata("learnkit")
    assert PYPROJECT["project"]["urls"] and PYPROJECT["project"]["classifiers"]
    assert any(c.startswith("Programming Language :: Python :: 3.1") for c in PYPROJECT["project"]["classifiers"])
    assert info["Name"] == "learnkit"


def test_the_bare_install_is_the_client_and_each_extra_is_a_layer() -> None:
    project = PYPROJECT["project"]
    bare = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    # urllib3 too: learnkit imports its pools and errors itself (learnkit._transport).
    assert bare == {"pydantic", "requests", "msal", "msal-extensions", "platformdirs", "tzlocal", "urllib3"}
    extras = project["optional-dependencies"]
    assert set(extras) == {"bulk", "widgets", "sandbox", "excel", "notebook"}
    assert "learnkit[bulk]" in extras["widgets"] and "learnkit[bulk]" in extras["excel"]
    assert any(
        d.startswith("learnkit[") and all(x in d for x in ("bulk", "widgets", "sandbox", "excel"))
        for d in extras["notebook"]
    )
    # Every third-party module the message map names is installed by the extra it names.
    names = {extra: " ".join(extras[extra]).lower() for extra in extras}
    pip_name = {"jwt": "pyjwt", "starlette": "fastapi", "numpy": "pandas"}  # brought in by what it names
    for module, extra in EXTRA_OF.items():
        assert pip_name.get(module, module) in names[extra], f"{module} is not in learnkit[{extra}]"


def test_the_readme_first_command_installs_everything() -> None:
    assert 'python -m pip install ".[notebook]"' in (ROOT / "README.md").read_text()


def test_the_repositorys_own_tools_are_dependency_groups_not_extras() -> None:
    """PEP 735: what the tests and benchmarks need is not published; the project itself is installed apart."""
    groups = PYPROJECT["dependency-groups"]
    assert set(groups) == {"test-core", "test", "bench"}
    assert {"include-group": "test-core"} in groups["test"]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for group in groups.values() for d in group if isinstance(d, str)}
    assert {"pytest", "nbval", "mypy", "msgraph-sdk", "packaging"} <= names and "learnkit" not in names
    assert "--group test" in (ROOT / "scripts" / "test.sh").read_text()


def test_every_dependency_declares_the_lower_bound_ci_installs() -> None:
    """scripts/lowest.py turns the core's bounds into the constraints .ci/run's lowest-versions step installs."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lowest", ROOT / "scripts" / "lowest.py")
    assert spec is not None and spec.loader is not None
    lowest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lowest)
    assert lowest.lowest("msal>=1.28.1") == "msal==1.28.1"
    assert lowest.lowest("pandas>=2.0,<4; python_version >= '3.10'") == 'pandas==2.0; python_version >= "3.10"'
    with pytest.raises(SystemExit, match="no lower bound"):
        lowest.lowest("requests")
    pins = [lowest.lowest(d) for d in PYPROJECT["project"]["dependencies"]]
    assert any(p.startswith("urllib3==2.") for p in pins) and any(p.startswith("pydantic==2.1") for p in pins)
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        for requirement in extra:
            if not requirement.startswith("learnkit["):
                lowest.lowest(requirement)  # every extra's requirement has a lower bound too
    assert "scripts/test-lowest.sh" in (ROOT / ".ci" / "run").read_text()


HIDE = "import sys\nfor name in {hidden!r}:\n    sys.modules[name] = None  # as if not installed\n"


def run_hidden(hidden: list[str], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which the ``hidden`` modules cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", HIDE.format(hidden=hidden) + code], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("hidden", "use", "extra"),
    [
        (["pandas"], "learnkit.read_csv", "bulk"),
        (["pandas"], "learnkit.Journal", "bulk"),
        (["tqdm"], "learnkit.apply_csv", "bulk"),
        (["fastapi", "uvicorn"], "learnkit.sandbox.start", "sandbox"),
        (["ipywidgets"], "learnkit.widgets.ActivityForm", "widgets"),
        (["openpyxl"], "learnkit.write_xlsx", "excel"),
    ],
)
def test_a_part_without_its_extra_says_which_to_install(hidden: list[str], use: str, extra: str) -> None:
    code = (
        "import learnkit\n"
        "from learnkit.errors import MissingExtraError\n"
        "try:\n"
        f"    {use}\n"
        "except MissingExtraError as exc:\n"
        "    assert isinstance(exc, ImportError)\n"
        "    print(exc.extra, '|', exc)\n"
        "else:\n"
        "    print('no error')\n"
    )
    done = run_hidden(hidden, code)
    assert done.returncode == 0, done.stderr
    said_extra, message = done.stdout.strip().split(" | ", 1)
    assert said_extra == extra
    assert f"python -m pip install 'learnkit[{extra}]'" in message


def test_the_client_works_with_every_extra_hidden() -> None:
    hidden = sorted(EXTRA_OF)
    done = run_hidden(
        hidden,
        "import learnkit\nprint(learnkit.update_activity(None, 'r', 'a', "
        "{'@odata.type': '#microsoft.graph.learningAssignment', 'status': 'completed'}, dry_run=True).body)",
    )
    assert done.returncode == 0, done.stderr
    assert "'status': 'completed'" in done.stdout


def test_the_sandbox_needs_no_bulk_extra() -> None:
    # It loads JSON tenants with the core's rules (learnkit.models); only a CSV needs pandas.
    done = run_hidden(["pandas", "numpy"], "import learnkit.sandbox.server, learnkit.sandbox.load\nprint('ok')")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_plan_and_its_fingerprint_need_no_bulk_extra() -> None:
    # A plan (a form's, an audit's) is validated and fingerprinted one record at a time with the standard
    # library; only a frame's fingerprints, a column at a time, need pandas.
    code = (
        "import learnkit\n"
        "from learnkit.bulk.fingerprints import activity_etag\n"
        "record = {'@odata.type': '#microsoft.graph.learningAssignment', 'status': 'inProgress'}\n"
        "kind = '#microsoft.graph.learningAssignment'\n"
        "plan = learnkit.PatchPlan(0, 'r', 'a', kind, {'status': 'completed'}, base_etag=activity_etag(record))\n"
        "print(plan.base_etag[:3])\n"
    )
    done = run_hidden(["pandas", "numpy"], code)
    assert done.returncode == 0 and done.stdout.strip() == "v2:", done.stderr


def test_a_command_without_its_extra_is_one_line_and_exit_2() -> None:
    done = run_hidden(["pandas"], "from learnkit.cli import main\nraise SystemExit(main(['runs']))")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "learnkit[bulk]" in done.stderr


def _learnkit_modules() -> list[str]:
    """Every module of the package, found on disk (importing would stop at the first missing extra)."""
    package = ROOT / "learnkit"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_of_an_extra_names_the_extra_however_it_is_imported() -> None:
    """With every extra's modules missing, a module imports (the core) or raises ImportError naming its extra."""
    modules = [m for m in _learnkit_modules() if m != "learnkit.__main__"]
    code = (
        "import importlib, json, sys\n"
        "from learnkit.errors import MissingExtraError\n"
        "said = {}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        said[name] = 'core'\n"
        "    except MissingExtraError as exc:\n"
        "        said[name] = exc.extra\n"
        "    except ImportError as exc:\n"
        "        said[name] = f'bare {type(exc).__name__}: {exc}'\n"
        "try:\n"
        "    from learnkit.audit import audit  # the README's spelling\n"
        "except MissingExtraError as exc:\n"
        "    said['from learnkit.audit import audit'] = exc.extra\n"
        "try:\n"
        "    from learnkit.bulk import apply  # the entry points load on first use\n"
        "except MissingExtraError as exc:\n"
        "    said['from learnkit.bulk import apply'] = exc.extra\n"
        "print(json.dumps(said))\n"
    )
    done = run_hidden(sorted(EXTRA_OF), code)
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert not [m for m, extra in said.items() if extra.startswith("bare")], said
    for name in ("learnkit.bulk.frame", "learnkit.bulk.csvfile", "learnkit.bulk.journal", "learnkit.bulk.runs"):
        assert said[name] == "bulk"
    assert said["learnkit.audit"] == said["from learnkit.audit import audit"] == "bulk"
    assert said["from learnkit.bulk import apply"] == "bulk"
    # The package itself and its pure parts need no extra: `learnkit.bulk.apply` names it when first used.
    assert said["learnkit.bulk"] == said["learnkit.bulk.pacing"] == said["learnkit.bulk.sources"] == "core"
    assert said["learnkit.sandbox.server"] == "sandbox" and said["learnkit.widgets.table"] == "widgets"
    assert said["learnkit.client"] == said["learnkit.models"] == said["learnkit.update"] == "core"
    # With only openpyxl missing, the workbook module names the excel extra and the CSV path still works.
    done = run_hidden(
        ["openpyxl"],
        "from learnkit._extras import MissingExtraError\nimport learnkit.bulk.csvfile\n"
        "try:\n    import learnkit.bulk.xlsxfile\nexcept MissingExtraError as exc:\n    print(exc.extra, exc)\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("excel ") and "learnkit[excel]" in done.stdout


def test_require_names_the_extra_of_a_hidden_module() -> None:
    code = (
        "from learnkit._extras import require\nfrom learnkit.errors import MissingExtraError\n"
        "require('sandbox', 'learnkit.sandbox')  # installed: passes\n"
        "try:\n    require('widgets', 'learnkit.widgets')\n"
        "except MissingExtraError as exc:\n    print(exc.extra, exc.module)\n"
    )
    done = run_hidden(["ipydatagrid"], code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["widgets", "ipydatagrid"]


def test_missing_extra_error_pickles() -> None:
    import pickle

    again = pickle.loads(pickle.dumps(MissingExtraError("learnkit.bulk.frame", "pandas")))
    assert (again.extra, again.part, again.module) == ("bulk", "learnkit.bulk.frame", "pandas")
    assert isinstance(again, ImportError) and isinstance(again, learnkit.LearnkitError)


# --- a bare install in a new virtual environment ------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    return next(out.glob("learnkit-*.whl"))


BARE_CLIENT = """
import json, sys
import learnkit
info = json.load(open(sys.argv[1]))
client = learnkit.GraphClient.for_sandbox(info)
result = learnkit.update_activity(client, info["demo"]["registration_id"], info["demo"]["assignment_id"],
                                  {"@odata.type": "#microsoft.graph.learningAssignment",
                                   "status": "inProgress", "completionPercentage": 42})
print(result.status, learnkit.__version__)
try:
    learnkit.read_csv
except learnkit.LearnkitError as exc:
    print(exc)
"""


@pytest.mark.slow
def test_a_bare_install_imports_and_patches_a_sandbox(wheel: Path, clean_sandbox: Any, tmp_path: Path) -> None:
    env_dir = tmp_path / "bare"
    venv.create(env_dir, with_pip=True, symlinks=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=300)
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    ).stdout
    installed = {d["name"].lower() for d in json.loads(listed)}
    assert {"learnkit", "pydantic", "requests", "msal", "tzlocal"} <= installed
    assert not installed & {"pandas", "fastapi", "uvicorn", "ipywidgets", "tqdm", "trustme"}
    info = tmp_path / "sb.json"
    info.write_text(json.dumps(clean_sandbox.to_json()))
    done = subprocess.run(
        [str(python), "-c", BARE_CLIENT, str(info)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"204 {version('learnkit')}"
    assert "learnkit[bulk]" in lines[1]
    stored = learnkit.GraphClient.for_sandbox(clean_sandbox).get_activity(clean_sandbox.demo["assignment_id"])
    assert stored.completionPercentage == 42


def test_binders_lock_pins_every_package_and_satisfies_what_learnkit_notebook_declares() -> None:
    """binder/requirements.txt is a lock (one version each) that still meets pyproject.toml's bounds."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    lines = [ln for ln in (ROOT / "binder" / "requirements.txt").read_text().splitlines() if ln and ln[0] != "#"]
    pinned = {}
    for line in lines:
        name, _, pin = line.partition("==")
        assert pin and not set(pin) & set("<>=!~ ;"), f"not pinned: {line!r}"
        pinned[canonicalize_name(name)] = Version(pin)
    assert "learnkit" not in pinned  # postBuild installs the checkout itself
    extras = PYPROJECT["project"]["optional-dependencies"]
    wanted, todo, seen = list(PYPROJECT["project"]["dependencies"]), ["notebook"], set()
    while todo:
        extra = todo.pop()
        seen.add(extra)
        for text in extras[extra]:
            requirement = Requirement(text)
            if requirement.name == "learnkit":
                todo.extend(e for e in requirement.extras if e not in seen)
            else:
                wanted.append(text)
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"binder/requirements.txt lacks {requirement.name}: run scripts/lock-binder.sh"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"binder/requirements.txt pins {name}=={pinned[name]}, outside {requirement}: run scripts/lock-binder.sh"
        )
    assert "--no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
    assert "scripts/test-binder.sh" in (ROOT / ".ci" / "run").read_text()
