"""Providers and their contents as Graph's pages describe them, over HTTP: registering and removing a provider,
the properties its metadata says are not nullable, a content's duration, defaults, timestamps and upsert, and the
unquoted key of the get page's Example 2 (docs/sandbox-differences.md gives each decision and its source).
"""

from __future__ import annotations

from typing import Any

import pytest

import learnkit
from learnkit import GraphClient
from learnkit.catalog import PROVIDER_REQUIRED
from learnkit.errors import GraphError, InvalidInputError, TokenError

PROVIDERS = "/employeeExperience/learningProviders"
LOGO = "https://support.content.office.net/en-us/media/4c531d12-4c13-4782-a6e4-4b8f991801a3.png"
#: The create learningProvider page's request body, verbatim.
NEW_PROVIDER = {
    "displayName": "Microsoft",
    "squareLogoWebUrlForDarkTheme": LOGO,
    "longLogoWebUrlForDarkTheme": LOGO,
    "squareLogoWebUrlForLightTheme": LOGO,
    "longLogoWebUrlForLightTheme": LOGO,
    "loginWebUrl": "https://www.linkedin.com/learning-login/teams",
}
#: The update learningContent page's Example 2 body, verbatim (its createdDateTime has no offset).
EXAMPLE_2_CONTENT = {
    "title": "Manage classes, resources, assessment, and planning in Microsoft Teams with Beedle",
    "description": "A module to guide users through the various teaching and learning enhancements that Beedle "
    "provides within Microsoft Teams, with many examples of everyday application.",
    "contentWebUrl": "https://learn.microsoft.com/learn/modules/manage-classes-resources-assessment-planning-beedle/",
    "sourceName": "MsLearn",
    "thumbnailWebUrl": "https://syndetics.com/index.aspx?isbn=9783319672175/LC.GIF",
    "languageTag": "en-us",
    "numberOfPages": 9,
    "duration": "PT20M",
    "format": "Book",
    "createdDateTime": "2018-01-01T00:00:00",
    "lastModifiedDateTime": "2021-04-01T04:26:06.1995367Z",
    "contributors": ["Lina Wagner", "Lisa Richter"],
    "additionalTags": ["Create private or public teams", "Add members to teams"],
    "skillTags": ["Create teams", "Teams channels", "Teams members"],
    "isActive": True,
    "isPremium": False,
    "isSearchable": True,
}
MINIMAL_CONTENT = {"title": "Onboarding", "contentWebUrl": "https://academy.example/1", "languageTag": "en-us"}


def contents(graph: Any, registration_id: str | None = None) -> str:
    return f"{PROVIDERS}/{registration_id or graph.sb.demo['registration_id']}/learningContents"


def field_of(answer: Any) -> str:
    """The error message of a 400 (Graph's "Input field X is ...")."""
    assert answer.status_code == 400, answer.text
    return str(answer.json()["error"]["message"])


# --- content: duration -----------------------------------------------------------------------


@pytest.mark.parametrize("duration", ["20 minutes", "00:20:00", "P1M", "P1Y", "P1W", "20", "PT", "pt20m", 1200])
def test_a_duration_that_is_not_an_edm_duration_is_refused_on_both_sides(graph: Any, duration: Any) -> None:
    path = f"{contents(graph)}(externalId='timed')"
    answer = graph.patch(path, {**MINIMAL_CONTENT, "duration": duration})
    assert "duration" in field_of(answer)
    assert graph.get(path).status_code == 404  # nothing stored
    client = GraphClient.for_sandbox(graph.sb)
    with pytest.raises(InvalidInputError) as refused:  # not a GraphError: refused before sending
        client.upsert_content(graph.sb.demo["registration_id"], "timed", {**MINIMAL_CONTENT, "duration": duration})
    assert refused.value.field == "duration" and not isinstance(refused.value, GraphError)


def test_number_of_pages_is_an_int32(graph: Any) -> None:
    path = f"{contents(graph)}(externalId='paged')"
    assert "numberOfPages" in field_of(graph.patch(path, {**MINIMAL_CONTENT, "numberOfPages": 2**31}))
    assert graph.patch(path, {**MINIMAL_CONTENT, "numberOfPages": 2**31 - 1}).json()["numberOfPages"] == 2**31 - 1


@pytest.mark.parametrize("duration", ["PT20M", "P1DT2H30M", "PT1H0.5S", "P0D"])
def test_an_edm_duration_is_stored_as_sent(graph: Any, duration: str) -> None:
    path = f"{contents(graph)}(externalId='timed')"
    answer = graph.patch(path, {**MINIMAL_CONTENT, "duration": duration})
    assert answer.status_code == 202 and answer.json()["duration"] == duration
    assert graph.get(path).json()["duration"] == duration


# --- content: defaults, timestamps, replace ---------------------------------------------------


def test_a_new_content_gets_the_pages_defaults(listing_sb: Any, graph: Any) -> None:
    upserted = graph.patch(f"{contents(graph)}(externalId='defaults')", MINIMAL_CONTENT)
    posted = graph.post(contents(graph), {**MINIMAL_CONTENT, "externalId": "posted"})
    for answer in (upserted, posted):
        assert answer.status_code in (201, 202), answer.text
        body = answer.json()
        assert (body["isActive"], body["isPremium"], body["isSearchable"]) == (True, False, True)
    stored = graph.get(f"{contents(graph)}(externalId='defaults')").json()
    assert (stored["isActive"], stored["isPremium"], stored["isSearchable"]) == (True, False, True)
    chosen = graph.patch(
        f"{contents(graph)}(externalId='chosen')", {**MINIMAL_CONTENT, "isActive": False, "isPremium": True}
    )
    assert (chosen.json()["isActive"], chosen.json()["isPremium"]) == (False, True)


def test_the_pages_example_2_upsert_with_a_date_time_without_offset(graph: Any) -> None:
    path = f"{contents(graph)}(externalId='LP4471')"
    answer = graph.patch(path, EXAMPLE_2_CONTENT)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["externalId"] == "LP4471" and body["title"] == EXAMPLE_2_CONTENT["title"]
    # Read as UTC, and written back as every instant is: UTC with Z.
    assert body["createdDateTime"] == "2018-01-01T00:00:00Z"
    assert body["lastModifiedDateTime"] == "2021-04-01T04:26:06.1995367Z"
    assert body["@odata.context"].endswith("/learningContents/$entity")
    again = graph.get(path).json()
    assert {key: again[key] for key in body if key != "@odata.context"} == {
        key: body[key] for key in body if key != "@odata.context"
    }
    # learnkit accepts the same body, and reads the answer.
    client = GraphClient.for_sandbox(graph.sb)
    made = client.upsert_content(graph.sb.demo["registration_id"], "LP4471-too", EXAMPLE_2_CONTENT)
    assert made.createdDateTime is not None and made.createdDateTime.utcoffset() is not None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0001-01-01T00:00:00+01:00", "before the year 1 in UTC"),
        ("9999-12-31T23:59:59-01:00", "after 9999 in UTC"),
        ("2018-01-01", "a date, not a date-time"),
        ("2018-02-30T00:00:00", "no such day"),
        ("yesterday", "not ISO 8601"),
        ("1514764800", "seconds since 1970, which pydantic alone would take"),
        ("2018-01-01t00:00:00z", "lower-case t and z"),
        ("2018-01-01T00:00:00.1234567890Z", "ten fractional digits"),
    ],
)
def test_a_content_date_time_graph_cannot_hold_is_a_400_naming_it_never_a_500(graph: Any, value: str, why: str) -> None:
    for name in ("createdDateTime", "lastModifiedDateTime"):
        answer = graph.patch(f"{contents(graph)}(externalId='dated')", {**MINIMAL_CONTENT, name: value})
        assert name in field_of(answer), why
        with pytest.raises(InvalidInputError) as refused:
            GraphClient.for_sandbox(graph.sb).upsert_content(
                graph.sb.demo["registration_id"], "dated", {**MINIMAL_CONTENT, name: value}
            )
        assert refused.value.field == name


def test_an_upsert_replaces_the_contents_metadata(graph: Any) -> None:
    cid = graph.sb.demo["content_id"]
    path = f"{contents(graph)}/{cid}"
    before = graph.get(path).json()
    assert before["description"] and before["skillTags"] and before["duration"]
    answer = graph.patch(path, {**MINIMAL_CONTENT, "isPremium": True})
    assert answer.status_code == 202, answer.text
    after = graph.get(path).json()
    # What the body left out is gone (null) or back to the page's default; the key, id and creation time stay.
    assert (after["description"], after["skillTags"], after["duration"], after["level"]) == (None, None, None, None)
    assert (after["isActive"], after["isPremium"], after["isSearchable"]) == (True, True, True)
    assert (after["id"], after["externalId"], after["createdDateTime"]) == (
        cid,
        before["externalId"],
        before["createdDateTime"],
    )
    assert after["title"] == "Onboarding" and after["lastModifiedDateTime"] != before["lastModifiedDateTime"]
    # A body that is not the whole metadata is refused, naming what is missing: it would clear it.
    partial = graph.patch(path, {"title": "Only a title"})
    assert "contentWebUrl" in field_of(partial) and graph.get(path).json()["title"] == "Onboarding"


# --- providers: register, change, remove -------------------------------------------------------


def test_register_a_provider_as_the_create_page_does(user_graph: Any, graph: Any) -> None:
    answer = user_graph.post(PROVIDERS, NEW_PROVIDER)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["@odata.context"] == f"{user_graph.sb.graph_url}/$metadata#learningProviders/$entity"
    assert body["id"] and {key: body[key] for key in NEW_PROVIDER} == NEW_PROVIDER
    assert body["isCourseActivitySyncEnabled"] is False  # the update page's default
    assert answer.headers["Location"].endswith(f"{PROVIDERS}/{body['id']}")
    again = user_graph.get(f"{PROVIDERS}/{body['id']}").json()
    assert {key: again[key] for key in (*NEW_PROVIDER, "id")} == {key: body[key] for key in (*NEW_PROVIDER, "id")}
    assert body["id"] in {p["id"] for p in user_graph.get(PROVIDERS).json()["value"]}
    # Its catalogue starts empty; an application fills it.
    assert graph.get(contents(graph, body["id"])).json()["value"] == []
    assert graph.patch(f"{contents(graph, body['id'])}(externalId='first')", MINIMAL_CONTENT).status_code == 202


def test_registering_refuses_what_the_page_refuses_and_an_application_token(user_graph: Any, graph: Any) -> None:
    count = len(user_graph.get(PROVIDERS).json()["value"])
    for name in PROVIDER_REQUIRED:
        missing = {key: value for key, value in NEW_PROVIDER.items() if key != name}
        assert name in field_of(user_graph.post(PROVIDERS, missing))
        assert name in field_of(user_graph.post(PROVIDERS, {**NEW_PROVIDER, name: None}))
    assert "isCourseActivitySyncEnabled" in field_of(
        user_graph.post(PROVIDERS, {**NEW_PROVIDER, "isCourseActivitySyncEnabled": True})
    )
    assert "colour" in field_of(user_graph.post(PROVIDERS, {**NEW_PROVIDER, "colour": "red"}))
    assert "displayName" in field_of(user_graph.post(PROVIDERS, {**NEW_PROVIDER, "displayName": 7}))
    refused = graph.post(PROVIDERS, NEW_PROVIDER)  # the page: "Application: Not supported"
    assert refused.status_code == 403 and "delegated" in refused.json()["error"]["message"]
    assert len(user_graph.get(PROVIDERS).json()["value"]) == count


def test_a_provider_patch_cannot_null_what_the_metadata_declares_not_nullable(user_graph: Any) -> None:
    path = f"{PROVIDERS}/{user_graph.sb.demo['registration_id']}"
    before = user_graph.get(path).json()
    for name in PROVIDER_REQUIRED:
        assert name in field_of(user_graph.patch(path, {name: None}))
        assert name in field_of(user_graph.patch(path, {name: ""}))
    assert user_graph.get(path).json() == before
    # loginWebUrl is nullable; a PATCH changes only what it names.
    assert user_graph.patch(path, {"loginWebUrl": None, "displayName": "Renamed"}).status_code == 204
    after = user_graph.get(path).json()
    assert (after["loginWebUrl"], after["displayName"]) == (None, "Renamed")
    assert after["squareLogoWebUrlForDarkTheme"] == before["squareLogoWebUrlForDarkTheme"]


def test_removing_a_provider_removes_its_contents_and_activities(graph: Any, user_graph: Any) -> None:
    demo = user_graph.sb.demo
    rid = demo["registration_id"]
    activities = user_graph.sb.activity_ids(rid)
    assert len(activities) > 2
    learner_list = f"/users/{demo['learner_id']}/employeeExperience/learningCourseActivities?$top=999"
    assert any(a["learningProviderId"] == rid for a in user_graph.get(learner_list).json()["value"])

    assert graph.delete(f"{PROVIDERS}/{rid}").status_code == 403  # delegated only
    assert user_graph.delete(f"{PROVIDERS}/{rid}/$ref").status_code == 400  # no page writes /$ref for a provider
    answer = user_graph.delete(f"{PROVIDERS}/{rid}")
    assert answer.status_code == 204 and answer.content == b""

    assert rid not in {p["id"] for p in user_graph.get(PROVIDERS).json()["value"]}
    assert user_graph.get(f"{PROVIDERS}/{rid}").status_code == 400  # an unknown registrationId, as everywhere
    assert graph.get(contents(graph, rid)).status_code == 400
    for activity_id in activities[:3]:
        assert graph.get(f"/employeeExperience/learningCourseActivities/{activity_id}").status_code == 404
    assert user_graph.sb.activity_ids(rid) == []
    assert all(a["learningProviderId"] != rid for a in user_graph.get(learner_list).json()["value"])
    # The other providers keep theirs.
    assert user_graph.sb.activity_ids(demo["other_registration_id"])
    assert user_graph.delete(f"{PROVIDERS}/{rid}").status_code == 400


def test_learnkit_registers_and_removes_a_provider(sb: Any) -> None:
    user = GraphClient.for_sandbox(sb, delegated=True)
    made = user.create_provider(NEW_PROVIDER)
    assert made.id and made.displayName == "Microsoft" and made.isCourseActivitySyncEnabled is False
    assert user.get_provider(made.id).squareLogoWebUrlForDarkTheme == LOGO
    assert user.delete_provider(made.id).status == 204
    assert made.id not in {p.id for p in user.list_providers()}
    with pytest.raises(InvalidInputError) as refused:  # refused before sending, as the sandbox would
        user.create_provider({**NEW_PROVIDER, "longLogoWebUrlForLightTheme": None})
    assert refused.value.field == "longLogoWebUrlForLightTheme"
    with pytest.raises(TokenError, match=r"LearningProvider\.ReadWrite"):  # delegated only: no token of that kind
        GraphClient.for_sandbox(sb).create_provider(NEW_PROVIDER)


# --- keys ------------------------------------------------------------------------------------------


def test_the_get_pages_unquoted_key_reads_what_the_quoted_one_does(graph: Any) -> None:
    rid, external = graph.sb.demo["registration_id"], graph.sb.demo["assignment_external_id"]
    unquoted = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities(externalCourseActivityId={external})")
    quoted = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities(externalcourseActivityId='{external}')")
    assert unquoted.status_code == quoted.status_code == 200
    assert unquoted.json()["id"] == quoted.json()["id"] == graph.sb.demo["assignment_id"]
    body = {"@odata.type": "#microsoft.graph.learningAssignment", "status": "inProgress", "completionPercentage": 5}
    patched = graph.patch(f"{PROVIDERS}/{rid}/learningCourseActivities(externalcourseActivityId={external})", body)
    assert patched.status_code == 204 and graph.activity(graph.sb.demo["assignment_id"])["completionPercentage"] == 5
    content = graph.get(contents(graph)).json()["value"][0]
    by_key = graph.get(f"{contents(graph)}(externalId={content['externalId']})")
    assert by_key.status_code == 200 and by_key.json()["id"] == content["id"]
    # A bare key holding OData's own syntax is no key.
    for bad in ("a'b", "a,b", "x=y", ""):
        answer = graph.get(f"{PROVIDERS}/{rid}/learningCourseActivities(externalcourseActivityId={bad})")
        assert answer.status_code == 400, bad


def test_learnkit_still_quotes_its_keys(sb: Any) -> None:
    from learnkit import paths

    assert paths.activity_by_external_id("r", "k").endswith("(externalcourseActivityId='k')")
    activity = learnkit.GraphClient.for_sandbox(sb).get_activity_by_external_id(
        sb.demo["registration_id"], sb.demo["assignment_external_id"]
    )
    assert activity.id == sb.demo["assignment_id"]
