"""A tenant profile: what ``learnkit doctor`` found one tenant serves, and which permissions its tokens hold.

A JSON file, versioned by its ``format``. It holds names of permissions, HTTP statuses, Graph's error
codes and messages, the Graph URL and the tenant id: never a secret or a token (a string shaped like an
access token is refused on load and on save). ``learnkit sandbox --profile FILE`` answers as that tenant
did: each operation recorded as not served is refused with the recorded status and code, and the demo
apps' tokens carry only the permissions recorded as granted.

The shape::

    {"format": "learnkit-tenant-profile/1",
     "service": {"graph_url": "https://graph.microsoft.com/v1.0", "tenant_id": "...", "cloud": "global"},
     "provider": "01e8f81b-...",
     "tokens": {"application": {"signs_in": true, "granted": ["LearningAssignedCourse.ReadWrite.All"]},
                "delegated": {"signs_in": null, "granted": null}},
     "operations": {"list_provider_activities": {"served": false, "status": 400, "code": "BadRequest",
                                                 "message": "...", "token": "application"}}}

``served`` is true when some token kind got an answer, false when the service refused the operation
itself (not for a missing permission, an unknown id or a throttle), null when the probe learnt neither.

Example::

    profile = load_profile("tenant.json")
    profile.refused("list_provider_activities")    # the recorded refusal, or None
    profile.granted("application")                 # frozenset of roles, or None when unknown
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from learnkit.errors import InvalidInputError
from learnkit.permissions import TokenKind

__all__ = [
    "PROBED_OPERATIONS",
    "PROFILE_FORMAT",
    "OperationRecord",
    "ServiceRecord",
    "TenantProfile",
    "TokenRecord",
    "load_profile",
]

#: The ``format`` of the profiles this learnkit reads and writes.
PROFILE_FORMAT = "learnkit-tenant-profile/1"

#: The operations a profile records: every read learnkit's flows use, in the order ``learnkit doctor``
#: probes them. Names are ``learnkit.permissions.PERMISSIONS`` keys, plus ``count_provider_activities``
#: (the provider list with ``$count=true``) and ``batch`` (``POST /$batch``).
PROBED_OPERATIONS: tuple[str, ...] = (
    "list_provider_activities",
    "count_provider_activities",
    "list_learner_activities",
    "get_activity",
    "get_activity_by_external_id",
    "list_providers",
    "get_provider",
    "list_contents",
    "get_user",
    "batch",
)

# A JWT: base64url header (always '{"' -> 'eyJ'), payload and signature. Nothing else in a profile looks so.
_TOKEN_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceRecord(_Strict):
    """Which service was probed: its Graph URL, the tenant, and the national cloud (None for a sandbox)."""

    graph_url: str
    tenant_id: str | None = None
    cloud: str | None = None


class TokenRecord(_Strict):
    """One token kind: whether it signed in (None: not tried), and the permissions its token held (None: unknown)."""

    signs_in: bool | None = None
    granted: tuple[str, ...] | None = None


class OperationRecord(_Strict):
    """What the service answered one operation: served, refused (status, code, message), or not learnt."""

    served: bool | None = None
    status: int | None = Field(default=None, ge=100, le=599)
    code: str | None = None
    message: str | None = None
    #: The token kind of the probe this record comes from.
    token: TokenKind | None = None
    #: Why nothing was learnt, or what else the probe saw (one line).
    note: str | None = None

    @model_validator(mode="after")
    def _refusal_complete(self) -> OperationRecord:
        if self.served is False and (self.status is None or self.status < 400 or not self.code):
            raise ValueError("a refusal (served: false) needs an error status (400-599) and a code")
        return self


class TenantProfile(_Strict):
    """A tenant as ``learnkit doctor`` probed it. Build with ``load_profile`` or ``model_validate``."""

    format: Literal["learnkit-tenant-profile/1"]
    learnkit: str | None = None
    probed_at: str | None = None
    service: ServiceRecord
    provider: str | None = None
    tokens: dict[TokenKind, TokenRecord] = Field(default_factory=dict)
    operations: dict[str, OperationRecord] = Field(default_factory=dict)

    @field_validator("operations")
    @classmethod
    def _known_operations(cls, value: dict[str, OperationRecord]) -> dict[str, OperationRecord]:
        unknown = [name for name in value if name not in PROBED_OPERATIONS]
        if unknown:
            raise ValueError(f"unknown operation {unknown[0]!r} (known: {', '.join(PROBED_OPERATIONS)})")
        return value

    @model_validator(mode="after")
    def _no_token(self) -> TenantProfile:
        for where, text in _strings(self.model_dump(mode="json")):
            if _TOKEN_SHAPE.search(text):
                raise ValueError(f"{where} holds what looks like an access token: a profile must hold none")
        return self

    def refused(self, operation: str) -> OperationRecord | None:
        """The recorded refusal of ``operation``, or None when it was served or not learnt."""
        record = self.operations.get(operation)
        return record if record is not None and record.served is False else None

    def granted(self, kind: TokenKind) -> frozenset[str] | None:
        """The permissions a ``kind`` token held when probed; None when not known (it did not sign in)."""
        record = self.tokens.get(kind)
        if record is None or record.granted is None:
            return None
        return frozenset(record.granted)

    def to_json(self) -> str:
        """The profile as the file holds it (indented JSON, keys in the model's order)."""
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the profile to ``path`` readable by its owner only (mode 0600); returns the path."""
        target = Path(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
        os.chmod(target, 0o600)  # an existing file keeps its mode through O_TRUNC
        return target


def _strings(value: Any, where: str = "profile") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def load_profile(path: str | os.PathLike[str]) -> TenantProfile:
    """The profile in the JSON file at ``path``; ``InvalidInputError`` naming the file and the problem otherwise.

    Example: ``load_profile("tenant.json").refused("list_provider_activities").status``
    """
    name = str(path)

    def refuse(problem: str) -> InvalidInputError:
        return InvalidInputError("profile", "invalid", f"{name}: {problem}")

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise refuse(f"cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text (a profile is the JSON `learnkit doctor --profile-out` writes)") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise refuse(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise refuse(
            f"not a {PROFILE_FORMAT} file"
            + (f" (its format is {found!r})" if found else "")
            + ": write one with `learnkit doctor --profile-out FILE`"
        )
    try:
        return TenantProfile.model_validate(data)
    except ValidationError as exc:
        raise refuse(_problem(exc)) from None
