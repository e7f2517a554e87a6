"""Fixtures of the sandbox's own tests: raw HTTP to the live sandbox, with the demo app's token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from learnkit.sandbox import Sandbox

PROVIDERS = "/employeeExperience/learningProviders"


class GraphHTTP:
    """Raw requests to the sandbox's Graph, with a bearer token (or none)."""

    def __init__(self, sb: Sandbox, token: str | None) -> None:
        self.sb = sb
        self.token = token
        self.http = sb.session()

    def request(self, method: str, path: str, *, token: str | None = "default", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        bearer = self.token if token == "default" else token
        if bearer is not None:
            headers.setdefault("Authorization", f"Bearer {bearer}")
        url = path if path.startswith("https://") else self.sb.graph_url + path
        return self.http.request(method, url, headers=headers, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def activity_path(self, activity_id: str, registration_id: str | None = None) -> str:
        rid = registration_id or self.sb.demo["registration_id"]
        return f"{PROVIDERS}/{rid}/learningCourseActivities/{activity_id}"

    def activity(self, activity_id: str) -> dict[str, Any]:
        answer = self.get(f"/employeeExperience/learningCourseActivities/{activity_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def token_for(self, app_name: str) -> str:
        app = self.sb.apps[app_name]
        answer = self.http.post(
            self.sb.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "scope": self.sb.scope,
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def graph(sb: Sandbox, app_token: str) -> Iterator[GraphHTTP]:
    client = GraphHTTP(sb, app_token)
    yield client
    client.close()


@pytest.fixture
def user_graph(sb: Sandbox, delegated_token: str) -> Iterator[GraphHTTP]:
    client = GraphHTTP(sb, delegated_token)
    yield client
    client.close()


@pytest.fixture
def graph_for() -> Iterator[Callable[[Sandbox, str | None], GraphHTTP]]:
    """Make raw-HTTP helpers for other sandboxes (closed at the end of the test)."""
    made: list[GraphHTTP] = []

    def make(sb: Sandbox, token: str | None) -> GraphHTTP:
        made.append(GraphHTTP(sb, token))
        return made[-1]

    yield make
    for client in made:
        client.close()
