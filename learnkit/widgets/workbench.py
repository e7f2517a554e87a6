"""``Workbench``: one analyst's editing session, the state every view shares.

It holds the client, the provider's activities (``learnkit.frame.read_activities``'s frame:
typed, ``id`` a column, an integer row label as index), the source they were read from
(``learnkit.sources``), the pending edits and the journal. The form, the table, the bulk
editor and the history are views of it: they observe its traits (``frame``, ``pending``,
``selected_id``, ``message``, ...) and change it only through its methods, so a save from
any view shows in every view.

Every save goes one way: pending edits → ``learnkit.frame.diff`` (plans, validated)
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

from learnkit import bulk, paths
from learnkit.client import GraphClient
from learnkit.engine import BulkResult
from learnkit.errors import InvalidInputError, LearnkitError, SourceRequiredError
from learnkit.frame import (
    ACTIVITY_COLUMNS,
    NESTED_COLUMNS,
    activities_frame,
    diff,
    frame_to_activities,
    read_activities,
)
from learnkit.journal import Journal, RunHistory
from learnkit.limits import BATCH_LIMIT
from learnkit.models import UPDATE_MODELS, normalize_odata_type
from learnkit.names import UserName, names_for
from learnkit.plans import INSTANT_PROPERTIES, InvalidRowsError, PatchPlan
from learnkit.service import Service
from learnkit.sources import NOT_FOUND, OTHER_PROVIDER, ActivityIds, ExternalIds, Learners, ProviderList, Source
from learnkit.times import parse_iso

__all__ = ["Workbench", "editable_columns", "short_type"]

#: The frame's columns that hold user ids, whose names are looked up.
_USER_COLUMNS = ("learnerUserId", "assignerUserId")
#: Statuses after which a row's pending edit is done with (the service holds it).
_SETTLED = frozenset({"applied", "unchanged"})
#: Keys, ids or learners not found, shown by name in the message (the rest counted).
_SHOWN = 5


def editable_columns(odata_type: str) -> tuple[str, ...]:
    """The frame columns a row of this ``@odata.type`` may change, in frame order.

    >>> editable_columns("#microsoft.graph.learningSelfInitiatedCourse")[:2]
    ('status', 'completionPercentage')
    """
    names = set(UPDATE_MODELS[normalize_odata_type(odata_type)].UPDATABLE)
    allowed = {column for name in names for column in NESTED_COLUMNS.get(name, (name,))}
    return tuple(column for column in ACTIVITY_COLUMNS if column in allowed)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, Mapping, list)) and bool(pd.isna(value)))


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return bool(a == b)


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
    #: What the last read named (``learnkit.sources``; ``ProviderList()`` when the provider's list was read):
    #: ``reload`` reads the same records. None before a read.
    source = traitlets.Union(
        [traitlets.Instance(kind) for kind in (ExternalIds, ActivityIds, Learners, ProviderList)],
        default_value=None,
        allow_none=True,
    )
    #: What the last read's source named and Graph did not know (keys, ids or learner ids, as given).
    not_found = traitlets.Tuple()
    #: The activities as the service holds them (last read or saved): ``learnkit.frame``'s frame.
    frame = traitlets.Instance(pd.DataFrame)
    #: id -> {column: value} for every accepted, unsaved edit.
    pending = traitlets.Dict()
    #: (id, column, value, message) of the most recent refused edits, newest last.
    refused: traitlets.List[tuple[str, str, Any, str]] = traitlets.List()
    #: The activity the form shows (the table's selected row).
    selected_id = traitlets.Unicode(None, allow_none=True)
    #: The last thing a person should read: what was saved, refused or failed (plain text).
    message = traitlets.Unicode("")
    #: ``info``, ``ok``, ``refused`` or ``error``: how ``message`` should look.
    level = traitlets.Unicode("info")
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

        ``source`` names the records to read (``learnkit.sources``: ``ExternalIds``, ``ActivityIds``,
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
        self.registration_id = registration_id
        self.source = ProviderList() if source is None else source
        self.not_found = tuple(frame.attrs.get(NOT_FOUND, ()))
        self.set_activities(frame)
        note = self._read_titles(registration_id)
        if self.names_note:
            note += f" ({self.names_note})"
        said = f"{len(frame)} activities of provider {registration_id} {_read_from(self.source)}"
        said += _missing_note(self.source, self.not_found, tuple(frame.attrs.get(OTHER_PROVIDER, ())))
        self._say(said + note, "info")

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
        return ""

    def content_title(self, activity_id: str) -> str | None:
        """The title of the content an activity is for, when known."""
        content = self.frame.at[self.position(activity_id), "learningContentId"]
        return None if _missing(content) else self.content_titles.get(str(content))

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
        """Show these activities (Graph JSON, or a frame from ``learnkit.frame``) as the service's state.

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
            self._say(f"refused: {column} of {activity_id}: {problem}", "refused")
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
        text = f"{column} set on {accepted} row(s)"
        self._say(text + (f"; refused on {len(refused)}" if refused else ""), "refused" if refused else "ok")
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
            self._say(f"refused: {column} of {activity_id}: {problem}", "refused")
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
            typed = self._typed(column, value)
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
        if _same(self.frame.at[position, column], self._edited.at[position, column]):
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
            self._say(f"{column} of {activity_id} = {typed!r} (pending: {len(pending)} row(s))", "ok")
        else:
            self.pending.clear()
            self.pending.update(pending)
        return None

    def _typed(self, column: str, value: Any) -> Any:
        """A typed value (or text from the grid) as the frame column's type; ValueError says why not."""
        if _missing(value) or (isinstance(value, str) and value == ""):
            return None
        if column == "completionPercentage":
            if isinstance(value, bool):
                raise ValueError(f"{value!r} is not a whole number")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{value!r} is not a whole number") from None
            if not number.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
        if column in INSTANT_PROPERTIES or column == "dueDateTime.dateTime":
            moment = value if isinstance(value, datetime) else parse_iso(str(value))
            stamp = pd.Timestamp(moment)
            if column in INSTANT_PROPERTIES:
                if stamp.tzinfo is None:
                    raise ValueError(f"{value!r} has no time zone: add an offset such as +00:00 or Z")
                return stamp.tz_convert("UTC")
            if stamp.tzinfo is not None:
                raise ValueError(f"{value!r} has an offset: give local time; the zone goes in dueDateTime.timeZone")
            return stamp
        return value

    def discard(self, activity_ids: Iterable[str] | None = None) -> None:
        """Forget pending edits (all, or those of ``activity_ids``): the service's values show again."""
        ids = list(self.pending) if activity_ids is None else [i for i in activity_ids if i in self.pending]
        for activity_id in ids:
            position = self.position(activity_id)
            for column in self.pending[activity_id]:
                held: Any = self.frame.at[position, column]
                self._edited.at[position, column] = held
        self.pending = {k: v for k, v in self.pending.items() if k not in ids}
        self._say(f"discarded the pending edits of {len(ids)} row(s)", "info")

    def pending_frame(self) -> pd.DataFrame:
        """One row per pending cell: id, column, old (the service's) and new value.

        >>> Workbench().pending_frame().columns.tolist()
        ['id', 'column', 'old', 'new']
        """
        rows = [
            (activity_id, column, _plain(self.frame.at[self.position(activity_id), column]), _plain(new))
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
            self._say("nothing to save: no pending edit differs from the service", "info")
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
        """The journal's runs, newest first (``learnkit.journal.Journal.runs``): those made on this workbench's
        service (its client's Graph host and tenant), or every run with ``everywhere=True`` or no client yet.

        Example: ``bench.history().head(5)``
        """
        client = self.client
        service = None if everywhere or client is None else self._service(client)
        runs: pd.DataFrame = self.journal.runs(service=service).to_frame()
        return runs

    def _service(self, client: GraphClient) -> Service:
        # Asked once per client: it signs in, and the history is redrawn after every save.
        if self._service_of is None or self._service_of[0] is not client:
            self._service_of = (client, client.service())
        return self._service_of[1]

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
            self._say(f"not {verb}: {exc}{note}", "refused" if isinstance(exc, SourceRequiredError) else "error")
            raise
        except OSError as exc:
            # requests' connection errors are OSErrors too: the service is not there to answer.
            self._say(f"not {verb}: the service is unreachable (a stopped sandbox?): {exc}", "error")
            raise
        finally:
            self.busy = False

    def _run(self, send: Callable[[], BulkResult], verb: str) -> BulkResult:
        self.progress = (0, 0)
        with self._working(verb):
            result = send()
        table = result.frame
        self.progress = (len(table), len(table))
        journal_id = result.journal_id
        touched = [str(i) for i in table["id"]]
        settled = set(table.loc[table["status"].isin(_SETTLED), "id"].astype(str))
        self._read_back(touched, settled)
        self.last_result = result
        self.last_run = journal_id
        counts = table["status"].value_counts().to_dict()
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        problems = table[~table["status"].isin(_SETTLED)]
        text = f"{verb}: {summary} (journal run {journal_id})"
        if len(problems):
            first = problems.iloc[0]
            text += f"; row {first['id']}: {first['message']}"
        self._say(text, "ok" if problems.empty else "error")
        self._saved(result)
        return result

    def _read_back(self, activity_ids: Sequence[str], settled: set[str]) -> None:
        """Read the touched rows from the service; settled rows leave ``pending``."""
        client = self._require_client()
        current = {str(a.get("id")): a for a in _get_many(client, activity_ids)}
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

    def _say(self, text: str, level: str) -> None:
        self.level = level
        self.message = text

    def message_html(self) -> str:
        """``message`` as HTML styled by ``level`` (the CSS classes the views share)."""
        mark = {"ok": "✔ ", "refused": "✖ ", "error": "⚠ "}.get(self.level, "")
        return f"<div class='lk-message lk-{self.level}'>{mark}{html.escape(self.message)}</div>"


def _read_from(source: Source) -> str:
    """How a source read, as the message says it.

    >>> _read_from(ExternalIds(["k-1", "k-2"])), _read_from(ProviderList())
    ('by 2 external ids', 'from its list')
    """
    if isinstance(source, ProviderList):
        return "from its list"
    if isinstance(source, Learners):
        return f"from {len(source)} learners' lists"
    return f"by {len(source)} {source.WHAT}"


def _missing_note(source: Source, not_found: Sequence[str], other: Sequence[str]) -> str:
    """What the read asked for and did not get: the count, and the first few named.

    >>> _missing_note(ActivityIds(["a", "b", "c"]), ("b", "c"), ())
    "; 2 of 3 activity ids not found: 'b', 'c'"
    """
    said = ""
    if not_found and not isinstance(source, ProviderList):
        named = ", ".join(repr(key) for key in not_found[:_SHOWN])
        more = f" and {len(not_found) - _SHOWN} more" if len(not_found) > _SHOWN else ""
        said += f"; {len(not_found)} of {len(source)} {source.WHAT} not found: {named}{more}"
    if other:
        said += f"; {len(other)} record(s) of another provider left out"
    return said


def _get_many(client: GraphClient, activity_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The activities' current JSON, read in ``$batch``es (missing ones left out)."""
    found: list[dict[str, Any]] = []
    size = BATCH_LIMIT
    for start in range(0, len(activity_ids), size):
        chunk = activity_ids[start : start + size]
        answers = client.batch(
            [
                {"id": str(i), "method": "GET", "url": paths.activity(activity_id)}
                for i, activity_id in enumerate(chunk)
            ],
            operation="get_activity",
        )
        found.extend(a["body"] for a in answers if a.get("status") == 200 and isinstance(a.get("body"), dict))
    return found


def _plain(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def short_type(odata_type: str) -> str:
    """The name a person reads for an ``@odata.type``.

    >>> short_type("#microsoft.graph.learningAssignment")
    'assignment'
    """
    return {"learningAssignment": "assignment", "learningSelfInitiatedCourse": "self-initiated course"}.get(
        odata_type.rsplit(".", 1)[-1], odata_type.rsplit(".", 1)[-1]
    )
