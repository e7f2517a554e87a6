"""A tenant from a file of a provider's real activities: what ``learnkit sandbox --load FILE`` serves.

The file is either a CSV as ``learnkit export`` writes it, read by ``learnkit.bulk.csvfile`` exactly
as ``learnkit apply`` reads one (UTF-8, UTF-16 with a byte-order mark or Windows-1252; the
``'`` escape; spaces kept in text; an empty cell null, ``'`` the empty string), so that
export, load and export again give the same bytes; or Graph activity JSON (RFC 8259 text:
UTF-8, or UTF-16/32), as JSON lines or one saved answer (``{"value": [...]}`` or an array).
A file named ``.csv`` is a CSV, one named ``.json``, ``.jsonl`` or ``.ndjson`` is JSON; any
other is JSON when its text begins with ``{`` or ``[``.

Every record is checked to be one Graph could hold and give back, so that the sandbox serves
what it loaded and learnkit reads it again: the read models' types, text that is Unicode and
nests no deeper than Graph takes, instants in years 1 to 9999, a percentage from 0 to 100, at
most ``MAX_BODY_BYTES`` of JSON. A file or record that is not is refused with ``LoadError``:
one line naming the file, where in it (``row N`` of a CSV, ``line N`` of JSON lines, ``item N``
of an answer) and the column or property.

With ``pseudonymize`` every user id the file holds (a learner's, an assigner's) is replaced by
``pseudonym(id)`` wherever it appears in any text of any record (an activity id, an external
id, a note), whatever its case.

Example: ``tenant = load_tenant("activities.csv", pseudonymize=True)``
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError

from learnkit._extras import import_part
from learnkit.errors import InvalidInputError, InvalidRowsError, LoadError
from learnkit.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, check_instant, check_text
from learnkit.models import (
    ASSIGNMENT_TYPE,
    INSTANT_PROPERTIES,
    SELF_INITIATED_TYPE,
    Percentage,
    normalize_odata_type,
    parse_activity,
    strip_control_information,
)
from learnkit.sandbox.seed import USER_PROPERTIES, Tenant, empty_activity, tenant_of
from learnkit.times import graph_instant, graph_local, parse_iso

__all__ = ["load_tenant", "pseudonym"]

_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
#: Every property of either activity type.
_PROPERTIES = tuple(dict.fromkeys([*empty_activity(ASSIGNMENT_TYPE), *empty_activity(SELF_INITIATED_TYPE)]))
#: The properties a record needs to be stored and served (its addresses in the store).
_REQUIRED = ("id", "learningProviderId", "learnerUserId", "learningContentId")
# Fixed, public: pseudonyms are stable across runs and machines, for demos and teaching. They are not
# anonymisation: whoever holds the real ids can recompute them.
_PSEUDONYM_KEY = b"learnkit sandbox pseudonyms v1"
_GRAPH_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}")
# An instant already in UTC with a four-digit year: inside Graph's range whatever its date.
_UTC_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|\+00:00)")
# The update models' rule (0 to 100, a whole number): the only percentages Graph ever stored.
_PERCENTAGE: TypeAdapter[int] = TypeAdapter(Percentage)


def pseudonym(user_id: str) -> str:
    """A stable stand-in for a user id: a GUID derived from it (the same id always gives the same one).

    >>> pseudonym("7ba2228a-e020-11ec-9d64-0242ac120002") == pseudonym("7BA2228A-E020-11EC-9D64-0242AC120002")
    True
    """
    digest = hmac.new(_PSEUDONYM_KEY, user_id.strip().lower().encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def load_tenant(path: str | os.PathLike[str], *, pseudonymize: bool = False) -> Tenant:
    """A tenant holding a provider's real activities, from ``learnkit export``'s CSV or Graph activity JSON.

    Providers, contents and users are inferred from the activities (``seed.tenant_of``). With
    ``pseudonymize`` every user id is replaced by ``pseudonym(id)``, in every text it appears in.
    A file or record that cannot be loaded raises ``LoadError`` naming the file, row and column.

    Example: ``tenant = load_tenant("activities.csv", pseudonymize=True)``
    """
    source = Path(path)
    records: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for where, item in _records(source):
        record = _activity(item, where)
        key = str(record["id"]).lower()
        if key in seen:
            raise LoadError(where, "id", f"{record['id']!r} is the id of {seen[key]} too: one record per id")
        seen[key] = where.removeprefix(f"{source} ")
        # An external id used twice under one provider is kept, as a real tenant can hold it: the store
        # addresses the first by it, and learnkit.audit's duplicate-external-id rule finds both.
        records.append(record)
    if not records:
        raise LoadError(str(path), None, "holds no activity to load", "empty")
    if pseudonymize:
        renamed = _Pseudonyms(r[name] for r in records for name in USER_PROPERTIES if isinstance(r.get(name), str))
        records = [renamed.record(r) for r in records]
    return tenant_of(records)


# --- reading the file ----------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, activity JSON) for each record of the file, CSV or JSON."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            suffix = path.suffix.lower()
            if suffix in _JSON_SUFFIXES or (suffix != ".csv" and _looks_like_json(handle.read(4096))):
                handle.seek(0)
                yield from _json_records(handle.read(), name)
            else:
                handle.seek(0)
                yield from _csv_records(handle, name)
    except IsADirectoryError:
        raise LoadError(name, None, "is a directory, not a file of activities") from None
    except OSError as exc:
        raise LoadError(name, None, f"cannot read it ({exc.strerror or exc})") from None


def _looks_like_json(head: bytes) -> bool:
    text = head.decode(json.detect_encoding(head), "ignore")
    return text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


def _csv_records(handle: IO[bytes], name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each row of ``learnkit export``'s CSV as Graph JSON, read by the reader ``learnkit apply`` uses."""
    csvfile = import_part("learnkit.bulk.csvfile")  # pandas: the bulk extra
    frame_module = import_part("learnkit.bulk.frame")
    try:
        frame = csvfile.read_records(handle)
    except InvalidRowsError as exc:
        row, column, detail = exc.cells[0]
        more = f" (and {len(exc.cells) - 1} more bad cell(s))" if len(exc.cells) > 1 else ""
        raise LoadError(f"{name} row {row}", column, detail + more) from None
    except InvalidInputError as exc:
        if exc.field == "csv":  # the file as a whole: the text names it
            raise
        raise LoadError(name, exc.field, exc.detail, exc.reason) from None
    # The frame's wire values a column at a time (what ``frame_to_activities`` gives row by row).
    wire = frame_module.wire_columns(frame, _PROPERTIES)
    rows: list[int] = frame.index.tolist()
    for row, values in zip(rows, zip(*wire.values(), strict=True), strict=True):
        yield f"{name} row {row}", dict(zip(_PROPERTIES, values, strict=True))


def _json_records(data: bytes, name: str) -> Iterator[tuple[str, Any]]:
    """Each record of JSON lines, of one saved answer (``{"value": [...]}``), or of a JSON array."""
    try:
        text = data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as exc:
        raise LoadError(name, None, f"is not JSON text in UTF-8 (or UTF-16/32): byte {exc.start} is wrong") from None
    if not text.strip("\ufeff \t\r\n"):
        raise LoadError(name, None, "is empty", "empty")
    text = text.removeprefix("\ufeff")
    first = text.count("\n", 0, len(text) - len(text.lstrip())) + 1  # the line the first value is on
    try:
        whole = json.loads(text)
    except RecursionError:  # thousands of nested [ or { in the first value
        raise LoadError(f"{name} line {first}", None, _too_deep()) from None
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":  # json's word for a first value followed by more: JSON lines
            raise LoadError(f"{name} line {exc.lineno}, column {exc.colno}", None, f"not JSON ({exc.msg})") from None
        yield from _objects(name, "line", _json_lines(name, text))
        return
    if isinstance(whole, dict) and isinstance(whole.get("value"), list):
        yield from _objects(name, "item", enumerate(whole["value"], start=1))
    elif isinstance(whole, list):
        yield from _objects(name, "item", enumerate(whole, start=1))
    else:
        yield from _objects(name, "line", [(first, whole)])


def _too_deep() -> str:
    return f"nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects, which Graph refuses"


def _json_lines(name: str, text: str) -> Iterator[tuple[int, Any]]:
    # Lines as JSON counts them: a U+2028 inside a string is text, not a line break (str.splitlines'd cut there).
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except RecursionError:
                raise LoadError(f"{name} line {number}", None, _too_deep()) from None
            except json.JSONDecodeError as exc:
                raise LoadError(f"{name} line {number}, column {exc.colno}", None, f"not JSON ({exc.msg})") from None


def _objects(name: str, unit: str, numbered: Iterable[tuple[int, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for number, item in numbered:
        where = f"{name} {unit} {number}"
        if not isinstance(item, dict):
            raise LoadError(where, None, f"is not a JSON object but {type(item).__name__}")
        yield where, item


# --- checking a record ---------------------------------------------------------------------------


def _activity(item: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The full record the store keeps (every property of its type, in Graph's forms), checked."""
    data = strip_control_information(item)
    if "externalCourseActivityId" in data and data.get("externalcourseActivityId") is None:
        data["externalcourseActivityId"] = data.pop("externalCourseActivityId")
    try:
        kind = normalize_odata_type(data.get("@odata.type"))
    except InvalidInputError as exc:
        raise LoadError(where, "@odata.type", exc.detail) from None
    record = empty_activity(kind)
    for name in record:
        if name in data and name != "@odata.type":
            record[name] = data[name]
    try:
        parse_activity(record)  # the types learnkit reads back: text, a number, a zone and a time, a body
    except ValidationError as exc:
        field, detail = _first_problem(exc)
        raise LoadError(where, field, detail) from None
    for name in _REQUIRED:
        if not isinstance(record[name], str) or not record[name].strip():
            raise LoadError(where, name, "is needed to load the activity", "required")
    if record["completionPercentage"] is not None:
        try:
            record["completionPercentage"] = _PERCENTAGE.validate_python(record["completionPercentage"])
        except ValidationError:
            shown = _shown(record["completionPercentage"])
            raise LoadError(where, "completionPercentage", f"{shown} is not a whole number from 0 to 100") from None
    for name in INSTANT_PROPERTIES:
        if record.get(name) is not None:
            record[name] = _instant(where, name, record[name])
    due = record.get("dueDateTime")
    if due is not None:
        record["dueDateTime"] = {"dateTime": _local(where, due["dateTime"]), "timeZone": due["timeZone"]}
    _check_texts(record, where)
    return record


def _check_texts(record: Mapping[str, Any], where: str) -> None:
    """Refuse text Graph could not hold (``learnkit.limits``): not Unicode, or a record past ``MAX_BODY_BYTES``.

    The read model has checked the shapes: text is at the top or one level down (dueDateTime, notes).
    """
    texts = {name: value for name, value in record.items() if isinstance(value, str)}
    for name, value in record.items():
        if isinstance(value, dict):
            texts.update((f"{name}.{key}", text) for key, text in value.items() if isinstance(text, str))
    joined = "".join(texts.values())
    try:
        joined.encode("utf-8")  # one call for the whole record; the text at fault is looked for only if it fails
    except UnicodeEncodeError:
        for name, text in texts.items():
            try:
                check_text(name, text)
            except InvalidInputError as exc:
                raise LoadError(where, name, exc.detail) from None
    # A character takes at most six bytes of JSON (\u001f), and 4 KiB is more than the names and numbers take.
    if 6 * len(joined) + 4096 > MAX_BODY_BYTES:
        size = len(json.dumps(record, ensure_ascii=False).encode())
        if size > MAX_BODY_BYTES:
            raise LoadError(
                where, None, f"is {size:,} bytes of JSON; Graph holds a record of at most {MAX_BODY_BYTES:,}"
            )


def _first_problem(exc: ValidationError) -> tuple[str, str]:
    """(dotted property, what is wrong) of a read model's first complaint."""
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "record"
    if error["type"] == "missing" or error.get("input", "") is None:
        return field, "is required"
    return field, f"{error['msg']} (got {_shown(error.get('input'))})"


def _shown(value: Any) -> str:
    """A value as a message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _instant(where: str, name: str, value: Any) -> str:
    """A DateTimeOffset as Graph writes it (UTC, Z), the fraction of a second as given; the read model checked
    that it names a real date and time."""
    if isinstance(value, str) and _UTC_INSTANT.fullmatch(value):
        return value.removesuffix("+00:00").removesuffix("Z") + "Z"  # the usual case, without parsing it again
    try:
        if not isinstance(value, str):
            raise ValueError(f"{_shown(value)} is not an ISO 8601 date-time like 2021-05-11T22:57:17Z")
        moment = parse_iso(value)
        if moment.tzinfo is not None:
            check_instant(name, moment)
        return graph_instant(value)
    except InvalidInputError as exc:
        raise LoadError(where, name, exc.detail) from None
    except ValueError as exc:
        raise LoadError(where, name, str(exc)) from None


def _local(where: str, text: str) -> str:
    """dueDateTime.dateTime in Graph's form (seven fractional digits, no offset); the read model checked it."""
    if _GRAPH_LOCAL.fullmatch(text):
        return text
    try:
        return graph_local(parse_iso(text))
    except ValueError as exc:
        raise LoadError(where, "dueDateTime.dateTime", str(exc)) from None


# --- pseudonyms ----------------------------------------------------------------------------------


class _Pseudonyms:
    """Every user id of a file replaced by its pseudonym, in any text it appears in, whatever its case.

    >>> _Pseudonyms(["AbC-1"]).text("see abc-1 and ABC-1x") == f"see {pseudonym('abc-1')} and {pseudonym('abc-1')}x"
    True
    """

    def __init__(self, user_ids: Iterable[str]) -> None:
        self._of = {key: pseudonym(key) for key in {u.strip().lower() for u in user_ids} if key}
        #: Id lengths, longest first: where two ids start at one place, the longer is the one meant.
        self._lengths = sorted({len(key) for key in self._of}, reverse=True)
        chars = "".join(sorted({c for key in self._of for c in key}))
        # Runs of the characters ids are made of, long enough to hold one: found in C, so a text without
        # an id costs one scan, whatever the number of ids (an alternation of 10,000 ids costs minutes).
        self._runs = (
            re.compile(f"[{re.escape(chars)}]{{{self._lengths[-1]},}}", re.IGNORECASE) if self._lengths else None
        )

    def record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record with every user id replaced: a user property whole, any other text where it holds one."""
        out: dict[str, Any] = {}
        for name, value in record.items():
            if name in USER_PROPERTIES and isinstance(value, str) and value.strip():
                out[name] = self._of[value.strip().lower()]
            else:
                out[name] = self._within(value)
        return out

    def _within(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self._within(item) for key, item in value.items()}
        return value

    def text(self, text: str) -> str:
        """``text`` with each user id in it replaced by its pseudonym."""
        if self._runs is None or len(text) < self._lengths[-1]:  # too short to hold one: most codes and dates
            return text
        return self._runs.sub(self._run, text)

    def _run(self, match: re.Match[str]) -> str:
        run, out, done, at = match.group(), [], 0, 0
        whole = self._of.get(run.lower())
        if whole is not None:  # the usual case: the run is one id
            return whole
        shortest = self._lengths[-1]
        while at + shortest <= len(run):
            for length in self._lengths:
                found = self._of.get(run[at : at + length].lower()) if at + length <= len(run) else None
                if found is not None:
                    out += [run[done:at], found]
                    at = done = at + length
                    break
            else:
                at += 1
        return "".join([*out, run[done:]])
