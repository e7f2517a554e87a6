"""Many records at once: read them, edit them as a frame or a CSV, plan, journal, and send in ``$batch``es.

The layer under the notebook and the command line, over the core client (``learnkit.client``):

- reading: ``sources`` (which records: ids, keys, learners, the provider's list) over ``batch_reads``
  (20 GETs to a ``$batch``, several in flight, paced by ``pacing``);
- the frame and the files: ``frame`` (records to and from a DataFrame), ``edits`` (edited cells into plans), ``cells``
  (text into a typed cell), ``csvio`` and ``csvfile`` (the CSV as a file, and what its cells mean),
  ``xlsxfile`` (the same as a workbook), ``_columnar`` and ``fingerprints`` (whole columns at once);
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
    from .runs import (
        DEFAULT_CONCURRENCY as DEFAULT_CONCURRENCY,
        RESULT_COLUMNS as RESULT_COLUMNS,
        AdaptiveLimit as AdaptiveLimit,
        BulkResult as BulkResult,
        apply as apply,
        apply_csv as apply_csv,
        apply_frame as apply_frame,
        redo as redo,
        resume as resume,
        summarize as summarize,
        undo as undo,
    )

__all__ = [
    "DEFAULT_CONCURRENCY",
    "RESULT_COLUMNS",
    "AdaptiveLimit",
    "BulkResult",
    "apply",
    "apply_csv",
    "apply_frame",
    "redo",
    "resume",
    "summarize",
    "undo",
]


def __getattr__(name: str) -> Any:
    # PEP 562: the entry points on first use. `runs` itself checks the bulk extra (pandas) and names it.
    if name in __all__:
        from learnkit._extras import import_part

        value = getattr(import_part(f"{__name__}.runs"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
