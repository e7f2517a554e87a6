"""A provider's registration and its catalogue of contents: what a write must carry, checked on both sides.

The client calls these before sending (``GraphClient.create_provider``, ``upsert_content``,
``create_content``) and the sandbox when a body arrives, so both refuse the same body naming the
same property (``InvalidInputError``). The rules come from Graph's v1.0 pages (create and update
learningProvider, update learningContent) and its metadata:

* a provider's ``displayName`` and four logo URLs are "Required" on both pages and
  ``Nullable="false"`` in the metadata: a new registration carries them, and no write sets one to
  null or "";
* a content's ``externalId``, ``title``, ``contentWebUrl`` and ``languageTag`` are required and not
  nullable; ``level`` is one of the members before ``unknownFutureValue``;
* a content's ``duration`` is an ``Edm.Duration``, ISO 8601 days and time (``PT20M``, ``P1DT2H30M``),
  and its ``numberOfPages`` an ``Edm.Int32``;
* a content's ``createdDateTime`` and ``lastModifiedDateTime`` are instants; one written without an
  offset (the update page's own Example 2 sends ``2018-01-01T00:00:00``) is read as UTC.

>>> check_content({"title": "Intro", "duration": "20 minutes"}, creating=False)
Traceback (most recent call last):
...
learnkit.errors.InvalidInputError: duration: '20 minutes' is not an ISO 8601 duration (Edm.Duration) such as \
PT20M or P1DT2H30M
>>> check_provider({"displayName": "Contoso", "squareLogoWebUrlForDarkTheme": None}, creating=False)
Traceback (most recent call last):
...
learnkit.errors.InvalidInputError: squareLogoWebUrlForDarkTheme: shouldn't be null or empty: Graph's metadata \
declares it not nullable
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta, timezone
from typing import Any

from pydantic import TypeAdapter, ValidationError

from learnkit.errors import InvalidInputError
from learnkit.limits import check_instant
from learnkit.models import LearningContent, LearningProvider, invalid_input, strip_control_information
from learnkit.times import parse_iso

__all__ = [
    "CONTENT_DEFAULTS",
    "CONTENT_INSTANTS",
    "CONTENT_LEVELS",
    "CONTENT_POST_SERVICE_SET",
    "CONTENT_REQUIRED",
    "MAX_DURATION",
    "PROVIDER_CREATE_PROPERTIES",
    "PROVIDER_REQUIRED",
    "check_content",
    "check_duration",
    "check_provider",
]

#: learningContent ``level`` values one may set (the enum's members before its ``unknownFutureValue``).
CONTENT_LEVELS = ("beginner", "intermediate", "advanced")
#: What a new learningContent must carry (the create and update pages' "Required").
CONTENT_REQUIRED = ("externalId", "title", "contentWebUrl", "languageTag")
#: What the service sets itself on a POST of a learningContent (a PATCH may carry the two timestamps).
CONTENT_POST_SERVICE_SET = ("id", "createdDateTime", "lastModifiedDateTime")
#: The update page's defaults, what a content holds when its metadata does not say.
CONTENT_DEFAULTS: Mapping[str, bool] = {"isActive": True, "isPremium": False, "isSearchable": True}
#: A content's DateTimeOffset properties.
CONTENT_INSTANTS = ("createdDateTime", "lastModifiedDateTime")
#: The longest ``Edm.Duration`` Graph holds: .NET's ``TimeSpan.MaxValue``, about 29,227 years.
MAX_DURATION = timedelta(days=10_675_199, seconds=10_085, microseconds=477_580)

#: What a provider's registration must carry (create and update pages: "Required"; metadata: not nullable).
PROVIDER_REQUIRED = (
    "displayName",
    "longLogoWebUrlForDarkTheme",
    "longLogoWebUrlForLightTheme",
    "squareLogoWebUrlForDarkTheme",
    "squareLogoWebUrlForLightTheme",
)
#: What the create page lets a new registration carry; ``isCourseActivitySyncEnabled`` is a later PATCH.
PROVIDER_CREATE_PROPERTIES = (*PROVIDER_REQUIRED, "loginWebUrl")

_DURATION = TypeAdapter(timedelta)
_DURATION_HINT = "is not an ISO 8601 duration (Edm.Duration) such as PT20M or P1DT2H30M"


def check_duration(field: str, value: object) -> str:
    """``value`` if it is an ``Edm.Duration`` Graph can hold; else ``InvalidInputError`` naming ``field``.

    pydantic reads the ISO 8601 text; OData's duration has days and time only, so the spellings
    pydantic also takes (``HH:MM:SS``, years, months, weeks: a month has no fixed length) are refused.

    >>> check_duration("duration", "PT20M")
    'PT20M'
    >>> check_duration("duration", "00:20:00")
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: duration: '00:20:00' is not an ISO 8601 duration (Edm.Duration) such as \
PT20M or P1DT2H30M
    """
    if not isinstance(value, str):
        raise InvalidInputError(field, "invalid", f"{value!r} {_DURATION_HINT}")
    unsigned = value.removeprefix("-")
    days = unsigned.partition("T")[0]
    if not unsigned.startswith("P") or any(unit in days for unit in "YMW"):
        raise InvalidInputError(field, "invalid", f"{value!r} {_DURATION_HINT}")
    try:
        span = _DURATION.validate_python(value)
    except ValidationError:
        raise InvalidInputError(field, "invalid", f"{value!r} {_DURATION_HINT}") from None
    if abs(span) > MAX_DURATION:
        raise InvalidInputError(field, "invalid", f"{value!r} is longer than Graph's durations go (about 29,227 years)")
    return value


def _check_instant(field: str, value: object) -> None:
    """A content timestamp Graph can hold; one without an offset is UTC (the update page's Example 2)."""
    if not isinstance(value, str):
        return  # the model names the wrong type
    try:
        # learnkit's one reader of ISO text: pydantic alone also takes "1514764800" or "…t00:00:00z".
        moment = parse_iso(value)
    except ValueError:
        raise InvalidInputError(
            field, "invalid", f"{value!r} is not an ISO 8601 date-time like 2018-01-01T00:00:00Z"
        ) from None
    check_instant(field, moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))


def check_content(body: Mapping[str, Any], *, creating: bool, service_set: Sequence[str] = ("id",)) -> dict[str, Any]:
    """The learningContent properties of a POST or PATCH body, checked; ``InvalidInputError`` names the first bad one.

    ``creating``: the body is a whole content's metadata (a POST, or an upsert, which replaces what
    the content held), so the required properties must be there. ``service_set``: properties the
    service sets itself (a POST's ``createdDateTime`` too), refused if given. Control information and
    ``@odata.type`` are dropped.

    >>> check_content({"title": "x", "level": "expert"}, creating=False)
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: level: 'expert' is not one of beginner, intermediate, advanced
    """
    data = strip_control_information(body)
    data.pop("@odata.type", None)
    for name in data:
        if name not in LearningContent.model_fields or name in service_set:
            raise InvalidInputError(name, "invalid", "is not a property one can set on a learningContent")
    for name in CONTENT_REQUIRED:
        if creating and name not in data:
            raise InvalidInputError(name, "required", "is required on a new learningContent")
        if name in data and data[name] in (None, ""):
            raise InvalidInputError(name, "empty", "shouldn't be empty")
    level = data.get("level")
    if level is not None and level not in CONTENT_LEVELS:
        # unknownFutureValue too: a sentinel is no value to set, and an upsert may create.
        raise InvalidInputError("level", "invalid", f"{level!r} is not one of " + ", ".join(CONTENT_LEVELS))
    if data.get("duration") is not None:
        check_duration("duration", data["duration"])
    pages = data.get("numberOfPages")
    if isinstance(pages, int) and not -(2**31) <= pages < 2**31:
        raise InvalidInputError("numberOfPages", "invalid", f"{pages} is outside an Edm.Int32, which Graph holds")
    for name in CONTENT_INSTANTS:
        _check_instant(name, data.get(name))
    try:
        LearningContent.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        raise invalid_input(exc, data) from None
    return data


def check_provider(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The learningProvider properties of a POST (``creating``) or PATCH body, checked.

    ``InvalidInputError`` names the first bad property: one the request cannot set, a required one
    missing from a new registration, a non-nullable one set to null or "", a value of the wrong type.
    Control information, ``@odata.type`` and ``id`` are dropped (the service keeps its own key).

    >>> check_provider({"displayName": "Contoso"}, creating=True)
    Traceback (most recent call last):
    ...
    learnkit.errors.InvalidInputError: longLogoWebUrlForDarkTheme: is required to register a learningProvider
    """
    data = strip_control_information(body)
    data.pop("@odata.type", None)
    data.pop("id", None)
    settable = PROVIDER_CREATE_PROPERTIES if creating else (*PROVIDER_CREATE_PROPERTIES, "isCourseActivitySyncEnabled")
    for name in data:
        if name not in settable:
            detail = (
                "cannot be set when registering a provider: PATCH it once the provider exists"
                if name in LearningProvider.model_fields
                else "is not a property one can set on a learningProvider"
            )
            raise InvalidInputError(name, "invalid", detail)
    for name in PROVIDER_REQUIRED:
        if creating and name not in data:
            raise InvalidInputError(name, "required", "is required to register a learningProvider")
        if name in data and data[name] in (None, ""):
            raise InvalidInputError(
                name,
                "empty",
                "shouldn't be null or empty: Graph's metadata declares it not nullable",
            )
    try:
        LearningProvider.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        raise invalid_input(exc, data) from None
    return data
