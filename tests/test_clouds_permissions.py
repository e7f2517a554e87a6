"""The cloud table and the permission map: one source each, read by everything else."""

from __future__ import annotations

import pytest

import learnkit
from learnkit.client import GraphClient
from learnkit.clouds import CLOUDS, get_cloud
from learnkit.permissions import PERMISSIONS

EXPECTED = {
    "global": ("graph.microsoft.com", "login.microsoftonline.com"),
    "us_gov_l4": ("graph.microsoft.us", "login.microsoftonline.us"),
    "us_gov_l5": ("dod-graph.microsoft.us", "login.microsoftonline.us"),
    "china": ("microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_cloud_sets_graph_host_authority_and_scope(name: str) -> None:
    graph, login = EXPECTED[name]
    cloud = get_cloud(name)
    assert cloud.graph_url == f"https://{graph}/v1.0"
    assert cloud.authority("t1") == f"https://{login}/t1"
    assert cloud.scope == f"https://{graph}/.default"
    # connect() builds without contacting anyone: msal reads the authority on first use only.
    client = GraphClient.connect("t1", "app", client_secret="s", cloud=name)
    assert client.graph_url == cloud.graph_url
    assert client.credential is not None
    assert client.credential.authority == f"https://{login}/t1"  # type: ignore[attr-defined]
    assert client.credential.scopes == [f"https://{graph}/.default"]  # type: ignore[attr-defined]


def test_a_national_cloud_is_said_once_to_be_undocumented_for_this_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from learnkit import clouds

    monkeypatch.setattr(clouds, "_warned", set())
    with pytest.warns(learnkit.NationalCloudWarning, match="global service only") as seen:
        GraphClient.connect("t1", "app", client_secret="s", cloud="us_gov_l4")
        GraphClient.connect("t1", "app", client_secret="s", cloud="us_gov_l4")  # once per cloud
    assert len(seen) == 1 and "US Government L4" in str(seen[0].message) and "learnkit doctor" in str(seen[0].message)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GraphClient.connect("t1", "app", client_secret="s", cloud="global")


def test_unknown_cloud_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        get_cloud("moon")
    assert len(CLOUDS) == 4


def test_every_client_endpoint_has_a_permission_and_every_permission_an_endpoint() -> None:
    # The raw PATCH methods are named for the HTTP verb (patch_activity), their operations for Graph's docs.
    method_of = {"update_activity": "patch_activity", "update_provider": "patch_provider"}
    method_of["update_activity_by_external_id"] = "patch_activity_by_external_id"
    methods = {name for name in PERMISSIONS if callable(getattr(GraphClient, method_of.get(name, name), None))}
    assert methods == set(PERMISSIONS)


def test_the_seed_update_permissions() -> None:
    update = PERMISSIONS["update_activity"]
    assert update.kinds == ("application",)
    assert update.least_privileged == "LearningAssignedCourse.ReadWrite.All"
    assert "LearningSelfInitiatedCourse.ReadWrite.All" in update.application
    assert update.delegated == ()
    assert PERMISSIONS["list_learner_activities"].kinds == ("delegated",)
    assert PERMISSIONS["update_provider"].least_privileged == "LearningProvider.ReadWrite"


def test_public_api_is_flat_sorted_and_importable() -> None:
    def isort_style(name: str) -> tuple[int, str]:  # ruff's RUF022 order: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert learnkit.__all__ == sorted(learnkit.__all__, key=isort_style)
    for name in learnkit.__all__:
        assert hasattr(learnkit, name), name
    # dir() (tab completion) lists the public names and subpackages, not what the module imports for itself.
    listed = {name for name in dir(learnkit) if not name.startswith("__")}
    assert listed == set(learnkit.__all__) - {"__version__"} | {"audit", "bulk", "sandbox", "widgets"}


def test_readme_permission_table_is_the_map() -> None:
    from pathlib import Path

    from learnkit.permissions import markdown_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert markdown_table() in readme
