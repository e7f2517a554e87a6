"""Where a provider's activities are read from: the ways Graph documents, and the provider's list where served.

Graph documents three ways to read course activities, and a *source* names one of them with the
records to read:

* ``ActivityIds(ids)``: ``GET /employeeExperience/learningCourseActivities/{id}`` for each id
  (application or delegated token);
* ``ExternalIds(keys)``: ``GET .../learningProviders/{registrationId}/learningCourseActivities(
  externalcourseActivityId='{key}')`` for each of the provider's own keys (application or delegated);
* ``Learners(user_ids)``: ``GET /users/{id}/employeeExperience/learningCourseActivities``, each learner's
  whole list, every page, kept to the provider's records (delegated tokens only).

The provider's whole list, ``GET .../learningProviders/{registrationId}/learningCourseActivities``
(``ProviderList()``), is in Graph's metadata but on no page of its docs, and a tenant may refuse it.
Without a source, ``read_records`` uses it only where a one-record probe shows the service serves
it (asked once per service, tenant and token kind in a process); elsewhere it raises
``SourceRequiredError``, naming the sources.

Ids and keys go 20 to a ``$batch`` (``GraphClient.batch``), up to ``CONCURRENCY`` batches in flight,
fewer while the service throttles (``learnkit.bulk.pacing``); a throttled sub-request is sent again after
its own ``Retry-After`` (``RetryPolicy``). Learners go the same way: the first pages of 20 learners to a
``$batch``, then each learner's next page as its ``@odata.nextLink`` comes back, batched too. What Graph
does not know (404) is reported, not raised: ``Records.not_found``; records of another provider (an
activity id may name any provider's record) are left out and named in ``Records.other_provider``.
Records stay Graph's JSON (no model parsing): ``learnkit.bulk.frame.read_activities`` makes the frame of
them in one go and keeps the two lists in ``frame.attrs`` (``NOT_FOUND``, ``OTHER_PROVIDER``).

Example::

    keys = ExternalIds.from_file("keys.txt")          # one key per line; or a CSV with that column
    frame = read_activities(client, registration_id, source=keys)
    frame.attrs["not_found"]                          # the keys Graph does not know, as given
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeAlias
from urllib.parse import urlsplit

from learnkit import paths
from learnkit.client import GraphClient
from learnkit.errors import (
    AuthenticationError,
    GraphError,
    InvalidInputError,
    InvalidRegistrationError,
    InvalidRowsError,
    RetryableError,
    ServicePlanError,
    SourceRequiredError,
    UnexpectedResponseError,
)
from learnkit.models import strip_control_information

from .batch_reads import BatchReads, Get

__all__ = [
    "CONCURRENCY",
    "NOT_FOUND",
    "OTHER_PROVIDER",
    "SOURCE",
    "ActivityIds",
    "ExternalIds",
    "Learners",
    "ProviderList",
    "Records",
    "Source",
    "forget_probes",
    "keys_in_text",
    "list_refusal",
    "list_served",
    "next_path",
    "read_keys",
    "read_records",
    "refusal_of_list",
]

#: ``$batch`` requests in flight at most (fewer while throttled). Reads change nothing: 16, the bulk
#: engine's default for its writes, keeps 2,000 keys (100 batches) to seven round trips' time.
CONCURRENCY = 16
#: The ``frame.attrs`` key of what was asked for and not found (ids, keys or learners, as given).
NOT_FOUND = "not_found"
#: The ``frame.attrs`` key of the ids of records read but left out: another provider's.
OTHER_PROVIDER = "other_provider"
#: The ``frame.attrs`` key of the source's name (``"ExternalIds"``, ``"ProviderList"``, ...).
SOURCE = "source"

_LIST = "list_provider_activities"
# Statuses that mean "this service does not serve the provider's list" (unknown path, refused, not
# implemented), as opposed to a mistake any source would meet the same way (see refusal_of_list).
_NOT_SERVED = frozenset({400, 403, 404, 405, 501})


def _texts(values: Iterable[str], name: str, *, fold: bool = False) -> tuple[str, ...]:
    """Distinct non-blank strings in order (compared in lower case when ``fold``); others refused, naming ``name``."""
    if isinstance(values, str):
        raise InvalidInputError(name, "invalid", f"give a list of strings, not one string ({values[:40]!r})")
    seen: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise InvalidInputError(name, "invalid", f"{value!r} is not a string")
        if not value.strip():
            raise InvalidInputError(name, "empty", "shouldn't hold an empty string")
        seen.setdefault(value.lower() if fold else value, value)
    return tuple(seen.values())


def _shown(keys: Sequence[str], limit: int = 3) -> str:
    listed = ", ".join(repr(k) for k in keys[:limit])
    return listed + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


class _FromFile:
    """``from_file``, shared: the columns a CSV may name the keys by, what the keys are called (``WHAT``), and
    the columns that show a CSV's ``id`` names something else (``NOT_WITH``)."""

    COLUMNS: ClassVar[tuple[str, ...]] = ()
    WHAT: ClassVar[str] = ""
    NOT_WITH: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def keys_in_file(cls, path: str | Path) -> list[str]:
        """The keys of this kind in a file, as ``read_keys`` reads them (repeats kept, for the caller to count).

        Example: ``Learners.keys_in_file("team.csv")``
        """
        return read_keys(path, cls.COLUMNS, cls.WHAT, cls.NOT_WITH)


@dataclass(frozen=True, init=False)
class ActivityIds(_FromFile):
    """Activities by their ids: ``GET /employeeExperience/learningCourseActivities/{id}``, 20 to a ``$batch``.

    An id names a record of any provider: those of another provider are left out (and named).
    Repeated ids are read once.

    >>> ActivityIds(["u1:a", "u1:b", "u1:a"])
    ActivityIds('u1:a', 'u1:b')
    """

    ids: tuple[str, ...]
    COLUMNS: ClassVar[tuple[str, ...]] = ("id",)
    WHAT: ClassVar[str] = "activity ids"

    def __init__(self, ids: Iterable[str]) -> None:
        object.__setattr__(self, "ids", _texts(ids, "ids"))

    def __repr__(self) -> str:
        return f"ActivityIds({_shown(self.ids)})"

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_file(cls, path: str | Path) -> ActivityIds:
        """The ids in a text file (one a line) or a CSV (its ``id`` column, or its only one): see ``read_keys``."""
        return cls(cls.keys_in_file(path))


@dataclass(frozen=True, init=False)
class ExternalIds(_FromFile):
    """Activities by the provider's own keys (``externalcourseActivityId``), 20 to a ``$batch``.

    Keys are sent exactly as given (quotes, spaces and any Unicode are quoted in the URL as
    OData and HTTP want them); repeated keys are read once.

    >>> ExternalIds(["o'hara-1", "n° 2"]).keys
    ("o'hara-1", 'n° 2')
    """

    keys: tuple[str, ...]
    COLUMNS: ClassVar[tuple[str, ...]] = ("externalcourseActivityId",)
    WHAT: ClassVar[str] = "external ids"

    def __init__(self, keys: Iterable[str]) -> None:
        object.__setattr__(self, "keys", _texts(keys, "keys"))

    def __repr__(self) -> str:
        return f"ExternalIds({_shown(self.keys)})"

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_file(cls, path: str | Path) -> ExternalIds:
        """The keys in a text file (one a line) or a CSV (its ``externalcourseActivityId`` column, either
        spelling, or its only one): see ``read_keys``."""
        return cls(cls.keys_in_file(path))


@dataclass(frozen=True, init=False)
class Learners(_FromFile):
    """Learners whose lists to read (``GET /users/{id}/employeeExperience/learningCourseActivities``, every
    page), kept to the provider's records. Graph serves these lists to delegated tokens only.

    Ids are compared without regard to case (GUIDs are); ``"me"`` is the signed-in user.

    >>> Learners(["7BA2228A-e020", "7ba2228a-E020", "me"])
    Learners('7BA2228A-e020', 'me')
    """

    user_ids: tuple[str, ...]
    COLUMNS: ClassVar[tuple[str, ...]] = ("userId", "learnerUserId", "id")
    WHAT: ClassVar[str] = "learner ids"
    # A file of users (an Entra export) names each by ``id``; a file of activities (an export, ``--keys-out``) has
    # these too, and its ``id`` is an activity's.
    NOT_WITH: ClassVar[tuple[str, ...]] = ("externalcourseActivityId", "@odata.type", "learningProviderId")

    def __init__(self, user_ids: Iterable[str]) -> None:
        object.__setattr__(self, "user_ids", _texts(user_ids, "user_ids", fold=True))

    def __repr__(self) -> str:
        return f"Learners({_shown(self.user_ids)})"

    def __len__(self) -> int:
        return len(self.user_ids)

    @classmethod
    def from_file(cls, path: str | Path) -> Learners:
        """The ids in a text file (one a line) or a CSV (its ``userId``, ``learnerUserId`` or ``id`` column,
        or its only one): see ``read_keys``."""
        return cls(cls.keys_in_file(path))


@dataclass(frozen=True)
class ProviderList:
    """The provider's whole list, page by page: undocumented, so used only where the service serves it.

    Naming it insists on it: a tenant that refuses the list then raises its error.

    >>> ProviderList()
    ProviderList()
    """


#: What ``read_records`` and ``read_activities`` take as ``source``.
Source: TypeAlias = ActivityIds | ExternalIds | Learners | ProviderList


# --- files of keys ---------------------------------------------------------------------------------


def read_keys(
    path: str | Path, columns: Sequence[str] = (), what: str = "keys", not_with: Sequence[str] = ()
) -> list[str]:
    """The keys in a file: a text file, one a line, a CSV's column (named ``*.csv``), or a workbook's.

    A text file's lines are read without their surrounding spaces; blank lines and lines starting
    with ``#`` are skipped. A CSV's first row names its columns: the keys are in the first of
    ``columns`` it has (names compared without regard to case), or in its only column; a cell is
    read as ``learnkit export`` writes it (surrounding spaces dropped, one leading ``'`` dropped),
    blank cells skipped, so an exported CSV works as it is. A workbook (``.xlsx``, told by its
    content; the ``excel`` extra) is read as its CSV would be, from the sheet ``activities``, else
    the first: an exported workbook works too. A table whose keys would come from its ``id`` column
    while it also has one of ``not_with`` is refused: its ids are not of this kind. UTF-8, UTF-16
    with a byte-order mark and Windows-1252 are read (as ``learnkit.bulk.csvfile`` reads). A file that
    is missing, unreadable, not text, or holds no key is refused with one ``InvalidInputError`` whose
    field is the file's name.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "keys.txt").write_text("# exported 2024-05-01\\nk-1\\n\\n  k 2  \\n")
    >>> read_keys(folder / "keys.txt")
    ['k-1', 'k 2']
    >>> _ = (folder / "keys.csv").write_text("id,externalCourseActivityId\\nu:1,'=k3\\nu:2,k4\\n")
    >>> read_keys(folder / "keys.csv", ["externalcourseActivityId"])
    ['=k3', 'k4']
    """
    from .csvio import WORKBOOK_START

    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(name, "invalid", "no such file") from None
    except IsADirectoryError:
        raise InvalidInputError(name, "invalid", f"is a folder, not a file of {what}") from None
    except OSError as exc:
        raise InvalidInputError(name, "invalid", f"cannot read it ({exc.strerror or exc})") from None
    if data.startswith(WORKBOOK_START):
        keys = _sheet_keys(data, name, columns, what, not_with)
    else:
        keys = _text_keys(data, name, columns, what, not_with)
    if not keys:
        raise InvalidInputError(name, "empty", f"holds no {what}: one a line (blank lines and # comments are skipped)")
    return keys


def _sheet_keys(data: bytes, name: str, columns: Sequence[str], what: str, not_with: Sequence[str]) -> list[str]:
    """The keys in a workbook's sheet (``learnkit export -o *.xlsx``, or one of the analyst's), read as a CSV is."""
    from learnkit._extras import import_part

    try:
        sheet = import_part("learnkit.bulk.xlsxfile").sheet_cells(data, name)
    except InvalidRowsError as exc:  # a formula or an error value: the keys it holds are not known
        row, column, detail = exc.cells[0]
        raise InvalidInputError(name, "invalid", f"row {row}, {column}: {detail}") from None
    except InvalidInputError as exc:
        raise InvalidInputError(name, "invalid", exc.detail.removeprefix(name).lstrip(" :")) from None
    # Cells as the CSV's would be: an empty one (NaN) blank; a sheet's text has no escape to remove.
    rows = [[str(c) for c in sheet.columns]]
    rows += [["" if value != value else str(value) for value in row] for row in sheet.itertuples(index=False)]
    return _table_keys(rows, name, columns, what, not_with, escape="")


def _text_keys(data: bytes, name: str, columns: Sequence[str], what: str, not_with: Sequence[str]) -> list[str]:
    """The keys in a text file (one a line) or a CSV (named ``*.csv``)."""
    from .csvio import ESCAPE, _decode  # the one rule for the encodings a file may be in

    try:
        text = _decode(data, name)
    except InvalidInputError as exc:
        detail = exc.detail.removeprefix(name).lstrip(" :").replace("'CSV UTF-8'", "UTF-8")
        raise InvalidInputError(name, "invalid", detail) from None
    if "\x00" in text:
        raise InvalidInputError(name, "invalid", "is not a text file (it holds NUL characters)")
    if not name.lower().endswith(".csv"):
        return keys_in_text(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInputError(name, "invalid", f"is not a well-formed CSV: {exc}") from None
    return _table_keys(rows, name, columns, what, not_with, ESCAPE)


def keys_in_text(text: str) -> list[str]:
    """The keys in text of one key a line, as ``read_keys`` reads a text file: each line without its
    surrounding spaces; blank lines and lines starting with ``#`` skipped (keys pasted into a box).

    >>> keys_in_text("# from the LMS\\n k-1 \\n\\nk 2\\r\\n")
    ['k-1', 'k 2']
    """
    keys = [line.strip() for line in text.splitlines()]
    return [key for key in keys if key and not key.startswith("#")]


def _table_keys(
    rows: list[list[str]], name: str, columns: Sequence[str], what: str, not_with: Sequence[str], escape: str
) -> list[str]:
    """The keys in a table's rows (the first names the columns): a CSV's, or a workbook sheet's."""
    if not rows:
        return []
    header = [cell.strip().lstrip("\ufeff").lower() for cell in rows[0]]
    named = [c.lower() for c in columns]
    column = next((header.index(c) for c in named if c in header), None)
    if column is None:
        if len(header) != 1:
            wanted = " or ".join(columns) or "one"
            raise InvalidInputError(
                name,
                "invalid",
                f"has no column {wanted} among {', '.join(repr(c) for c in rows[0])}: "
                f"name the column of {what} so, or give a file of one {what[:-1]} a line",
            )
        column = 0
    other = next((c for c in not_with if header[column] == "id" and c.lower() in header), None)
    if other is not None:
        instead = " or ".join(c for c in columns if c.lower() != "id")
        raise InvalidInputError(
            name,
            "invalid",
            f"its id column holds activity ids, not {what} (the file has a column {other!r}, as exported activities "
            f"do): give a file of {what}, one a line, or a CSV with a {instead} column",
        )
    keys = []
    for row in rows[1:]:
        cell = row[column].strip() if column < len(row) else ""
        if escape and cell.startswith(escape):
            cell = cell[1:]
        if cell:
            keys.append(cell)
    return keys


# --- the sources ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Records:
    """What a source read: the provider's records as Graph's JSON (in the order asked, each once), what was
    asked for and not found, the ids of records left out as another provider's, and the source's name.

    ``round_trips`` counts the requests sent (``$batch`` es, or pages of the list).
    """

    items: list[dict[str, Any]]
    not_found: tuple[str, ...] = ()
    other_provider: tuple[str, ...] = ()
    source: str = ""
    round_trips: int = 0


def _provider_of(registration_id: str) -> Callable[[dict[str, Any]], bool]:
    wanted = registration_id.lower()

    def mine(record: dict[str, Any]) -> bool:
        provider = record.get("learningProviderId")
        return isinstance(provider, str) and provider.lower() == wanted

    return mine


def _by_keys(
    client: GraphClient,
    registration_id: str,
    source: ActivityIds | ExternalIds,
    concurrency: int,
    on_records: Callable[[int], object] | None = None,
) -> Records:
    if isinstance(source, ActivityIds):
        keys, operation = source.ids, "get_activity"
        urls = [paths.activity(key) for key in keys]
    else:
        keys, operation = source.keys, "get_activity_by_external_id"
        urls = [paths.activity_by_external_id(registration_id, key) for key in keys]
    found: dict[str, dict[str, Any]] = {}
    mine = _provider_of(registration_id)
    kept = [0]  # the provider's records found so far, for on_records

    def on_found(get: Get, body: dict[str, Any]) -> None:
        # An entity's answer carries @odata.context (and may carry an etag): about the answer, not the
        # record. Dropped here, as answers arrive, while other batches are still on the wire.
        found[get.key] = strip_control_information(body)
        kept[0] += mine(body)

    batches = BatchReads(
        client, operation, on_found, concurrency=concurrency, count=lambda: kept[0], on_records=on_records
    )
    batches.run(Get(key, url) for key, url in zip(keys, urls, strict=True))
    items: list[dict[str, Any]] = []
    other: list[str] = []
    seen: set[str] = set()
    for key in keys:
        record = found.get(key)
        if record is None:
            continue
        record_id = str(record.get("id"))
        if not mine(record):
            other.append(record_id)
        elif record_id not in seen:  # two spellings of one id
            seen.add(record_id)
            items.append(record)
    not_found = set(batches.not_found)
    return Records(
        items,
        tuple(k for k in keys if k in not_found),
        tuple(other),
        type(source).__name__,
        batches.round_trips,
    )


def next_path(graph_url: str, link: str) -> str | None:
    """An ``@odata.nextLink`` as a ``$batch`` sub-request's url (relative to the version root), or None when
    it points anywhere but ``graph_url``: a link to another host or version is not followed.

    >>> next_path("https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/me/x?$skiptoken=a")
    '/me/x?$skiptoken=a'
    >>> next_path("https://graph.microsoft.com/v1.0", "https://evil.example/v1.0/me/x") is None
    True
    """
    root, target = urlsplit(graph_url), urlsplit(link)
    defaults = {"https": 443, "http": 80}

    def place(url: Any) -> tuple[str, str | None, int | None]:
        try:
            port = url.port or defaults.get(url.scheme.lower())
        except ValueError:
            return ("", None, None)
        return url.scheme.lower(), url.hostname, port

    base, here = root.path.rstrip("/"), place(root)
    if here[1] is None or place(target) != here or not target.path.startswith(base + "/"):
        return None
    rest = target.path[len(base) :]
    if ".." in rest.split("/"):
        return None  # it would climb out of the version root
    return rest + (f"?{target.query}" if target.query else "")


def _by_learners(
    client: GraphClient,
    registration_id: str,
    source: Learners,
    page_size: int,
    concurrency: int,
    on_records: Callable[[int], object] | None = None,
) -> Records:
    mine = _provider_of(registration_id)
    pages: dict[str, list[dict[str, Any]]] = {}
    kept = [0]  # the provider's records read so far, for on_records

    def on_found(get: Get, body: dict[str, Any]) -> Get | None:
        items, link = body.get("value"), body.get("@odata.nextLink")
        url = client.graph_url + get.url
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise UnexpectedResponseError(url, 200, "application/json", "a collection without a 'value' list")
        theirs = [item for item in items if mine(item)]
        pages.setdefault(get.key, []).extend(theirs)
        kept[0] += len(theirs)
        if link is None:
            return None
        following = next_path(client.graph_url, link) if isinstance(link, str) else None
        if following is None:
            raise UnexpectedResponseError(
                url, 200, "application/json", f"an '@odata.nextLink' outside {client.graph_url}: {str(link)[:200]!r}"
            )
        return Get(get.key, following)

    batches = BatchReads(
        client,
        "list_learner_activities",
        on_found,
        concurrency=concurrency,
        count=lambda: kept[0],
        on_records=on_records,
    )
    batches.run(Get(uid, f"{paths.learner_activities(uid)}?$top={page_size}") for uid in source.user_ids)
    # Each record once: one learner may be named twice ("me" and their id), and a record may be listed on
    # two pages of a list that changed while it was read.
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for uid in source.user_ids:
        for record in pages.get(uid, ()):
            record_id = str(record.get("id"))
            if record_id not in seen:
                seen.add(record_id)
                items.append(record)
    not_found = set(batches.not_found)
    missing = tuple(uid for uid in source.user_ids if uid in not_found)
    return Records(items, missing, (), "Learners", batches.round_trips)


# --- the provider's list, where served -------------------------------------------------------------

# (graph_url, tenant, token kind) -> None where the list is served, else what the service answered.
_PROBES: dict[tuple[str, str], str | None] = {}
_PROBES_LOCK = threading.Lock()


def refusal_of_list(error: GraphError) -> str | None:
    """What an error answer to a provider's list said (status and code), when it means the service does not
    serve the list; None when it means another mistake that every source would meet.

    A path the service does not know or will not serve is "not served"; a wrong registration id, a tenant
    without the service plan, a token refused or throttling are not. Status and code only: the answer is
    remembered for the service, and its message names one provider's path.

    >>> from learnkit.errors import error_from_response
    >>> refusal_of_list(error_from_response(400, {"error": {"code": "BadRequest", "message": "Unsupported"}}, {}))
    '400 BadRequest'
    """
    if isinstance(error, (InvalidRegistrationError, ServicePlanError, AuthenticationError, RetryableError)):
        return None
    return f"{error.status} {error.code}".strip() if error.status in _NOT_SERVED else None


def _service(client: GraphClient) -> tuple[tuple[str, str], str]:
    """The probe's key: the service (``learnkit.service.Service.key``) and the token kind the list would use."""
    kind, token = client.token_for(_LIST)
    return (client.service().key, kind), token


def list_served(client: GraphClient, registration_id: str) -> bool:
    """Whether the service serves a provider's whole list of activities to this client's token.

    Asked once per service (``graph_url``), tenant (the token's ``tid``) and token kind in a process:
    one ``GET .../learningCourseActivities?$top=1&$select=id``. An answer that means another mistake
    (an unknown registration id, throttling past the retries, a refused token) is raised, not remembered.

    Example: ``list_served(client, sb.demo["registration_id"])``
    """
    return _probe(client, registration_id) is None


def list_refusal(client: GraphClient, registration_id: str) -> str | None:
    """None where the service serves a provider's whole list to this client's token, else what it answered
    (status, code and the start of its message): ``list_served``'s answer, with the service's words for a page
    to show. Asked and remembered as ``list_served`` is.

    Example: ``list_refusal(client, reg)  # '400 BadRequest: Unsupported segment type. ...' or None``
    """
    return _probe(client, registration_id)


def _probe(client: GraphClient, registration_id: str) -> str | None:
    """None where the list is served, else what the service answered."""
    key, _ = _service(client)
    with _PROBES_LOCK:
        if key in _PROBES:
            return _PROBES[key]
    try:
        client.request(
            "GET", paths.provider_activities(registration_id), operation=_LIST, params={"$top": 1, "$select": "id"}
        )
    except GraphError as exc:
        said = refusal_of_list(exc)
        if said is None:
            raise
    else:
        said = None
    with _PROBES_LOCK:
        _PROBES[key] = said
    return said


def forget_probes() -> None:
    """Forget which services serve the provider's list (each is probed again when next needed).

    Example: ``forget_probes()  # after a tenant's configuration changed``
    """
    with _PROBES_LOCK:
        _PROBES.clear()


def _provider_list(
    client: GraphClient, registration_id: str, page_size: int, on_records: Callable[[int], object] | None = None
) -> Records:
    items: list[dict[str, Any]] = []
    pages = 0
    for page in client.iter_pages(
        paths.provider_activities(registration_id), operation=_LIST, params={"$top": page_size}
    ):
        items.extend(page)
        pages += 1
        if on_records is not None:
            on_records(len(items))
    return Records(items, source="ProviderList", round_trips=pages)


def read_records(
    client: GraphClient,
    registration_id: str,
    source: Source | None = None,
    *,
    page_size: int = 999,
    concurrency: int = CONCURRENCY,
    on_records: Callable[[int], object] | None = None,
) -> Records:
    """A provider's activities from ``source``, as Graph's JSON; the provider's list where served when None.

    ``page_size`` is the ``$top`` of each page of a list (the provider's, or a learner's);
    ``concurrency`` the most ``$batch`` es in flight. Without a source, the provider's list is
    read if ``list_served``; otherwise ``SourceRequiredError`` says which sources to name.
    ``on_records(n)`` hears how many of the provider's records are read so far, after each page or
    ``$batch`` that brought some (called from the reading threads, one call at a time, ``n`` growing).

    Example: ``read_records(client, reg, ExternalIds(["k-1", "k-2"])).not_found``
    """
    paths.require_id(registration_id, "registration_id")
    if isinstance(source, (ActivityIds, ExternalIds)):
        return _by_keys(client, registration_id, source, concurrency, on_records)
    if isinstance(source, Learners):
        return _by_learners(client, registration_id, source, page_size, concurrency, on_records)
    if isinstance(source, ProviderList):
        return _provider_list(client, registration_id, page_size, on_records)
    if source is not None:
        raise InvalidInputError(
            "source", "invalid", f"{source!r} is not a source: give ActivityIds, ExternalIds, Learners or ProviderList"
        )
    said = _probe(client, registration_id)
    if said is not None:
        raise SourceRequiredError(registration_id, said)
    try:
        return _provider_list(client, registration_id, page_size, on_records)
    except GraphError as exc:
        refused = refusal_of_list(exc)
        if refused is None:
            raise
        # Served when probed, refused now: remembered, and said as if the probe had found it so.
        key, _ = _service(client)
        with _PROBES_LOCK:
            _PROBES[key] = refused
        raise SourceRequiredError(registration_id, refused) from exc
