"""``SourceChoice``: how to name the records of a provider to read (``learnkit.bulk.sources``), as a person chooses it.

Graph documents three ways to read a provider's course activities: by activity id, by the
provider's own key (``externalcourseActivityId``) and by learner (delegated sign-in only). The
provider's whole list is only in Graph's metadata, and a tenant may refuse it: the choice of it is
offered (and made for the person) only once ``list_served`` says the tenant serves it. Keys are
pasted one a line, or read from an uploaded text file, CSV or workbook as ``learnkit.bulk.sources.read_keys``
reads a file (an exported one works).

Example::

    choice = SourceChoice()
    choice.list_served = False                 # what learnkit.bulk.sources.list_served answered
    choice.fill("external_ids", ["k-1", "k-2"])
    choice.source()                            # ExternalIds('k-1', 'k-2')
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets

from learnkit.bulk.sources import ActivityIds, ExternalIds, Learners, Source, keys_in_text
from learnkit.errors import InvalidInputError
from learnkit.widgets._common import style_sheet
from learnkit.widgets._safe import guarded

__all__ = ["CHOICES", "SourceChoice"]

#: The choices, by value: what the person reads.
CHOICES = {
    "list": "the provider's list: every record, where this tenant serves it",
    "external_ids": "external ids: the provider's own keys (externalcourseActivityId)",
    "ids": "activity ids: Graph's ids of the records (the id column of an export)",
    "learners": "learners: each learner's whole list, kept to this provider (delegated sign-in)",
}
#: The key choices' sources.
KINDS: dict[str, type[ExternalIds] | type[ActivityIds] | type[Learners]] = {
    "external_ids": ExternalIds,
    "ids": ActivityIds,
    "learners": Learners,
}

#: How a person gets a delegated sign-in in the app.
_DELEGATED_HOW = (
    "on page 1 tick 'also sign the demo user in' (sandbox) or give a delegated client id (tenant), then Connect again"
)

_GUIDE = (
    "<div class='lk-source-guide'><b>Choose which of its records to read</b>"
    "<div class='lk-note'>Graph documents three ways to read a provider's course activities: by the "
    "provider's own keys (external ids), by activity id, and by learner. Its whole list is only in Graph's "
    "metadata and a tenant may refuse it, so it can be chosen only where this tenant serves it.</div></div>"
)

_CSS = """
<style>
.lk-source-choice .widget-radio-box label { white-space: normal; }
/* The list, where the tenant does not serve it: shown, not choosable (the kernel refuses it too). */
.lk-source-choice.lk-list-refused .widget-radio-box label:first-child { opacity: 0.5; pointer-events: none; }
/* Paragraphs, not one-line labels: the widgets' line height (a control's) spreads them out. */
.lk-source .lk-note, .lk-source .lk-refused { line-height: 1.45; margin: 2px 0 4px; }
.lk-source .lk-note.lk-muted { color: var(--jp-ui-font-color2, #555); }
</style>
"""


class SourceChoice(widgets.VBox):  # type: ignore[misc]
    """The Provider page's "which records": a choice of source, a box of keys, a file upload, notes.

    ``list_served`` (None while unknown) enables the provider's list and chooses it for a person
    who has not chosen; ``delegated`` says whether learners' lists can be read. ``source()`` is
    what to read: None for the provider's list (where served), else a ``learnkit.bulk.sources`` source.

    >>> choice = SourceChoice()
    >>> choice.list_served = True; choice.choice.value
    'list'
    >>> choice.fill("ids", ["u1:a", "u1:b"]); choice.source()
    ActivityIds('u1:a', 'u1:b')
    """

    #: Whether the tenant serves the provider's list (``learnkit.bulk.sources.list_served``): None while unknown.
    list_served = traitlets.Bool(None, allow_none=True)
    #: What the service answered when asked for the list, or why it could not be asked ('' when served).
    list_answer = traitlets.Unicode("")
    #: Whether the connection has a delegated sign-in (learners' lists need one).
    delegated = traitlets.Bool(False)

    def __init__(self) -> None:
        self._setting = False  # True while the choice is made here, not by the person
        self._chosen_by_person = False
        self._filled: tuple[str, list[str]] | None = None  # (text shown, the exact keys it stands for)
        self._origin = ""  # where the filled keys came from
        self.guide = widgets.HTML(_GUIDE)
        self.choice = widgets.RadioButtons(
            options=[(label, value) for value, label in CHOICES.items()],
            value=None,
            layout=widgets.Layout(width="auto"),
        )
        self.choice.add_class("lk-source-choice")
        self.note = widgets.HTML()
        self.note.add_class("lk-source-note")
        self.keys_help = widgets.HTML()
        self.keys_help.add_class("lk-keys-help")
        self.keys_text = widgets.Textarea(
            placeholder="one a line", rows=6, layout=widgets.Layout(width="560px"), continuous_update=False
        )
        self.keys_text.add_class("lk-keys")
        self.upload = widgets.FileUpload(
            accept=".txt,.csv,.xlsx,text/plain,text/csv", multiple=False, description="Upload a file", icon="upload"
        )
        self.upload.add_class("lk-keys-upload")
        #: Fills in the sandbox demo provider's keys; shown by the app when it can reach them.
        self.demo_button = widgets.Button(description="Use the demo provider's keys", icon="key", layout=_fit())
        self.demo_button.add_class("lk-demo-keys")
        self.demo_button.layout.display = "none"
        self.keys_note = widgets.HTML()
        self.keys_note.add_class("lk-keys-note")
        self.keys_box = widgets.VBox(
            [self.keys_help, self.keys_text, widgets.HBox([self.upload, self.demo_button]), self.keys_note]
        )
        self.keys_box.layout.display = "none"

        self.choice.observe(guarded(self._chosen, self.note), "value")
        self.keys_text.observe(guarded(lambda _: self._count(), self.keys_note), "value")
        self.upload.observe(guarded(self._uploaded, self.keys_note), "value")
        self.observe(guarded(lambda _: self._show_list(), self.note), ["list_served", "list_answer"])
        self.observe(guarded(lambda _: self._show_keys(), self.note), "delegated")
        super().__init__(
            [
                style_sheet(),
                widgets.HTML(_CSS, layout=widgets.Layout(height="0px", overflow="hidden", margin="0")),
                self.guide,
                self.choice,
                self.note,
                self.keys_box,
            ]
        )
        self.add_class("lk-source")
        self._show_list()

    def __repr__(self) -> str:
        return f"SourceChoice(choice={self.choice.value!r}, list_served={self.list_served!r}, keys={len(self._keys())})"

    # --- what the person chose --------------------------------------------------

    def source(self) -> Source | None:
        """What to read: None for the provider's list (read where served) or when nothing is chosen, else the
        source of the keys given; ``InvalidInputError`` names what is missing (keys; a delegated sign-in)."""
        chosen = self.choice.value
        if chosen not in KINDS:
            return None
        kind = KINDS[chosen]
        keys = self._keys()
        if not keys:
            raise InvalidInputError(
                kind.WHAT, "required", f"paste the {kind.WHAT} to read, one a line, or upload a file of them"
            )
        if kind is Learners and not self.delegated:
            raise InvalidInputError(
                "learners", "required", "learners' lists need a delegated sign-in: " + _DELEGATED_HOW
            )
        return kind(keys)

    def fill(self, kind: str, keys: Sequence[str], origin: str = "") -> None:
        """Choose ``kind`` (``external_ids``, ``ids`` or ``learners``) with exactly these keys; ``origin`` says
        where they came from (a file's name)."""
        if kind not in KINDS:
            raise InvalidInputError("kind", "invalid", f"{kind!r}: give one of {', '.join(KINDS)}")
        keys = list(dict.fromkeys(keys))  # each once, as the source reads them
        text = "\n".join(keys)
        self._set(kind)
        self._chosen_by_person = True  # keys given (pasted, uploaded, named on the command line) are a choice
        self._filled = (text, keys)
        self._origin = origin
        if self.keys_text.value == text:
            self._count()
        else:
            self.keys_text.value = text

    def read_upload(self, files: Sequence[Any]) -> None:
        """Read an uploaded file's keys (``FileUpload.value``) as ``read_keys`` reads a file, into the box.

        The keys are those of the chosen kind (external ids when no key kind is chosen): a CSV's
        or workbook's column is that kind's (an exported one works). A file that holds none is said, not raised.
        """
        if not files:
            return
        item = files[0]
        name = Path(str(item.get("name") or "keys.txt")).name or "keys.txt"
        kind_name = self.choice.value if self.choice.value in KINDS else "external_ids"
        kind = KINDS[kind_name]
        with tempfile.TemporaryDirectory(prefix="learnkit-keys-") as folder:
            path = Path(folder) / name
            path.write_bytes(bytes(item["content"]))
            try:
                keys = kind.keys_in_file(path)
            except InvalidInputError as exc:
                self.keys_note.value = f"<div class='lk-refused'>✖ {html.escape(name)}: {html.escape(exc.detail)}</div>"
                return
        self.fill(kind_name, keys, origin=name)

    def tell(self, served: bool | None, answer: str = "") -> None:
        """What the tenant said about its list: served, refused (``answer``: what it answered) or unknown
        (``answer``: why it could not be asked); the page shows it at once."""
        with self.hold_trait_notifications():
            self.list_answer = answer
            self.list_served = served
        self._show_list()

    def asking(self) -> None:
        """Say that the tenant is being asked whether it serves the list (the list is neither offered nor refused)."""
        self.tell(None)
        self.note.value = (
            "<div class='lk-note'><i class='fa fa-spinner fa-spin'></i> Asking whether this tenant serves the "
            "provider's list…</div>"
        )

    def _uploaded(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.read_upload(change["new"])
            self.upload.value = ()  # the file's bytes leave the page's state; the same file may come again

    def _keys(self) -> list[str]:
        if self._filled is not None and self._filled[0] == self.keys_text.value:
            return self._filled[1]
        return keys_in_text(self.keys_text.value)

    # --- what the page shows ------------------------------------------------------

    def _set(self, value: str | None) -> None:
        self._setting = True
        try:
            self.choice.value = value
        finally:
            self._setting = False

    def _chosen(self, change: dict[str, Any]) -> None:
        if not self._setting:
            if change["new"] == "list" and self.list_served is False:
                self._set(change["old"])  # shown greyed out; a keyboard can still reach it
                return
            self._chosen_by_person = True
        self._show_keys()

    def _show_list(self) -> None:
        served = self.list_served
        if served is False:
            self.choice.add_class("lk-list-refused")
        else:
            self.choice.remove_class("lk-list-refused")
        answer = f" (it answered {html.escape(self.list_answer)})" if self.list_answer else ""
        if served is None:
            why = f": {html.escape(self.list_answer)}" if self.list_answer else ""
            self.note.value = (
                f"<div class='lk-note lk-muted'>Whether this tenant serves the provider's list is not known yet"
                f"{why}.</div>"
            )
        elif served:
            if not self._chosen_by_person:  # chosen first: the note then says what is chosen
                self._set("list")
            self.note.value = (
                "<div class='lk-note'>This tenant serves the provider's list: every record is read from it, "
                "page by page. Keys or learners read just those records.</div>"
            )
        else:
            if self.choice.value in (None, "list"):
                self._set("external_ids")
            self.note.value = (
                f"<div class='lk-note'>This tenant does not serve the provider's list{answer}: name the records "
                "by their keys or by learner.</div>"
            )
        self._show_keys()

    def _show_keys(self) -> None:
        chosen = self.choice.value
        if chosen not in KINDS:
            self.keys_box.layout.display = "none"
            return
        self.keys_box.layout.display = ""
        kind = KINDS[chosen]
        columns = " or ".join(kind.COLUMNS)
        text = (
            f"Paste the {kind.WHAT}, one a line (blank lines and lines starting with # are skipped), or upload "
            f"a text file of them, or a CSV or workbook with a column {columns} (an exported one works)."
        )
        if kind is Learners:
            text += (
                " Each learner's whole list is read, every page, and kept to this provider's records; "
                "<code>me</code> is the signed-in user."
            )
            if not self.delegated:
                text += f"<div class='lk-refused'>✖ Learners' lists need a delegated sign-in: {_DELEGATED_HOW}</div>"
        self.keys_help.value = f"<div class='lk-note'>{text}</div>"
        self._count()

    def _count(self) -> None:
        chosen = self.choice.value
        keys = self._keys()
        what = KINDS[chosen].WHAT if chosen in KINDS else "keys"
        # Counted as they will be read: a repeated key once (a learner's id in any case).
        count = len(KINDS[chosen](keys)) if chosen in KINDS and keys else len(keys)
        if self._filled is not None and self._filled[0] == self.keys_text.value and self._origin:
            self.keys_note.value = f"<div class='lk-note'>{count:,} {what}, from {html.escape(self._origin)}</div>"
        else:
            self.keys_note.value = f"<div class='lk-note lk-muted'>{count:,} {what}</div>"


def _fit() -> widgets.Layout:
    return widgets.Layout(width="auto")
