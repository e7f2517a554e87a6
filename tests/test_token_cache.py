"""A delegated sign-in remembered across restarts (msal-extensions' persisted cache), and ``learnkit logout``.

Each "kernel" is a fresh Python process signing the sandbox's demo learner in by device code,
with the cache in a file. Only the first may show a device code; a restart signs in from the
cache (the refresh token, once the access token is near its end), until ``learnkit logout``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msal_extensions
import pytest

import learnkit
from learnkit.cli import client_from_args, main
from learnkit.credentials import token_claims
from learnkit.sandbox import Sandbox, start
from learnkit.token_cache import CACHE_FILE, default_cache_path, forget_sign_ins, open_token_cache
from learnkit.widgets.connect import ConnectPanel

ROOT = Path(__file__).resolve().parents[1]

#: One kernel: signs the demo learner in (a device code only if the cache cannot), lists the providers.
KERNEL = """
import json, sys
from learnkit import DeviceCodeSignIn, GraphClient
info, cache, approve = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3] == "approve"
public = next(a for a in info["apps"] if a["name"] == "learnkit-delegated")

def prompt(message):
    if not approve:
        sys.exit("asked for a device code")  # a person would have to type it in: the cache did not serve

sign_in = DeviceCodeSignIn(info["tenant_id"], public["client_id"], authority=info["authority"],
                           verify=info["ca_cert"], cache_path=cache, prompt=prompt)
client = GraphClient(info["graph_url"], delegated=sign_in, verify=info["ca_cert"], trust_env=False)
print(json.dumps([p.id for p in client.list_providers()]))
"""


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[Sandbox]:
    # msal takes a token with under 5 minutes left as expired: a restart must use the refresh token.
    with start(db=tmp_path / "short.db", token_lifetime=302) as sb:
        yield sb


def kernel(sb: Sandbox, cache: Path, tmp_path: Path, *, approve: bool) -> subprocess.CompletedProcess[str]:
    info = tmp_path / "sb.json"
    info.write_text(json.dumps(sb.to_json()))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-c", KERNEL, str(info), str(cache), "approve" if approve else "no"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.slow  # starts learnkit in a process of its own
def test_a_delegated_sign_in_survives_a_restart_until_logout(short_lived: Sandbox, tmp_path: Path) -> None:
    sb, cache = short_lived, tmp_path / "data" / "tokens.bin"
    first = kernel(sb, cache, tmp_path, approve=True)
    assert first.returncode == 0, first.stderr
    assert sb.demo["registration_id"] in json.loads(first.stdout)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    # From here on nobody approves a device code: a restart that asked for one would end in "asked for".
    sb.set_auto_approve(False)
    for _ in range(2):
        again = kernel(sb, cache, tmp_path, approve=False)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == json.loads(first.stdout)
    logout = subprocess.run(
        [sys.executable, "-m", "learnkit", "logout", "--cache", str(cache)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
    )
    assert logout.returncode == 0 and f"forgot the sign-ins remembered in {cache}" in logout.stdout
    assert not cache.exists()
    after = kernel(sb, cache, tmp_path, approve=False)
    assert after.returncode != 0 and "asked for a device code" in after.stderr


def test_without_encryption_the_cache_is_an_owner_only_file_and_a_log_line_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_encryption(location: str) -> Any:
        raise ImportError("No module named 'gi'")  # what Linux without PyGObject and libsecret raises

    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", no_encryption)
    path = tmp_path / "plain" / "tokens.bin"
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)  # made wider by hand: narrowed again
    with caplog.at_level(logging.WARNING, logger="learnkit"):
        cache = open_token_cache(path)
        open_token_cache(path)
    assert not getattr(cache, "is_encrypted", True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    said = [r.getMessage() for r in caplog.records if "plain file" in r.getMessage()]
    assert len(said) == 1 and str(path) in said[0] and "no encryption" in said[0]


def test_an_encrypted_persistence_is_used_where_the_platform_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    chosen: list[str] = []

    class Encrypted(msal_extensions.FilePersistence):  # stands in for the Keychain, DPAPI or libsecret
        is_encrypted = True

    def encrypted(location: str) -> Any:
        chosen.append(location)
        return Encrypted(location)

    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", encrypted)
    with caplog.at_level(logging.WARNING, logger="learnkit"):
        cache = open_token_cache(tmp_path / "tokens.bin")
    assert chosen == [str(tmp_path / "tokens.bin")] and getattr(cache, "is_encrypted", False)
    assert not [r for r in caplog.records if "plain file" in r.getMessage()]


def test_the_default_cache_is_in_the_data_folder_and_logout_without_one_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEARNKIT_DATA_DIR", str(tmp_path / "lk"))
    assert default_cache_path() == tmp_path / "lk" / CACHE_FILE
    assert main(["logout"]) == 0
    assert capsys.readouterr().out.strip() == f"no sign-in remembered in {default_cache_path()}: nothing to forget"
    open_token_cache(default_cache_path())
    assert default_cache_path().exists() and forget_sign_ins() and not default_cache_path().exists()


def test_the_widgets_the_app_and_the_command_line_remember_delegated_sign_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No sign-in happens here (it would call the real authority): what is built is checked.
    monkeypatch.setenv("LEARNKIT_DATA_DIR", str(tmp_path / "lk"))
    panel = ConnectPanel()
    panel.mode.value = "tenant"
    panel.tenant_id.value = "contoso.onmicrosoft.com"
    panel.auth.value = "none"
    panel.delegated_client_id.value = "99999999-2222-3333-4444-555555555555"
    from_panel = panel._connect_tenant().delegated
    assert isinstance(from_panel, learnkit.DeviceCodeSignIn) and from_panel.cache_path == default_cache_path()

    env = {
        "AZURE_TENANT_ID": "contoso.onmicrosoft.com",
        "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "AZURE_CLIENT_SECRET": "s3cret",
        "LEARNKIT_DELEGATED_CLIENT_ID": "99999999-2222-3333-4444-555555555555",
    }
    args = type("Args", (), {"sandbox_json": None, "cloud": "global"})()
    from_cli = client_from_args(args, env, delegated=True).delegated  # type: ignore[arg-type]
    assert isinstance(from_cli, learnkit.DeviceCodeSignIn) and from_cli.cache_path == default_cache_path()
    # The application sign-in is not kept on disk: it signs in again silently, from its own secret.
    assert getattr(client_from_args(args, env).credential, "cache_path", "") is None  # type: ignore[arg-type]


def test_connect_takes_a_cache_path_for_its_sign_ins(tmp_path: Path) -> None:
    path = tmp_path / "mine.bin"
    client = learnkit.connect("contoso", "app", client_secret="s3cret", delegated_client_id="public", cache_path=path)
    assert isinstance(client.delegated, learnkit.DeviceCodeSignIn) and client.delegated.cache_path == path
    assert isinstance(client.credential, learnkit.SecretSignIn) and client.credential.cache_path == path


def test_a_cache_that_cannot_be_read_starts_afresh_with_a_log_line(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tokens.bin"
    path.write_text('{"AccessToken": {"cut sho')
    path.chmod(0o600)
    demo = sb.apps["learnkit-demo"]
    with caplog.at_level(logging.WARNING, logger="learnkit"):
        sign_in = learnkit.SecretSignIn(
            sb.tenant_id,
            demo.client_id,
            demo.client_secret or "",
            authority=sb.authority,
            verify=sb.ca_cert,
            cache_path=path,
        )
        assert token_claims(sign_in.get_token().token)["roles"]
    assert any("could not be read" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    assert "AccessToken" in path.read_text()  # written again, whole
