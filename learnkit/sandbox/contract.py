"""Which contract the sandbox answers by, and the answer it gives for what that contract does not serve.

Two contracts:

- ``metadata``: every operation Graph's v1.0 metadata declares and learnkit uses is served, the provider-wide
  activity list (``GET .../learningProviders/{id}/learningCourseActivities``) included. It is the sandbox's
  behaviour before contracts existed.
- ``documented``: only what a page of Graph's documentation describes. The operations in
  ``learnkit.permissions.METADATA_ONLY`` (the provider-wide list, the same list asked with ``$count=true``,
  and ``POST .../learningContents``) are refused with the answer Graph gives for a navigation its metadata
  declares and its service does not implement: ``400 BadRequest "Unsupported segment type. ODataQuery: ..."``
  (``unsupported``), directly and inside ``$batch``.

``DEFAULT_CONTRACT`` is the one place the default is chosen. A tenant profile (``learnkit.profile``) adds
that tenant's own refusals, each with its recorded status, code and message, under either contract.

In both, a token of a kind an operation's page marks "Not supported" (an application token listing a
learner's activities, a delegated one writing them) is refused with 403 ``Forbidden`` saying which kind
the operation takes (``kind_not_supported``), not with the missing-permission row: no permission of that
kind would make it work.

Pure: no I/O.

>>> rules = ContractRules("documented")
>>> path = "/employeeExperience/learningProviders/p1/learningCourseActivities"
>>> refusal = rules.refusal("list_provider_activities", path)
>>> refusal.status, refusal.code
(400, 'BadRequest')
>>> ContractRules("metadata").refusal("list_provider_activities", path) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from learnkit.clouds import LEARNING_API_CLOUDS, get_cloud
from learnkit.permissions import TokenKind, documented
from learnkit.profile import TenantProfile

__all__ = [
    "CONTRACTS",
    "DEFAULT_CONTRACT",
    "ContractName",
    "ContractRules",
    "Refusal",
    "check_contract",
    "counts",
    "kind_not_supported",
    "not_in_cloud",
    "unsupported",
]

ContractName = Literal["documented", "metadata"]
#: The contracts a sandbox can answer by.
CONTRACTS: tuple[ContractName, ...] = ("documented", "metadata")
#: The contract ``start()`` and ``learnkit sandbox`` use unless told: the one line to change to flip it.
DEFAULT_CONTRACT: ContractName = "documented"


@dataclass(frozen=True)
class Refusal:
    """A Graph error answer for an operation not served: status, error code and message."""

    status: int
    code: str
    message: str


def unsupported(path: str) -> Refusal:
    """What Graph answers for a path its metadata declares and its service does not implement.

    >>> unsupported("/employeeExperience/learningProviders/p1/learningCourseActivities").message
    'Unsupported segment type. ODataQuery: employeeExperience/learningProviders/p1/learningCourseActivities'
    """
    return Refusal(400, "BadRequest", f"Unsupported segment type. ODataQuery: {path.split('?', 1)[0].strip('/')}")


def not_in_cloud(path: str) -> Refusal:
    """What Graph answers for a learning API path in a national cloud its pages do not list: its segment unknown.

    >>> not_in_cloud("/employeeExperience/learningProviders").message
    "Resource not found for the segment 'employeeExperience'."
    """
    return Refusal(400, "BadRequest", "Resource not found for the segment 'employeeExperience'.")


def kind_not_supported(kind: TokenKind) -> Refusal:
    """The 403 for a token of a kind the operation's page marks "Not supported".

    >>> kind_not_supported("application").message.split(":")[0]
    'Application permissions are not supported for this operation'
    """
    if kind == "application":
        return Refusal(
            403,
            "Forbidden",
            "Application permissions are not supported for this operation: "
            "call it with a delegated token (a signed-in user).",
        )
    return Refusal(
        403,
        "Forbidden",
        "Delegated permissions are not supported for this operation: call it with an application token.",
    )


def counts(query: str) -> bool:
    """Whether a raw query string asks for ``$count=true``.

    >>> counts("$top=1&%24count=TRUE"), counts("$top=1")
    (True, False)
    """
    return any(
        key.lower() == "$count" and value.strip().lower() == "true"
        for key, value in parse_qsl(query, keep_blank_values=True)
    )


def check_contract(name: str) -> ContractName:
    """``name`` if it is a contract, else ValueError naming the choices."""
    if name not in CONTRACTS:
        raise ValueError(f"contract {name!r} is not one of {', '.join(CONTRACTS)}")
    return name


class ContractRules:
    """Decides, per request, whether the sandbox serves an operation: the contract, then a tenant's profile.

    ``contract`` may be switched while serving (``Sandbox.set_contract``); ``restore()`` puts back the
    one it started with.
    """

    def __init__(
        self, contract: str = DEFAULT_CONTRACT, profile: TenantProfile | None = None, cloud: str = "global"
    ) -> None:
        self.started: ContractName = check_contract(contract)
        self.contract: ContractName = self.started
        self.profile = profile
        #: The national cloud imitated: one Graph's pages do not list for this API refuses all of it.
        self.cloud = get_cloud(cloud).name

    def restore(self) -> None:
        """Back to the contract the sandbox started with."""
        self.contract = self.started

    def refusal(self, operation: str, path: str, query: str = "") -> Refusal | None:
        """The refusal for ``operation`` (a route's name, or ``batch``) at ``path`` with ``query``, or None."""
        if self.cloud not in LEARNING_API_CLOUDS and "employeeexperience" in path.lower().split("?", 1)[0]:
            return not_in_cloud(path)
        names = [operation]
        if operation == "list_provider_activities" and counts(query):
            names.append("count_provider_activities")
        if self.profile is not None:
            for name in names:
                record = self.profile.refused(name)
                if record is not None:
                    assert record.status is not None and record.code is not None  # a refusal carries both
                    message = record.message or f"The tenant this sandbox imitates refused {name}."
                    return Refusal(record.status, record.code, message)
        if self.contract == "documented" and not all(documented(name) for name in names):
            return unsupported(path)
        return None
