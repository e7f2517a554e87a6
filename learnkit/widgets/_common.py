"""Small things the widgets share: a UI view of a client that never sleeps long, and a safe text box."""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING

import ipywidgets as widgets

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = ["SecretText", "ui_client"]


def ui_client(client: GraphClient, max_wait: float) -> GraphClient:
    """The same client (session, credentials) with waits bounded to ``max_wait`` seconds.

    A widget must not freeze the kernel for the minutes a 429 may ask for: a longer
    wait is raised as ``TooManyRequestsError`` with ``retry_after``, and shown.
    """
    view = copy.copy(client)
    view.retry = dataclasses.replace(client.retry, max_retry_wait=max_wait)
    return view


class SecretText(widgets.Password):  # type: ignore[misc]
    """A password box whose repr never shows what was typed.

    >>> "hunter2" in repr(SecretText(value="hunter2", description="secret"))
    False
    """

    def _repr_keys(self):  # type: ignore[no-untyped-def]
        return (key for key in super()._repr_keys() if key != "value")
