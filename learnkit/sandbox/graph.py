"""The Graph learning API itself: every request checked, in Graph's order, then applied.

Order of checks: 1. bearer token (401), then the route (400 unknown segment,
405 method) and the contract (400 for what it does not serve, or a tenant profile's
recorded refusal; ``learnkit.sandbox.contract``), 2. service plan (403), 3. token kind
and permission (403), 4. registrationId (400) and
provider sync for activity writes (400), 5. activity exists (404), 6. body
(400 "Input field X ...", 403 content/licence, 409 duplicate), 7. faults and
rate limit (429/503/500/drop); only then is the request applied. Codes and
messages come from ``learnkit.errors``, body rules from ``learnkit.models`` and
``learnkit.catalog``, permission rules from ``learnkit.permissions``. The provider and content
operations are ``learnkit.sandbox.providers``'s, the answers' shapes ``learnkit.sandbox.answers``'s.

Example: ``response = await GraphService(store, identity, faults, switches, graph_url, rules).handle(call)``
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from learnkit.errors import (
    ActivityNotFoundError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldInvalidError,
    ForbiddenError,
    InternalServerError,
    InvalidInputError,
    LicenseError,
    MethodNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    ProviderContentMismatchError,
    ServicePlanError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from learnkit.models import (
    ASSIGNMENT_TYPE,
    INCLUDE_UNKNOWN_ENUM_MEMBERS,
    SELF_INITIATED_TYPE,
    UpdateModel,
    check_create,
    normalize_odata_type,
    parse_update,
    strip_control_information,
)
from learnkit.permissions import PERMISSIONS
from learnkit.sandbox.answers import (
    ODATA_JSON,
    Apply,
    Call,
    Failure,
    field_failure,
    graph_error_response,
    now_stamp,
    wire,
)
from learnkit.sandbox.contract import ContractRules, kind_not_supported
from learnkit.sandbox.faults import Faults, format_seconds, throttle_message
from learnkit.sandbox.identity import Claims, Identity, TokenRejected
from learnkit.sandbox.metadata import CSDL, hidden_member_sent
from learnkit.sandbox.payload import check_datetimes
from learnkit.sandbox.providers import ProviderOperations
from learnkit.sandbox.routes import MethodNotAllowed, Route, UnknownSegment, resolve
from learnkit.sandbox.seed import empty_activity
from learnkit.sandbox.store import Duplicate, Store
from learnkit.sandbox.switches import Switches

__all__ = ["ODATA_JSON", "Call", "DroppedResponse", "Failure", "GraphService", "graph_error_response", "now_stamp"]

_ACTIVITY_PROPERTIES = frozenset(empty_activity(ASSIGNMENT_TYPE)) | frozenset(empty_activity(SELF_INITIATED_TYPE))
#: What ``GET /users/{id}`` returns without ``$select``: Graph's default property set of a user.
_USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
_DATETIME_FIELDS = ("assignedDateTime", "completedDateTime", "startedDateTime", "dueDateTime")  # a body may set


class _Dropped(Exception):
    """The fault dice said: cut this connection."""


class DroppedResponse(Response):
    """Declares a body it never finishes: the server then closes the connection mid-response."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"value": [', "more_body": True})


def _parse_update(body: dict[str, Any]) -> UpdateModel:
    """parse_update, with date-times Graph could not hold refused first (``learnkit.limits.check_instant``)."""
    try:
        check_datetimes(body, _DATETIME_FIELDS)
        return parse_update(body)
    except InvalidInputError as exc:
        raise field_failure(exc) from None


class GraphService(ProviderOperations):
    """Answers Graph requests for one sandbox."""

    def __init__(
        self,
        store: Store,
        identity: Identity,
        faults: Faults,
        switches: Switches,
        graph_url: str,
        rules: ContractRules | None = None,
    ) -> None:
        super().__init__(store, graph_url)
        self.identity = identity
        self.faults = faults
        self.switches = switches
        #: What is served: the contract (documented or metadata) and a tenant profile's refusals.
        self.rules = rules or ContractRules()

    async def handle(self, call: Call) -> Response:
        """The response to one request (never raises for a Graph error)."""
        if not call.subrequest and self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        try:
            response = self._answer(call)
        except Failure as failure:
            response = graph_error_response(failure, call.ids)
        except _Dropped:
            return DroppedResponse()
        response.headers["OData-Version"] = "4.0"
        if call.reveals_unknown_members:
            response.headers["Preference-Applied"] = INCLUDE_UNKNOWN_ENUM_MEMBERS
        return response

    def _answer(self, call: Call) -> Response:
        if call.path.strip("/").lower() == "$metadata" and call.method.upper() in ("GET", "HEAD"):
            # Graph serves its metadata without a token.
            return Response(CSDL, media_type="application/xml")
        claims = self._authenticate(call)
        route = self._route(call)
        # Graph resolves what it serves before the workload looks at plans or permissions.
        refusal = self.rules.refusal(route.operation, call.path, call.query)
        if refusal is not None:
            raise Failure.refused(refusal)
        if not self.switches.service_plan:
            raise Failure(ServicePlanError)
        self._authorize(route.permission or route.operation, claims)
        operation: Callable[[Route, Call, Claims], Apply] = getattr(self, "_op_" + route.operation)
        apply = operation(route, call, claims)
        self._gate(call)
        return apply()

    # --- steps 0 to 3 -------------------------------------------------------------

    @staticmethod
    def _route(call: Call) -> Route:
        try:
            return resolve(call.method, call.path)
        except UnknownSegment as exc:
            raise Failure(BadRequestError, message=f"Resource not found for the segment '{exc.segment}'.") from None
        except MethodNotAllowed as exc:
            raise Failure(MethodNotAllowedError, headers={"Allow": ", ".join(exc.allowed)}) from None

    def _authenticate(self, call: Call) -> Claims:
        header = call.headers.get("authorization", "").strip()
        scheme, _, token = header.partition(" ")
        challenge = {
            "WWW-Authenticate": f'Bearer realm="", authorization_uri="{self.identity.authority}'
            f'/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        }
        if not header or (scheme.lower() == "bearer" and not token.strip()):
            raise Failure(AuthenticationError, message="Access token is empty.", headers=challenge)
        if scheme.lower() != "bearer":
            raise Failure(
                AuthenticationError,
                message="Access token validation failure. The authorization scheme must be Bearer.",
                headers=challenge,
            )
        try:
            return self.identity.verify_access_token(token.strip())
        except TokenRejected as exc:
            raise Failure(AuthenticationError, message=str(exc), headers=challenge) from None

    @staticmethod
    def _authorize(operation: str, claims: Claims) -> None:
        permission = PERMISSIONS[operation]
        if claims.kind not in permission.kinds:
            # The page says "Not supported" for this kind: no permission of it would help, so say which kind.
            refusal = kind_not_supported(claims.kind)
            raise Failure(ForbiddenError, code=refusal.code, message=refusal.message)
        if not claims.permissions.intersection(permission.accepted(claims.kind)):
            if operation == "get_user":  # the directory's own wording, not the learning API's
                raise Failure(
                    PermissionDeniedError,
                    code="Authorization_RequestDenied",
                    message="Insufficient privileges to complete the operation.",
                )
            raise Failure(PermissionDeniedError)

    # --- step 7 -----------------------------------------------------------------------

    def _gate(self, call: Call) -> None:
        fault = self.faults.decide(allow_drop=not call.subrequest)
        if fault is None:
            return
        if fault.kind == "drop":
            raise _Dropped
        if fault.kind == "500":
            raise Failure(InternalServerError)
        cls = TooManyRequestsError if fault.kind == "429" else ServiceUnavailableError
        raise Failure(
            cls,
            headers={"Retry-After": format_seconds(fault.retry_after)},
            message=throttle_message(fault.retry_after),
            noOfMinutes=math.ceil(fault.retry_after / 60),
        )

    # --- shared checks (steps 4 to 6) -------------------------------------------------

    def _activity(self, provider: dict[str, Any] | None, route: Route) -> dict[str, Any]:
        if route.external_id is not None:
            assert provider is not None
            activity = None
            if not route.external_id.startswith("\x00"):  # the store's key of an activity with no external id
                activity = self.store.get_activity_by_external_id(provider["id"], route.external_id)
        else:
            activity = self.store.get_activity(route.activity_id or "")
            if activity and provider and str(activity["learningProviderId"]).lower() != str(provider["id"]).lower():
                activity = None
        if activity is None:
            raise Failure(ActivityNotFoundError)
        return activity

    def refuse_unauthenticated(self, headers: Mapping[str, str], ids: tuple[str, str]) -> Response | None:
        """Graph's 401 answer when ``headers`` carry no valid bearer token, else None (``$batch`` checks once)."""
        try:
            self._authenticate(Call("POST", "/$batch", "", b"", headers, ids))
        except Failure as failure:
            return graph_error_response(failure, ids)
        return None

    # --- activities ---------------------------------------------------------------

    def _op_get_activity(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id) if route.registration_id is not None else None
        if route.user_id is not None:
            user = self._user(route, claims)
            activity = self.store.get_activity(route.activity_id or "")
            if activity is None or str(activity["learnerUserId"]).lower() != str(user["id"]).lower():
                raise Failure(ActivityNotFoundError)
            context = f"users('{user['id']}')/employeeExperience/learningCourseActivities"
        else:
            activity = self._activity(provider, route)
            context = (
                f"employeeExperience/learningProviders('{route.registration_id}')/learningCourseActivities"
                if provider
                else "employeeExperience/learningCourseActivities"
            )
        query = self._query(call, _ACTIVITY_PROPERTIES, collection=False)
        return self._entity(call, context, activity, query)

    def _user(self, route: Route, claims: Claims) -> dict[str, Any]:
        """The user a ``/users/{id}`` or ``/me`` path names (``/me`` needs a signed-in user)."""
        if route.user_id == "me" and claims.user_id is None:
            raise Failure(BadRequestError, message="/me request is only valid with delegated authentication flow.")
        user_id = claims.user_id if route.user_id == "me" else route.user_id
        user = self.store.get_user(user_id or "")
        if user is None:
            raise Failure(
                NotFoundError,
                message=f"Resource '{route.user_id}' does not exist or one of its queried "
                "reference-property objects are not present.",
            )
        return user

    def _op_get_user(self, route: Route, call: Call, claims: Claims) -> Apply:
        """``GET /users/{id | userPrincipalName}``: the default properties (or ``$select``'s), never the seed's own."""
        query = self._query(call, frozenset(_USER_PROPERTIES), collection=False, entity="user")
        stored = self.store.find_user(route.user_id or "")
        if stored is None:
            raise Failure(
                NotFoundError,
                code="Request_ResourceNotFound",
                message=f"Resource '{route.user_id}' does not exist or one of its queried "
                "reference-property objects are not present.",
            )
        user = {name: stored.get(name, [] if name == "businessPhones" else None) for name in _USER_PROPERTIES}
        context = f"users({','.join(query.select)})" if query.select else "users"
        return self._entity(call, context, user, query)

    def _op_get_activity_by_external_id(self, route: Route, call: Call, claims: Claims) -> Apply:
        return self._op_get_activity(route, call, claims)

    def _op_list_provider_activities(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id)
        query = self._query(call, _ACTIVITY_PROPERTIES)
        context = f"employeeExperience/learningProviders('{route.registration_id}')/learningCourseActivities"
        return self._collection(call, context, "provider_activities", provider["id"], query)

    def _op_list_learner_activities(self, route: Route, call: Call, claims: Claims) -> Apply:
        user = self._user(route, claims)
        query = self._query(call, _ACTIVITY_PROPERTIES)
        context = f"users('{user['id']}')/employeeExperience/learningCourseActivities"
        return self._collection(call, context, "learner_activities", user["id"], query)

    @staticmethod
    def _opted_in(call: Call, body: dict[str, Any]) -> None:
        """A member after unknownFutureValue may be sent only by a client that opted into them."""
        name = hidden_member_sent(body, revealed=call.reveals_unknown_members)
        if name is not None:
            raise Failure(FieldInvalidError, fieldName=name)

    def _changes(self, activity: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        model = _parse_update(body)
        if model.odata_type != normalize_odata_type(activity["@odata.type"]):
            raise Failure(FieldInvalidError, fieldName="@odata.type")
        changes = model.to_body()
        for key in ("@odata.type", *UpdateModel.READ_ONLY):
            changes.pop(key, None)
        return {key: wire(key, value) for key, value in changes.items()}

    def _op_update_activity(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id, write=True)
        activity = self._activity(provider, route)
        body = self._json_object(call)
        changes = self._changes(activity, body)
        self._opted_in(call, body)
        return self._no_content(lambda: self.store.save_activity({**activity, **changes}))

    def _op_update_activity_by_external_id(self, route: Route, call: Call, claims: Claims) -> Apply:
        return self._op_update_activity(route, call, claims)

    def _op_delete_activity(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id, write=True)
        activity = self._activity(provider, route)
        return self._no_content(lambda: self.store.delete_activity(activity["id"]))

    def _op_create_activity(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id, write=True)
        body = self._json_object(call)
        try:
            check_datetimes(body, _DATETIME_FIELDS)  # Graph could not hold them: refused before the model reads them
            values = check_create(body).to_body()
        except InvalidInputError as exc:
            raise field_failure(exc) from None
        self._opted_in(call, body)
        body = strip_control_information(body)
        if "externalCourseActivityId" in body and "externalcourseActivityId" not in body:
            body["externalcourseActivityId"] = body.pop("externalCourseActivityId")
        learner = self.store.get_user(str(body["learnerUserId"]))
        if learner is None:
            raise Failure(FieldInvalidError, fieldName="learnerUserId")
        found = self.store.get_content(str(body["learningContentId"]))
        if found is None:
            raise Failure(FieldInvalidError, fieldName="learningContentId")
        content_provider, _ = found
        given_provider = body.get("learningProviderId")
        if content_provider.lower() != provider["id"].lower() or (
            given_provider is not None and str(given_provider).lower() != provider["id"].lower()
        ):
            raise Failure(ProviderContentMismatchError)
        if not learner.get("hasPremiumLicense"):
            raise Failure(LicenseError)
        external_id = body.get("externalcourseActivityId")
        if external_id is not None and self.store.get_activity_by_external_id(provider["id"], external_id):
            raise Failure(
                ConflictError,
                message=f"A learningCourseActivity with externalcourseActivityId "
                f"'{external_id}' already exists for this provider.",
            )
        record = empty_activity(str(values["@odata.type"]))
        values.pop("id", None)
        record.update({key: wire(key, value) for key, value in values.items()})
        record.update(
            id=f"{learner['id']}:{uuid.uuid4()}",
            learnerUserId=learner["id"],
            learningProviderId=provider["id"],
        )

        def apply() -> Response:
            try:
                self.store.insert_activity(record)
            except Duplicate:
                raise Failure(
                    ConflictError,
                    message=f"A learningCourseActivity with externalcourseActivityId "
                    f"'{external_id}' already exists for this provider.",
                ) from None
            context = f"employeeExperience/learningProviders('{provider['id']}')/learningCourseActivities/$entity"
            location = (
                f"{self.graph_url}/employeeExperience/learningProviders/{provider['id']}"
                f"/learningCourseActivities/{record['id']}"
            )
            return JSONResponse(
                {"@odata.context": f"{self.graph_url}/$metadata#{context}", **self._shown(call, record)},
                status_code=201,
                media_type=ODATA_JSON,
                headers={"Location": location},
            )

        return apply
