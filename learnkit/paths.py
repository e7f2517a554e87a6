"""The learning API's paths on Graph, built in one place (each id percent-encoded as a path segment).

The client, the bulk engine and the widgets' read-back all address records through these,
so a path is spelled once.

Example::

    provider_activity("01e8f81b", "8ba2228a")
    # '/employeeExperience/learningProviders/01e8f81b/learningCourseActivities/8ba2228a'
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote

from learnkit.errors import InvalidInputError

__all__ = [
    "ACTIVITIES",
    "PROVIDERS",
    "activity",
    "activity_by_external_id",
    "key_literal",
    "learner_activities",
    "provider",
    "provider_activities",
    "provider_activity",
    "require_id",
    "segment",
    "user",
]

#: Every provider (``GET``), and the root of one provider's resources.
PROVIDERS = "/employeeExperience/learningProviders"
#: An activity by its id alone, whatever its provider (``GET``).
ACTIVITIES = "/employeeExperience/learningCourseActivities"


def require_id(value: object, name: str) -> str:
    """An id that is a non-empty string; ``InvalidInputError`` naming ``name`` otherwise.

    >>> require_id("u:1", "activity_id")
    'u:1'
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(name, "empty", "shouldn't be empty: pass the id as a string")
    return value


#: What ``quote(..., safe=":@")`` leaves as it is: most ids are all of it, and a bulk run quotes thousands.
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_.~:@-]+")


def segment(value: str, name: str) -> str:
    """An id as one path segment (``:`` and ``@`` kept, as Graph's composite ids use them).

    >>> segment("a b:c", "activity_id")
    'a%20b:c'
    """
    value = require_id(value, name)
    return value if _PLAIN_SEGMENT.fullmatch(value) else quote(value, safe=":@")


def provider(registration_id: str) -> str:
    """One provider's path."""
    return f"{PROVIDERS}/{segment(registration_id, 'registration_id')}"


@functools.lru_cache(maxsize=64)
def provider_activities(registration_id: str) -> str:
    """One provider's activities (``GET`` lists them, ``POST`` creates one)."""
    # Kept: a bulk run or a read by key addresses thousands of records under the same few providers.
    return provider(registration_id) + "/learningCourseActivities"


def provider_activity(registration_id: str, activity_id: str) -> str:
    """One activity under its provider (``PATCH``, ``DELETE``).

    >>> provider_activity("r", "a")
    '/employeeExperience/learningProviders/r/learningCourseActivities/a'
    """
    return f"{provider_activities(registration_id)}/{segment(activity_id, 'activity_id')}"


def activity(activity_id: str) -> str:
    """One activity by id (``GET``)."""
    return f"{ACTIVITIES}/{segment(activity_id, 'activity_id')}"


def key_literal(value: str) -> str:
    """An OData string key in a path: single quotes doubled, then percent-encoded (``:`` and ``@`` kept).

    >>> key_literal("o'hara 1")
    'o%27%27hara%201'
    """
    if _PLAIN_SEGMENT.fullmatch(value):  # no quote to double, nothing to encode: most keys, thousands a read
        return value
    return quote(value.replace("'", "''"), safe=":@")


def activity_by_external_id(registration_id: str, external_id: str) -> str:
    """One activity of a provider by the provider's own key (``GET``, ``PATCH``).

    >>> activity_by_external_id("r", "o'hara")
    "/employeeExperience/learningProviders/r/learningCourseActivities(externalcourseActivityId='o%27%27hara')"
    """
    return f"{provider_activities(registration_id)}(externalcourseActivityId='{key_literal(external_id)}')"


def learner_activities(user_id: str) -> str:
    """A learner's activities, every provider's (``GET``, delegated only); ``"me"`` is the signed-in user.

    >>> learner_activities("me"), learner_activities("u 1")
    ('/me/employeeExperience/learningCourseActivities', '/users/u%201/employeeExperience/learningCourseActivities')
    """
    base = "/me" if user_id == "me" else f"/users/{segment(user_id, 'user_id')}"
    return f"{base}{ACTIVITIES}"


def user(user_id: str) -> str:
    """One user by id or userPrincipalName (``GET``).

    >>> user("adele.vance@contoso.example")
    '/users/adele.vance@contoso.example'
    """
    return f"/users/{segment(user_id, 'user_id')}"
