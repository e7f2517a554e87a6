"""``ActivityForm``: edit one course activity, see the minimal PATCH body live, save it.

The rows are generated from the activity type's update model
(``learnkit.widgets.fields``). Each change re-validates the form against the
model: a bad value shows its message next to its field and the save button
stays disabled, so nothing invalid is ever sent. The preview is
``learnkit.minimal_patch`` of the activity as read against the form.

The form is a view of a ``Workbench``: it shows the workbench's selected activity
(a click in an ``ActivityTable`` on the same workbench loads it here) with the row's
pending edits from any view already in its fields (the preview shows them), and its
"Save changes" saves this row through the workbench, as one journal run that the
history can undo.

Example::

    form = ActivityForm(bench)                                  # or ActivityForm(client, activity_id)
    form  # in a notebook: the form; then edit, and click Save changes
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from learnkit.client import GraphClient
from learnkit.errors import FieldProblem, InvalidInputError, LearnkitError
from learnkit.models import (
    UPDATE_MODELS,
    LearningCourseActivity,
    UpdateModel,
    normalize_odata_type,
    parse_activity,
)
from learnkit.update import minimal_patch
from learnkit.widgets._common import style_sheet, ui_client
from learnkit.widgets._safe import guarded
from learnkit.widgets.explain import explain_error, json_block
from learnkit.widgets.fields import UNCHANGED, FieldEditor, field_specs, make_editor
from learnkit.widgets.table import SAVE
from learnkit.widgets.words import FORM, id_html
from learnkit.widgets.workbench import Workbench, short_type

__all__ = ["ActivityForm"]


class ActivityForm(widgets.VBox):  # type: ignore[misc]
    """A form for one course activity: generated fields, per-field messages, live PATCH preview.

    ``source`` is a ``Workbench`` (the form follows its ``selected_id``), or a client
    (``None``: preview only) with ``activity``: an id (read through the client), a read
    model or Graph's JSON. ``max_wait`` bounds how long a click may sleep through a
    429/503 before showing the wait instead. ``messages`` is where the workbench's message
    shows (an app's one message area); without it, under the form.

    Example: ``form = ActivityForm(client, activity_id); form.editors["status"].dropdown.value = "completed"``
    """

    def __init__(
        self,
        source: Workbench | GraphClient | None,
        activity: LearningCourseActivity | Mapping[str, Any] | str | None = None,
        *,
        registration_id: str | None = None,
        max_wait: float = 10.0,
        messages: widgets.HTML | None = None,
    ) -> None:
        if isinstance(source, Workbench):
            self.workbench = source
        else:
            client = ui_client(source, max_wait) if source is not None else None
            self.workbench = Workbench(client, registration_id=None, activities=[])
        self.header = widgets.HTML()
        self.empty = widgets.HTML(
            "<div class='lk-note lk-empty'>No activity selected: click a row of the table to edit it here.</div>"
        )
        self.fields_box = widgets.VBox()
        self.preview = widgets.HTML()
        self.patch_button = widgets.Button(
            description=SAVE, button_style="primary", icon="upload", disabled=True, layout={"width": "auto"}
        )
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="show the values as saved")
        own_messages = messages is None
        self.result = widgets.HTML() if messages is None else messages
        self.patch_button.add_class("lk-patch")
        self.patch_button.add_class("lk-save")
        if own_messages:
            self.result.add_class("lk-result")
        self.preview.add_class("lk-preview")
        self.editors: dict[str, FieldEditor] = {}
        self.model: type[UpdateModel] | None = None
        self.before: LearningCourseActivity = LearningCourseActivity()
        self.registration_id = registration_id
        #: The last save from this form (a ``learnkit.bulk`` result; None before the first).
        self.last_result: Any = None
        #: The last error Graph (or the client) raised for a click here.
        self.last_error: LearnkitError | None = None
        self._body: dict[str, Any] | None = None
        self._problems: dict[str, str] = {}
        self.patch_button.on_click(guarded(lambda _: self.patch(), self.result))
        self.reset_button.on_click(guarded(lambda _: self.load(self.before), self.result))
        self.body_box = widgets.VBox(
            [
                self.header,
                self.fields_box,
                widgets.HTML("<b>What will be sent</b> (only what changed, with the required status)"),
                self.preview,
                widgets.HBox([self.patch_button, self.reset_button]),
            ]
        )
        super().__init__([style_sheet(), self.empty, self.body_box, *([self.result] if own_messages else [])])
        self.add_class("lk-activity-form")
        self._shown_pending: dict[str, Any] | None = None
        self._handlers = {
            "selected_id": guarded(lambda _: self._follow_selection(), self.result),
            "frame": guarded(lambda _: self._follow_selection(), self.result),
            "pending": guarded(lambda _: self._pending_changed(), self.result),
            "user_names": guarded(lambda _: self._show_header(), self.result),
            "provider_name": guarded(lambda _: self._show_header(), self.result),
            "client": guarded(lambda _: self.refresh(), self.result),
        }
        if own_messages:
            self._handlers["message"] = guarded(
                lambda _: setattr(self.result, "value", self.workbench.message_html()), self.result
            )
        for name, handler in self._handlers.items():
            self.workbench.observe(handler, name)
        if isinstance(activity, str) and activity not in self.workbench._positions:
            if self.workbench.client is None:
                raise InvalidInputError("activity", "invalid", "pass a client to read an activity by id")
            activity = self.workbench.client.get_activity(activity)
        if activity is not None and not isinstance(activity, str):
            data = (
                activity.model_dump(by_alias=True, mode="json", exclude_none=True)
                if isinstance(activity, LearningCourseActivity)
                else dict(activity)
            )
            self.workbench.set_activities([data])
            activity = str(data.get("id"))
        if activity is not None:
            self.workbench.selected_id = activity
        self._follow_selection()

    @property
    def client(self) -> GraphClient | None:
        """The workbench's client (None: the form previews but cannot send)."""
        return self.workbench.client

    def close(self) -> None:
        """Stop observing the workbench, then close the widget."""
        for name, handler in self._handlers.items():
            self.workbench.unobserve(handler, name)
        super().close()

    def _follow_selection(self) -> None:
        selected = self.workbench.selected_id
        if selected is None or selected not in self.workbench._positions:
            self.empty.layout.display = ""
            self.body_box.layout.display = "none"
            self.patch_button.disabled = True
            return
        self.empty.layout.display = "none"
        self.body_box.layout.display = ""
        self.load(self.workbench.activity(selected))
        self._show_pending()

    def _pending_changed(self) -> None:
        # An edit of this row in the table or the bulk editor shows here; the form's own typing is left alone.
        selected = self.workbench.selected_id
        if selected is not None and self.workbench.pending.get(selected) != self._shown_pending:
            self._follow_selection()

    def _show_pending(self) -> None:
        """Put the selected row's pending edits (from any view) in their fields: the preview then shows them."""
        activity_id = self.workbench.selected_id
        pending = dict(self.workbench.pending.get(activity_id, {})) if activity_id else {}
        self._shown_pending = pending or None
        if not pending or activity_id is None:
            return
        edited = self.workbench.activity(activity_id, edited=True)
        names = {column.split(".", 1)[0] for column in pending}
        for name in names & set(self.editors):
            self.editors[name].show_pending(edited.get(name))
        self.refresh()

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
        self.registration_id = before.learningProviderId or self.registration_id
        for name, editor in self.editors.items():
            editor.load(getattr(before, name, None))
        self.header.value = self._header_html()
        self.refresh()

    def _show_header(self) -> None:
        self.header.value = self._header_html()

    def _header_html(self) -> str:
        b = self.before
        provider = self.registration_id or ""
        named = self.workbench.provider_name if provider == self.workbench.registration_id else None
        rows = [
            ("learner", self._user_html(b.learnerUserId)),
            ("course", html.escape(str(self._content_text() or ""))),
            ("type", html.escape(short_type(b.odata_type or ""))),
            ("provider", (html.escape(named) + " " if named else "") + (id_html(provider) if provider else "")),
            # The whole id, selected whole by a click (to copy): the table shows its end.
            ("id", f"<code class='lk-id-whole'>{html.escape(str(b.id or ''))}</code>"),
        ]
        assigner = getattr(b, "assignerUserId", None)
        if assigner:
            rows.insert(1, ("assigned by", self._user_html(assigner)))
        pending = self.workbench.pending.get(str(b.id), {})
        note = (
            f"<div class='lk-note'>This row has pending edits ({html.escape(', '.join(pending))}), shown in the "
            "fields below: <i>Save changes</i> sends them, <i>Reset</i> shows the saved values.</div>"
            if pending
            else ""
        )
        cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f"<table class='lk-header'>{cells}</table>{note}"

    def user_text(self, which: str = "learner") -> str | None:
        """What the header shows for the ``learner`` (or ``assigner``): name, mail and id when the name is known.

        Example: ``form.user_text()  # 'Adele Vance <adele.vance@contoso.example> (7ba2228a-...)'``
        """
        user_id = self.before.learnerUserId if which == "learner" else getattr(self.before, "assignerUserId", None)
        return self._user_text(user_id)

    def _user_text(self, user_id: str | None) -> str | None:
        named = self._person(user_id)
        return f"{named} ({user_id})" if named else user_id

    def _user_html(self, user_id: str | None) -> str:
        """The header's person: name and mail, then the id shortened like every id (whole on hover)."""
        if not user_id:
            return ""
        named = self._person(user_id)
        return (html.escape(named) + " " if named else "") + id_html(user_id)

    def _person(self, user_id: str | None) -> str | None:
        """``Name <mail>`` when the directory names the user, else None."""
        found = self.workbench.user_name(user_id)
        if found is None or not found.displayName:
            return None
        mail = found.mail or found.userPrincipalName
        return found.displayName + (f" <{mail}>" if mail else "")

    def _content_text(self) -> str | None:
        content = self.before.learningContentId
        title = self.workbench.content_titles.get(content or "")
        return title or content

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
        self.patch_button.disabled = bool(problems) or body is None or self.client is None or not self.before.id

    @property
    def problems(self) -> dict[str, str]:
        """Field -> message for every field that is refused now (empty when the form is valid)."""
        return dict(self._problems)

    @property
    def body(self) -> dict[str, Any] | None:
        """The PATCH body the button would send now (None: nothing to send, or invalid)."""
        return None if self._body is None else dict(self._body)

    # --- sending -----------------------------------------------------------

    def patch(self) -> Any:
        """Validate and save through the workbench (one journal run); shows the outcome. None if not sent."""
        self.refresh()
        self.last_error = None
        bench = self.workbench
        if self._problems:
            field, detail = next(iter(self._problems.items()))
            bench.say(f"not sent: {field}: {detail}", "refused", explain_error(_refusal(self._problems)))
            return None
        if self._body is None:
            bench.say("nothing changed in the form: nothing sent", "info")
            return None
        activity_id = self.before.id
        if bench.client is None or activity_id is None:
            bench.say("connect first (page 1): there is no client to send with", "refused")
            return None
        changes, _ = self.values()
        refused = bench.stage(activity_id, changes)
        if refused:
            return None  # the workbench said which field, and why
        try:
            result = bench.save([activity_id], source=FORM)
        except LearnkitError as exc:
            self.last_error = exc
            bench.say(f"not saved: {type(exc).__name__}", "error", explain_error(exc))
            return None
        self.last_result = result
        return result


def _refusal(problems: Mapping[str, str]) -> InvalidInputError:
    items = tuple((field, "invalid", detail) for field, detail in problems.items())
    return InvalidInputError(*items[0], problems=items)
