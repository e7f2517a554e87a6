"""The sandbox's learning providers and their catalogues: registering, reading, changing and removing both.

A base class of ``learnkit.sandbox.graph.GraphService``, whose operations it calls once the request passed
the token, the route, the contract, the service plan and the permission; the body rules are
``learnkit.catalog``'s, shared with the client. Decisions taken where Graph's pages leave room
(``docs/sandbox-differences.md`` gives the sources):

* **register** (``POST .../learningProviders``): 201 with the new provider, sync off (the update page's
  default); **remove** (``DELETE .../learningProviders/{id}``): 204, and the provider's contents and
  course activities go with it: the metadata declares both navigations ``ContainsTarget``, and OData
  addresses contained entities only through their container.
* **change** a provider (PATCH): the properties sent replace those held; none of the five the pages call
  required may become null or "".
* **upsert** a content (PATCH by id or externalId): the body is the content's whole metadata, which
  *replaces* what it held (the update page: "this operation replaces the metadata of the existing
  content"); what the body leaves out takes the page's default (``isActive`` and ``isSearchable`` true,
  ``isPremium`` false) or null. The id, the externalId when not sent, and the creation time when not
  sent are kept.

Example: ``GraphService(...)._op_create_provider(Route("create_provider"), call, claims)()`` answers 201
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from starlette.responses import JSONResponse, Response

from learnkit.catalog import CONTENT_DEFAULTS, CONTENT_POST_SERVICE_SET, check_content, check_provider
from learnkit.errors import ConflictError, FieldInvalidError, InvalidInputError, NotFoundError
from learnkit.models import LearningContent, LearningProvider
from learnkit.sandbox.answers import ODATA_JSON, Answers, Apply, Call, Failure, field_failure, wire
from learnkit.sandbox.identity import Claims
from learnkit.sandbox.odata import Query
from learnkit.sandbox.routes import Route
from learnkit.sandbox.store import Duplicate

__all__ = ["ProviderOperations"]

_PROVIDER_PROPERTIES = frozenset(LearningProvider.model_fields)
_CONTENT_PROPERTIES = frozenset(LearningContent.model_fields)
_NO_CONTENT = "The learning content requested doesn't exist."


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duplicate_content(record: dict[str, Any]) -> Failure:
    """Graph's 409 for a content whose externalId the provider already uses."""
    return Failure(
        ConflictError,
        message=f"A learningContent with externalId '{record['externalId']}' already exists for this provider.",
    )


def _new_content(values: dict[str, Any]) -> dict[str, Any]:
    """A content holding ``values``, the page's defaults where they say nothing, null elsewhere."""
    return {**dict.fromkeys(LearningContent.model_fields), **CONTENT_DEFAULTS, **values}


class ProviderOperations(Answers):
    """Providers (``_op_*_provider``) and their contents (``_op_*_content``)."""

    # --- providers ----------------------------------------------------------------

    def _op_list_providers(self, route: Route, call: Call, claims: Claims) -> Apply:
        query = self._query(call, _PROVIDER_PROPERTIES, entity="learningProvider")
        return self._collection(call, "employeeExperience/learningProviders", "providers", None, query)

    def _op_get_provider(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id)
        query = self._query(call, _PROVIDER_PROPERTIES, collection=False, entity="learningProvider")
        return self._entity(call, "employeeExperience/learningProviders", provider, query)

    @staticmethod
    def _provider_values(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        try:
            return check_provider(body, creating=creating)
        except InvalidInputError as exc:
            raise field_failure(exc) from None

    def _op_create_provider(self, route: Route, call: Call, claims: Claims) -> Apply:
        """``POST /employeeExperience/learningProviders``: 201 with the new registration, sync off until a PATCH."""
        values = self._provider_values(self._json_object(call), creating=True)
        record = {**dict.fromkeys(LearningProvider.model_fields), **values, "isCourseActivitySyncEnabled": False}
        record["id"] = str(uuid.uuid4())

        def apply() -> Response:
            self.store.insert_provider(record)
            # The create page's own context URL (no employeeExperience segment).
            return JSONResponse(
                {"@odata.context": f"{self.graph_url}/$metadata#learningProviders/$entity", **record},
                status_code=201,
                media_type=ODATA_JSON,
                headers={"Location": f"{self.graph_url}/employeeExperience/learningProviders/{record['id']}"},
            )

        return apply

    def _op_update_provider(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id)
        changes = self._provider_values(self._json_object(call), creating=False)
        return self._no_content(lambda: self.store.save_provider({**provider, **changes}))

    def _op_delete_provider(self, route: Route, call: Call, claims: Claims) -> Apply:
        """``DELETE /employeeExperience/learningProviders/{id}``: 204; its contents and activities go too."""
        provider = self._provider(route.registration_id)
        return self._no_content(lambda: self.store.delete_provider(provider["id"]))

    # --- contents -----------------------------------------------------------------

    def _op_list_contents(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id)
        query = self._query(call, _CONTENT_PROPERTIES, entity="learningContent")
        context = f"employeeExperience/learningProviders('{provider['id']}')/learningContents"
        return self._collection(call, context, "contents", provider["id"], query)

    def _content(self, provider: dict[str, Any], route: Route) -> dict[str, Any] | None:
        if route.content_external_id is not None:
            return self.store.get_content_by_external_id(provider["id"], route.content_external_id)
        found = self.store.get_content(route.content_id or "")
        return found[1] if found and found[0].lower() == provider["id"].lower() else None

    def _op_get_content(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id)
        content = self._content(provider, route)
        if content is None:
            raise Failure(NotFoundError, message=_NO_CONTENT)
        query = self._query(call, _CONTENT_PROPERTIES, collection=False, entity="learningContent")
        context = f"employeeExperience/learningProviders('{provider['id']}')/learningContents"
        return self._entity(call, context, content, query)

    @staticmethod
    def _content_values(body: dict[str, Any], *, service_set: tuple[str, ...] = ("id",)) -> dict[str, Any]:
        """A whole content's checked metadata (``learnkit.catalog.check_content``), timestamps in Graph's form."""
        try:
            data = check_content(body, creating=True, service_set=service_set)
        except InvalidInputError as exc:
            raise field_failure(exc) from None
        return {name: wire(name, value) for name, value in data.items()}

    def _op_create_content(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id)
        values = self._content_values(self._json_object(call), service_set=CONTENT_POST_SERVICE_SET)
        stamp = _now()
        record = _new_content(values)
        record.update(id=str(uuid.uuid4()), createdDateTime=stamp, lastModifiedDateTime=stamp)

        def apply() -> Response:
            try:
                self.store.insert_content(provider["id"], record)
            except Duplicate:
                raise _duplicate_content(record) from None
            context = f"employeeExperience/learningProviders('{provider['id']}')/learningContents/$entity"
            return JSONResponse(
                {"@odata.context": f"{self.graph_url}/$metadata#{context}", **record},
                status_code=201,
                media_type=ODATA_JSON,
            )

        return apply

    def _op_upsert_content(self, route: Route, call: Call, claims: Claims) -> Apply:
        """PATCH a content by id or externalId: its metadata replaced, or (by externalId, absent) created; 202."""
        provider = self._provider(route.registration_id)
        existing = self._content(provider, route)
        if existing is None and route.content_external_id is None:
            raise Failure(NotFoundError, message=_NO_CONTENT)
        body = self._json_object(call)
        if route.content_external_id is not None:
            # The key is in the URL; a body that names another externalId contradicts it.
            if body.setdefault("externalId", route.content_external_id) != route.content_external_id:
                raise Failure(FieldInvalidError, fieldName="externalId")
        elif existing is not None:
            body.setdefault("externalId", existing["externalId"])  # by id, the page's Example 1 leaves the key out
        record = _new_content(self._content_values(body))
        stamp = _now()
        record["id"] = existing["id"] if existing else str(uuid.uuid4())
        if "createdDateTime" not in body:
            record["createdDateTime"] = existing["createdDateTime"] if existing else stamp
        if "lastModifiedDateTime" not in body:
            record["lastModifiedDateTime"] = stamp
        context = f"employeeExperience/learningProviders('{provider['id']}')/learningContents"

        def apply() -> Response:
            try:
                if existing is None:
                    self.store.insert_content(provider["id"], record)
                else:
                    self.store.save_content(provider["id"], record)
            except Duplicate:
                raise _duplicate_content(record) from None
            return self._entity(call, context, record, Query(), status=202)()

        return apply

    def _op_delete_content(self, route: Route, call: Call, claims: Claims) -> Apply:
        provider = self._provider(route.registration_id)
        content = self._content(provider, route)
        if content is None:
            raise Failure(NotFoundError, message=_NO_CONTENT)
        return self._no_content(lambda: self.store.delete_content(content["id"]))
