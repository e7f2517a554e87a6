"""``learnkit.settings``: one object says what a client connects to, for the command line, the widgets and the app."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest

from learnkit.bulk.frame import instant_text
from learnkit.errors import InvalidInputError, SettingsError, TokenError
from learnkit.sandbox import Sandbox
from learnkit.settings import DELEGATED_CLIENT_VARIABLE, ConnectionSettings

TENANT = {"AZURE_TENANT_ID": "contoso", "AZURE_CLIENT_ID": "app-1", "AZURE_CLIENT_SECRET": "s3cret-value"}


def test_the_variables_become_settings_and_the_secret_stays_out_of_the_repr() -> None:
    env = {
        **TENANT,
        DELEGATED_CLIENT_VARIABLE: "public-1",
        "LEARNKIT_CLOUD": "usgov",
        "AZURE_CLIENT_CERTIFICATE_PATH": "",
    }
    settings = ConnectionSettings.from_env(env)
    assert (settings.tenant_id, settings.client_id, settings.delegated_client_id) == ("contoso", "app-1", "public-1")
    assert settings.cloud == "usgov" and settings.certificate_path is None  # an empty variable is unset
    assert settings.has_app_credential
    assert "s3cret-value" not in repr(settings)
    assert ConnectionSettings.from_env(env, cloud="global", sandbox_json="sb.json").cloud == "global"


def test_a_tenant_client_is_built_from_the_settings_without_signing_in() -> None:
    client = ConnectionSettings.from_env(TENANT).client(deadline=5)
    assert client.graph_url == "https://graph.microsoft.com/v1.0"
    assert client.credential is not None and client.delegated is None
    assert client.session.deadline == 5
    assert "s3cret-value" not in repr(client)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "AZURE_TENANT_ID, AZURE_CLIENT_ID"),
        ({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"}, "set AZURE_CLIENT_SECRET"),
    ],
)
def test_incomplete_settings_say_which_variable_to_set(env: dict[str, str], said: str) -> None:
    with pytest.raises(TokenError, match=said):
        ConnectionSettings.from_env(env).client()


def test_learners_need_a_public_client_on_a_tenant() -> None:
    with pytest.raises(TokenError, match=DELEGATED_CLIENT_VARIABLE):
        ConnectionSettings.from_env(TENANT).client(delegated=True)


def test_a_sandbox_client_talks_to_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "sb.json"
    path.write_text(json.dumps(sandbox.to_json()) + "\n")
    client = ConnectionSettings(sandbox_json=str(path)).client()
    activity = sandbox.demo["assignment_id"]
    assert client.get_activity(activity).id == activity


def test_a_stopped_sandbox_is_a_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "sb.json"
    path.write_text(json.dumps({"graph_url": "https://127.0.0.1:1/v1.0", "apps": [], "ca_cert": "gone.pem"}) + "\n")
    with pytest.raises(SettingsError, match="not running any more") as info:
        ConnectionSettings(sandbox_json=str(path)).client()
    assert info.value.stopped
    assert pickle.loads(pickle.dumps(info.value)).stopped


def test_a_naive_instant_is_refused_naming_its_field() -> None:
    with pytest.raises(InvalidInputError) as info:
        instant_text(pd.Timestamp("2024-05-01 10:00"), "completedDateTime")
    assert info.value.field == "completedDateTime" and "time zone" in str(info.value)
    assert instant_text(pd.Timestamp("2024-05-01 10:00", tz="UTC"), "completedDateTime") == "2024-05-01T10:00:00+00:00"
