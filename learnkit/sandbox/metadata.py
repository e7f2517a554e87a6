"""``GET /v1.0/$metadata``: the learning API's part of Graph's v1.0 CSDL, and the evolvable-enum rule.

Graph serves its whole schema (thousands of types); the sandbox serves only the
types the learning API uses, with the same names, property types and
nullability, so a tool that reads the metadata finds what it needs for these
entities. Like Graph's, the document needs no token.

Evolvable enums (Graph's API guidelines, "evolvable enums" pattern): Graph sends the
members declared after ``unknownFutureValue`` only to clients that ask for them with
``Prefer: include-unknown-enum-members`` (and says ``Preference-Applied``); other
clients get ``unknownFutureValue`` in their place, and a request that sends such a
member without asking is a 400.

>>> mask_evolvable({"assignmentType": "peerRecommended", "status": "completed"}, reveal=False)["assignmentType"]
'unknownFutureValue'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from learnkit.models import INCLUDE_UNKNOWN_ENUM_MEMBERS

__all__ = [
    "CSDL",
    "EVOLVABLE_MEMBERS",
    "hidden_member_sent",
    "mask_evolvable",
    "wants_unknown_members",
]

#: Property -> members declared after ``unknownFutureValue`` (returned only on request).
EVOLVABLE_MEMBERS: dict[str, frozenset[str]] = {
    "assignmentType": frozenset({"peerRecommended"}),
}


def wants_unknown_members(headers: Mapping[str, str]) -> bool:
    """True if the request's ``Prefer`` header holds ``include-unknown-enum-members`` (comma-separated list)."""
    prefer = headers.get("prefer", "") or headers.get("Prefer", "")
    return any(part.strip().lower() == INCLUDE_UNKNOWN_ENUM_MEMBERS for part in prefer.split(","))


def mask_evolvable(item: Mapping[str, Any], *, reveal: bool) -> dict[str, Any]:
    """The item with evolvable members replaced by ``unknownFutureValue`` unless ``reveal``."""
    out = dict(item)
    if not reveal:
        for name, members in EVOLVABLE_MEMBERS.items():
            if out.get(name) in members:
                out[name] = "unknownFutureValue"
    return out


def hidden_member_sent(body: Mapping[str, Any], *, revealed: bool) -> str | None:
    """The property of ``body`` holding a member the client has not opted into, or None."""
    if revealed:
        return None
    return next((name for name, members in EVOLVABLE_MEMBERS.items() if body.get(name) in members), None)


CSDL = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <!-- learnkit sandbox: the learning API's subset of Graph's v1.0 metadata, not the whole schema. -->
      <EnumType Name="assignmentType">
        <Member Name="required" Value="0" />
        <Member Name="recommended" Value="1" />
        <Member Name="unknownFutureValue" Value="2" />
        <Member Name="peerRecommended" Value="3" />
      </EnumType>
      <EnumType Name="courseStatus">
        <Member Name="notStarted" Value="0" />
        <Member Name="inProgress" Value="1" />
        <Member Name="completed" Value="2" />
        <Member Name="unknownFutureValue" Value="3" />
      </EnumType>
      <EnumType Name="level">
        <Member Name="beginner" Value="0" />
        <Member Name="intermediate" Value="1" />
        <Member Name="advanced" Value="2" />
        <Member Name="unknownFutureValue" Value="3" />
      </EnumType>
      <EnumType Name="bodyType">
        <Member Name="text" Value="0" />
        <Member Name="html" Value="1" />
      </EnumType>
      <ComplexType Name="dateTimeTimeZone">
        <Property Name="dateTime" Type="Edm.String" Nullable="false" />
        <Property Name="timeZone" Type="Edm.String" />
      </ComplexType>
      <ComplexType Name="itemBody">
        <Property Name="content" Type="Edm.String" />
        <Property Name="contentType" Type="graph.bodyType" />
      </ComplexType>
      <EntityType Name="entity" Abstract="true">
        <Key><PropertyRef Name="id" /></Key>
        <Property Name="id" Type="Edm.String" Nullable="false" />
      </EntityType>
      <EntityType Name="employeeExperience">
        <NavigationProperty Name="learningCourseActivities" Type="Collection(graph.learningCourseActivity)" />
        <NavigationProperty Name="learningProviders" Type="Collection(graph.learningProvider)"
                            ContainsTarget="true" />
      </EntityType>
      <EntityType Name="employeeExperienceUser" BaseType="graph.entity">
        <NavigationProperty Name="learningCourseActivities" Type="Collection(graph.learningCourseActivity)" />
      </EntityType>
      <EntityType Name="learningProvider" BaseType="graph.entity">
        <Property Name="displayName" Type="Edm.String" Nullable="false" />
        <Property Name="isCourseActivitySyncEnabled" Type="Edm.Boolean" />
        <Property Name="loginWebUrl" Type="Edm.String" />
        <Property Name="longLogoWebUrlForDarkTheme" Type="Edm.String" />
        <Property Name="longLogoWebUrlForLightTheme" Type="Edm.String" />
        <Property Name="squareLogoWebUrlForDarkTheme" Type="Edm.String" />
        <Property Name="squareLogoWebUrlForLightTheme" Type="Edm.String" />
        <NavigationProperty Name="learningContents" Type="Collection(graph.learningContent)" ContainsTarget="true" />
        <NavigationProperty Name="learningCourseActivities" Type="Collection(graph.learningCourseActivity)" />
      </EntityType>
      <EntityType Name="learningContent" BaseType="graph.entity">
        <Property Name="additionalTags" Type="Collection(Edm.String)" />
        <Property Name="contentWebUrl" Type="Edm.String" Nullable="false" />
        <Property Name="contributors" Type="Collection(Edm.String)" />
        <Property Name="createdDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="description" Type="Edm.String" />
        <Property Name="duration" Type="Edm.Duration" />
        <Property Name="externalId" Type="Edm.String" Nullable="false" />
        <Property Name="format" Type="Edm.String" />
        <Property Name="isActive" Type="Edm.Boolean" />
        <Property Name="isPremium" Type="Edm.Boolean" />
        <Property Name="isSearchable" Type="Edm.Boolean" />
        <Property Name="languageTag" Type="Edm.String" Nullable="false" />
        <Property Name="lastModifiedDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="level" Type="graph.level" />
        <Property Name="numberOfPages" Type="Edm.Int32" />
        <Property Name="skillTags" Type="Collection(Edm.String)" />
        <Property Name="sourceName" Type="Edm.String" />
        <Property Name="thumbnailWebUrl" Type="Edm.String" />
        <Property Name="title" Type="Edm.String" Nullable="false" />
      </EntityType>
      <EntityType Name="learningCourseActivity" BaseType="graph.entity" Abstract="true">
        <Property Name="completedDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="completionPercentage" Type="Edm.Int32" />
        <Property Name="externalcourseActivityId" Type="Edm.String" />
        <Property Name="learnerUserId" Type="Edm.String" Nullable="false" />
        <Property Name="learningContentId" Type="Edm.String" Nullable="false" />
        <Property Name="learningProviderId" Type="Edm.String" />
        <Property Name="status" Type="graph.courseStatus" />
      </EntityType>
      <EntityType Name="learningAssignment" BaseType="graph.learningCourseActivity">
        <Property Name="assignedDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="assignerUserId" Type="Edm.String" />
        <Property Name="assignmentType" Type="graph.assignmentType" Nullable="false" />
        <Property Name="dueDateTime" Type="graph.dateTimeTimeZone" />
        <Property Name="notes" Type="graph.itemBody" />
      </EntityType>
      <EntityType Name="learningSelfInitiatedCourse" BaseType="graph.learningCourseActivity">
        <Property Name="startedDateTime" Type="Edm.DateTimeOffset" />
      </EntityType>
      <EntityType Name="user" BaseType="graph.entity">
        <NavigationProperty Name="employeeExperience" Type="graph.employeeExperienceUser" ContainsTarget="true" />
      </EntityType>
      <EntityContainer Name="GraphService">
        <EntitySet Name="users" EntityType="graph.user" />
        <Singleton Name="me" Type="graph.user" />
        <Singleton Name="employeeExperience" Type="graph.employeeExperience" />
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""
