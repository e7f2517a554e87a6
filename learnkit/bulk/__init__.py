"""Many records at once: read them, edit them as a frame or a CSV, plan, journal, and send in ``$batch``es.

The layer under the notebook and the command line, over the core client (``learnkit.client``):

- reading: ``sources`` (which records: ids, keys, learners, the provider's list) over ``batch_reads``
  (20 GETs to a ``$batch``, several in flight, paced by ``pacing``);
- the frame and the files: ``frame`` (records to and from a DataFrame), ``edits`` (edited cells into plans), ``cells``
  (text into a typed cell), ``csvio`` and ``csvfile`` (the CSV as a file, and what its cells mean),
  ``xlsxfile`` (the same as a workbook), ``keyed`` (a sheet of keys and values, its records read first),
  ``_columnar`` and ``fingerprints`` (whole columns at once);
- writing: ``plans`` (a plan and the pure rules around it), ``journal`` (with ``journal_rows`` and
  ``journal_history``), ``leases``, ``engine`` and ``result``;
- the entry points, named here: ``apply``, ``apply_frame``, ``apply_csv``, ``undo``, ``redo``, ``resume``
  (``runs``).

``plans``, ``pacing``, ``sources`` and ``batch_reads`` need nothing beyond the core install, so this
package loads the entry points (which bring pandas) only on first use: the sandbox and the core import
``learnkit.bulk.plans`` without the ``bulk`` extra.

Example::

    from learnkit import bulk
    result = bulk.apply(client, plans)        # a BulkResult: .frame, .summary(), .journal_id
    bulk.undo(client, result.journal_id)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import DEFAULT_CONCURRENCY as DEFAULT_CONCURRENCY
    from .pacing import AdaptiveLimit as AdaptiveLimit
    from .result import RESULT_COLUMNS as RESULT_COLUMNS, BulkResult as BulkResult, summarize as summarize
    from .runs import (
        apply as apply,
        apply_csv as apply_csv,
        apply_frame as apply_frame,
        redo as redo,
        resume as resume,
        undo as undo,
    )


_HOMES: dict[str, str] = {}  # each entry point's module, read from the TYPE_CHECKING block on first use


def _homes() -> dict[str, str]:
    """Each name of the ``TYPE_CHECKING`` block above and its module, read from this file: the one list of them."""
    if not _HOMES:
        import ast

        from learnkit._extras import type_checking_block

        for node in type_checking_block(__file__):
            if isinstance(node, ast.ImportFrom):
                _HOMES.update({a.asname or a.name: f"{__name__}.{node.module}" for a in node.names})
    return _HOMES


def __getattr__(name: str) -> Any:
    # PEP 562: the entry points on first use (``runs`` and ``result`` check the bulk extra, pandas, and name it);
    # ``__all__`` is the block's names, when first asked for (``from learnkit.bulk import *``).
    if name == "__all__":
        return list(_homes())
    home = _homes().get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from learnkit._extras import import_part

    value = getattr(import_part(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_homes()})
