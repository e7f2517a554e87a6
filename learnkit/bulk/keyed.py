"""A sheet of new values keyed by the records' own keys, completed from the service before it is planned.

An analyst's sheet often comes from somewhere else (a learning system's report): one column of keys,
``id`` or ``externalcourseActivityId``, and the values to set, nothing more. ``plan_sheet`` reads those
records the ways Graph documents (by id, or by the provider's key, ``learnkit.bulk.sources``) and fills in
what an export would hold: every column as just read, with ``@learnkit.etag``, the sheet's own cells written
over them. From there the sheet is an edited export: every cell is checked as ``read_csv`` checks
it (row numbers are the sheet's own), a cell that already holds what the service holds is not sent, and the
conflict check covers the time between that read and the write. A blank cell leaves the record's value as it is
(in an export, it clears the value): such a sheet names only what it sets. A sheet with those columns already (an
export, edited) is planned as it is.

Which provider: the sheet's ``learningProviderId`` column where it has one, else ``provider``.

Example::

    edits = plan_sheet(client, "from-our-lms.csv", provider=registration_id)
    print(edits.summary())            # "3 rows: 2 to change, 1 already as the service holds it ..."
    bulk.apply(client, edits.plans)
"""

from __future__ import annotations

from learnkit._extras import require

require("bulk", __name__)  # before the imports: a missing extra is named, not a bare ModuleNotFoundError

import io
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from learnkit.errors import InvalidInputError, InvalidRowsError

from .csvfile import CsvPlans, plan_csv
from .csvio import ETAG_COLUMN, escape_cells, raw_table, write_csv
from .frame import ACTIVITY_COLUMNS, DATETIME_COLUMNS, read_activities
from .plans import ADDRESS_PROPERTIES
from .sources import OTHER_PROVIDER, ActivityIds, ExternalIds

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = ["KEY_COLUMNS", "is_keyed", "plan_sheet"]

#: The columns a sheet may name its records by, in the order they are looked for (the sources' own columns).
KEY_COLUMNS = (*ActivityIds.COLUMNS, *ExternalIds.COLUMNS)
_PROVIDER = "learningProviderId"
_EMPTY = "shouldn't be empty: it addresses the record"


def is_keyed(raw: pd.DataFrame) -> bool:
    """Whether a sheet (``raw_table``) names its records by key only, so the service must complete it first:
    no ``@learnkit.etag``, an address column missing, and a column of ids or external ids.

    >>> is_keyed(pd.DataFrame({"externalcourseActivityId": ["k-1"], "completionPercentage": ["40"]}))
    True
    >>> is_keyed(pd.DataFrame({"id": ["a"], "@odata.type": ["x"], "learningProviderId": ["p"]}))
    False
    """
    columns = set(map(str, raw.columns))
    return (
        ETAG_COLUMN not in columns
        and not columns.issuperset(ADDRESS_PROPERTIES)
        and any(key in columns for key in KEY_COLUMNS)
    )


def plan_sheet(client: GraphClient, source: str | os.PathLike[str] | Any, *, provider: str | None = None) -> CsvPlans:
    """Plan a sheet: an edited export as ``plan_csv`` plans it, or a sheet keyed by ``id`` or
    ``externalcourseActivityId`` after reading its records (the module's docstring).

    ``InvalidRowsError`` names every row whose key is blank, unknown to the provider or another
    provider's, and every bad cell, before anything is sent.

    Example: ``plan_sheet(client, "values.csv", provider=reg).plans``
    """
    raw = raw_table(source)
    if ETAG_COLUMN not in raw.columns:
        raw = _spelled(raw)
    if not is_keyed(raw):
        return plan_csv(raw)
    key = next(k for k in KEY_COLUMNS if k in raw.columns)
    return replace(plan_csv(_completed(client, raw, key, provider)), read_by=key)


#: Graph's spelling of each column, by its lower case: a sheet typed by hand may spell a header otherwise.
_SPELLING = {name.lower(): name for name in ACTIVITY_COLUMNS}  # the key columns among them


def _spelled(raw: pd.DataFrame) -> pd.DataFrame:
    """A sheet learnkit did not write, its headers in Graph's spelling (``externalCourseActivityId``, `` Status``).

    >>> list(_spelled(pd.DataFrame(columns=["ExternalCourseActivityId", " completionpercentage", "Mine"])).columns)
    ['externalcourseActivityId', 'completionPercentage', 'Mine']
    """
    names = [_SPELLING.get(str(c).strip().lower(), c) for c in raw.columns]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise InvalidInputError("csv", "invalid", f"the sheet has the column {twice!r} twice (in any case)")
    spelled: pd.DataFrame = raw.set_axis(names, axis="columns")
    spelled.attrs.update(raw.attrs)
    return spelled


def _cell(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _completed(client: GraphClient, raw: pd.DataFrame, key: str, provider: str | None) -> pd.DataFrame:
    """The export of the records ``raw`` names, in its row order, with its cells written over the export's."""
    keys = [_cell(v) for v in raw[key].tolist()]
    if _PROVIDER in raw.columns:
        providers = [_cell(v) for v in raw[_PROVIDER].tolist()]
    elif provider is not None and provider.strip():
        providers = [provider.strip()] * len(raw)
    else:
        raise InvalidInputError(
            "provider",
            "required",
            f"a sheet of {key}s and values without a {_PROVIDER!r} column needs the provider whose records "
            "it names (--provider REGISTRATION_ID; in Python, provider=...)",
        )
    frames: list[pd.DataFrame] = []
    elsewhere: set[str] = set()  # ids (lower case) of another provider's records that the keys named
    for registration_id in dict.fromkeys(p for p in providers if p):
        wanted = [k for k, p in zip(keys, providers, strict=True) if k and p == registration_id]
        if wanted:
            source = ActivityIds(wanted) if key == "id" else ExternalIds(wanted)
            frame = read_activities(client, registration_id, source=source)
            elsewhere.update(str(i).lower() for i in frame.attrs.get(OTHER_PROVIDER, ()))
            frames.append(frame)
    # The records as `learnkit export` writes them (text, escaped, with their fingerprints): one way to read cells.
    if frames:
        text = io.StringIO()
        write_csv(pd.concat(frames, ignore_index=True), text)
        exported = raw_table(io.StringIO(text.getvalue()))
    else:
        exported = pd.DataFrame(columns=[*ACTIVITY_COLUMNS, ETAG_COLUMN], dtype=object)
    # Graph's ids are GUIDs (any case names the record); a provider's keys are matched as given.
    fold = str.lower if key == "id" else str
    at: dict[tuple[str, str], int] = {}
    for i, (p, found) in enumerate(zip(exported[_PROVIDER], exported[key], strict=True)):
        at.setdefault((str(p), fold(str(found))), i)
    problems: list[tuple[Any, str, str]] = []
    rows: list[int] = []
    for row, (k, p) in enumerate(zip(keys, providers, strict=True), start=2):
        if not k or not p:
            problems.extend((row, name, _EMPTY) for name, cell in ((key, k), (_PROVIDER, p)) if not cell)
        elif (p, fold(k)) not in at:
            whose = "an activity of another provider" if k.lower() in elsewhere else f"no activity with this {key}"
            problems.append((row, key, f"{whose} on provider {p}"))
        else:
            rows.append(at[(p, fold(k))])
    if problems:
        raise InvalidRowsError(sorted(problems, key=lambda p: (p[0], p[1])))
    completed: pd.DataFrame = exported.iloc[rows].reset_index(drop=True)
    escaped = bool(raw.attrs.get("escaped", True))
    for name in raw.columns:
        if name == "id":
            continue  # the record's own spelling of its id
        cells = raw[name].reset_index(drop=True)
        text_cells = name not in DATETIME_COLUMNS and name != "completionPercentage"
        # The export's cells are escaped as `learnkit export` escapes them; the sheet's join them in that form.
        given = escape_cells(cells) if text_cells and not escaped else cells.to_numpy(dtype=object)
        if name in completed.columns:
            # A blank cell leaves the record's value as it is: such a sheet fills in only what it sets.
            given = np.where(cells.isna().to_numpy(), completed[name].to_numpy(dtype=object), given)
        completed[name] = given
    completed.attrs["escaped"] = True
    return completed
