"""``Workbench``: one analyst's editing session, the state every view shares.

It holds the client, the provider's activities (``learnkit.bulk.frame.read_activities``'s frame:
typed, ``id`` a column, an integer row label as index), the source they were read from
(``learnkit.bulk.sources``), the pending edits and the journal. The form, the table, the bulk
editor and the history are views of it: they observe its traits (``frame``, ``pending``,
``selected_id``, ``message``, ...) and change it only through its methods, so a save from
any view shows in every view.

Every save goes one way: pending edits → ``learnkit.bulk.edits.diff`` (plans, validated)
→ ``learnkit.bulk.apply`` (journal, conflict check, ``$batch``) → the saved rows read
back. One save is one journal run, whatever its size, and ``undo`` reverts a run.

Example::

    bench = Workbench(client, registration_id=reg)       # reads the provider's activities (its list, where served)
    bench.load(source=ExternalIds(keys))                  # or those the provider's own keys name
    bench.edit(activity_id, "completionPercentage", 80)   # None: accepted (pending)
    result = bench.save()                                  # one journal run
    bench.undo()                                           # reverts it
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import traitlets
from ipywidgets import CallbackDispatcher

from learnkit import bulk
from learnkit.bulk.cells import typed_cell
from learnkit.bulk.edits import diff
from learnkit.bulk.engine import BulkResult
from learnkit.bulk.frame import ACTIVITY_COLUMNS, NESTED_COLUMNS, activities_frame, frame_to_activities, read_activities
from learnkit.bulk.journal import Journal, RunHistory
from learnkit.bulk.plans import PatchPlan
from learnkit.bulk.sources import NOT_FOUND, OTHER_PROVIDER, ActivityIds, ExternalIds, Learners, ProviderList, Source
from learnkit.client import GraphClient
from learnkit.errors import InvalidInputError, InvalidRowsError, LearnkitError, SourceRequiredError
from learnkit.models import normalize_odata_type
from learnkit.names import UserName, names_for
from learnkit.service import Service
from learnkit.widgets.cells import (
    editable_columns,
    get_many,
    missing,
    missing_note,
    plain,
    read_from,
    same,
    short_type,
)
from learnkit.widgets.words import id_html, outcome, plural, short_id

__all__ = ["Workbench", "editable_columns", "short_type"]

#: The frame's columns that hold user ids, whose names are looked up.
_USER_COLUMNS = ("learnerUserId", "assignerUserId")
#: Statuses after which a row's pending edit is done with (the service holds it).
_SETTLED = frozenset({"applied", "unchanged"})


class Workbench(traitlets.HasTraits):
    """The shared state of the notebook views: client, activities, pending edits, journal, selection.

    ``registration_id`` given: the provider's activities are read at once, from ``source`` if given
    (``load``). ``activities`` (Graph JSON) given instead: those rows are the frame (a form on one activity).

    >>> bench = Workbench(activities=[{"id": "a", "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
    ...                                "learningProviderId": "p", "status": "inProgress"}])
    >>> bench.edit("a", "completionPercentage", "150")
    'Input should be less than or equal to 100 (got 150)'
    >>> bench.edit("a", "completionPercentage", "40"), bench.pending
    (None, {'a': {'completionPercentage': 40}})
    """

    #: The client every save and read goes through (None: the views preview but cannot send).
    client = traitlets.Instance(GraphClient, allow_none=True)
    #: The provider whose activities are loaded (None: activities given directly).
    registration_id = traitlets.Unicode(None, allow_none=True)
    #: The provider's name, where known (the app knows it from the providers it lists): kept with each save's
    #: journal run, so the history names the provider.
    provider_name = traitlets.Unicode(None, allow_none=True)
    #: What the last read named (``learnkit.bulk.sources``; ``ProviderList()`` when the provider's list was read):
    #: ``reload`` reads the same records. None before a read.
    source = traitlets.Union(
        [traitlets.Instance(kind) for kind in (ExternalIds, ActivityIds, Learners, ProviderList)],
        default_value=None,
        allow_none=True,
    )
    #: What the last read's source named and Graph did not know (keys, ids or learner ids, as given).
    not_found = traitlets.Tuple()
    #: The activities as the service holds them (last read or saved): ``learnkit.bulk.frame``'s frame.
    frame = traitlets.Instance(pd.DataFrame)
    #: id -> {column: value} for every accepted, unsaved edit.
    pending = traitlets.Dict()
    #: (id, column, value, message) of the most recent refused edits, newest last.
    refused: traitlets.List[tuple[str, str, Any, str]] = traitlets.List()
    #: The activity the form shows (the table's selected row).
    selected_id = traitlets.Unicode(None, allow_none=True)
    #: The last thing a person should read: what was saved, refused or failed (plain text, one line).
    message = traitlets.Unicode("")
    #: ``info``, ``ok``, ``refused`` or ``error``: how ``message`` should look.
    level = traitlets.Unicode("info")
    #: What the message lists under its line (HTML built here, every value escaped): the rows that need
    #: attention, by name, and what to do.
    detail = traitlets.Unicode("")
    #: (done, total) rows of the running save or undo.
    progress = traitlets.Tuple(traitlets.Int(), traitlets.Int(), default_value=(0, 0))
    #: True while a save, undo or read is running.
    busy = traitlets.Bool(False)
    #: The last save's or undo's result (a ``learnkit.bulk`` result).
    last_result = traitlets.Any(None)
    #: The journal id of the last save, undo or redo this workbench ran.
    last_run = traitlets.Unicode(None, allow_none=True)
    #: Content id (and external id) -> title, from the provider's contents, when the token may read them.
    content_titles = traitlets.Dict()
    #: Learner and assigner id (lower case) -> ``learnkit.names.UserName``, when the token may read users.
    #: Display only: names are never part of the frame, a plan or a CSV.
    user_names = traitlets.Dict()
    #: Why names are not shown ('' while they are, or no client): the permission to ask for.
    names_note = traitlets.Unicode("")

    def __init__(
        self,
        client: GraphClient | None = None,
        *,
        registration_id: str | None = None,
        source: Source | None = None,
        activities: Iterable[Mapping[str, Any]] | pd.DataFrame | None = None,
        journal: Journal | str | None = None,
    ) -> None:
        super().__init__(client=client, registration_id=registration_id, frame=activities_frame([]))
        self._journal = journal
        self._saved = CallbackDispatcher()
        self._positions: dict[str, int] = {}
        self._service_of: tuple[GraphClient, Service] | None = None
        self._edited = self.frame
        if activities is not None:
            self.set_activities(activities)
        elif registration_id is not None:
            self.load(registration_id, source=source)

    @property
    def journal(self) -> Journal:
        """Where saves are journaled (opened on first use: learnkit's default journal unless one was given)."""
        if not isinstance(self._journal, Journal):
            self._journal = Journal(self._journal)
        return self._journal

    def __repr__(self) -> str:
        return (
            f"Workbench(provider={self.registration_id!r}, rows={len(self.frame)}, pending={len(self.pending)}, "
            f"last_run={self.last_run!r})"
        )

    # --- reading -----------------------------------------------------------

    def load(
        self,
        registration_id: str | None = None,
        *,
        source: Source | None = None,
        on_page: Callable[[int], object] | None = None,
    ) -> None:
        """Read the provider's activities (the current provider if not given); pending edits are dropped.

        ``source`` names the records to read (``learnkit.bulk.sources``: ``ExternalIds``, ``ActivityIds``,
        ``Learners`` with a delegated sign-in, or ``ProviderList``); without one, the source of the last
        read of the same provider, else the provider's list where the service serves it (``list_served``).
        Where it does not, ``SourceRequiredError`` is raised and said in ``message``, and nothing changes:
        the rows, edits and source loaded before stay. The keys the source named and Graph did not know
        are ``not_found``, counted (and the first few named) in ``message``. The source is remembered in
        ``source``: ``reload()`` (or ``load()``) reads the same records.

        ``on_page(rows_read_so_far)`` hears about each page or batch as it arrives (a big provider takes many).

        Example: ``bench.load(reg, source=ExternalIds.from_file("keys.txt"))``
        """
        same_provider = registration_id in (None, self.registration_id)
        registration_id = registration_id or self.registration_id
        if self.client is None or registration_id is None:
            raise InvalidInputError("client", "required", "connect a client and choose a provider first")
        if source is None and same_provider and not isinstance(self.source, ProviderList):
            source = self.source  # read again what was read: a reload names the same records
        with self._working("loaded", kept=True):
            frame = read_activities(self.client, registration_id, source=source, on_records=on_page)
        if registration_id != self.registration_id:
            self.provider_name = None  # learnt again from the new provider's contents
        self.registration_id = registration_id
        self.source = ProviderList() if source is None else source
        self.not_found = tuple(frame.attrs.get(NOT_FOUND, ()))
        self.set_activities(frame)
        note = self._read_titles(registration_id)
        if self.names_note:
            note += f" ({self.names_note})"
        said = f"{len(frame)} activities of {self.provider_label()} {read_from(self.source)}"
        said += missing_note(self.source, self.not_found, tuple(frame.attrs.get(OTHER_PROVIDER, ())))
        self.say(said + note, "info")

    def reload(self, *, on_page: Callable[[int], object] | None = None) -> None:
        """Read the current provider's activities again, from the source the last read used; edits are dropped.

        Example: ``bench.reload()  # the same external ids, ids, learners or list as before``
        """
        self.load(self.registration_id, source=self.source, on_page=on_page)

    def _kept(self) -> str:
        if self.registration_id is None:
            return "no provider was loaded before"
        return f"{len(self.frame)} activities and {len(self.pending)} row(s) of pending edits kept"

    def _read_titles(self, registration_id: str) -> str:
        """Read the provider's content titles (for people to recognise rows); a note when they cannot be read."""
        assert self.client is not None
        try:
            contents = self.client.list_contents(registration_id)
        except LearnkitError as exc:
            self.content_titles = {}
            return f" (content titles not shown: {exc})"
        titles: dict[str, str] = {}
        for content in contents:
            for key in (content.id, content.externalId):
                if key and content.title:
                    titles[key] = content.title
        self.content_titles = titles
        # Its contents name the provider (sourceName): the one place an application token may read its name.
        named = next((c.sourceName for c in contents if c.sourceName), None)
        if named and not self.provider_name:
            self.provider_name = named
        return ""

    def provider_label(self) -> str:
        """The provider as a person names it: its display name where known, else ``provider <id>``.

        >>> Workbench().provider_label()
        'no provider'
        """
        if self.provider_name:
            return self.provider_name
        return f"provider {self.registration_id}" if self.registration_id else "no provider"

    def describe(self, activity_id: str) -> str:
        """An activity as a person recognises it: learner, course and the end of its id (plain text).

        >>> Workbench(activities=[{"id": "a", "@odata.type": "#microsoft.graph.learningSelfInitiatedCourse",
        ...                        "learningProviderId": "p"}]).describe("a")
        'a'
        """
        learner, title = self._names_of(activity_id)
        return ", ".join(part for part in (learner, title, short_id(activity_id)) if part)

    def describe_html(self, activity_id: str) -> str:
        """``describe`` as HTML: the learner in bold, the course, the id shortened (whole on hover)."""
        learner, title = self._names_of(activity_id)
        parts = [f"<b>{html.escape(learner)}</b>" if learner else "", html.escape(title or ""), id_html(activity_id)]
        return " · ".join(part for part in parts if part)

    def _names_of(self, activity_id: str) -> tuple[str | None, str | None]:
        if activity_id not in self._positions:
            return None, None
        found = self.user_name(self.frame.at[self._positions[activity_id], "learnerUserId"])
        return (found.label if found is not None else None), self.content_title(activity_id)

    def content_title(self, activity_id: str) -> str | None:
        """The title of the content an activity is for, when known."""
        content = self.frame.at[self.position(activity_id), "learningContentId"]
        return None if missing(content) else self.content_titles.get(str(content))

    def read_names(self) -> None:
        """Look up the names of the frame's learners and assigners (``learnkit.names``: batched, cached per client).

        Without the permission the ids stay alone and ``names_note`` says which permission would show names.
        """
        if self.client is None:
            return
        names = names_for(self.client)
        ids = [value for column in _USER_COLUMNS if column in self.frame.columns for value in self.frame[column]]
        found = names.resolve(ids)
        self.names_note = names.note or ""
        known = {key.lower(): name for key, name in found.items() if name is not None}
        if known != self.user_names:
            self.user_names = {**self.user_names, **known}

    def user_name(self, user_id: Any) -> UserName | None:
        """The name behind a learner or assigner id, when known (never a request).

        >>> Workbench().user_name("7ba2228a-e020-11ec-9d64-0242ac120002") is None
        True
        """
        return self.user_names.get(user_id.lower()) if isinstance(user_id, str) else None

    def set_activities(self, activities: Iterable[Mapping[str, Any]] | pd.DataFrame) -> None:
        """Show these activities (Graph JSON, or a frame from ``learnkit.bulk.frame``) as the service's state.

        With a client, the names of their learners and assigners are looked up too (``read_names``).
        """
        frame = activities.copy() if isinstance(activities, pd.DataFrame) else activities_frame(list(activities))
        frame = frame.reset_index(drop=True)
        self.pending = {}
        self.refused = []
        self._reindex(frame)
        self.frame = frame
        if self.selected_id not in self._positions:
            self.selected_id = None
        self.read_names()

    def _reindex(self, frame: pd.DataFrame) -> None:
        ids = frame["id"].astype(str).tolist()
        if len(set(ids)) != len(ids):
            raise InvalidInputError("id", "invalid", "the activities repeat an id: each row must be one record")
        self._positions = {activity_id: position for position, activity_id in enumerate(ids)}
        self._edited = frame.copy()

    def position(self, activity_id: str) -> int:
        """The row label of an activity in ``frame``; ``InvalidInputError`` if it is not loaded."""
        try:
            return self._positions[activity_id]
        except KeyError:
            raise InvalidInputError("id", "invalid", f"no loaded activity has id {activity_id!r}") from None

    def activity(self, activity_id: str, *, edited: bool = False) -> dict[str, Any]:
        """One activity as Graph JSON: as the service holds it, or with its pending edits (``edited=True``)."""
        source = self._edited if edited else self.frame
        return frame_to_activities(source.iloc[[self.position(activity_id)]])[0]

    def edited_frame(self) -> pd.DataFrame:
        """``frame`` with every pending edit applied (what the table shows)."""
        return self._edited

    def row_type(self, activity_id: str) -> str:
        """The row's ``@odata.type`` in the metadata's spelling."""
        return normalize_odata_type(self.frame.at[self.position(activity_id), "@odata.type"])

    # --- editing -----------------------------------------------------------

    def edit(self, activity_id: str, column: str, value: Any) -> str | None:
        """Edit one cell: checked at once against the row's update model.

        Returns None when accepted (the edit is pending; typing back the service's value
        un-pends it), else the field's message (the edit is recorded in ``refused`` and
        the cell keeps its value). Text is read as the column's type: ``"80"`` for
        ``completionPercentage``, ISO 8601 for date-times, ``""`` clears.
        """
        problem = self._refusal(activity_id, column, value)
        if problem is not None:
            self.refused = [*self.refused[-49:], (activity_id, column, value, problem)]
            self.say(f"refused: {column} of {self.describe(activity_id)}: {problem}", "refused")
            return problem
        return None

    def edit_many(self, activity_ids: Sequence[str], column: str, value: Any) -> dict[str, str]:
        """The same edit on many rows (the bulk editor); id -> message for each row that refused it."""
        refused: dict[str, str] = {}
        accepted = 0
        start = {k: dict(v) for k, v in self.pending.items()}
        for activity_id in activity_ids:
            problem = self._refusal(activity_id, column, value, notify=False)
            if problem is None:
                accepted += 1
            else:
                refused[activity_id] = problem
        if refused:
            self.refused = [*self.refused, *((i, column, value, m) for i, m in refused.items())][-50:]
        self._publish_pending(start)
        waiting = plural(len(self.pending), "row")
        text = f"{column} set to {value!r} on {plural(accepted, 'row')}: pending, {waiting} to save"
        detail = ""
        if refused:
            text += f"; refused on {len(refused)}"
            detail = (
                "<ul class='lk-attention'>"
                + "".join(f"<li>{self.describe_html(i)}: {html.escape(m)}</li>" for i, m in list(refused.items())[:8])
                + "</ul>"
            )
        self.say(text, "refused" if refused else "ok", detail)
        return refused

    def stage(self, activity_id: str, changes: Mapping[str, Any]) -> dict[str, str]:
        """Property-level changes (the form's: ``{"dueDateTime": {...}, "status": ...}``) as pending edits.

        Returns column -> message for the refused ones; nothing is staged unless all pass.
        """
        cells: dict[str, Any] = {}
        for name, value in changes.items():
            columns = NESTED_COLUMNS.get(name)
            if columns is None:
                cells[name] = value
                continue
            parts = [column.split(".", 1)[1] for column in columns]
            mapping: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
            for column, part in zip(columns, parts, strict=True):
                cells[column] = mapping.get(part)
        position = self.position(activity_id)
        saved: dict[str, Any] = {column: self._edited.at[position, column] for column in cells}
        pending = {k: dict(v) for k, v in self.pending.items()}
        refused: dict[str, str] = {}
        for column, value in cells.items():
            problem = self._refusal(activity_id, column, value, notify=False)
            if problem is not None:
                refused[column] = problem
        if refused:
            for column, value in saved.items():
                self._edited.at[position, column] = value
            self.pending = pending
            column, problem = next(iter(refused.items()))
            self.say(f"refused: {column} of {self.describe(activity_id)}: {problem}", "refused")
        else:
            self._publish_pending(pending)
        return refused

    def _publish_pending(self, start: dict[str, Any]) -> None:
        """Tell the observers about edits made in place (``_refusal(notify=False)``) since ``start``.

        traitlets stays silent when the new value equals the stored one, and the stored dict
        is the one edited in place: put ``start`` back silently, then assign the result.
        """
        final = {k: dict(v) for k, v in self.pending.items()}
        self.pending.clear()
        self.pending.update(start)
        self.pending = final

    def _refusal(self, activity_id: str, column: str, value: Any, *, notify: bool = True) -> str | None:
        try:
            position = self.position(activity_id)
        except InvalidInputError as exc:
            return exc.detail
        kind = self.row_type(activity_id)
        if column not in editable_columns(kind):
            return f"{column} can't be changed on a {short_type(kind)}: it is read-only"
        try:
            typed = typed_cell(column, value)
        except ValueError as exc:
            return str(exc)
        previous: Any = self._edited.at[position, column]
        self._edited.at[position, column] = pd.NA if typed is None else typed
        try:
            diff(self.frame.iloc[[position]], self._edited.iloc[[position]])
        except InvalidRowsError as exc:
            self._edited.at[position, column] = previous
            mine = [detail for _, col, detail in exc.cells if col == column]
            return mine[0] if mine else f"{exc.cells[0][1]}: {exc.cells[0][2]}"
        changes = dict(self.pending.get(activity_id, {}))
        if same(self.frame.at[position, column], self._edited.at[position, column]):
            changes.pop(column, None)
        else:
            changes[column] = typed
        pending = dict(self.pending)
        if changes:
            pending[activity_id] = changes
        else:
            pending.pop(activity_id, None)
        if notify:
            self.pending = pending
            shown = typed.isoformat() if isinstance(typed, (pd.Timestamp, datetime)) else typed
            self.say(
                f"{column} of {self.describe(activity_id)} = {shown!r}: pending, {plural(len(pending), 'row')} to save",
                "ok",
            )
        else:
            self.pending.clear()
            self.pending.update(pending)
        return None

    def discard(self, activity_ids: Iterable[str] | None = None) -> None:
        """Forget pending edits (all, or those of ``activity_ids``): the service's values show again."""
        ids = list(self.pending) if activity_ids is None else [i for i in activity_ids if i in self.pending]
        for activity_id in ids:
            position = self.position(activity_id)
            for column in self.pending[activity_id]:
                held: Any = self.frame.at[position, column]
                self._edited.at[position, column] = held
        self.pending = {k: v for k, v in self.pending.items() if k not in ids}
        self.say(f"discarded the pending edits of {plural(len(ids), 'row')}", "info")

    def pending_frame(self) -> pd.DataFrame:
        """One row per pending cell: id, column, old (the service's) and new value.

        >>> Workbench().pending_frame().columns.tolist()
        ['id', 'column', 'old', 'new']
        """
        rows = [
            (activity_id, column, plain(self.frame.at[self.position(activity_id), column]), plain(new))
            for activity_id, changes in self.pending.items()
            for column, new in changes.items()
        ]
        table: pd.DataFrame = pd.DataFrame(rows, columns=pd.Index(["id", "column", "old", "new"]))
        return table

    def plans(self, activity_ids: Iterable[str] | None = None) -> list[PatchPlan]:
        """The pending edits (all, or those rows') as validated patch plans, based on the rows as read."""
        ids = list(self.pending) if activity_ids is None else [i for i in activity_ids if i in self.pending]
        positions = [self.position(i) for i in ids]
        if not positions:
            return []
        return diff(self.frame.iloc[positions], self._edited.iloc[positions])

    # --- saving ------------------------------------------------------------

    def save(self, activity_ids: Iterable[str] | None = None, *, source: str = "workbench") -> BulkResult | None:
        """Save the pending edits (all, or those rows') as one journal run; returns its result.

        Rows the service now holds (applied, or already holding the values) leave
        ``pending`` and show the service's values read back; rows that conflicted or
        failed keep their edits, so nothing typed is lost.
        """
        plans = self.plans(activity_ids)
        if not plans:
            self.say("nothing to save: no pending edit differs from the service", "info")
            return None
        client = self._require_client()
        names = {self.registration_id: self.provider_name} if self.registration_id and self.provider_name else None
        return self._run(
            lambda: bulk.apply(
                client,
                plans,
                journal=self.journal,
                progress=self._on_progress,
                source=source,
                provider_names=names,
            ),
            "saved",
        )

    def undo(self, run_id: str | None = None) -> BulkResult:
        """Revert a run as a journal run of its own; without ``run_id``, the newest change on this workbench's
        service and provider that is not undone yet (``RunHistory.last_in_effect``): a second undo steps
        further back, never forward.

        Example: ``bench.undo()``
        """
        client = self._require_client()
        if run_id is None:
            found = self.runs().last_in_effect()
            if found is None:
                raise InvalidInputError("run", "required", "nothing left to undo here: every saved change is undone")
            run_id = found.id
        chosen = run_id
        return self._run(lambda: bulk.undo(client, chosen, journal=self.journal, progress=self._on_progress), "undone")

    def redo(self, run_id: str | None = None) -> BulkResult:
        """Re-apply what an undo run reverted; without ``run_id``, the newest undo here not redone yet.

        Example: ``bench.undo(); bench.redo()``
        """
        client = self._require_client()
        if run_id is None:
            found = self.runs().last_undone()
            if found is None:
                raise InvalidInputError("run", "required", "nothing to redo here: no undo is left to redo")
            run_id = found.id
        chosen = run_id
        return self._run(lambda: bulk.redo(client, chosen, journal=self.journal, progress=self._on_progress), "redone")

    def runs(self) -> RunHistory:
        """The journal's runs on this workbench's service, of its provider when it has one: what ``undo()``
        and ``redo()`` choose from (``RunHistory.last_in_effect``, ``last_undone``).

        Example: ``bench.runs().last_in_effect()``
        """
        client = self._require_client()
        return self.journal.runs(service=self._service(client), provider=self.registration_id or None)

    def history(self, *, everywhere: bool = False) -> pd.DataFrame:
        """The journal's runs, newest first (``learnkit.bulk.journal.Journal.runs``): those made on this workbench's
        service (its client's Graph host and tenant), or every run with ``everywhere=True`` or no client yet.

        Example: ``bench.history().head(5)``
        """
        client = self.client
        service = None if everywhere or client is None else self._service(client)
        runs: pd.DataFrame = self.journal.runs(service=service).to_frame()
        return runs

    def service(self) -> Service | None:
        """The service (Graph host and tenant) this workbench's client writes to; None without a client.

        Example: ``bench.service().label``
        """
        return None if self.client is None else self._service(self.client)

    def _service(self, client: GraphClient) -> Service:
        # Asked once per client: it signs in, and the history is redrawn after every save.
        if self._service_of is None or self._service_of[0] is not client:
            self._service_of = (client, client.service())
        return self._service_of[1]

    @traitlets.observe("selected_id")
    def _selection_changed(self, change: Mapping[str, Any]) -> None:
        # What the last action said was about the row that was selected: another row starts clean.
        if not self.busy and change["old"] is not None:
            self.say("")

    def on_saved(self, callback: Callable[[Any], object], remove: bool = False) -> None:
        """Call ``callback(result)`` after each save or undo; ``remove=True`` unregisters it."""
        self._saved.register_callback(callback, remove=remove)

    def _require_client(self) -> GraphClient:
        if self.client is None:
            raise InvalidInputError("client", "required", "connect first: this workbench has no client to send with")
        return self.client

    def _on_progress(self, done: int, total: int) -> None:
        self.progress = (done, total)

    @contextlib.contextmanager
    def _working(self, verb: str, *, kept: bool = False) -> Iterator[None]:
        """``busy`` while the block runs; a failure is said in ``message`` (``not {verb}: ...``) and raised.

        ``kept``: the message adds what stays as it was (a read that failed changes nothing).
        """
        self.busy = True
        try:
            yield
        except LearnkitError as exc:
            note = f". Nothing changed here: {self._kept()}" if kept else ""
            self.say(f"not {verb}: {exc}{note}", "refused" if isinstance(exc, SourceRequiredError) else "error")
            raise
        except OSError as exc:
            # requests' connection errors are OSErrors too: the service is not there to answer.
            self.say(f"not {verb}: the service is unreachable (a stopped sandbox?): {exc}", "error")
            raise
        finally:
            self.busy = False

    def _run(self, send: Callable[[], BulkResult], verb: str) -> BulkResult:
        self.progress = (0, 0)
        try:
            with self._working(verb):
                result = send()
        finally:
            self.progress = (0, 0)  # shown while the run goes, gone when it ends
        table = result.frame
        touched = [str(i) for i in table["id"]]
        settled = set(table.loc[table["status"].isin(_SETTLED), "id"].astype(str))
        self._read_back(touched, settled)
        self.last_result = result
        self.last_run = result.journal_id
        self.say(*outcome(result, verb, self.describe_html))
        self._saved(result)
        return result

    def _read_back(self, activity_ids: Sequence[str], settled: set[str]) -> None:
        """Read the touched rows from the service; settled rows leave ``pending``."""
        client = self._require_client()
        current = {str(a.get("id")): a for a in get_many(client, activity_ids)}
        frame = self.frame.copy()
        for activity_id, activity in current.items():
            position = self.position(activity_id)
            row = activities_frame([activity])
            for column in ACTIVITY_COLUMNS:
                frame.at[position, column] = row.at[0, column]
        pending = {k: v for k, v in self.pending.items() if k not in settled}
        edited = frame.copy()
        for activity_id, changes in pending.items():
            for column, value in changes.items():
                edited.at[self.position(activity_id), column] = pd.NA if value is None else value
        self.pending = pending
        self._edited = edited
        self.frame = frame

    def say(self, text: str, level: str = "info", detail: str = "") -> None:
        """Replace the message every view shows: one line of ``text``, looking like ``level`` (``info``, ``ok``,
        ``refused``, ``error``), with ``detail`` (HTML, escaped by the caller) under it. ``""`` clears it.

        Example: ``bench.say("select rows on the Activities page first", "refused")``
        """
        self.level, self.detail = level, detail
        if text and text == self.message:
            self.message = ""  # the same words again are a new message: the views redraw with its detail
        self.message = text

    def message_html(self) -> str:
        """``message`` (and its ``detail``) as HTML styled by ``level`` (the CSS classes the views share)."""
        if not self.message:
            return ""
        mark = {"ok": "✔ ", "refused": "✖ ", "error": "⚠ "}.get(self.level, "")
        detail = f"<div class='lk-message-detail'>{self.detail}</div>" if self.detail else ""
        return f"<div class='lk-message lk-{self.level}'>{mark}{html.escape(self.message)}</div>{detail}"
