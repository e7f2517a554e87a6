"""Which kind of token and which permission each Graph operation needs, and which Graph documents: the one map.

The client reads it to choose a token source and to refuse a call before
sending it; the sandbox reads it to enforce the same rules; the README's
table is generated from it. ``METADATA_ONLY`` names the operations Graph's
v1.0 metadata declares but no page of its documentation describes: a tenant
may refuse them, the sandbox's ``documented`` contract does, and
``learnkit doctor`` says what to use instead.

>>> PERMISSIONS["update_activity"].least_privileged
'LearningAssignedCourse.ReadWrite.All'
>>> documented("list_provider_activities"), documented("get_activity")
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KINDS", "METADATA_ONLY", "PERMISSIONS", "Permission", "TokenKind", "documented", "markdown_table"]

TokenKind = Literal["application", "delegated"]
#: Both token kinds, application first.
KINDS: tuple[TokenKind, ...] = ("application", "delegated")

_READ_APP = (
    "LearningAssignedCourse.Read.All",
    "LearningSelfInitiatedCourse.Read.All",
    "LearningAssignedCourse.ReadWrite.All",
    "LearningSelfInitiatedCourse.ReadWrite.All",
)
_READ_DELEGATED = (
    "LearningAssignedCourse.Read",
    "LearningAssignedCourse.Read.All",
    "LearningSelfInitiatedCourse.Read",
    "LearningSelfInitiatedCourse.Read.All",
)
_WRITE_APP = ("LearningAssignedCourse.ReadWrite.All", "LearningSelfInitiatedCourse.ReadWrite.All")
_CONTENT_READ = ("LearningContent.Read.All", "LearningContent.ReadWrite.All")
# Reading another user's name and mail: the basic profile is enough; the broader ones also suffice.
_USER_READ = (
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)


@dataclass(frozen=True)
class Permission:
    """What one operation needs.

    ``kinds``: the token kinds Graph accepts, preferred first. ``application``
    and ``delegated``: the permissions that suffice for each kind, least
    privileged first (empty for a kind that is not accepted).
    """

    kinds: tuple[TokenKind, ...]
    application: tuple[str, ...] = ()
    delegated: tuple[str, ...] = ()

    @property
    def least_privileged(self) -> str:
        """The permission to ask an administrator for, for the preferred kind."""
        return (self.application if self.kinds[0] == "application" else self.delegated)[0]

    def accepted(self, kind: TokenKind) -> tuple[str, ...]:
        """The permissions that suffice for a token of this kind (empty: kind refused)."""
        return self.application if kind == "application" else self.delegated


_WRITE = Permission(("application",), application=_WRITE_APP)
_READ_EITHER = Permission(("application", "delegated"), application=_READ_APP, delegated=_READ_DELEGATED)
# Registering, changing and removing a provider: delegated only (the pages: "Application: Not supported").
_PROVIDER_WRITE = Permission(("delegated",), delegated=("LearningProvider.ReadWrite",))

#: Client method name -> what it needs. ``batch`` needs nothing itself: each sub-request is checked.
PERMISSIONS: dict[str, Permission] = {
    "get_activity": _READ_EITHER,
    "get_activity_by_external_id": _READ_EITHER,
    "list_provider_activities": _READ_EITHER,
    "list_learner_activities": Permission(("delegated",), delegated=_READ_DELEGATED),
    "create_activity": _WRITE,
    "update_activity": _WRITE,
    "update_activity_by_external_id": _WRITE,
    "delete_activity": _WRITE,
    "list_providers": Permission(("delegated",), delegated=("LearningProvider.Read", "LearningProvider.ReadWrite")),
    "get_provider": Permission(("delegated",), delegated=("LearningProvider.Read", "LearningProvider.ReadWrite")),
    "update_provider": _PROVIDER_WRITE,
    "create_provider": _PROVIDER_WRITE,
    "delete_provider": _PROVIDER_WRITE,
    "list_contents": Permission(("application", "delegated"), application=_CONTENT_READ, delegated=_CONTENT_READ),
    "get_content": Permission(("application", "delegated"), application=_CONTENT_READ, delegated=_CONTENT_READ),
    "create_content": Permission(("application",), application=("LearningContent.ReadWrite.All",)),
    "upsert_content": Permission(("application",), application=("LearningContent.ReadWrite.All",)),
    "get_user": Permission(("application", "delegated"), application=_USER_READ, delegated=_USER_READ),
}


#: Operations the v1.0 metadata declares and no page of Graph's documentation describes -> what to use instead.
#: ``count_provider_activities`` is the provider list asked with ``$count=true`` (no client method of its own).
#: Every other operation in ``PERMISSIONS`` (and ``batch``, Graph's JSON batching) has its page.
METADATA_ONLY: dict[str, str] = {
    "list_provider_activities": "use --external-ids/--ids/--learners (reads by external id, by id or by learner, "
    "which Graph documents)",
    "count_provider_activities": "count what --external-ids/--ids/--learners read",
    "create_content": "create a content with PATCH .../learningContents(externalId='...'), Graph's documented upsert",
}


def documented(operation: str) -> bool:
    """Whether a page of Graph's v1.0 documentation describes ``operation`` (a ``PERMISSIONS`` key, or ``batch``)."""
    return operation not in METADATA_ONLY


def markdown_table() -> str:
    """The permission map as the Markdown table the README shows (a test keeps them equal).

    >>> markdown_table().splitlines()[0]
    '| operation | token | least privileged | also accepted |'
    """
    lines = ["| operation | token | least privileged | also accepted |", "|---|---|---|---|"]
    for operation, need in PERMISSIONS.items():
        others = [p for kind in need.kinds for p in need.accepted(kind) if p != need.least_privileged]
        also = ", ".join(dict.fromkeys(others))
        lines.append(f"| `{operation}` | {' or '.join(need.kinds)} | {need.least_privileged} | {also} |")
    return "\n".join(lines)
