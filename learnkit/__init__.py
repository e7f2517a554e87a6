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
    JournalError,
    LearnkitError,
    LicenseError,
    MethodNotAllowedError,
    NationalCloudWarning,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    PermissionWarning,
    ProviderContentMismatchError,
    ProviderNotEnabledError,
    RetryableError,
    ServiceMismatchError,
    ServicePlanError,
    ServiceUnavailableError,
    SignInError,
    SourceRequiredError,
    TokenError,
    TooManyRequestsError,
    UnexpectedResponseError,
    UntrustedURLError,
)
from learnkit.permissions import PERMISSIONS
from learnkit.retry import RetryPolicy

# Everything else loads on first use (PEP 562), so `import learnkit` and the `learnkit` command's
# --help stay fast: pydantic's models, requests and msal for the client; pandas for the bulk path.
# name -> (module, attribute in it)
_LAZY: dict[str, tuple[str, str]] = {
    **{name: ("learnkit.auth", name) for name in ("CertificateSignIn", "DeviceCodeSignIn", "SecretSignIn")},
    **{name: ("learnkit.client", name) for name in ("GraphClient", "GraphResponse")},
    "connect": ("learnkit.client", "GraphClient.connect"),
    **{
        name: ("learnkit.models", name)
        for name in (
            "AssignmentUpdate",
            "DateTimeTimeZone",
            "ItemBody",
            "LearningAssignment",
            "LearningContent",
            "LearningCourseActivity",
            "LearningProvider",
            "LearningSelfInitiatedCourse",
            "SelfInitiatedCourseUpdate",
            "parse_activity",
            "parse_update",
        )
    },
    **{name: ("learnkit.update", name) for name in ("UpdateResult", "minimal_patch", "update_activity")},
    **{name: ("learnkit.sources", name) for name in ("ActivityIds", "ExternalIds", "Learners", "ProviderList")},
    # The bulk extra (pandas): a missing extra is reported by name (learnkit._extras).
    "Journal": ("learnkit.journal", "Journal"),
    "PatchPlan": ("learnkit.plans", "PatchPlan"),
    "read_activities": ("learnkit.frame", "read_activities"),
    "read_csv": ("learnkit.csvfile", "read_csv"),
    "write_csv": ("learnkit.csvfile", "write_csv"),
    # The excel extra (openpyxl).
    "write_xlsx": ("learnkit.xlsxfile", "write_xlsx"),
    "BulkResult": ("learnkit.bulk", "BulkResult"),
    "apply_csv": ("learnkit.bulk", "apply_csv"),
    "apply_frame": ("learnkit.bulk", "apply_frame"),
    "apply_plans": ("learnkit.bulk", "apply"),
    "resume": ("learnkit.bulk", "resume"),
    "undo": ("learnkit.bulk", "undo"),
}

#: Subpackages reachable as attributes (``learnkit.sandbox.start()``) without importing them up front.
_SUBMODULES = frozenset({"audit", "bulk", "frame", "journal", "sandbox", "sources", "widgets"})

if TYPE_CHECKING:
    from learnkit import audit as audit
    from learnkit import bulk as bulk
    from learnkit import frame as frame
    from learnkit import journal as journal
    from learnkit import sandbox as sandbox
    from learnkit import sources as sources
    from learnkit import widgets as widgets
    from learnkit.auth import CertificateSignIn, DeviceCodeSignIn, SecretSignIn
    from learnkit.bulk import BulkResult, apply_csv, apply_frame, resume, undo
    from learnkit.bulk import apply as apply_plans
    from learnkit.client import GraphClient, GraphResponse
    from learnkit.csvfile import read_csv, write_csv
    from learnkit.frame import read_activities
    from learnkit.journal import Journal
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
    from learnkit.plans import PatchPlan
    from learnkit.sources import ActivityIds, ExternalIds, Learners, ProviderList
    from learnkit.update import UpdateResult, minimal_patch, update_activity
    from learnkit.xlsxfile import write_xlsx

    connect = GraphClient.connect
    __version__: str


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("learnkit")
    except PackageNotFoundError:  # a source tree on sys.path that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    from learnkit._extras import import_part

    if name == "__version__":
        value: Any = _version()
    elif name in _SUBMODULES:
        return import_part(f"learnkit.{name}")
    elif name in _LAZY:
        module, attribute = _LAZY[name]
        value = import_part(module)
        for part in attribute.split("."):
            value = getattr(value, part)
    else:
        raise AttributeError(f"module 'learnkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


__all__ = [
    "CLOUDS",
    "PERMISSIONS",
    "ActivityIds",
    "ActivityNotFoundError",
    "AssignmentUpdate",
    "AuthenticationError",
    "BadRequestError",
    "BulkResult",
    "CertificateSignIn",
    "Cloud",
    "ConflictError",
    "DateTimeTimeZone",
    "DeviceCodeSignIn",
    "ExternalIds",
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
    "JournalError",
    "Learners",
    "LearningAssignment",
    "LearningContent",
    "LearningCourseActivity",
    "LearningProvider",
    "LearningSelfInitiatedCourse",
    "LearnkitError",
    "LicenseError",
    "MethodNotAllowedError",
    "NationalCloudWarning",
    "NetworkError",
    "NotFoundError",
    "PatchPlan",
    "PermissionDeniedError",
    "PermissionWarning",
    "ProviderContentMismatchError",
    "ProviderList",
    "ProviderNotEnabledError",
    "RetryPolicy",
    "RetryableError",
    "SecretSignIn",
    "SelfInitiatedCourseUpdate",
    "ServiceMismatchError",
    "ServicePlanError",
    "ServiceUnavailableError",
    "SignInError",
    "SourceRequiredError",
    "TokenError",
    "TooManyRequestsError",
    "UnexpectedResponseError",
    "UntrustedURLError",
    "UpdateResult",
    "__version__",
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
    "write_xlsx",
]
