"""Graph's URL space for the learning API (and ``/users/{id}`` for names): a method and a path to an operation name.

Operation names are the keys of ``learnkit.permissions.PERMISSIONS``. Pure:
no I/O, no state.

>>> route = resolve("PATCH", "/employeeExperience/learningProviders/p1/learningCourseActivities"
...                         "(externalcourseActivityId=%27x%27)")
>>> route.operation, route.registration_id, route.external_id
('update_activity_by_external_id', 'p1', 'x')

A key may also be written unquoted, as the get page's Example 2 writes it (``_key``):

>>> resolve("GET", "/employeeExperience/learningProviders/p1/learningCourseActivities"
...                "(externalCourseActivityId=12a2228a-e020-11ec-9d64-0242ac120002)").external_id
'12a2228a-e020-11ec-9d64-0242ac120002'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["MethodNotAllowed", "Route", "UnknownSegment", "resolve"]


@dataclass(frozen=True)
class Route:
    """A resolved request: the operation and the ids named in the URL."""

    operation: str
    registration_id: str | None = None
    activity_id: str | None = None
    external_id: str | None = None
    content_id: str | None = None
    content_external_id: str | None = None
    user_id: str | None = None
    #: The key of ``learnkit.permissions.PERMISSIONS`` it needs, when not its own name.
    permission: str | None = None


class UnknownSegment(Exception):
    """No Graph resource at this path; ``.segment`` is the first one not understood."""

    def __init__(self, segment: str) -> None:
        super().__init__(segment)
        self.segment = segment


class MethodNotAllowed(Exception):
    """The path is a known entity, but not for this method; ``.allowed`` lists the methods it takes."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__(", ".join(allowed))
        self.allowed = allowed


# A key value is an OData string literal ('v', quotes doubled) or, as Graph's get page writes it, bare: no
# quote, parenthesis, comma or equals sign, which would make it some other part of OData's key syntax.
_KEY = re.compile(
    r"^(?P<name>[A-Za-z]+)\((?:(?P<prop>[A-Za-z]+)=)?(?:'(?P<value>(?:[^']|'')*)'|(?P<bare>[^'(),=]+))\)$"
)


def _key(segment: str, collection: str, prop: str) -> tuple[str, str] | None:
    """For ``collection(prop='v')``, ``collection('v')`` or the same unquoted: ("prop" or "id", v); else None.

    The get learningCourseActivity page writes ``(externalCourseActivityId={externalCourseActivityId})``
    and its Example 2 a bare GUID, where OData quotes a string key: both spellings name the same key.
    """
    match = _KEY.match(segment)
    if not match or match["name"].lower() != collection.lower():
        return None
    given = (match["prop"] or "id").lower()
    if given not in (prop.lower(), "id"):
        raise UnknownSegment(segment)
    value = match["bare"] if match["bare"] is not None else match["value"].replace("''", "'")
    return ("id" if given == "id" else prop), value


def _pick(method: str, table: dict[str, Route]) -> Route:
    if method in table:
        return table[method]
    raise MethodNotAllowed(tuple(table))


def resolve(method: str, path: str) -> Route:
    """The route for ``method`` and a raw (percent-encoded) ``path`` under ``/v1.0``.

    Raises UnknownSegment or MethodNotAllowed.
    """
    method = method.upper()
    segments = [unquote(s) for s in path.strip("/").split("/")]
    lower = [s.lower() for s in segments]
    n = len(segments)
    if lower[:2] == ["employeeexperience", "learningcourseactivities"]:
        if n == 2:
            raise MethodNotAllowed(())
        if n == 3:
            return _pick(method, {"GET": Route("get_activity", activity_id=segments[2])})
        raise UnknownSegment(segments[3])
    if lower[:2] == ["employeeexperience", "learningproviders"]:
        return _provider_routes(method, segments, lower)
    if n == 1 and lower[0].startswith("users("):
        key = _key(segments[0], "users", "userPrincipalName")  # users('{id | userPrincipalName}')
        if key is None:
            raise UnknownSegment(segments[0])
        return _pick(method, {"GET": Route("get_user", user_id=key[1])})
    if n >= 2 and lower[0] == "users":
        user = segments[1]
        rest = lower[2:]
        if not rest:
            return _pick(method, {"GET": Route("get_user", user_id=user)})
    elif lower[0] == "me":
        user, rest = "me", lower[1:]
    else:
        raise UnknownSegment(segments[0] or "v1.0")
    if rest == ["employeeexperience", "learningcourseactivities"]:
        return _pick(method, {"GET": Route("list_learner_activities", user_id=user)})
    if rest[:2] == ["employeeexperience", "learningcourseactivities"] and len(rest) == 3:
        activity_id = segments[len(segments) - 1]
        return _pick(method, {"GET": Route("get_activity", activity_id=activity_id, user_id=user)})
    known = ["employeeexperience", "learningcourseactivities"]
    for i, segment in enumerate(rest):
        if i >= len(known) or segment != known[i]:
            raise UnknownSegment(segment)
    raise MethodNotAllowed(())


def _provider_routes(method: str, segments: list[str], lower: list[str]) -> Route:
    n = len(segments)
    if n == 2:
        return _pick(method, {"GET": Route("list_providers"), "POST": Route("create_provider")})
    rid = segments[2]
    if n == 3:
        # DELETE as the delete page writes it. A provider's /$ref, which no page documents (a content's delete
        # page writes one), is an unknown segment below: a rehearsal must not pass with a URL Graph may refuse.
        return _pick(
            method,
            {
                "GET": Route("get_provider", registration_id=rid),
                "PATCH": Route("update_provider", registration_id=rid),
                "DELETE": Route("delete_provider", registration_id=rid),
            },
        )
    nav = segments[3]
    if lower[3] == "learningcourseactivities":
        if n == 4:
            return _pick(
                method,
                {
                    "GET": Route("list_provider_activities", registration_id=rid),
                    "POST": Route("create_activity", registration_id=rid),
                },
            )
        if n == 5:
            return _activity_by_id(method, rid, segments[4])
        raise UnknownSegment(segments[5])
    if lower[3] == "learningcontents":
        if n == 4:
            return _pick(
                method,
                {
                    "GET": Route("list_contents", registration_id=rid),
                    "POST": Route("create_content", registration_id=rid),
                },
            )
        if n == 5:
            return _content(method, rid, content_id=segments[4])
        if n == 6 and lower[5] == "$ref":
            return _pick(
                method,
                {
                    "DELETE": Route(
                        "delete_content", registration_id=rid, content_id=segments[4], permission="create_content"
                    )
                },
            )
        raise UnknownSegment(segments[5])
    key = _key(nav, "learningContents", "externalId")
    if key is not None and n == 5 and lower[4] == "$ref":
        kind, value = key
        ids = {"content_id": value} if kind == "id" else {"content_external_id": value}
        return _pick(
            method, {"DELETE": Route("delete_content", registration_id=rid, permission="create_content", **ids)}
        )
    if n > 4:
        raise UnknownSegment(nav)
    key = _key(nav, "learningCourseActivities", "externalcourseActivityId")
    if key is not None:
        kind, value = key
        if kind == "id":
            return _activity_by_id(method, rid, value)
        return _pick(
            method,
            {
                "GET": Route("get_activity_by_external_id", registration_id=rid, external_id=value),
                "PATCH": Route("update_activity_by_external_id", registration_id=rid, external_id=value),
            },
        )
    key = _key(nav, "learningContents", "externalId")
    if key is not None:
        kind, value = key
        if kind == "id":
            return _content(method, rid, content_id=value)
        return _content(method, rid, content_external_id=value)
    raise UnknownSegment(nav)


def _content(method: str, rid: str, **ids: str) -> Route:
    """GET, PATCH (an upsert) or DELETE one learningContent, by id or externalId."""
    return _pick(
        method,
        {
            "GET": Route("get_content", registration_id=rid, **ids),
            "PATCH": Route("upsert_content", registration_id=rid, permission="create_content", **ids),
            "DELETE": Route("delete_content", registration_id=rid, permission="create_content", **ids),
        },
    )


def _activity_by_id(method: str, rid: str, activity_id: str) -> Route:
    return _pick(
        method,
        {
            "GET": Route("get_activity", registration_id=rid, activity_id=activity_id),
            "PATCH": Route("update_activity", registration_id=rid, activity_id=activity_id),
            "DELETE": Route("delete_activity", registration_id=rid, activity_id=activity_id),
        },
    )
