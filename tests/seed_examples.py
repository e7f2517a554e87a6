"""The seed's two example requests, verbatim, for the tests that replay them."""

from __future__ import annotations

import json

EXAMPLE_1_PATH = (
    "/employeeExperience/learningProviders/01e8f81b-3060-4dec-acf0-0389665a0a38"
    "/learningCourseActivities/8ba2228a-e020-11ec-9d64-0242ac120003"
)

EXAMPLE_1_BODY_TEXT = """{
  "@odata.type": "#microsoft.graph.learningAssignment",
  "assignedDateTime": "2021-05-11T22:57:17+00:00",
  "assignmentType": "required",
  "assignerUserId": "cea1684d-57dc-438d-a9d1-e666ec1a7f3d",
  "completedDateTime": null,
  "completionPercentage": 20,
  "learningProviderId": "01e8f81b-3060-4dec-acf0-0389665a0a38",
  "dueDateTime": {
    "dateTime": "2022-09-22T16:05:00.0000000",
    "timeZone": "UTC"
  },
  "externalcourseActivityId": "12a2228a-e020-11ec-9d64-0242ac120002",
  "learningContentId": "57baf9dc-e020-11ec-9d64-0242ac120002",
  "learnerUserId": "7ba2228a-e020-11ec-9d64-0242ac120002",
  "notes": {
    "contentType": "text",
    "content": "required assignment added for user"
  },
  "status": "inProgress"
}"""

EXAMPLE_2_BODY_TEXT = """{
  "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
  "completedDateTime": null,
  "completionPercentage": 30,
  "externalcourseActivityId": "12a2228a-e020-11ec-9d64-0242ac120002",
  "learningContentId": "57baf9dc-e020-11ec-9d64-0242ac120002",
  "learningProviderId": "01e8f81b-3060-4dec-acf0-0389665a0a38",
  "startedDateTime": "2021-05-11T22:57:17+00:00",
  "status": "inProgress"
}"""

EXAMPLE_1_BODY = json.loads(EXAMPLE_1_BODY_TEXT)
EXAMPLE_2_BODY = json.loads(EXAMPLE_2_BODY_TEXT)
