"""Microsoft's national clouds: the one table of Graph hosts and sign-in authorities.

>>> CLOUDS["us_gov_l4"].scope
'https://graph.microsoft.us/.default'
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from learnkit.errors import InvalidInputError, NationalCloudWarning

__all__ = ["CLOUDS", "LEARNING_API_CLOUDS", "Cloud", "get_cloud", "warn_if_unavailable"]


@dataclass(frozen=True)
class Cloud:
    """One national cloud: its Graph host and its sign-in authority host."""

    name: str
    display_name: str
    graph_host: str
    authority_host: str

    @property
    def graph_url(self) -> str:
        """Base URL that v1.0 paths are appended to."""
        return f"https://{self.graph_host}/v1.0"

    @property
    def scope(self) -> str:
        """The app-only ``.default`` scope; tokens do not cross clouds."""
        return f"https://{self.graph_host}/.default"

    def authority(self, tenant_id: str) -> str:
        """The msal authority URL for a tenant."""
        return f"https://{self.authority_host}/{tenant_id}"


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud("global", "Global", "graph.microsoft.com", "login.microsoftonline.com"),
        Cloud("us_gov_l4", "US Government L4", "graph.microsoft.us", "login.microsoftonline.us"),
        Cloud("us_gov_l5", "US Government L5 (DOD)", "dod-graph.microsoft.us", "login.microsoftonline.us"),
        Cloud("china", "China (21Vianet)", "microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"),
    )
}


#: The clouds Graph's learning API pages mark as available ("This API is available in the following national
#: cloud deployments": the global service alone, on every page of this API).
LEARNING_API_CLOUDS = frozenset({"global"})
_warned: set[str] = set()


def warn_if_unavailable(cloud: Cloud) -> None:
    """Say once per process, as a ``NationalCloudWarning``, that the learning API is not documented in ``cloud``.

    >>> warn_if_unavailable(CLOUDS["global"])  # nothing to say
    """
    if cloud.name in LEARNING_API_CLOUDS or cloud.name in _warned:
        return
    _warned.add(cloud.name)
    warnings.warn(
        NationalCloudWarning(
            f"{cloud.display_name}: Graph's pages for the learning API mark it available in the global service "
            "only (the national cloud availability table at the top of each page, e.g. 'Update "
            "learningCourseActivity'); expect its calls to be refused there. Run `learnkit doctor` to see "
            "what this tenant serves"
        ),
        stacklevel=3,
    )


def get_cloud(name: str) -> Cloud:
    """A cloud by name (``global``, ``us_gov_l4``, ``us_gov_l5``, ``china``; dashes allowed).

    >>> get_cloud("us-gov-l5").graph_host
    'dod-graph.microsoft.us'
    """
    key = name.strip().lower().replace("-", "_")
    if key not in CLOUDS:
        raise InvalidInputError("cloud", "invalid", f"unknown cloud {name!r}: choose one of {', '.join(CLOUDS)}")
    return CLOUDS[key]
