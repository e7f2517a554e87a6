"""Every error learnkit raises, drawn once.

The Graph rows come from the error table of *Update learningCourseActivity*
(``ERROR_TABLE`` below is that table, and the only copy of it: the client reads
it to turn a response into an exception, the sandbox reads it to answer)::

    Exception
    ├── LearnkitError                  base of everything learnkit raises on purpose
    │   ├── InvalidInputError (also ValueError)  refused before any request: a bad value, field named
    │   │   ├── InvalidRowsError                 cells of a frame or CSV refused (.cells)
    │   │   └── LoadError                        a file the sandbox cannot load a tenant from (.where)
    │   ├── TokenError                 no token of the kind an operation needs, or a credential unusable
    │   │   └── SignInError                      the authority (.authority) failed or refused sign-in
    │   ├── NetworkError               no complete answer (dropped, timed out, deadline passed), after
    │   │                              every safe retry
    │   ├── UnexpectedResponseError    a success whose body is not the JSON the operation expects
    │   ├── UntrustedURLError          an absolute URL (a next link) off the client's Graph host: no token sent
    │   ├── JournalError               a journal run cannot be used as asked
    │   │   └── ServiceMismatchError             undo/resume against another service or provider
    │   ├── SourceRequiredError        the provider's list is not served here: say which records to read
    │   ├── SettingsError              connection settings name no usable service (.stopped: its sandbox ended)
    │   ├── CommandError               a command line called wrongly: one line, exit .status
    │   ├── MissingExtraError (also ImportError)  a part used without its extra installed (.extra)
    │   ├── DatabaseInUse (also RuntimeError)     another running sandbox holds this database
    │   └── GraphError                 Graph answered with an error (.status .code .message
    │       │                          .field .request_id .client_request_id .retry_after .advice)
    │       ├── AuthenticationError              401 missing, expired or forged token
    │       ├── BadRequestError                  400
    │       │   ├── ProviderNotEnabledError          sync is off for the provider
    │       │   ├── InvalidRegistrationError         unknown registrationId
    │       │   └── FieldError                       (.field)
    │       │       ├── FieldRequiredError               "Input field X is required"
    │       │       ├── FieldInvalidError                "Input field X is invalid"
    │       │       └── FieldEmptyError                  "Input field X shouldn't be empty"
    │       ├── ForbiddenError                   403
    │       │   ├── PermissionDeniedError            token lacks the permission
    │       │   ├── ServicePlanError                 tenant lacks the service plan
    │       │   ├── ProviderContentMismatchError     content belongs to another provider
    │       │   └── LicenseError                     learner has no premium licence
    │       ├── NotFoundError                    404
    │       │   └── ActivityNotFoundError            "The assignment ID requested doesn't exist."
    │       ├── MethodNotAllowedError            405
    │       ├── ConflictError                    409 (an activity with that external id exists)
    │       ├── FailedDependencyError            424 (a $batch dependsOn target failed)
    │       └── RetryableError                   the request may succeed later
    │           ├── TooManyRequestsError             429
    │           ├── ServiceUnavailableError          503
    │           └── InternalServerError              500 (and 502, 504)
    ├── ValueError
    │   └── FieldProblem               a widget field's text cannot be read (shown beside the field)
    └── Warning
        └── UserWarning
            ├── ExtraColumnsWarning    a CSV has columns of its own: kept aside, never sent
            ├── NationalCloudWarning   a national cloud chosen: the learning API is documented for global only
            ├── PermissionWarning      the token lacks the permission an operation needs (from its claims)
            └── RemoteWarning          a sandbox listens on an address other machines can reach

The embedded sandbox's own control-flow signals (a route not found, a token refused, a body too
large ...) never reach a user: the sandbox turns each into an HTTP answer. They stay private to the
sandbox, beside the module that raises them, outside this tree (``docs/design.md`` says why).

Each error pickles (it can cross a process pool), and a Graph error shows itself
in a notebook as a short card: status, code, what to do, request id.

Example::

    try:
        update_activity(client, reg_id, act_id, {"status": "done"})
    except InvalidInputError as exc:
        print(exc.field)          # 'status'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

__all__ = [
    "ERROR_TABLE",
    "FIELD_ERROR_BY_REASON",
    "ActivityNotFoundError",
    "AuthenticationError",
    "BadRequestError",
    "CommandError",
    "ConflictError",
    "DatabaseInUse",
    "ErrorRow",
    "ExtraColumnsWarning",
    "FailedDependencyError",
    "FieldEmptyError",
    "FieldError",
    "FieldInvalidError",
    "FieldProblem",
    "FieldRequiredError",
    "ForbiddenError",
    "GraphError",
    "InternalServerError",
    "InvalidInputError",
    "InvalidRegistrationError",
    "InvalidRowsError",
    "JournalError",
    "LearnkitError",
    "LicenseError",
    "LoadError",
    "MethodNotAllowedError",
    "MissingExtraError",
    "NationalCloudWarning",
    "NetworkError",
    "NotFoundError",
    "PermissionDeniedError",
    "PermissionWarning",
    "ProviderContentMismatchError",
    "ProviderNotEnabledError",
    "RemoteWarning",
    "RetryableError",
    "ServiceMismatchError",
    "ServicePlanError",
    "ServiceUnavailableError",
    "SettingsError",
    "SignInError",
    "SourceRequiredError",
    "TokenError",
    "TooManyRequestsError",
    "UnexpectedResponseError",
    "UntrustedURLError",
    "error_body",
    "error_from_response",
    "parse_retry_after",
    "request_ids",
]


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class LearnkitError(Exception):
    """Base of every error learnkit raises on purpose.

    Subclasses keep their attributes through ``pickle`` whatever their ``__init__``
    takes (the default pickling calls ``__init__`` again with the message alone).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def _repr_html_(self) -> str:
        """A card for notebooks: the class, the text, and the field or what to do when known."""
        from learnkit.display import card

        rows = [("message", str(self))]
        for label, name in (
            ("field", "field"),
            ("what to do", "advice"),
            ("request-id", "request_id"),
            ("client-request-id", "client_request_id"),
        ):
            value = getattr(self, name, None)
            if value:
                rows.append((label, str(value)))
        return card(type(self).__name__, rows, tone="error")


class InvalidInputError(LearnkitError, ValueError):
    """A value was refused before any request was sent; ``.field`` names it.

    ``.reason`` is ``"required"``, ``"invalid"`` or ``"empty"``, the same three
    words Graph uses in its "Input field X ..." rows.

    Example: ``InvalidInputError("completionPercentage", "invalid", "must be 0..100, got 150")``
    """

    def __init__(
        self,
        field: str,
        reason: str,
        detail: str,
        problems: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        self.field = field
        self.reason = reason
        self.detail = detail
        #: Every (field, reason, detail) found, the first being the one above.
        self.problems = problems or ((field, reason, detail),)
        super().__init__("; ".join(f"{f}: {d}" for f, _, d in self.problems))


class InvalidRowsError(InvalidInputError):
    """Cells refused before anything was sent; ``.cells`` lists (row, column, detail) for each.

    ``.field`` is the first bad column and ``.row`` its row (a CSV's spreadsheet row:
    the header is row 1).

    >>> InvalidRowsError([(3, "completionPercentage", "'x' is not a whole number")]).cells[0][:2]
    (3, 'completionPercentage')
    """

    def __init__(self, cells: Sequence[tuple[Any, str, str]]) -> None:
        self.cells = list(cells)
        self.row = self.cells[0][0]
        shown = "; ".join(f"row {row}, {col}: {detail}" for row, col, detail in self.cells[:20])
        more = f"; and {len(self.cells) - 20} more" if len(self.cells) > 20 else ""
        super().__init__(
            self.cells[0][1],
            "invalid",
            shown + more,
            tuple((f"row {row}, {col}", "invalid", detail) for row, col, detail in self.cells),
        )
        self.args = (f"{len(self.cells)} bad cell(s), nothing sent: {shown}{more}",)

    def __str__(self) -> str:
        return str(self.args[0])


class LoadError(InvalidInputError):
    """A file ``learnkit.sandbox.load.load_tenant`` cannot load: ``.where`` is the file and the row, line or
    item, ``.field`` the column or property; its text says all three on one line.

    >>> str(LoadError("activities.csv row 4", "learnerUserId", "is needed to load the activity"))
    'activities.csv row 4, learnerUserId: is needed to load the activity'
    """

    def __init__(self, where: str, field: str | None, detail: str, reason: str = "invalid") -> None:
        super().__init__(field or "file", reason, detail)
        self.where = where
        self.args = (f"{where}, {field}: {detail}" if field else f"{where}: {detail}",)
        self._given = (where, field, detail, reason)

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[LoadError], tuple[str, str | None, str, str]]:
        return type(self), self._given


class FieldProblem(ValueError):
    """A widget field's text cannot even be handed to the model (letters in a number box); shown beside the field.

    Example: ``FieldProblem("'abc' is not a whole number")``
    """


class TokenError(LearnkitError):
    """No token source of the kind an operation needs is configured, or a credential is unusable.

    Raised before any Graph request is sent; the text names the operation, the
    kind of token and the permission it needs.
    """


class SignInError(TokenError):
    """Sign-in at ``.authority`` failed: unreachable, too slow, unknown tenant, or credentials refused.

    Example: ``SignInError("https://login.microsoftonline.com/contoso", "timed out after 30 s")``
    """

    def __init__(self, authority: str, reason: str) -> None:
        self.authority = authority
        self.reason = reason
        super().__init__(f"sign-in at {authority} failed: {reason}")


class NetworkError(LearnkitError):
    """No complete answer arrived (connection refused or dropped, timed out, deadline passed).

    Idempotent requests (GET, PATCH, DELETE, $batch of PATCHes) were already resent
    with backoff; a POST is resent only when it never left (the connection was
    never made), since otherwise it may have been applied. ``.maybe_applied`` is
    True when the request may have been applied and is not safe to send blindly again.
    ``.client_request_id`` is the id the last attempt carried: the one Microsoft support can
    look for when a request left and no answer came back.

    Example: ``NetworkError("GET", "https://graph.microsoft.com/v1.0/me", 6, False, "timed out")``
    """

    ADVICE_RETRY: ClassVar[str] = "check the network and the service (graph_url), then try again"
    ADVICE_LOOK_UP: ClassVar[str] = "it may or may not have been applied: look the entity up before sending it again"

    def __init__(
        self,
        method: str,
        url: str,
        attempts: int,
        maybe_applied: bool,
        reason: str = "the connection dropped",
        client_request_id: str | None = None,
    ) -> None:
        self.method, self.url, self.attempts = method, url, attempts
        self.maybe_applied, self.reason, self.client_request_id = maybe_applied, reason, client_request_id
        self.advice = self.ADVICE_LOOK_UP if maybe_applied else self.ADVICE_RETRY
        super().__init__(
            f"{method} {url}: {reason}, after {attempts} attempt(s)"
            + request_ids(None, client_request_id)
            + f"; {self.advice}"
        )


class UnexpectedResponseError(LearnkitError):
    """A success status whose body is not the JSON the operation expects (HTML, an array, nothing).

    Something other than Graph may have answered (a proxy, a captive portal, a
    wrong ``graph_url``). ``.url``, ``.status``, ``.content_type``, ``.request_id`` and
    ``.client_request_id`` say what came back.

    Example: ``UnexpectedResponseError("https://x/v1.0/me", 200, "text/html", "not JSON")``
    """

    ADVICE: ClassVar[str] = (
        "check that graph_url points at Microsoft Graph (or the sandbox) and that no proxy or "
        "sign-in portal answers in its place"
    )

    def __init__(
        self,
        url: str,
        status: int,
        content_type: str,
        detail: str,
        request_id: str | None = None,
        client_request_id: str | None = None,
    ) -> None:
        self.url, self.status, self.content_type = url, status, content_type
        self.detail, self.request_id, self.client_request_id = detail, request_id, client_request_id
        self.advice = self.ADVICE
        shown = repr(content_type) if content_type else "none"
        super().__init__(
            f"{status} from {url} is not what was expected: {detail} (Content-Type {shown})"
            + request_ids(request_id, client_request_id)
            + f"; {self.advice}"
        )


class PermissionWarning(UserWarning):
    """The token does not carry the permission an operation needs (read from its claims).

    Said once per operation and token kind, by ``learnkit.credentials.Credentials.token_for``.
    """


class NationalCloudWarning(UserWarning):
    """A national cloud was chosen, where Graph's pages do not document the learning API (global service only).

    Said once per cloud and process, by ``learnkit.clouds.warn_if_unavailable``.
    """


class UntrustedURLError(LearnkitError):
    """An absolute URL (an ``@odata.nextLink``, a caller's) is not on the client's own Graph origin.

    The client's token goes only to its ``graph_url``'s scheme, host and port; nothing was sent.
    ``.url`` is the URL refused, ``.graph_url`` the client's.

    Example: ``UntrustedURLError("https://evil.example/v1.0/x", "https://graph.microsoft.com/v1.0")``
    """

    def __init__(self, url: str, graph_url: str) -> None:
        self.url, self.graph_url = url, graph_url
        super().__init__(
            f"{url} is not on this client's Graph host ({graph_url}): refused, and its token was not sent; "
            "a next link or URL must name the host the client was made for"
        )


class JournalError(LearnkitError):
    """A journal cannot be used as asked: not a learnkit journal, damaged, unknown run id, not finished,
    or running in another process. Nothing is sent when it is raised.

    Example: ``Journal().info("no-such-run")`` raises ``JournalError("no run 'no-such-run' in the journal ...")``
    """


class ServiceMismatchError(JournalError):
    """A run is undone or resumed against a service (host and tenant) or provider it did not write to.

    Refused before anything is sent; ``.run`` and ``.connected`` name both sides.

    Example: ``ServiceMismatchError("r1", "127.0.0.1 tenant ab12", "127.0.0.1 tenant cd34")``
    """

    def __init__(self, run_id: str, run: str, connected: str) -> None:
        self.run_id, self.run, self.connected = run_id, run, connected
        super().__init__(
            f"run {run_id} wrote to {run}, but this connection is to {connected}: nothing was sent; "
            f"connect to {run} to undo or resume it"
        )


class SourceRequiredError(LearnkitError):
    """The tenant does not serve a provider's whole list of activities, and no source said which to read.

    Graph documents reading activities by id, by the provider's external id and by learner;
    the provider-wide list is only in its metadata, and a tenant may refuse it. ``.registration_id``
    is the provider, ``.reason`` what the service answered when asked for its list.

    Example: ``SourceRequiredError("01e8f81b-...", "400 badRequest")``
    """

    #: The ways to say which records to read, in Python and on the command line.
    SOURCES: ClassVar[str] = (
        "say which records to read: source=ExternalIds([...]), ActivityIds([...]) or Learners([...]) "
        "(learnkit.bulk.sources; on the command line --external-ids FILE, --ids FILE or --learners FILE)"
    )

    def __init__(self, registration_id: str, reason: str = "") -> None:
        self.registration_id = registration_id
        self.reason = reason
        answered = f" (it answered {reason})" if reason else ""
        super().__init__(
            f"this tenant does not serve the list of provider {registration_id}'s activities{answered}; " + self.SOURCES
        )


class SettingsError(LearnkitError):
    """Connection settings that name no usable service: a sandbox's JSON missing, unreadable or never written,
    or (``.stopped``) the sandbox it describes has ended. Raised before anything is sent.

    Example: ``ConnectionSettings(sandbox_json="gone.json").client()`` raises ``SettingsError("--sandbox-json ...")``
    """

    def __init__(self, message: str, *, stopped: bool = False) -> None:
        super().__init__(message)
        self.stopped = stopped


class CommandError(LearnkitError):
    """A mistake in how a command was called or in its input; the CLI prints it and exits 2.

    ``.status`` is the exit status (2, or 1 when the service cannot be reached).

    Example: ``CommandError("give a JOURNAL_ID or --last")``
    """

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type[CommandError], tuple[str, int]]:
        return type(self), (str(self), self.status)


class MissingExtraError(LearnkitError, ImportError):
    """A part of learnkit was used without the extra that installs its dependencies.

    ``.extra`` is the extra to install and ``.module`` the module that was missing
    (``learnkit._extras.EXTRA_OF`` says which extra brings which module). It is an
    ``ImportError`` too, so code that guards an optional import keeps working.

    Example: ``MissingExtraError("learnkit.sandbox", "fastapi")``
    """

    def __init__(self, part: str, module: str) -> None:
        from learnkit._extras import EXTRA_OF, install_hint  # _extras imports this module

        self.part, self.module = part, module
        self.extra = EXTRA_OF.get(module, "notebook")
        super().__init__(
            f"{part} needs the '{self.extra}' extra ({module} is not installed): {install_hint(self.extra)}"
        )
        self.name = module

    def __reduce__(self) -> tuple[type[MissingExtraError], tuple[str, str]]:
        return type(self), (self.part, self.module)


class DatabaseInUse(LearnkitError, RuntimeError):
    """Another running sandbox holds this database (``--db``); two would overwrite each other's keys and CA file.

    Example: ``learnkit.sandbox.start(db="graph.db")`` while another sandbox serves ``graph.db``
    """


class ExtraColumnsWarning(UserWarning):
    """A CSV has columns that are not Graph properties: they are kept in the frame and never sent."""


class RemoteWarning(UserWarning):
    """The sandbox listens on an address other machines can reach (``allow_remote=True``)."""


@dataclass(frozen=True)
class ErrorRow:
    """One row of the seed's error table: how Graph says it, and what to do."""

    status: int
    code: str
    message: str
    advice: str

    def matches(self, status: int, code: str, message: str) -> bool:
        """True when a response's status, code and message are this row's."""
        if status != self.status or code.lower() != self.code.lower():
            return False
        return _template_regex(self.message).fullmatch(message.strip()) is not None


def _template_regex(template: str) -> re.Pattern[str]:
    # Graph's messages are matched loosely on quotes: the seed mixes ’ and '.
    parts = re.split(r"\{(\w+)\}", template)
    pattern = ""
    for i, part in enumerate(parts):
        if i % 2:
            pattern += rf"(?P<{part}>.+?)"
        else:
            pattern += re.sub("['’]", "['’]", re.escape(part))
    return re.compile(pattern, re.IGNORECASE)


class GraphError(LearnkitError):
    """Graph answered with an error.

    Attributes: ``status`` (HTTP), ``code`` and ``message`` (from the body),
    ``field`` (for the "Input field X" rows), ``request_id`` (Graph's, from the answer) and
    ``client_request_id`` (the request's own): both go in the message, as Microsoft support
    asks for them; ``retry_after`` (seconds, for 429 and 503).
    """

    row: ClassVar[ErrorRow | None] = None
    default_status: ClassVar[int] = 0
    default_advice: ClassVar[str] = "See the Microsoft Graph documentation for this error code."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        client_request_id: str | None = None,
    ) -> None:
        self.status = status if status is not None else (self.row.status if self.row else self.default_status)
        self.code = code if code is not None else (self.row.code if self.row else "")
        self.message = message
        self.field = field
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        super().__init__(self._text())

    @property
    def advice(self) -> str:
        """What the user can do about it."""
        return self.row.advice if self.row else self.default_advice

    def _text(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g} s)"
        return text + f" — {self.advice}" + request_ids(self.request_id, self.client_request_id)

    def _repr_html_(self) -> str:
        """A card for notebooks: status, code, message, what to do, request id (never a token)."""
        from learnkit.display import card

        rows = [("message", self.message), ("what to do", self.advice)]
        if self.field:
            rows.insert(0, ("field", self.field))
        if self.retry_after is not None:
            rows.append(("retry after", f"{self.retry_after:g} s"))
        rows.append(("request-id", self.request_id or "—"))
        rows.append(("client-request-id", self.client_request_id or "—"))
        return card(f"{type(self).__name__} · {self.status} {self.code}".rstrip(), rows, tone="error")


class AuthenticationError(GraphError):
    """401: the token is missing, expired, or not signed by the tenant's authority."""

    default_status = 401
    default_advice = "Sign in again (the token may have expired) and check the tenant and cloud."


class BadRequestError(GraphError):
    """400 that matches no more specific row."""

    default_status = 400
    default_advice = "Check the request body against the property tables of the API."


class ProviderNotEnabledError(BadRequestError):
    """400: the provider's isCourseActivitySyncEnabled is false."""

    row = ErrorRow(
        400,
        "badRequest",
        "This provider isn't enabled for the given tenant.",
        "Turn course-activity sync on for the provider, signed in as a delegated user: "
        'GraphClient.patch_provider(registration_id, {"isCourseActivitySyncEnabled": True}); then try again.',
    )


class InvalidRegistrationError(BadRequestError):
    """400: the registrationId is not a provider registered in the tenant."""

    row = ErrorRow(
        400,
        "badRequest",
        "There was an issue with your request. Make sure the registrationId you "
        "entered is valid or registered for your tenant.",
        "Use the registrationId (learningProvider id) of a provider registered in this tenant.",
    )


class FieldError(BadRequestError):
    """400 naming an input field; ``.field`` holds its name."""


class FieldRequiredError(FieldError):
    """400: a required property is missing from the body."""

    row = ErrorRow(
        400,
        "badRequest",
        "Input field {fieldName} is required",
        "Add the named property to the body; status is required on every update.",
    )


class FieldInvalidError(FieldError):
    """400: a property has a value of the wrong type or out of range."""

    row = ErrorRow(
        400,
        "badRequest",
        "Input field {fieldName} is invalid",
        "Correct the named property's value to its documented type and range.",
    )


class FieldEmptyError(FieldError):
    """400: a property is present but empty."""

    row = ErrorRow(
        400,
        "badRequest",
        "Input field {fieldName} shouldn't be empty",
        "Give the named property a value, or leave it out of the body.",
    )


class ForbiddenError(GraphError):
    """403 that matches no more specific row."""

    default_status = 403
    default_advice = "Check the app's permissions and the tenant's licences."


class PermissionDeniedError(ForbiddenError):
    """403: the token does not carry a permission the operation accepts."""

    row = ErrorRow(
        403,
        "Forbidden",
        "Your account doesn't have access to this report or data.",
        "Grant the app the permission the operation needs (see learnkit.permissions) "
        "and have an administrator consent; then sign in again for a fresh token.",
    )


class ServicePlanError(ForbiddenError):
    """403: the tenant has no service plan that includes Viva Learning."""

    row = ErrorRow(
        403,
        "Forbidden",
        "You don't have an adequate service plan for this request.",
        "Ask your administrator for a Viva Learning service plan for this tenant.",
    )


class ProviderContentMismatchError(ForbiddenError):
    """403: the learningContent was created by another provider."""

    row = ErrorRow(
        403,
        "Forbidden",
        "The provider isn't valid to create course activity for the given learning content",
        "Use a learningContentId created by this provider, or the registrationId of "
        "the provider that created the content.",
    )


class LicenseError(ForbiddenError):
    """403: the learner has no premium Viva Learning licence."""

    row = ErrorRow(
        403,
        "Forbidden",
        "The user license is not valid to perform the operation",
        "Assign the learner a premium Viva Learning licence, or choose another learner.",
    )


class NotFoundError(GraphError):
    """404 that matches no more specific row."""

    default_status = 404
    default_advice = "Check the ids in the URL."


class ActivityNotFoundError(NotFoundError):
    """404: no course activity has this id (or external id) under the provider."""

    row = ErrorRow(
        404,
        "notFound",
        "The assignment ID requested doesn’t exist.",
        "Check the activity id: list the provider's activities to find it.",
    )


class MethodNotAllowedError(GraphError):
    """405: the HTTP method is not supported for this entity type."""

    row = ErrorRow(
        405,
        "methodNotAllowed",
        "This method isn't supported for this entity type.",
        "See the Microsoft Graph documentation for the methods applicable to this entity.",
    )


class ConflictError(GraphError):
    """409: the entity already exists (an activity or content with that external id)."""

    default_status = 409
    default_advice = "Use another external id, or update the existing entity instead."


class FailedDependencyError(GraphError):
    """424: in a $batch, the request this one dependsOn failed."""

    default_status = 424
    default_advice = "Fix the request it depends on, then send both again."


class RetryableError(GraphError):
    """The request may succeed if sent again later; ``.retry_after`` says when."""


class TooManyRequestsError(RetryableError):
    """429: throttled. learnkit waits and retries up to the client's bound."""

    row = ErrorRow(
        429,
        "tooManyRequests",
        "Retry after {noOfMinutes} minutes",
        "Wait for retry_after seconds and send again, or let learnkit wait that long itself: "
        "GraphClient(retry=RetryPolicy(max_retry_wait=...)).",
    )


class ServiceUnavailableError(RetryableError):
    """503: the service is down for a while."""

    row = ErrorRow(
        503,
        "serviceUnavailable",
        "Retry after {noOfMinutes} minutes",
        "Wait for retry_after seconds and send again, or let learnkit wait that long itself: "
        "GraphClient(retry=RetryPolicy(max_retry_wait=...)).",
    )


class InternalServerError(RetryableError):
    """500 (or 502, 504): Graph failed; learnkit already retried with backoff."""

    row = ErrorRow(
        500,
        "internalServerError",
        "Internal server error.",
        "Try again later; if it persists, report the request-id to Microsoft support.",
    )


#: The seed's error table, in its order: exception class per row.
ERROR_TABLE: tuple[type[GraphError], ...] = (
    MethodNotAllowedError,
    PermissionDeniedError,
    ServicePlanError,
    ProviderNotEnabledError,
    InvalidRegistrationError,
    ActivityNotFoundError,
    InternalServerError,
    TooManyRequestsError,
    ServiceUnavailableError,
    FieldRequiredError,
    FieldInvalidError,
    FieldEmptyError,
    ProviderContentMismatchError,
    LicenseError,
)

#: The generic class for a status that matches no row.
_BY_STATUS: dict[int, type[GraphError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    424: FailedDependencyError,
    429: TooManyRequestsError,
    500: InternalServerError,
    502: InternalServerError,
    503: ServiceUnavailableError,
    504: InternalServerError,
}

#: The "Input field X ..." row for each InvalidInputError reason.
FIELD_ERROR_BY_REASON: dict[str, type[FieldError]] = {
    "required": FieldRequiredError,
    "invalid": FieldInvalidError,
    "empty": FieldEmptyError,
}

_MINUTES = re.compile(r"retry after (\d+(?:\.\d+)?) minutes?", re.IGNORECASE)


def parse_retry_after(header: str | None, message: str = "", *, now: datetime | None = None) -> float | None:
    """Seconds to wait, from a ``Retry-After`` header or a "Retry after N minutes" message.

    The header may be seconds or an HTTP date (RFC 9110); it wins over the message.
    The result is never negative (a date in the past, or ``-5``, is 0: send now)
    and never infinite; an unreadable header falls back to the message.

    >>> parse_retry_after(None, "Retry after 2 minutes")
    120.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc))
    30.0
    """
    seconds: float | None = None
    if header is not None and header.strip():
        text = header.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
                seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    match = _MINUTES.search(message or "")
    return float(match.group(1)) * 60 if match else None


def request_ids(request_id: str | None, client_request_id: str | None) -> str:
    """The ids an error message ends with, those known: what Microsoft support asks for.

    >>> request_ids("r-1", "c-2"), request_ids(None, "c-2"), request_ids(None, None)
    (' [request-id r-1, client-request-id c-2]', ' [client-request-id c-2]', '')
    """
    known = [
        f"{name} {value}"
        for name, value in (("request-id", request_id), ("client-request-id", client_request_id))
        if value
    ]
    return f" [{', '.join(known)}]" if known else ""


def error_from_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None, *, client_request_id: str | None = None
) -> GraphError:
    """Turn an error response into its typed exception (pure: no I/O).

    The ids come from the body's ``innerError``, else the answer's headers; ``client_request_id``
    (the id the request was sent with) stands in when the answer echoes none.

    >>> type(error_from_response(404, {"error": {"code": "notFound",
    ...     "message": "The assignment ID requested doesn’t exist."}})).__name__
    'ActivityNotFoundError'
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    error = body.get("error") if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    code = str(error.get("code") or "")
    message = str(error.get("message") or "") or f"HTTP {status}"
    inner = error.get("innerError") or error.get("innererror") or {}
    inner = inner if isinstance(inner, Mapping) else {}
    request_id = inner.get("request-id") or headers.get("request-id")
    client_request_id = inner.get("client-request-id") or headers.get("client-request-id") or client_request_id
    cls: type[GraphError] = _BY_STATUS.get(status, GraphError)
    field = None
    for candidate in ERROR_TABLE:
        row = candidate.row
        assert row is not None
        if row.matches(status, code, message):
            cls = candidate
            found = _template_regex(row.message).fullmatch(message.strip())
            if found and "fieldName" in found.groupdict():
                field = found.group("fieldName")
            break
    retry_after = None
    if issubclass(cls, (TooManyRequestsError, ServiceUnavailableError)):
        retry_after = parse_retry_after(headers.get("retry-after"), message)
    return cls(
        message,
        status=status,
        code=code or None,
        field=field,
        request_id=str(request_id) if request_id else None,
        retry_after=retry_after,
        client_request_id=str(client_request_id) if client_request_id else None,
    )


def error_body(
    cls: type[GraphError],
    *,
    request_id: str,
    client_request_id: str | None = None,
    date: str = "",
    message: str | None = None,
    code: str | None = None,
    **fill: Any,
) -> dict[str, Any]:
    """Graph's error body for a row, its ``{fieldName}``/``{noOfMinutes}`` filled.

    ``code`` overrides the row's (or the status's) code, for answers outside the error table
    such as the directory's ``Request_ResourceNotFound``.

    >>> error_body(FieldInvalidError, request_id="r", fieldName="status")["error"]["message"]
    'Input field status is invalid'
    """
    row = cls.row
    if row is None and message is None:
        raise ValueError(f"{cls.__name__} has no row; pass message=")
    code = code or (row.code if row else _generic_code(cls.default_status))
    text = message if message is not None else row.message.format(**fill)  # type: ignore[union-attr]
    return {
        "error": {
            "code": code,
            "message": text,
            "innerError": {
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
                "date": date,
            },
        }
    }


def _generic_code(status: int) -> str:
    return {
        400: "badRequest",
        401: "InvalidAuthenticationToken",
        403: "Forbidden",
        404: "notFound",
        409: "conflict",
        424: "failedDependency",
    }.get(status, "generalException")
