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
    "connect",
    "minimal_patch",
    "parse_activity",
    "parse_update",
    "update_activity",
]
