"""``ActivityForm``: edit one course activity, see the minimal PATCH body live, send it.

The rows are generated from the activity type's update model
(``learnkit.widgets.fields``). Each change re-validates the form against the
model: a bad value shows its message next to its field and the PATCH button
stays disabled, so nothing invalid is ever sent. The preview is
``learnkit.minimal_patch`` of the activity as read against the form.

Example::

    form = ActivityForm(client, sb.demo["assignment_id"])
    form  # in a notebook: the form; then edit, and click PATCH
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from learnkit.client import GraphClient
from learnkit.errors import GraphError, InvalidInputError, LearnkitError
from learnkit.models import (
    UPDATE_MODELS,
    LearningCourseActivity,
    UpdateModel,
    normalize_odata_type,
    parse_activity,
)
from learnkit.update import UpdateResult, minimal_patch, update_activity
from learnkit.widgets._common import ui_client
from learnkit.widgets._safe import guarded
from learnkit.widgets.explain import explain_error, explain_result, json_block
from learnkit.widgets.fields import UNCHANGED, FieldEditor, FieldProblem, field_specs, make_editor

__all__ = ["ActivityForm"]


class ActivityForm(widgets.VBox):  # type: ignore[misc]
    """A form for one course activity: generated fields, per-field messages, live PATCH preview.

    ``activity`` is an activity id (read through ``client``), a read model or
    Graph's JSON. ``registration_id`` defaults to the activity's
    ``learningProviderId``. With ``client=None`` the form previews but cannot send.
    ``max_wait`` bounds how long a click may sleep through a 429/503 before
    showing the wait instead.

    Example: ``form = ActivityForm(client, activity_id); form.editors["status"].dropdown.value = "completed"``
    """

    def __init__(
        self,
        client: GraphClient | None,
        activity: LearningCourseActivity | Mapping[str, Any] | str,
        *,
        registration_id: str | None = None,
        max_wait: float = 10.0,
    ) -> None:
        self.client = ui_client(client, max_wait) if client is not None else None
        self.header = widgets.HTML()
        self.fields_box = widgets.VBox()
        self.preview = widgets.HTML()
        self.patch_button = widgets.Button(description="PATCH", button_style="primary", icon="upload")
        self.reset_button = widgets.Button(description="Reset", icon="undo")
        self.result = widgets.HTML()
        self.patch_button.add_class("lk-patch")
        self.result.add_class("lk-result")
        self.preview.add_class("lk-preview")
        self.editors: dict[str, FieldEditor] = {}
        self.model: type[UpdateModel] | None = None
        self.before: LearningCourseActivity = LearningCourseActivity()
        self.registration_id = registration_id
        #: The last update sent from this form (None before the first).
        self.last_result: UpdateResult | None = None
        #: The last error Graph (or the client) raised for a click here.
        self.last_error: LearnkitError | None = None
        self._body: dict[str, Any] | None = None
        self._problems: dict[str, str] = {}
        self._listeners: list[Callable[[ActivityForm], None]] = []
        self.patch_button.on_click(guarded(lambda _: self.patch(), self.result))
        self.reset_button.on_click(guarded(lambda _: self.load(self.before), self.result))
        super().__init__(
            [
                self.header,
                self.fields_box,
                widgets.HTML("<b>PATCH body preview</b> (only what changed, with the required status)"),
                self.preview,
                widgets.HBox([self.patch_button, self.reset_button]),
                self.result,
            ]
        )
        self.add_class("lk-activity-form")
        if isinstance(activity, str):
            if self.client is None:
                raise InvalidInputError("activity", "invalid", "pass a client to read an activity by id")
            activity = self.client.get_activity(activity)
        self.load(activity)

    def __repr__(self) -> str:
        kind = (self.model.__name__ if self.model else "?").removesuffix("Update")
        return f"ActivityForm(id={self.before.id!r}, type={kind}, problems={len(self._problems)})"

    # --- state -------------------------------------------------------------

    def load(self, activity: LearningCourseActivity | Mapping[str, Any]) -> None:
        """Show ``activity`` (a read model or Graph JSON) as the unchanged state of the form."""
        before = activity if isinstance(activity, LearningCourseActivity) else parse_activity(activity)
        model = UPDATE_MODELS[normalize_odata_type(before.odata_type)]
        if model is not self.model:
            self.model = model
            self.editors = {spec.name: make_editor(spec) for spec in field_specs(model)}
            for editor in self.editors.values():
                editor.observe(guarded(lambda _change: self.refresh(), self.result))
            self.fields_box.children = [e.row for e in self.editors.values()]
        self.before = before
        self.registration_id = self.registration_id or before.learningProviderId
        for name, editor in self.editors.items():
            editor.load(getattr(before, name, None))
        self.header.value = self._header_html()
        self.refresh()

    def _header_html(self) -> str:
        b = self.before
        rows = [
            ("type", (b.odata_type or "").removeprefix("#microsoft.graph.")),
            ("id", b.id),
            ("learner", b.learnerUserId),
            ("content", b.learningContentId),
            ("provider", self.registration_id),
        ]
        cells = "".join(f"<tr><th>{k}</th><td><code>{html.escape(str(v or ''))}</code></td></tr>" for k, v in rows)
        return f"<table class='lk-header'>{cells}</table>"

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """What the user changed (property -> value, None for cleared) and the unreadable fields' messages."""
        changes: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for name, editor in self.editors.items():
            try:
                value = editor.read()
            except FieldProblem as exc:
                problems[name] = str(exc)
                continue
            if value is not UNCHANGED:
                changes[name] = value
        return changes, problems

    def refresh(self) -> None:
        """Re-validate every field, show each message beside its field, and update the preview."""
        changes, problems = self.values()
        body: dict[str, Any] | None = None
        try:
            body = minimal_patch(self.before, changes)
        except InvalidInputError as exc:
            for field, _reason, detail in exc.problems:
                problems.setdefault(field if field in self.editors else "status", detail)
        self._problems = problems
        self._body = None if problems else body
        for name, editor in self.editors.items():
            editor.set_message(problems.get(name))
        if problems:
            names = ", ".join(problems)
            self.preview.value = (
                "<pre class='lk-json lk-json-invalid'>"
                f"(not valid: fix {html.escape(names)}; nothing will be sent)</pre>"
            )
        else:
            self.preview.value = json_block(body)
        self.patch_button.disabled = bool(problems) or body is None or self.client is None

    @property
    def problems(self) -> dict[str, str]:
        """Field -> message for every field that is refused now (empty when the form is valid)."""
        return dict(self._problems)

    @property
    def body(self) -> dict[str, Any] | None:
        """The PATCH body the button would send now (None: nothing to send, or invalid)."""
        return None if self._body is None else dict(self._body)

    def on_patched(self, callback: Callable[[ActivityForm], None]) -> None:
        """Call ``callback(form)`` after each successful PATCH (e.g. to refresh a table)."""
        self._listeners.append(callback)

    # --- sending -----------------------------------------------------------

    def patch(self) -> UpdateResult | None:
        """Validate and send the PATCH; show 204 or the error explained underneath. None if not sent."""
        self.refresh()
        self.last_error = None
        if self._problems:
            self.result.value = explain_error(_refusal(self._problems))
            return None
        if self._body is None:
            self.result.value = "<div class='lk-nochange'>Nothing changed: nothing sent.</div>"
            return None
        if self.client is None or self.registration_id is None or self.before.id is None:
            self.result.value = "<div class='lk-error'>No client or ids: connect first.</div>"
            return None
        try:
            result = update_activity(self.client, self.registration_id, self.before.id, self._body)
        except LearnkitError as exc:
            self.last_error = exc
            self.result.value = explain_error(exc)
            return None
        self.last_result = result
        shown = explain_result(result)
        try:
            self.load(self.client.get_activity(self.before.id))
        except (GraphError, LearnkitError) as exc:
            shown += f"<div class='lk-note'>Saved, but it could not be read back: {html.escape(str(exc))}</div>"
        self.result.value = shown
        for listener in self._listeners:
            listener(self)
        return result


def _refusal(problems: Mapping[str, str]) -> InvalidInputError:
    items = tuple((field, "invalid", detail) for field, detail in problems.items())
    return InvalidInputError(*items[0], problems=items)
