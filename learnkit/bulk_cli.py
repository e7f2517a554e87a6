"""``learnkit export | apply | undo | resume``: bulk fixes from a spreadsheet, on the command line.

One module serves the four commands: ``add_arguments`` reads which one it is
building from the parser's name, and ``run`` dispatches on ``args.command``.
Each connects through ``learnkit.cli.client_from_args``.

Example::

    learnkit export --sandbox-json sb.json --provider 01e8f81b-... -o activities.csv
    learnkit apply activities.csv --sandbox-json sb.json          # prints the journal id
    learnkit undo 20240501T101500-ab12cd --sandbox-json sb.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pandas as pd

from learnkit import bulk
from learnkit.cli import add_connection_arguments, client_from_args
from learnkit.csvfile import plan_csv, write_csv
from learnkit.frame import read_activities
from learnkit.journal import Journal, default_journal_path

__all__ = ["add_arguments", "run"]

_COMMANDS = ("export", "apply", "undo", "resume")


def _journal_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal",
        metavar="PATH",
        help=f"the journal file (default: $LEARNKIT_JOURNAL or {default_journal_path()})",
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=8, metavar="N", help="most $batch requests at once (8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``export``, ``apply``, ``undo`` or ``resume``, by the parser's name."""
    name = parser.prog.split()[-1]
    if name not in _COMMANDS:
        raise ValueError(f"learnkit.bulk_cli serves {', '.join(_COMMANDS)}, not {name!r}")
    if name == "export":
        parser.add_argument("--provider", required=True, metavar="REGISTRATION_ID", help="the provider to export")
        parser.add_argument("-o", "--output", default="-", metavar="FILE", help="the CSV to write ('-': stdout)")
    elif name == "apply":
        parser.add_argument("csv", metavar="EDITS.csv", help="a CSV as `learnkit export` writes it, edited")
        parser.add_argument("--dry-run", action="store_true", help="read and compare, send nothing")
        parser.add_argument("--force", action="store_true", help="overwrite records changed since the export")
        _journal_option(parser)
        _run_options(parser)
    elif name == "undo":
        parser.add_argument("journal_id", metavar="JOURNAL_ID", help="the run to revert (as `apply` printed it)")
        parser.add_argument("--dry-run", action="store_true", help="read and compare, send nothing")
        parser.add_argument("--force", action="store_true", help="revert records changed since the run too")
        _journal_option(parser)
        _run_options(parser)
    else:
        parser.add_argument("journal_id", metavar="JOURNAL_ID", help="the run to finish")
        _journal_option(parser)
        _run_options(parser)
    add_connection_arguments(parser)


def _report(results: pd.DataFrame, out: TextIO, *, limit: int = 20) -> int:
    """Print the summary and the rows not applied; the exit status (1 if any row failed or conflicted)."""
    counts = bulk.summarize(results)
    total = len(results)
    print(", ".join(f"{state} {n}" for state, n in counts.items()) + f" (of {total} rows)", file=out)
    trouble = results[results["status"].isin(["failed", "conflict"])]
    for row, entry in trouble.head(limit).iterrows():
        code = "" if pd.isna(entry["code"]) else f" {entry['code']}"
        print(f"  row {row} {entry['id']}: {entry['status']}{code}: {entry['message']}", file=out)
    if len(trouble) > limit:
        print(f"  ... and {len(trouble) - limit} more (see the journal)", file=out)
    return 1 if len(trouble) else 0


def _announce(out: TextIO) -> Callable[[str], object]:
    def announce(run_id: str) -> None:
        print(f"journal {run_id}", file=out, flush=True)

    return announce


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``export``, ``apply``, ``undo`` or ``resume``; the exit status."""
    out = out or sys.stdout
    client = client_from_args(args)
    if args.command == "export":
        frame = read_activities(client, args.provider)
        if args.output == "-":
            write_csv(frame, out)
        else:
            write_csv(frame, Path(args.output))
            print(f"exported {len(frame)} activities to {args.output}", file=sys.stderr)
        return 0
    journal = Journal(args.journal)
    progress = not args.no_progress
    if args.command == "resume":
        print(f"journal {args.journal_id}", file=out, flush=True)
        results = bulk.resume(client, args.journal_id, journal=journal, progress=progress,
                              concurrency=args.concurrency)
    else:
        options = dict(journal=journal, force=args.force, dry_run=args.dry_run, progress=progress,
                       concurrency=args.concurrency, on_start=_announce(out))
        if args.command == "apply":
            # Rows left as exported make no plan: say how many, and which of the sheet's columns were kept aside.
            edits = plan_csv(args.csv)
            results = bulk.apply(client, edits.plans, source=str(args.csv), **options)
            print(edits.summary(), file=out)
        else:
            results = bulk.undo(client, args.journal_id, **options)
    if results.attrs.get("dry_run"):
        print("dry run: nothing sent", file=out)
    return _report(results, out)
