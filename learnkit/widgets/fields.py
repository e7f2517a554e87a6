"""Field editors generated from the update models' JSON schema.

``field_specs(model)`` reads an update model (``AssignmentUpdate``,
``SelfInitiatedCourseUpdate``) and says, for each of its ``UPDATABLE``
properties, which kind of editor fits: an enum is a dropdown limited to its
values, a bounded integer a slider with a typed box, a date-time offset or a
dateTimeTimeZone a date-time picker with a time-zone choice, an itemBody a text
area with its content type. ``make_editor(spec)`` builds it. Nothing here names
a Graph property: a property added to a model gets its editor by its type.

Example: ``[s.kind for s in field_specs(SelfInitiatedCourseUpdate)]``
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Literal

import ipywidgets as widgets

from learnkit.bulk.cells import typed_cell
from learnkit.errors import FieldProblem
from learnkit.models import DateTimeTimeZone, UpdateModel
from learnkit.times import graph_local, parse_iso, time_zone_names, zone, zoned_instant
from learnkit.widgets.explain import problem_html

__all__ = [
    "UNCHANGED",
    "FieldEditor",
    "FieldSpec",
    "field_specs",
    "make_editor",
]

Kind = Literal["choice", "integer", "instant", "zoned", "body"]


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


#: What an editor reads when the user has not touched it.
UNCHANGED: Any = _Unchanged()


@dataclass(frozen=True)
class FieldSpec:
    """What the form needs to know about one updatable property."""

    name: str
    kind: Kind
    required: bool
    nullable: bool
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return _resolve(schema, schema["$defs"][ref.rsplit("/", 1)[-1]])
    return node


@lru_cache(maxsize=8)
def field_specs(model: type[UpdateModel]) -> tuple[FieldSpec, ...]:
    """The editor spec of each updatable property of ``model``, in ``UPDATABLE`` order.

    >>> from learnkit.models import SelfInitiatedCourseUpdate
    >>> [(s.name, s.kind) for s in field_specs(SelfInitiatedCourseUpdate)][:2]
    [('completedDateTime', 'instant'), ('completionPercentage', 'integer')]
    """
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    specs = []
    for name in model.UPDATABLE:
        prop = schema["properties"][name]
        variants = [_resolve(schema, v) for v in prop.get("anyOf", [prop])]
        nullable = any(v.get("type") == "null" for v in variants)
        (node,) = [v for v in variants if v.get("type") != "null"]
        specs.append(_spec(schema, name, node, name in required, nullable))
    return tuple(specs)


def _spec(schema: dict[str, Any], name: str, node: dict[str, Any], required: bool, nullable: bool) -> FieldSpec:
    if "enum" in node:
        return FieldSpec(name, "choice", required, nullable, choices=tuple(node["enum"]))
    if node.get("type") == "integer":
        return FieldSpec(name, "integer", required, nullable, minimum=node.get("minimum"), maximum=node.get("maximum"))
    if node.get("type") == "string" and node.get("format") == "date-time":
        return FieldSpec(name, "instant", required, nullable)
    props = set(node.get("properties", ()))
    if props == {"dateTime", "timeZone"}:
        return FieldSpec(name, "zoned", required, nullable)
    if {"content", "contentType"} <= props:
        kinds = _resolve(schema, node["properties"]["contentType"])
        return FieldSpec(name, "body", required, nullable, choices=tuple(kinds["enum"]))
    raise NotImplementedError(f"no editor for {name}: {node}")


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zone(name)
    except ValueError as exc:
        raise FieldProblem(str(exc)) from None


_LABEL = widgets.Layout(width="170px")


class FieldEditor:
    """One property's row: label, input widgets, an optional "clear" box, and its message.

    ``read()`` gives ``UNCHANGED``, the value for the PATCH body (``None`` when
    cleared), or raises ``FieldProblem``. ``set_message`` shows the field's
    validation message next to it.
    """

    def __init__(self, spec: FieldSpec, inputs: list[widgets.Widget]) -> None:
        self.spec = spec
        self.inputs = inputs
        self.clear = widgets.Checkbox(
            value=False, description="clear (send null)", indent=False, layout=widgets.Layout(width="140px")
        )
        self.message = widgets.HTML(layout=widgets.Layout(min_width="220px"))
        self.label = widgets.HTML(f"<b>{spec.name}</b>" + (" *" if spec.required else ""), layout=_LABEL)
        parts = [self.label, *inputs] + ([self.clear] if spec.nullable else []) + [self.message]
        self.row = widgets.HBox(parts, layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        self.row.add_class("lk-field")
        self.row.add_class(f"lk-field-{spec.name}")
        self.clear.observe(self._on_clear, "value")
        self._initial: tuple[Any, ...] = ()

    def _on_clear(self, change: dict[str, Any]) -> None:
        for w in self.inputs:
            w.disabled = bool(change["new"])

    def observe(self, handler: Callable[[Any], None]) -> None:
        """Call ``handler`` whenever the user changes anything in this row."""
        for w in (*self.inputs, self.clear):
            w.observe(handler, "value")

    def state(self) -> tuple[Any, ...]:
        """The raw widget values (what "unchanged" is compared on)."""
        return tuple(w.value for w in self.inputs)

    def load(self, value: Any) -> None:
        """Show ``value`` (the activity's current one) and take it as the unchanged state."""
        self.clear.value = False
        self._show(value)
        self._initial = self.state()

    def show_pending(self, value: Any) -> None:
        """Show ``value`` (an edit not saved yet) as a change from the value loaded; None ticks "clear"."""
        if value is None and self.spec.nullable:
            self.clear.value = True
            return
        self.clear.value = False
        self._show(value)

    def read(self) -> Any:
        """``UNCHANGED``, the body value, or ``None`` when cleared; ``FieldProblem`` if unreadable."""
        if self.spec.nullable and self.clear.value:
            return None
        if self.state() == self._initial:
            return UNCHANGED
        return self._value()

    def _or_clear(self) -> str:
        return ", or tick clear to send null" if self.spec.nullable else ""

    def set_message(self, detail: str | None) -> None:
        """Show the field's validation message, or clear it."""
        self._problem = detail or None
        self.message.value = problem_html(detail) if detail else ""

    @property
    def problem(self) -> str | None:
        """The message shown now, as text (None when the field is fine)."""
        return self._problem

    _problem: str | None = None

    def _show(self, value: Any) -> None:  # pragma: no cover - every kind overrides
        raise NotImplementedError

    def _value(self) -> Any:  # pragma: no cover
        raise NotImplementedError


class _ChoiceEditor(FieldEditor):
    def __init__(self, spec: FieldSpec) -> None:
        self.dropdown = widgets.Dropdown(options=list(spec.choices), layout=widgets.Layout(width="180px"))
        super().__init__(spec, [self.dropdown])

    def _show(self, value: Any) -> None:
        value = getattr(value, "value", value)
        self.dropdown.options = list(self.spec.choices)
        if value is not None and value not in self.spec.choices:
            # A value the type does not allow (e.g. a future enum member) is shown, and refused if kept.
            self.dropdown.options = [*self.spec.choices, value]
        self.dropdown.value = value if value is not None else None

    def _value(self) -> Any:
        return self.dropdown.value


class _IntegerEditor(FieldEditor):
    def __init__(self, spec: FieldSpec) -> None:
        lo, hi = spec.minimum if spec.minimum is not None else 0, spec.maximum if spec.maximum is not None else 100
        self.slider = widgets.IntSlider(min=lo, max=hi, readout=False, layout=widgets.Layout(width="200px"))
        self.text = widgets.Text(continuous_update=True, placeholder=f"{lo}–{hi}", layout=widgets.Layout(width="70px"))
        self.text.add_class("lk-input-text")
        super().__init__(spec, [self.slider, self.text])
        self._syncing = False
        self.slider.observe(self._slider_moved, "value")
        self.text.observe(self._text_typed, "value")

    def state(self) -> tuple[Any, ...]:
        return (self.text.value.strip(),)

    def _slider_moved(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self._syncing = True
            self.text.value = str(change["new"])
            self._syncing = False

    def _text_typed(self, change: dict[str, Any]) -> None:
        # The slider follows a typed value only inside its range: an out-of-range one stays typed, and refused.
        if self._syncing:
            return
        try:
            number = int(change["new"].strip())
        except ValueError:
            return
        if self.slider.min <= number <= self.slider.max:
            self._syncing = True
            self.slider.value = number
            self._syncing = False

    def _show(self, value: Any) -> None:
        self._syncing = True
        self.text.value = "" if value is None else str(value)
        if value is not None:
            self.slider.value = min(max(int(value), self.slider.min), self.slider.max)
        self._syncing = False

    def _value(self) -> Any:
        typed = self.text.value.strip()
        if not typed:
            raise FieldProblem("shouldn't be empty: type a whole number" + self._or_clear())
        try:
            number: int = typed_cell(self.spec.name, typed, kind="integer")
        except ValueError as exc:
            raise FieldProblem(str(exc)) from None
        return number


class _DateTimeEditor(FieldEditor):
    """A naive date-time picker plus a time-zone box: the pair is the aware value."""

    def __init__(self, spec: FieldSpec) -> None:
        self.picker = widgets.NaiveDatetimePicker(layout=widgets.Layout(width="230px"))
        self.zone = widgets.Combobox(
            value="UTC",
            options=list(time_zone_names()),
            ensure_option=False,
            placeholder="time zone",
            continuous_update=True,
            layout=widgets.Layout(width="190px"),
        )
        super().__init__(spec, [self.picker, self.zone])

    def _show(self, value: Any) -> None:
        if value is None:
            self.picker.value = None
            return
        if isinstance(value, DateTimeTimeZone) or (isinstance(value, dict) and "timeZone" in value):
            dtz = value if isinstance(value, DateTimeTimeZone) else DateTimeTimeZone.model_validate(value)
            self.picker.value = parse_iso(dtz.dateTime)
            self.zone.value = dtz.timeZone
            return
        if isinstance(value, str):
            value = parse_iso(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        name = getattr(value.tzinfo, "key", None) or "UTC"
        self.picker.value = value.astimezone(zoneinfo.ZoneInfo(name)).replace(tzinfo=None)
        self.zone.value = name

    def _local(self) -> datetime:
        if self.picker.value is None:
            raise FieldProblem("shouldn't be empty: pick a date and time" + self._or_clear())
        if not self.zone.value.strip():
            raise FieldProblem("pick a time zone for this date and time")
        return self.picker.value  # type: ignore[no-any-return]

    def _value(self) -> Any:
        local = self._local()
        if self.spec.kind == "zoned":
            _zone(self.zone.value.strip())
            # Sent as typed: the zone name goes to Graph, and the model checks it.
            return {"dateTime": graph_local(local), "timeZone": self.zone.value.strip()}
        try:
            return zoned_instant(local, self.zone.value.strip())  # the one rule for a wall-clock time in a zone
        except ValueError as exc:
            raise FieldProblem(str(exc)) from None


class _BodyEditor(FieldEditor):
    def __init__(self, spec: FieldSpec) -> None:
        self.text = widgets.Textarea(
            continuous_update=True, placeholder="notes", layout=widgets.Layout(width="320px", height="60px")
        )
        self.content_type = widgets.ToggleButtons(
            options=list(spec.choices), style={"button_width": "50px"}, layout=widgets.Layout(width="auto")
        )
        super().__init__(spec, [self.text, self.content_type])

    def _show(self, value: Any) -> None:
        if value is None:
            self.text.value, self.content_type.value = "", self.spec.choices[0]
            return
        data = value.model_dump(mode="json") if hasattr(value, "model_dump") else dict(value)
        self.text.value = data.get("content") or ""
        self.content_type.value = data.get("contentType") or self.spec.choices[0]

    def _value(self) -> Any:
        return {"contentType": self.content_type.value, "content": self.text.value}


_EDITORS: dict[str, Callable[[FieldSpec], FieldEditor]] = {
    "choice": _ChoiceEditor,
    "integer": _IntegerEditor,
    "instant": _DateTimeEditor,
    "zoned": _DateTimeEditor,
    "body": _BodyEditor,
}


def make_editor(spec: FieldSpec) -> FieldEditor:
    """The editor row for one property spec.

    >>> make_editor(FieldSpec("completionPercentage", "integer", False, True, minimum=0, maximum=100)).slider.max
    100
    """
    return _EDITORS[spec.kind](spec)
