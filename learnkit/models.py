"""Pydantic models of the Graph learning resources: the wire format, typed.

Read models (``LearningAssignment``, ``LearningSelfInitiatedCourse``,
``LearningProvider``, ``LearningContent``) are lenient: they keep properties a
future Graph adds and read both spellings of ``externalcourseActivityId``.

Update models (``AssignmentUpdate``, ``SelfInitiatedCourseUpdate``) are strict:
only the documented properties, the seed's rules, and ``to_body()`` gives the
PATCH body with unset properties left out and explicit ``None`` kept as ``null``.
What a provider's or a content's write must carry is ``learnkit.catalog``'s.

Example::

    >>> parse_update({"@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
    ...               "status": "completed", "completionPercentage": 100}).to_body()
    {'@odata.type': '#microsoft.graph.learningSelfInitiatedCourse', 'status': 'completed', 'completionPercentage': 100}
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from learnkit.errors import InvalidInputError
from learnkit.limits import check_instant
from learnkit.times import graph_local, is_known_zone, parse_iso, zoned_instant

__all__ = [
    "ASSIGNMENT_TYPE",
    "INCLUDE_UNKNOWN_ENUM_MEMBERS",
    "INSTANT_PROPERTIES",
    "SELF_INITIATED_TYPE",
    "AssignmentType",
    "AssignmentUpdate",
    "BodyType",
    "DateTimeTimeZone",
    "ItemBody",
    "LearningAssignment",
    "LearningContent",
    "LearningCourseActivity",
    "LearningProvider",
    "LearningSelfInitiatedCourse",
    "SelfInitiatedCourseUpdate",
    "UpdateModel",
    "batch_rule_violation",
    "check_create",
    "normalize_odata_type",
    "parse_activity",
    "parse_update",
    "strip_control_information",
]

AssignmentODataType = Literal["#microsoft.graph.learningAssignment"]
SelfInitiatedODataType = Literal["#microsoft.graph.learningSelfInitiatedCourse"]
ASSIGNMENT_TYPE: AssignmentODataType = "#microsoft.graph.learningAssignment"
SELF_INITIATED_TYPE: SelfInitiatedODataType = "#microsoft.graph.learningSelfInitiatedCourse"

# The seed's prose says "learningSelfInitiated"; Graph's metadata says ...Course.
_TYPE_ALIASES = {
    "learningassignment": ASSIGNMENT_TYPE,
    "learningselfinitiatedcourse": SELF_INITIATED_TYPE,
    "learningselfinitiated": SELF_INITIATED_TYPE,
}


#: The ``Prefer`` value with which a client asks Graph for enum members added after ``unknownFutureValue``.
INCLUDE_UNKNOWN_ENUM_MEMBERS = "include-unknown-enum-members"


class AssignmentType(str, Enum):
    """assignmentType of a learningAssignment."""

    REQUIRED = "required"
    RECOMMENDED = "recommended"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"
    PEER_RECOMMENDED = "peerRecommended"


class BodyType(str, Enum):
    """itemBody contentType."""

    TEXT = "text"
    HTML = "html"


def normalize_odata_type(value: object) -> str:
    """The metadata form of an activity's ``@odata.type``, from any form a user may write.

    >>> normalize_odata_type("microsoft.graph.learningSelfInitiated")
    '#microsoft.graph.learningSelfInitiatedCourse'
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            "@odata.type",
            "required" if value is None else "empty",
            "say which type to update: " + " or ".join(_ODATA_CHOICES),
        )
    key = value.strip().lstrip("#").removeprefix("microsoft.graph.").lower()
    if key not in _TYPE_ALIASES:
        raise InvalidInputError("@odata.type", "invalid", f"{value!r} is not one of " + ", ".join(_ODATA_CHOICES))
    return _TYPE_ALIASES[key]


_ODATA_CHOICES = (ASSIGNMENT_TYPE, SELF_INITIATED_TYPE)


# --- value types -----------------------------------------------------------

_GRAPH_LOCAL_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?")


class _Complex(BaseModel):
    """A Graph complex type: its properties only, plus the ``@odata.type`` OData JSON lets a value carry.

    The type annotation is checked (it must name this type) and never dumped: it says nothing the
    property's own type does not.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    #: The complex type's qualified name in Graph's metadata.
    ODATA_TYPE: ClassVar[str] = ""

    # Left out of the JSON schema too: the forms built from it have nothing to edit here.
    odata_type: SkipJsonSchema[str | None] = Field(default=None, alias="@odata.type", exclude=True, repr=False)

    @field_validator("odata_type")
    @classmethod
    def _own_type(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lstrip("#").lower() != cls.ODATA_TYPE.lower():
            raise PydanticCustomError(
                "odata_type", "@odata.type '{value}' is not #{expected}", {"value": value, "expected": cls.ODATA_TYPE}
            )
        return value


class DateTimeTimeZone(_Complex):
    """dateTimeTimeZone: a local date-time and the zone it is in.

    >>> DateTimeTimeZone(dateTime="2022-09-22T16:05:00.0000000", timeZone="UTC").timeZone
    'UTC'
    """

    ODATA_TYPE: ClassVar[str] = "microsoft.graph.dateTimeTimeZone"

    dateTime: str
    timeZone: str

    @field_validator("dateTime")
    @classmethod
    def _local_datetime(cls, value: str) -> str:
        if not _GRAPH_LOCAL_DATETIME.fullmatch(value):
            raise PydanticCustomError(
                "graph_datetime",
                "dateTime must look like 2022-09-22T16:05:00.0000000, with no offset "
                "(the zone goes in timeZone), got '{value}'",
                {"value": value},
            )
        try:
            parse_iso(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "graph_datetime", "dateTime is not a real date: {err}", {"err": str(exc)}
            ) from None
        return value

    @field_validator("timeZone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_known_zone(value):
            raise PydanticCustomError(
                "time_zone",
                "timeZone '{value}' is not an IANA or Windows time-zone name (e.g. 'UTC', "
                "'Europe/Paris', 'Pacific Standard Time')",
                {"value": value},
            )
        return value

    @classmethod
    def from_datetime(cls, dt: datetime) -> DateTimeTimeZone:
        """From a time-zone-aware datetime; a ZoneInfo zone is kept, any other offset becomes UTC."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError("naive datetime")
        if isinstance(dt.tzinfo, zoneinfo.ZoneInfo):
            return cls(dateTime=graph_local(dt), timeZone=dt.tzinfo.key)
        return cls(dateTime=graph_local(dt.astimezone(timezone.utc)), timeZone="UTC")

    def to_datetime(self) -> datetime:
        """The aware datetime this stands for (an IANA or a Windows zone name)."""
        return zoned_instant(self.dateTime, self.timeZone)


class _ReadDateTimeTimeZone(DateTimeTimeZone):
    """dateTimeTimeZone as read: a zone that is no IANA or Windows name is kept, not a reason to refuse the record.

    A tenant can hold one (``learnkit.audit``'s ``unknown-time-zone`` rule finds it); an update still refuses it.

    >>> _ReadDateTimeTimeZone(dateTime="2024-01-15T17:00:00.0000000", timeZone="Eastern Time").timeZone
    'Eastern Time'
    """

    @field_validator("timeZone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return value


class ItemBody(_Complex):
    """itemBody: text or HTML content.

    >>> ItemBody(content="hi").contentType
    <BodyType.TEXT: 'text'>
    """

    ODATA_TYPE: ClassVar[str] = "microsoft.graph.itemBody"

    contentType: BodyType = BodyType.TEXT
    content: str | None = None


def _aware(value: Any) -> Any:
    """Text to a datetime (any fraction length); an instant Graph cannot hold is refused with the reason.

    Naive values pass through to pydantic's ``AwareDatetime``, which refuses them (its message is
    reworded in ``invalid_input``).
    """
    if isinstance(value, str):
        try:
            value = parse_iso(value)
        except ValueError:
            raise PydanticCustomError(
                "datetime_offset",
                "'{value}' is not an ISO 8601 date-time like 2021-05-11T22:57:17+00:00",
                {"value": value},
            ) from None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        try:
            check_instant("", value)
        except InvalidInputError:
            raise PydanticCustomError(
                "datetime_range",
                "{value} is outside 0001-01-01 to 9999-12-31 once converted to UTC, so Graph cannot hold it",
                {"value": value.isoformat()},
            ) from None
    return value


#: pydantic's message for a naive datetime, said the way a user can act on.
_NAIVE = (
    "has no time zone, and Graph's DateTimeOffset needs one: give an offset (…+00:00 or …Z) or an aware "
    "datetime, so the time is not read in the wrong zone"
)


def _due(value: Any) -> Any:
    """dueDateTime: the seed says DateTimeOffset, the metadata dateTimeTimeZone; take both."""
    if isinstance(value, (datetime, str)):
        moment = _aware(value)
        if moment.utcoffset() is None:
            raise PydanticCustomError("timezone_aware", "Input should have timezone info", {})
        return DateTimeTimeZone.from_datetime(moment)
    return value


def _notes(value: Any) -> Any:
    """notes: the seed says String, the metadata itemBody; take both."""
    return ItemBody(contentType=BodyType.TEXT, content=value) if isinstance(value, str) else value


DateTimeOffset = Annotated[AwareDatetime, BeforeValidator(_aware)]
#: The date-time properties that are instants (DateTimeOffset on the wire); ``dueDateTime`` is a local time.
INSTANT_PROPERTIES = ("assignedDateTime", "completedDateTime", "startedDateTime")
Percentage = Annotated[int, Field(ge=0, le=100, strict=True)]
NonEmpty = Annotated[str, Field(min_length=1)]
_EXTERNAL_ID = Field(
    default=None,
    validation_alias=AliasChoices("externalcourseActivityId", "externalCourseActivityId"),
    serialization_alias="externalcourseActivityId",
)


# --- read models -----------------------------------------------------------


class _Read(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class LearningCourseActivity(_Read):
    """A course activity as Graph returns it; the base of both activity types."""

    odata_type: str | None = Field(default=None, alias="@odata.type")
    id: str | None = None
    completedDateTime: datetime | None = None
    completionPercentage: int | None = None
    externalcourseActivityId: str | None = _EXTERNAL_ID
    learnerUserId: str | None = None
    learningContentId: str | None = None
    learningProviderId: str | None = None
    #: A courseStatus value, as a plain string so that values a future Graph adds are kept.
    status: str | None = None


class LearningAssignment(LearningCourseActivity):
    """A learningAssignment as Graph returns it.

    >>> LearningAssignment.model_validate({"id": "a", "externalCourseActivityId": "x"}).externalcourseActivityId
    'x'
    """

    odata_type: str | None = Field(default=ASSIGNMENT_TYPE, alias="@odata.type")
    assignedDateTime: datetime | None = None
    assignerUserId: str | None = None
    #: An assignmentType value, as a plain string (``peerRecommended`` and future values are kept).
    assignmentType: str | None = None
    dueDateTime: _ReadDateTimeTimeZone | None = None
    notes: ItemBody | None = None


class LearningSelfInitiatedCourse(LearningCourseActivity):
    """A learningSelfInitiatedCourse as Graph returns it."""

    odata_type: str | None = Field(default=SELF_INITIATED_TYPE, alias="@odata.type")
    startedDateTime: datetime | None = None


class LearningProvider(_Read):
    """A learningProvider; ``id`` is the registrationId."""

    id: str | None = None
    displayName: str | None = None
    isCourseActivitySyncEnabled: bool | None = None
    loginWebUrl: str | None = None
    longLogoWebUrlForDarkTheme: str | None = None
    longLogoWebUrlForLightTheme: str | None = None
    squareLogoWebUrlForDarkTheme: str | None = None
    squareLogoWebUrlForLightTheme: str | None = None


class LearningContent(_Read):
    """A learningContent of a provider's catalogue; ``duration`` is ISO 8601 text as Graph writes it (``PT20M``)."""

    id: str | None = None
    externalId: str | None = None
    title: str | None = None
    contentWebUrl: str | None = None
    languageTag: str | None = None
    description: str | None = None
    duration: str | None = None
    format: str | None = None
    level: str | None = None
    isActive: bool | None = None
    isPremium: bool | None = None
    isSearchable: bool | None = None
    numberOfPages: int | None = None
    sourceName: str | None = None
    thumbnailWebUrl: str | None = None
    additionalTags: list[str] | None = None
    skillTags: list[str] | None = None
    contributors: list[str] | None = None
    createdDateTime: datetime | None = None
    lastModifiedDateTime: datetime | None = None


def parse_activity(data: Mapping[str, Any]) -> LearningCourseActivity:
    """The read model for an activity's JSON, chosen by ``@odata.type``.

    >>> type(parse_activity({"@odata.type": "#microsoft.graph.learningAssignment"})).__name__
    'LearningAssignment'
    """
    try:
        kind = normalize_odata_type(data.get("@odata.type"))
    except InvalidInputError:
        return LearningCourseActivity.model_validate(data)
    cls = LearningAssignment if kind == ASSIGNMENT_TYPE else LearningSelfInitiatedCourse
    return cls.model_validate(data)


# --- update models ---------------------------------------------------------


class UpdateModel(BaseModel):
    """Base of the strict PATCH bodies. ``to_body()`` is what is sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)

    odata_type: str
    #: The properties of the seed's table for this type, in its order.
    UPDATABLE: ClassVar[tuple[str, ...]] = ()
    #: Properties a body may carry (the seed's example does; so does an object just fetched) that the
    #: service keeps as they are: OData has a service ignore read-only and key properties in a PATCH.
    READ_ONLY: ClassVar[tuple[str, ...]] = (
        "id",
        "assignmentType",
        "assignerUserId",
        "externalcourseActivityId",
        "learnerUserId",
        "learningContentId",
        "learningProviderId",
    )

    # Identity fields: accepted so the seed's Example 1, or an object just read, validates verbatim;
    # the service keeps its own.
    id: NonEmpty | None = None
    externalcourseActivityId: NonEmpty | None = _EXTERNAL_ID
    learnerUserId: NonEmpty | None = None
    learningContentId: NonEmpty | None = None
    learningProviderId: NonEmpty | None = None

    completedDateTime: DateTimeOffset | None = None
    completionPercentage: Percentage | None = None

    # DateTimeOffset values given as text, as given: Graph keeps seven fractional digits, Python's
    # datetime six, so the text is what is sent while it still means the validated value.
    _instant_text: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_instant_text(cls, data: Any, handler: ModelWrapValidatorHandler[UpdateModel]) -> UpdateModel:
        model = handler(data)
        if isinstance(data, Mapping) and isinstance(model, UpdateModel):
            model._instant_text = {
                name: value for name in INSTANT_PROPERTIES if isinstance(value := data.get(name), str) and "." in value
            }
        return model

    def to_body(self) -> dict[str, Any]:
        """The JSON body: ``@odata.type`` first, unset properties left out, explicit None as null."""
        body = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        body.pop("@odata.type", None)
        for name, text in self._instant_text.items():
            if name in body and getattr(self, name) == _aware(text):
                body[name] = text
        return {"@odata.type": self.odata_type, "status": body.pop("status"), **body}


class AssignmentUpdate(UpdateModel):
    """PATCH body for a learningAssignment (the seed's first table).

    >>> AssignmentUpdate(status="completed", completionPercentage=100).to_body()["status"]
    'completed'
    """

    odata_type: AssignmentODataType = Field(default=ASSIGNMENT_TYPE, alias="@odata.type")
    UPDATABLE: ClassVar[tuple[str, ...]] = (
        "assignedDateTime",
        "completedDateTime",
        "completionPercentage",
        "dueDateTime",
        "notes",
        "status",
    )

    status: Literal["notStarted", "inProgress", "completed"]
    assignedDateTime: DateTimeOffset | None = None
    dueDateTime: Annotated[DateTimeTimeZone, BeforeValidator(_due)] | None = None
    notes: Annotated[ItemBody, BeforeValidator(_notes)] | None = None
    assignmentType: AssignmentType | None = None
    assignerUserId: NonEmpty | None = None


class SelfInitiatedCourseUpdate(UpdateModel):
    """PATCH body for a learningSelfInitiatedCourse (the seed's second table).

    >>> SelfInitiatedCourseUpdate(status="inProgress").to_body()
    {'@odata.type': '#microsoft.graph.learningSelfInitiatedCourse', 'status': 'inProgress'}
    """

    odata_type: SelfInitiatedODataType = Field(default=SELF_INITIATED_TYPE, alias="@odata.type")
    UPDATABLE: ClassVar[tuple[str, ...]] = (
        "completedDateTime",
        "completionPercentage",
        "status",
        "startedDateTime",
    )

    status: Literal["inProgress", "completed"]
    startedDateTime: DateTimeOffset | None = None


UPDATE_MODELS: dict[str, type[UpdateModel]] = {
    ASSIGNMENT_TYPE: AssignmentUpdate,
    SELF_INITIATED_TYPE: SelfInitiatedCourseUpdate,
}


def parse_update(changes: Mapping[str, Any] | UpdateModel) -> UpdateModel:
    """Validate a PATCH body (a dict in the seed's JSON shape, or a model).

    Raises ``InvalidInputError`` naming the first bad field, with every problem
    in ``.problems``.

    >>> parse_update({"@odata.type": "#microsoft.graph.learningAssignment",
    ...               "status": "inProgress", "completionPercentage": 150})
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: completionPercentage: Input should be less than or equal to 100 (got 150)
    """
    if isinstance(changes, UpdateModel):
        return changes
    if not isinstance(changes, Mapping):
        raise InvalidInputError("body", "invalid", f"expected a JSON object, got {type(changes).__name__}")
    data = strip_control_information(changes)
    data["@odata.type"] = normalize_odata_type(data.get("@odata.type"))
    model = UPDATE_MODELS[data["@odata.type"]]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, data) from None


def invalid_input(exc: ValidationError, data: Mapping[str, Any]) -> InvalidInputError:
    """The InvalidInputError for a pydantic ValidationError, in Graph's three words."""
    problems = []
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else "body"
        kind = err["type"]
        value = data.get(field, err.get("input"))
        if kind == "missing":
            reason, detail = "required", "is required"
        elif kind == "extra_forbidden":
            reason, detail = "invalid", "is not a property that can be updated on this type"
        elif (value is None and field in data) or kind == "string_too_short":
            reason, detail = "empty", "shouldn't be empty"
        elif kind == "timezone_aware":
            shown = value.isoformat() if isinstance(value, datetime) else value
            reason, detail = "invalid", f"{shown} {_NAIVE}"
        else:
            reason, detail = "invalid", f"{err['msg']} (got {value!r})"
        problems.append((field, reason, detail))
    field, reason, detail = problems[0]
    return InvalidInputError(field, reason, detail, tuple(problems))


def strip_control_information(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body without OData control information and annotations (``@odata.context``, ``@odata.etag``,
    ``status@odata.type``, ...), which a request may carry and a service ignores; ``@odata.type`` stays.

    >>> strip_control_information({"@odata.context": "https://h/$metadata#x/$entity", "@odata.type": "#t", "a": 1})
    {'@odata.type': '#t', 'a': 1}
    """
    return {key: value for key, value in body.items() if "@" not in str(key) or key == "@odata.type"}


#: What a create body must carry, by type (the create docs' "Required", and the metadata's
#: non-nullable ``assignmentType``); ``externalcourseActivityId`` is optional there.
CREATE_REQUIRED: dict[str, tuple[str, ...]] = {
    ASSIGNMENT_TYPE: ("learnerUserId", "learningContentId", "status", "assignmentType"),
    SELF_INITIATED_TYPE: ("learnerUserId", "learningContentId", "status"),
}


def check_create(body: Mapping[str, Any]) -> UpdateModel:
    """Validate a create (POST) body: the PATCH rules, plus the properties a new activity must have.

    Raises ``InvalidInputError`` naming the field, as the service would.

    >>> check_create({"@odata.type": "#microsoft.graph.learningAssignment", "status": "notStarted",
    ...               "learnerUserId": "u", "learningContentId": "c"})
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: assignmentType: is required on a new learningAssignment
    """
    if not isinstance(body, Mapping):
        raise InvalidInputError("body", "invalid", f"expected a JSON object, got {type(body).__name__}")
    kind = normalize_odata_type(body.get("@odata.type"))
    data = strip_control_information(body)
    if "externalCourseActivityId" in data and "externalcourseActivityId" not in data:
        data["externalcourseActivityId"] = data.pop("externalCourseActivityId")
    name = kind.rsplit(".", 1)[-1]
    for field in CREATE_REQUIRED[kind]:
        if field not in data:
            raise InvalidInputError(field, "required", f"is required on a new {name}")
        if data[field] is None or data[field] == "":
            raise InvalidInputError(field, "empty", f"shouldn't be empty on a new {name}")
    for field in ("assignmentType", "status"):
        if data.get(field) == "unknownFutureValue":
            # Graph's evolvable-enum rule: the sentinel is refused in a POST (a PATCH leaves the value as it is).
            raise InvalidInputError(field, "invalid", "unknownFutureValue marks values added later; it cannot be set")
    return parse_update(data)


def batch_rule_violation(requests: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(field, message) of the first JSON-batching rule a batch breaks, or None: ids unique ignoring case;
    a sub-request with a body names its Content-Type. Graph answers such a batch 400 as a whole.

    >>> batch_rule_violation([{"id": "a", "method": "GET", "url": "/x"}, {"id": "A", "method": "GET", "url": "/y"}])
    ('requests', "Batch request ids must be unique, ignoring case; 'A' is repeated.")
    """
    seen: set[str] = set()
    for item in requests:
        rid = str(item.get("id"))
        folded = rid.lower()
        if folded in seen:
            return "requests", f"Batch request ids must be unique, ignoring case; '{rid}' is repeated."
        seen.add(folded)
        if item.get("body") is None:
            continue
        headers = item.get("headers") or {}
        # Spelled as Graph's pages spell it (every bulk PATCH) is found at once; any other case is looked for.
        if not (type(headers) is dict and "Content-Type" in headers) and not any(
            str(k).lower() == "content-type" for k in headers
        ):
            return "headers", f"Write request id : {rid} does not contain Content-Type header or body."
    return None
