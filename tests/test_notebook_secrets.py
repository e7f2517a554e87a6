"""No secret, key or token in any notebook output: run each notebook, then ask its kernel
for every secret and token it held, and look for them in what the notebook showed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
MARKER = "LEARNKIT-SECRETS:"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")

COLLECT = f'''
import gc, json, os
import learnkit, learnkit.sandbox
_found = set()
for _obj in gc.get_objects():
    try:
        type(_obj)
        _kind = isinstance(_obj, (learnkit.sandbox.Sandbox, learnkit.GraphClient))
    except ReferenceError:  # a weak proxy whose object is gone holds nothing
        continue
    if not _kind:
        continue
    if isinstance(_obj, learnkit.sandbox.Sandbox):
        for _app in _obj.to_json()["apps"]:
            _found.add(_app.get("client_secret") or "")
            _found.add((_app.get("certificate") or {{}}).get("pfx_passphrase") or "")
            _key = (_app.get("certificate") or {{}}).get("private_key_path")
            if _key and os.path.exists(_key):
                _found.update(open(_key).read().splitlines()[1:3])
    elif isinstance(_obj, learnkit.GraphClient):
        for _source in (_obj.credential, _obj.delegated):
            _cache = getattr(_source, "_cache", None)
            if _cache is not None:
                for _entry in _cache.search("AccessToken") or []:
                    _found.add(_entry["secret"])
print("{MARKER}" + json.dumps(sorted(s for s in _found if s)))
'''


def texts(notebook: nbformat.NotebookNode) -> list[str]:
    shown = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            shown.append(str(output.get("text", "")))
            shown.extend(str(v) for v in output.get("data", {}).values())
            shown.extend(output.get("traceback", []))
    return shown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_hold_no_token_or_key(path: Path) -> None:
    shown = "\n".join(texts(nbformat.read(path, as_version=4)))
    assert not JWT.search(shown)
    assert "PRIVATE KEY" not in shown


@pytest.mark.slow  # a kernel per notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_fresh_run_shows_none_of_the_secrets_it_held(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(COLLECT))
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    # The collecting cell's line, wherever it lands among the outputs: a stream from an earlier cell's
    # background thread (a progress bar's last newline) may still arrive after it.
    shown = texts(notebook)
    found = [text for text in shown if text.startswith(MARKER)]
    assert len(found) == 1, shown[-3:]
    shown.remove(found[0])
    secrets = json.loads(found[0][len(MARKER) :].splitlines()[0])
    assert secrets, "the notebook held no sandbox or client: nothing was checked"
    everything = "\n".join(shown)
    assert not JWT.search(everything)
    for secret in secrets:
        assert secret not in everything
