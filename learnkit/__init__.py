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

from learnkit.clouds import CLOUDS as CLOUDS, Cloud as Cloud
from learnkit.errors import (
    ActivityNotFoundError as ActivityNotFoundError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    ConflictError as ConflictError,
    FailedDependencyError as FailedDependencyError,
    FieldEmptyError as FieldEmptyError,
    FieldError as FieldError,
    FieldInvalidError as FieldInvalidError,
    FieldRequiredError as FieldRequiredError,
    ForbiddenError as ForbiddenError,
    GraphError as GraphError,
    InternalServerError as InternalServerError,
    InvalidInputError as InvalidInputError,
    InvalidRegistrationError as InvalidRegistrationError,
    JournalError as JournalError,
    LearnkitError as LearnkitError,
    LicenseError as LicenseError,
    MethodNotAllowedError as MethodNotAllowedError,
    NationalCloudWarning as NationalCloudWarning,
    NetworkError as NetworkError,
    NotFoundError as NotFoundError,
    PermissionDeniedError as PermissionDeniedError,
    PermissionWarning as PermissionWarning,
    ProviderContentMismatchError as ProviderContentMismatchError,
    ProviderNotEnabledError as ProviderNotEnabledError,
    RetryableError as RetryableError,
    ServiceMismatchError as ServiceMismatchError,
    ServicePlanError as ServicePlanError,
    ServiceUnavailableError as ServiceUnavailableError,
    SignInError as SignInError,
    SourceRequiredError as SourceRequiredError,
    TokenError as TokenError,
    TooManyRequestsError as TooManyRequestsError,
    UnexpectedResponseError as UnexpectedResponseError,
    UntrustedURLError as UntrustedURLError,
)
from learnkit.permissions import PERMISSIONS as PERMISSIONS
from learnkit.retry import RetryPolicy as RetryPolicy

# The public API is listed once: the imports above (loaded now) and the block below (loaded on first use,
# PEP 562, so `import learnkit` and the `learnkit` command's --help stay fast). Type checkers read the
# block; at run time `_lazy()` reads the same lines from this file, so the two cannot disagree.
if TYPE_CHECKING:
    from learnkit import (
        audit as audit,
        bulk as bulk,
        sandbox as sandbox,
        widgets as widgets,
    )
    from learnkit.auth import (
        CertificateSignIn as CertificateSignIn,
        DeviceCodeSignIn as DeviceCodeSignIn,
        SecretSignIn as SecretSignIn,
    )
    from learnkit.bulk import (
        BulkResult as BulkResult,
        apply_csv as apply_csv,
        apply_frame as apply_frame,
        resume as resume,
        undo as undo,
    )
    from learnkit.bulk.csvfile import read_csv as read_csv, write_csv as write_csv
    from learnkit.bulk.frame import read_activities as read_activities
    from learnkit.bulk.journal import Journal as Journal
    from learnkit.bulk.plans import PatchPlan as PatchPlan
    from learnkit.bulk.sources import (
        ActivityIds as ActivityIds,
        ExternalIds as ExternalIds,
        Learners as Learners,
        ProviderList as ProviderList,
    )
    from learnkit.bulk.xlsxfile import write_xlsx as write_xlsx
    from learnkit.client import GraphClient as GraphClient, GraphResponse as GraphResponse
    from learnkit.models import (
        AssignmentUpdate as AssignmentUpdate,
        DateTimeTimeZone as DateTimeTimeZone,
        ItemBody as ItemBody,
        LearningAssignment as LearningAssignment,
        LearningContent as LearningContent,
        LearningCourseActivity as LearningCourseActivity,
        LearningProvider as LearningProvider,
        LearningSelfInitiatedCourse as LearningSelfInitiatedCourse,
        SelfInitiatedCourseUpdate as SelfInitiatedCourseUpdate,
        parse_activity as parse_activity,
        parse_update as parse_update,
    )
    from learnkit.update import (
        UpdateResult as UpdateResult,
        minimal_patch as minimal_patch,
        update_activity as update_activity,
    )

    apply_plans = bulk.apply
    connect = GraphClient.connect
    __version__: str


def _lazy() -> dict[str, tuple[str, str]]:
    """What the ``TYPE_CHECKING`` block above names: ``{name: (module, attribute path)}``, subpackages with an
    empty path (``{"connect": ("learnkit.client", "GraphClient.connect"), "audit": ("learnkit.audit", "")}``)."""
    import ast

    from learnkit._extras import type_checking_block

    found: dict[str, tuple[str, str]] = {}
    for node in type_checking_block(__file__):
        if isinstance(node, ast.ImportFrom) and node.module == "learnkit":
            found.update({a.asname or a.name: (f"learnkit.{a.name}", "") for a in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update({a.asname or a.name: (node.module, a.name) for a in node.names})
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
            owner, attribute = ast.unparse(node.value).split(".", 1)  # connect = GraphClient.connect
            module, path = found[owner]
            found[ast.unparse(node.targets[0])] = (module, f"{path}.{attribute}".lstrip("."))
    return found


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("learnkit")
    except PackageNotFoundError:  # a source tree on sys.path that was never installed
        return "0+unknown"


_LAZY: dict[str, tuple[str, str]] = {}


def __getattr__(name: str) -> Any:
    from learnkit._extras import import_part

    if not _LAZY:
        _LAZY.update(_lazy())
    if name == "__version__":
        value: Any = _version()
    elif name == "__all__":
        # every name above but the subpackages, which are reached as attributes (learnkit.sandbox.start())
        value = sorted(
            {n for n, v in globals().items() if getattr(v, "__module__", "").startswith("learnkit.")}
            | {"CLOUDS", "PERMISSIONS", "__version__"}
            | {n for n, (_, attribute) in _LAZY.items() if attribute},
            key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n),  # constants, classes, functions
        )
    elif name in _LAZY:
        module, attribute = _LAZY[name]
        value = import_part(module)
        for part in attribute.split(".") if attribute else ():
            value = getattr(value, part)
        if not attribute:
            return value  # a subpackage: not cached, so `import learnkit.sandbox` stays the one that binds it
    else:
        raise AttributeError(f"module 'learnkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # What tab completion offers: the public names, the subpackages and the module's own dunders, not the
    # helpers this file imports for itself (Any, TYPE_CHECKING, _lazy).
    if not _LAZY:
        _LAZY.update(_lazy())
    public: list[str] = globals().get("__all__") or __getattr__("__all__")
    packages = {name for name, (_, attribute) in _LAZY.items() if not attribute}
    return sorted({*public, *packages, *(name for name in globals() if name.startswith("__"))})
