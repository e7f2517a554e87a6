"""The demo tenant: fixed ids, and a deterministic generator of its users, providers, contents and activities.

The seed's examples run verbatim against it: provider ``REGISTRATION_ID``
holds assignment ``ASSIGNMENT_ID`` of learner ``LEARNER_ID`` on content
``CONTENT_ID``, assigned by ``ASSIGNER_ID``.

It also holds records that contradict themselves, one kind per rule of ``learnkit.audit``
and a few of each across the three providers, so that an audit has something to find:
``SEEDED_INCONSISTENCIES`` names them (rule id -> record ids), judged at ``AUDIT_NOW``.

``tenant_of(activities)`` builds a tenant around other activities, inferring their providers,
contents and users: ``learnkit.sandbox.load`` seeds one from a file of a provider's real
activities, for a rehearsal on a copy of production.

Example: ``tenant = build_tenant(); len(tenant.activities)  # 670``
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from learnkit.models import ASSIGNMENT_TYPE, SELF_INITIATED_TYPE

__all__ = [
    "ASSIGNER_ID",
    "ASSIGNMENT_EXTERNAL_ID",
    "ASSIGNMENT_ID",
    "AUDIT_NOW",
    "CONTENT_ID",
    "DEMO_IDS",
    "DISABLED_REGISTRATION_ID",
    "LEARNER_ID",
    "OTHER_CONTENT_ID",
    "OTHER_REGISTRATION_ID",
    "REGISTRATION_ID",
    "SEEDED_INCONSISTENCIES",
    "SELF_INITIATED_EXTERNAL_ID",
    "SELF_INITIATED_ID",
    "UNLICENSED_LEARNER_ID",
    "USER_PROPERTIES",
    "Tenant",
    "build_tenant",
    "bulk_activities",
    "bulk_users",
    "empty_activity",
    "tenant_of",
]

REGISTRATION_ID = "01e8f81b-3060-4dec-acf0-0389665a0a38"
OTHER_REGISTRATION_ID = "4a6b8c0d-2e4f-4061-8a2c-3e5f7a9b1c2d"
DISABLED_REGISTRATION_ID = "9d8c7b6a-5f4e-4d3c-ab2a-1f0e9d8c7b6a"
CONTENT_ID = "57baf9dc-e020-11ec-9d64-0242ac120002"
OTHER_CONTENT_ID = "6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e9f"
LEARNER_ID = "7ba2228a-e020-11ec-9d64-0242ac120002"
UNLICENSED_LEARNER_ID = "2f3e4d5c-6b7a-4988-a7b6-c5d4e3f2a1b0"
ASSIGNER_ID = "cea1684d-57dc-438d-a9d1-e666ec1a7f3d"
ASSIGNMENT_ID = "8ba2228a-e020-11ec-9d64-0242ac120003"
ASSIGNMENT_EXTERNAL_ID = "12a2228a-e020-11ec-9d64-0242ac120002"
SELF_INITIATED_ID = "9ca2228a-e020-11ec-9d64-0242ac120004"
SELF_INITIATED_EXTERNAL_ID = "13a2228a-e020-11ec-9d64-0242ac120002"

#: What ``Sandbox.demo`` lists.
DEMO_IDS: dict[str, str] = {
    "registration_id": REGISTRATION_ID,
    "disabled_registration_id": DISABLED_REGISTRATION_ID,
    "other_registration_id": OTHER_REGISTRATION_ID,
    "assignment_id": ASSIGNMENT_ID,
    "assignment_external_id": ASSIGNMENT_EXTERNAL_ID,
    "self_initiated_id": SELF_INITIATED_ID,
    "self_initiated_external_id": SELF_INITIATED_EXTERNAL_ID,
    "content_id": CONTENT_ID,
    "other_content_id": OTHER_CONTENT_ID,
    "learner_id": LEARNER_ID,
    "unlicensed_learner_id": UNLICENSED_LEARNER_ID,
    "assigner_id": ASSIGNER_ID,
}

_PROVIDERS = (
    (REGISTRATION_ID, "Contoso Academy", True),
    (OTHER_REGISTRATION_ID, "Fabrikam Learning", True),
    (DISABLED_REGISTRATION_ID, "Northwind Skills", False),
)
_ACTIVITIES_PER_PROVIDER = (400, 150, 90)
_CONTENTS_PER_PROVIDER = 12
_TOPICS = (
    "Python for analysts",
    "Data privacy essentials",
    "Negotiation basics",
    "Excel pivot tables",
    "Inclusive leadership",
    "Cloud security",
    "Project management",
    "Writing for the web",
    "Statistics refresher",
    "Customer empathy",
    "Agile retrospectives",
    "Presentation skills",
)
_PEOPLE = (
    "Adele Vance",
    "Megan Bowen",
    "Diego Siciliani",
    "Alex Wilber",
    "Isaiah Langer",
    "Johanna Lorenz",
    "Lee Gu",
    "Lidia Holloway",
    "Lynne Robbins",
    "Miriam Graham",
    "Nestor Wilke",
    "Patti Fernandez",
    "Pradeep Gupta",
    "Grady Archie",
    "Henrietta Mueller",
    "Joni Sherman",
    "Irvin Sayers",
    "Debra Berger",
    "Christie Cline",
    "Allan Deyoung",
    "Enrico Cattaneo",
    "Emily Braun",
    "Brian Johnson",
    "Cameron White",
)


@dataclass
class Tenant:
    """Rows of the demo tenant, ready for the store (Graph JSON objects; contents with their provider id)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)
    contents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    #: The records seeded to contradict themselves: rule id of ``learnkit.audit`` -> record ids.
    inconsistencies: dict[str, list[str]] = field(default_factory=dict)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _stamp(rng: random.Random, year: int = 2023) -> str:
    month, day, hour, minute = rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
    return f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def empty_activity(odata_type: str) -> dict[str, Any]:
    """Every property of an activity type, set to null: the shape Graph returns.

    Example: ``empty_activity(ASSIGNMENT_TYPE)["dueDateTime"]  # None``
    """
    base: dict[str, Any] = {
        "@odata.type": odata_type,
        "id": None,
        "externalcourseActivityId": None,
        "learnerUserId": None,
        "learningContentId": None,
        "learningProviderId": None,
        "status": None,
        "completionPercentage": None,
        "completedDateTime": None,
    }
    if odata_type == ASSIGNMENT_TYPE:
        base.update(assignedDateTime=None, assignerUserId=None, assignmentType=None, dueDateTime=None, notes=None)
    else:
        base.update(startedDateTime=None)
    return base


def _user(user_id: str, name: str, premium: bool) -> dict[str, Any]:
    upn = name.lower().replace(" ", ".") + "@contoso.example"
    given, _, surname = name.partition(" ")
    return {
        "id": user_id, "displayName": name, "userPrincipalName": upn, "mail": upn,
        "givenName": given, "surname": surname or None, "hasPremiumLicense": premium,
    }  # fmt: skip


def _provider(provider_id: str, name: str, enabled: bool) -> dict[str, Any]:
    slug = name.lower().replace(" ", "")
    return {
        "id": provider_id,
        "displayName": name,
        "isCourseActivitySyncEnabled": enabled,
        "loginWebUrl": f"https://{slug}.example/login",
        "longLogoWebUrlForDarkTheme": f"https://{slug}.example/logo-long-dark.png",
        "longLogoWebUrlForLightTheme": f"https://{slug}.example/logo-long-light.png",
        "squareLogoWebUrlForDarkTheme": f"https://{slug}.example/logo-square-dark.png",
        "squareLogoWebUrlForLightTheme": f"https://{slug}.example/logo-square-light.png",
    }


def _content(rng: random.Random, content_id: str, provider: dict[str, Any], n: int) -> dict[str, Any]:
    slug = str(provider["displayName"]).lower().replace(" ", "")
    title = _TOPICS[n % len(_TOPICS)]
    return {
        "id": content_id,
        "externalId": f"{slug}-course-{n + 1:03d}",
        "title": title,
        "contentWebUrl": f"https://{slug}.example/courses/{n + 1}",
        "languageTag": "en-us",
        "description": f"{title}, by {provider['displayName']}.",
        "duration": f"PT{rng.choice((30, 45, 60, 90, 120))}M",
        "format": "Course",
        "level": rng.choice(("beginner", "intermediate", "advanced")),
        "isActive": True,
        "isPremium": rng.random() < 0.3,
        "isSearchable": True,
        "numberOfPages": None,
        "sourceName": provider["displayName"],
        "thumbnailWebUrl": f"https://{slug}.example/courses/{n + 1}/thumb.png",
        "additionalTags": [],
        "skillTags": [title.split()[0].lower()],
        "contributors": [],
        "createdDateTime": "2022-05-01T08:00:00Z",
        "lastModifiedDateTime": "2022-05-01T08:00:00Z",
    }


def _random_activity(
    rng: random.Random,
    provider_id: str,
    learners: list[str],
    contents: list[str],
    external_id: str,
    activity_id: str | None = None,
) -> dict[str, Any]:
    learner = rng.choice(learners)
    if rng.random() < 0.7:
        record = empty_activity(ASSIGNMENT_TYPE)
        status = rng.choice(("notStarted", "inProgress", "completed"))
        record.update(
            assignedDateTime=_stamp(rng, 2022),
            assignerUserId=ASSIGNER_ID,
            assignmentType=rng.choice(("required", "recommended")),
            dueDateTime={"dateTime": f"2024-{rng.randint(1, 12):02d}-15T17:00:00.0000000", "timeZone": "UTC"},
            notes={"contentType": "text", "content": "Assigned by the demo tenant."},
        )
    else:
        record = empty_activity(SELF_INITIATED_TYPE)
        status = rng.choice(("inProgress", "completed"))
        record["startedDateTime"] = _stamp(rng, 2022)
    percentage = 100 if status == "completed" else (0 if status == "notStarted" else rng.randint(1, 99))
    record.update(
        id=activity_id or f"{learner}:{_guid(rng)}",
        externalcourseActivityId=external_id,
        learnerUserId=learner,
        learningContentId=rng.choice(contents),
        learningProviderId=provider_id,
        status=status,
        completionPercentage=percentage,
        completedDateTime=_stamp(rng) if status == "completed" else None,
    )
    return record


def build_tenant(seed: int = 2022) -> Tenant:
    """The demo tenant, the same for the same seed.

    Example: ``build_tenant().providers[0]["id"]  # '01e8f81b-3060-4dec-acf0-0389665a0a38'``
    """
    rng = random.Random(seed)
    tenant = Tenant()
    fixed = {"Adele Vance": LEARNER_ID, "Megan Bowen": ASSIGNER_ID, "Diego Siciliani": UNLICENSED_LEARNER_ID}
    for name in _PEOPLE:
        user_id = fixed.get(name) or _guid(rng)
        tenant.users.append(_user(user_id, name, premium=user_id != UNLICENSED_LEARNER_ID))
    learners = [u["id"] for u in tenant.users if u["hasPremiumLicense"]]

    by_provider: dict[str, list[str]] = {}
    for provider_id, name, enabled in _PROVIDERS:
        provider = _provider(provider_id, name, enabled)
        tenant.providers.append(provider)
        ids = []
        for n in range(_CONTENTS_PER_PROVIDER):
            content_id = _guid(rng)
            if n == 0 and provider_id == REGISTRATION_ID:
                content_id = CONTENT_ID
            elif n == 0 and provider_id == OTHER_REGISTRATION_ID:
                content_id = OTHER_CONTENT_ID
            tenant.contents.append((provider_id, _content(rng, content_id, provider, n)))
            ids.append(content_id)
        by_provider[provider_id] = ids

    tenant.activities.append(_seed_assignment())
    tenant.activities.append(_seed_self_initiated())
    for (provider_id, name, _), count in zip(_PROVIDERS, _ACTIVITIES_PER_PROVIDER, strict=True):
        slug = name.split()[0].lower()
        for n in range(count):
            tenant.activities.append(
                _random_activity(rng, provider_id, learners, by_provider[provider_id], f"{slug}-{n + 1:06d}")
            )
    _add_inconsistencies(tenant, seed, learners, by_provider)
    return tenant


def _seed_assignment() -> dict[str, Any]:
    record = empty_activity(ASSIGNMENT_TYPE)
    record.update(
        id=ASSIGNMENT_ID,
        externalcourseActivityId=ASSIGNMENT_EXTERNAL_ID,
        learnerUserId=LEARNER_ID,
        learningContentId=CONTENT_ID,
        learningProviderId=REGISTRATION_ID,
        status="notStarted",
        completionPercentage=0,
        completedDateTime=None,
        assignedDateTime="2021-05-01T09:00:00Z",
        assignerUserId=ASSIGNER_ID,
        assignmentType="required",
        dueDateTime={"dateTime": "2022-06-30T17:00:00.0000000", "timeZone": "UTC"},
        notes={"contentType": "text", "content": "Please complete by the end of June."},
    )
    return record


def _seed_self_initiated() -> dict[str, Any]:
    record = empty_activity(SELF_INITIATED_TYPE)
    record.update(
        id=SELF_INITIATED_ID,
        externalcourseActivityId=SELF_INITIATED_EXTERNAL_ID,
        learnerUserId=LEARNER_ID,
        learningContentId=CONTENT_ID,
        learningProviderId=REGISTRATION_ID,
        status="inProgress",
        completionPercentage=10,
        completedDateTime=None,
        startedDateTime="2021-05-01T09:00:00Z",
    )
    return record


# --- records that contradict themselves ------------------------------------------------------------

#: The moment to audit the demo tenant at (``learnkit audit --now``): after every seeded due date, and before
#: every due date and after every completion date the random records hold, so the seeded records are all
#: an audit finds. Under the real clock, every random assignment due in 2024 and not completed is overdue too.
AUDIT_NOW = "2024-01-01T00:00:00Z"

_A, _S = ASSIGNMENT_TYPE, SELF_INITIATED_TYPE
#: In a spec's changes: the record is the previous one sent again (same learner, content and external id).
_REPEAT = "repeat"
_Value = Any  # a value, or a function of the rng giving one


def _when(year: int) -> Any:
    return lambda rng: _stamp(rng, year)


def _due(year: int, zone: str) -> Any:
    return lambda rng: {"dateTime": f"{year}-{rng.randint(1, 12):02d}-15T17:00:00.0000000", "timeZone": zone}


def _notes(content: str) -> dict[str, str]:
    return {"contentType": "text", "content": content}


_DONE: dict[str, _Value] = {"status": "completed", "completionPercentage": 100, "completedDateTime": _when(2023)}

#: (provider, type, the rules the record breaks, what differs from a consistent record). Rule ids are
#: ``learnkit.audit.RULES``'; the audit's tests check that every rule has records here. Northwind's sync is
#: off, so its records are findings a person must take up with the provider (nothing there can be patched).
_INCONSISTENT: tuple[tuple[str, str, tuple[str, ...], Mapping[str, _Value]], ...] = (
    (REGISTRATION_ID, _A, ("completed-below-100",), {**_DONE, "completionPercentage": 60}),
    (
        REGISTRATION_ID,
        _S,
        ("completed-below-100", "completed-without-date"),
        {**_DONE, "completionPercentage": 80, "completedDateTime": None},
    ),
    (REGISTRATION_ID, _A, ("completed-without-date",), {**_DONE, "completedDateTime": None}),
    (REGISTRATION_ID, _S, ("hundred-not-completed",), {"completionPercentage": 100, "completedDateTime": _when(2023)}),
    (REGISTRATION_ID, _A, ("hundred-not-completed",), {"completionPercentage": 100}),
    (REGISTRATION_ID, _A, ("not-started-with-progress",), {"status": "notStarted"}),
    (
        REGISTRATION_ID,
        _A,
        ("not-started-with-progress", "html-in-text-notes"),
        {"status": "notStarted", "notes": _notes("<p>Read <b>chapter 2</b> before the workshop.</p>")},
    ),
    (REGISTRATION_ID, _A, ("completed-before-assigned",), {**_DONE, "completedDateTime": _when(2021)}),
    (REGISTRATION_ID, _S, ("completed-before-started",), {**_DONE, "completedDateTime": _when(2021)}),
    (REGISTRATION_ID, _S, ("completed-in-future",), {**_DONE, "completedDateTime": _when(2031)}),
    (REGISTRATION_ID, _A, ("overdue",), {"dueDateTime": _due(2023, "Pacific Standard Time")}),
    (REGISTRATION_ID, _A, ("unknown-time-zone",), {"dueDateTime": _due(2024, "Eastern Time")}),
    (REGISTRATION_ID, _A, ("duplicate-external-id",), {}),
    (REGISTRATION_ID, _A, ("duplicate-external-id",), {_REPEAT: True}),
    (
        REGISTRATION_ID,
        _A,
        ("html-in-text-notes",),
        {"notes": _notes('See the <a href="https://contosoacademy.example/syllabus">syllabus</a>.')},
    ),
    (OTHER_REGISTRATION_ID, _A, ("completed-below-100",), {**_DONE, "completionPercentage": 90}),
    (
        OTHER_REGISTRATION_ID,
        _S,
        ("hundred-not-completed",),
        {"completionPercentage": 100, "completedDateTime": _when(2023)},
    ),
    (OTHER_REGISTRATION_ID, _A, ("not-started-with-progress",), {"status": "notStarted"}),
    (OTHER_REGISTRATION_ID, _A, ("html-in-text-notes",), {"notes": _notes("Finish before the review&nbsp;meeting.")}),
    (OTHER_REGISTRATION_ID, _A, ("unknown-time-zone",), {"dueDateTime": _due(2024, "Central Europe Time")}),
    (OTHER_REGISTRATION_ID, _A, ("overdue",), {"dueDateTime": _due(2023, "W. Europe Standard Time")}),
    (OTHER_REGISTRATION_ID, _A, ("completed-before-assigned",), {**_DONE, "completedDateTime": _when(2021)}),
    (DISABLED_REGISTRATION_ID, _A, ("completed-without-date",), {**_DONE, "completedDateTime": None}),
    (DISABLED_REGISTRATION_ID, _S, ("completed-before-started",), {**_DONE, "completedDateTime": _when(2021)}),
    (DISABLED_REGISTRATION_ID, _A, ("overdue",), {"dueDateTime": _due(2023, "Tokyo Standard Time")}),
    (DISABLED_REGISTRATION_ID, _S, ("completed-in-future",), {**_DONE, "completedDateTime": _when(2030)}),
    (DISABLED_REGISTRATION_ID, _S, ("duplicate-external-id",), {}),
    (DISABLED_REGISTRATION_ID, _S, ("duplicate-external-id",), {_REPEAT: True}),
)


def _consistent(
    rng: random.Random, kind: str, provider_id: str, learners: list[str], contents: list[str], external_id: str
) -> dict[str, Any]:
    """A record no rule finds anything in at ``AUDIT_NOW``: in progress, assigned or started in 2022, due in 2024."""
    learner = rng.choice(learners)
    record = empty_activity(kind)
    record.update(
        id=f"{learner}:{_guid(rng)}",
        externalcourseActivityId=external_id,
        learnerUserId=learner,
        learningContentId=rng.choice(contents),
        learningProviderId=provider_id,
        status="inProgress",
        completionPercentage=rng.randint(1, 99),
    )
    if kind == ASSIGNMENT_TYPE:
        record.update(
            assignedDateTime=_stamp(rng, 2022),
            assignerUserId=ASSIGNER_ID,
            assignmentType=rng.choice(("required", "recommended")),
            dueDateTime=_due(2024, "UTC")(rng),
            notes=_notes("Assigned by the demo tenant."),
        )
    else:
        record["startedDateTime"] = _stamp(rng, 2022)
    return record


def _add_inconsistencies(tenant: Tenant, seed: int, learners: list[str], by_provider: Mapping[str, list[str]]) -> None:
    """Append ``_INCONSISTENT``'s records to ``tenant`` and list them in ``tenant.inconsistencies``.

    They draw from an rng of their own, so the other records are what they were before these existed.
    """
    rng = random.Random(f"{seed}/inconsistencies")
    found: dict[str, list[str]] = {}
    # The documented assignment is due in June 2022 and not started: overdue at AUDIT_NOW.
    found["overdue"] = [ASSIGNMENT_ID]
    numbers: dict[str, int] = {}
    previous: dict[str, Any] = {}
    for provider_id, kind, rules, changes in _INCONSISTENT:
        slug = next(name for pid, name, _ in _PROVIDERS if pid == provider_id).split()[0].lower()
        numbers[provider_id] = numbers.get(provider_id, 0) + 1
        record = _consistent(
            rng, kind, provider_id, learners, by_provider[provider_id], f"{slug}-check-{numbers[provider_id]:03d}"
        )
        for name, value in changes.items():
            if name == _REPEAT:
                for same in ("learnerUserId", "learningContentId", "externalcourseActivityId"):
                    record[same] = previous[same]
                record["id"] = f"{record['learnerUserId']}:{_guid(rng)}"
            else:
                record[name] = value(rng) if callable(value) else value
        tenant.activities.append(record)
        previous = record
        for rule_id in rules:
            found.setdefault(rule_id, []).append(record["id"])
    tenant.inconsistencies = found


#: The demo tenant's records that contradict themselves, by rule id of ``learnkit.audit``: what
#: ``audit(frame, now=AUDIT_NOW)`` finds on the three providers, and nothing else.
SEEDED_INCONSISTENCIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {rule_id: tuple(ids) for rule_id, ids in build_tenant().inconsistencies.items()}
)


def bulk_activities(
    count: int,
    provider_id: str,
    learners: list[str],
    contents: list[str],
    start: int,
    seed: int = 7,
) -> list[dict[str, Any]]:
    """``count`` more random activities for a provider, external ids numbered from ``start``.

    Example: ``bulk_activities(10, REGISTRATION_ID, [LEARNER_ID], [CONTENT_ID], start=1)``
    """
    rng = random.Random(seed * 1_000_003 + start)
    return [_random_activity(rng, provider_id, learners, contents, f"bulk-{start + n:08d}") for n in range(count)]


def bulk_users(count: int, start: int = 1) -> list[dict[str, Any]]:
    """``count`` more licensed users, named and numbered from ``start`` (the same ids for the same numbers).

    Example: ``bulk_users(2)[0]["displayName"]  # 'Learner 000001'``
    """
    return [
        _user(str(uuid.uuid5(uuid.NAMESPACE_URL, f"learnkit-bulk-user-{n}")), f"Learner {n:06d}", premium=True)
        for n in range(start, start + count)
    ]


# --- a tenant around given activities -------------------------------------------------------------

#: The properties of an activity that hold user ids.
USER_PROPERTIES = ("learnerUserId", "assignerUserId")


def tenant_of(activities: list[dict[str, Any]]) -> Tenant:
    """A tenant holding ``activities``, with the providers, contents and users they name (in order of first
    appearance: sync on, every user licensed), and the demo learner, so that delegated sign-in works.

    ``learnkit.sandbox.load`` builds one from a file of real activities.

    Example: ``tenant_of(build_tenant().activities[:1]).providers[0]["displayName"]  # 'Provider 1'``
    """
    tenant = Tenant(activities=list(activities))
    providers: dict[str, str] = {}
    contents: dict[str, str] = {}
    users: dict[str, str] = {}
    for activity in tenant.activities:
        providers.setdefault(str(activity["learningProviderId"]).lower(), activity["learningProviderId"])
        contents.setdefault(str(activity["learningContentId"]).lower(), activity["learningProviderId"])
        for name in USER_PROPERTIES:
            user_id = activity.get(name)
            if isinstance(user_id, str) and user_id.strip():  # an empty assigner names no one
                users.setdefault(user_id.lower(), user_id)
    for n, provider_id in enumerate(providers.values(), start=1):
        tenant.providers.append(_provider(provider_id, f"Provider {n}", True))
    by_id = {a["learningContentId"].lower(): a["learningContentId"] for a in tenant.activities}
    for n, (content_key, provider_id) in enumerate(contents.items(), start=1):
        content_id = by_id[content_key]
        tenant.contents.append(
            (
                provider_id,
                {
                    **{name: None for name in _content(random.Random(0), content_id, {"displayName": "x"}, 0)},
                    "id": content_id,
                    "externalId": content_id,
                    "title": f"Course {n}",
                    "contentWebUrl": f"https://content.invalid/{content_id}",
                    "languageTag": "en-us",
                    "isActive": True,
                    "isPremium": False,
                    "isSearchable": True,
                    "additionalTags": [],
                    "skillTags": [],
                    "contributors": [],
                },
            )
        )
    for n, user_id in enumerate(users.values(), start=1):
        tenant.users.append(_user(user_id, f"User {n}", premium=True))
    if LEARNER_ID.lower() not in users:
        tenant.users.append(_user(LEARNER_ID, "Adele Vance", premium=True))
    return tenant
