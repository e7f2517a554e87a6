"""learnkit: inspect, edit and PATCH Viva Learning course activities on Microsoft Graph.

The names a user needs, importable from here::

    import learnkit
    with learnkit.sandbox.start() as sb:
        client = learnkit.GraphClient.for_sandbox(sb)
        learnkit.update_activity(client, sb.demo["registration_id"], sb.demo["assignment_id"],
                                 {"@odata.type": "#microsoft.graph.learningAssignment",
                                  "status": "completed", "completionPercentage": 100})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from learnkit.auth import CertificateCredential, ClientSecretCredential, DeviceCodeCredential
from learnkit.client import GraphClient, GraphResponse, PermissionWarning
from learnkit.clouds import CLOUDS, Cloud
from learnkit.errors import (
    ActivityNotFoundError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FailedDependencyError,
    FieldEmptyError,
    FieldError,
    FieldInvalidError,
    FieldRequiredError,
    ForbiddenError,
    GraphError,
    InternalServerError,
    InvalidInputError,
    InvalidRegistrationError,
    LearnkitError,
    LicenseError,
    MethodNotAllowedError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    ProviderContentMismatchError,
    ProviderNotEnabledError,
    RetryableError,
    ServicePlanError,
    ServiceUnavailableError,
    TokenError,
    TooManyRequestsError,
)
from learnkit.models import (
    AssignmentUpdate,
    DateTimeTimeZone,
    ItemBody,
    LearningAssignment,
    LearningContent,
    LearningCourseActivity,
    LearningProvider,
    LearningSelfInitiatedCourse,
    SelfInitiatedCourseUpdate,
    parse_activity,
    parse_update,
)
from learnkit.permissions import PERMISSIONS
from learnkit.retry import RetryPolicy
from learnkit.update import UpdateResult, minimal_patch, update_activity

connect = GraphClient.connect

# The bulk and frame names need pandas: they load on first use, so `import learnkit` stays light.
_LAZY = {
    "Journal": "learnkit.journal",
    "PatchPlan": "learnkit.plans",
    "apply_csv": "learnkit.bulk",
    "apply_frame": "learnkit.bulk",
    "apply_plans": "learnkit.bulk",
    "read_activities": "learnkit.frame",
    "read_csv": "learnkit.csvfile",
    "resume": "learnkit.bulk",
    "undo": "learnkit.bulk",
    "write_csv": "learnkit.csvfile",
}

if TYPE_CHECKING:
    from learnkit import bulk as bulk
    from learnkit import frame as frame
    from learnkit import journal as journal
    from learnkit import sandbox as sandbox
    from learnkit import widgets as widgets
    from learnkit.bulk import apply as apply_plans
    from learnkit.bulk import apply_csv, apply_frame, resume, undo
    from learnkit.csvfile import read_csv, write_csv
    from learnkit.frame import read_activities
    from learnkit.journal import Journal
    from learnkit.plans import PatchPlan


#: Subpackages reachable as attributes (``learnkit.sandbox.start()``) without importing them up front.
_SUBMODULES = frozenset({"bulk", "frame", "journal", "sandbox", "widgets"})


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"learnkit.{name}")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), "apply" if name == "apply_plans" else name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'learnkit' has no attribute {name!r}")


__all__ = [
    "CLOUDS",
    "PERMISSIONS",
    "ActivityNotFoundError",
    "AssignmentUpdate",
    "AuthenticationError",
    "BadRequestError",
    "CertificateCredential",
    "ClientSecretCredential",
    "Cloud",
    "ConflictError",
    "DateTimeTimeZone",
    "DeviceCodeCredential",
    "FailedDependencyError",
    "FieldEmptyError",
    "FieldError",
    "FieldInvalidError",
    "FieldRequiredError",
    "ForbiddenError",
    "GraphClient",
    "GraphError",
    "GraphResponse",
    "InternalServerError",
    "InvalidInputError",
    "InvalidRegistrationError",
    "ItemBody",
    "Journal",
    "LearningAssignment",
    "LearningContent",
    "LearningCourseActivity",
    "LearningProvider",
    "LearningSelfInitiatedCourse",
    "LearnkitError",
    "LicenseError",
    "MethodNotAllowedError",
    "NetworkError",
    "NotFoundError",
    "PatchPlan",
    "PermissionDeniedError",
    "PermissionWarning",
    "ProviderContentMismatchError",
    "ProviderNotEnabledError",
    "RetryPolicy",
    "RetryableError",
    "SelfInitiatedCourseUpdate",
    "ServicePlanError",
    "ServiceUnavailableError",
    "TokenError",
    "TooManyRequestsError",
    "UpdateResult",
    "apply_csv",
    "apply_frame",
    "apply_plans",
    "connect",
    "minimal_patch",
    "parse_activity",
    "parse_update",
    "read_activities",
    "read_csv",
    "resume",
    "undo",
    "update_activity",
    "write_csv",
]
