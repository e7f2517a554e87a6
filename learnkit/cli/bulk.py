"""``learnkit export | apply | undo | redo | resume | runs``: bulk fixes from a spreadsheet, on the command line.

One module serves these commands: ``add_arguments`` reads which one it is building
from the parser's name, and ``run`` dispatches on ``args.command``. Each connects
through ``learnkit.cli.client_from_args``; pandas loads only when a command runs.

Example::

    learnkit export --sandbox-json sb.json --provider 01e8f81b-... -o activities.csv
    learnkit export --sandbox-json sb.json --provider 01e8f81b-... --external-ids keys.txt -o some.csv
    learnkit export --sandbox-json sb.json --provider 01e8f81b-... -o activities.xlsx   # an Excel workbook
    learnkit apply activities.csv --sandbox-json sb.json --dry-run   # the diff, nothing sent
    learnkit apply activities.csv --sandbox-json sb.json             # prints the journal id
    learnkit undo --last --sandbox-json sb.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from learnkit.cli import add_connection_arguments, client_from_args
from learnkit.cli.outputs import check_output, writing
from learnkit.cli.sources import add_source_arguments, client_for, read_frame, source_from_args
from learnkit.errors import CommandError

if TYPE_CHECKING:
    import pandas as pd

    from learnkit.bulk.journal import Journal
    from learnkit.bulk.plans import PatchPlan
    from learnkit.client import GraphClient
    from learnkit.service import Service

__all__ = ["add_arguments", "diff_lines", "run"]

_COMMANDS = ("export", "apply", "undo", "redo", "resume", "runs")
#: What ``--last`` picks, by command: the help text.
_LAST = {
    "undo": "the newest change on this connection's service that is not undone yet (an undo is redone, not undone)",
    "redo": "the newest undo on this connection's service that is not redone yet",
    "resume": "the newest run on this connection's service",
}

#: Rows of a dry run's diff, or of failures, printed before "... and N more".
_LIMIT = 20


def _journal_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal",
        metavar="PATH",
        help="the journal file (default: $LEARNKIT_JOURNAL, else journal.sqlite in the user data folder)",
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=16, metavar="N", help="most $batch requests at once (16)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_id_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "journal_id", nargs="?", metavar="JOURNAL_ID", help=f"the run to {what} (as `apply` printed it)"
    )
    parser.add_argument("--last", action="store_true", help=_LAST[parser.prog.split()[-1]])
    parser.add_argument(
        "--provider",
        metavar="REGISTRATION_ID",
        help="refuse the run unless it wrote to this provider (a guard, as the connection guards the service)",
    )


def _how_many(text: str) -> int:
    """The ``type`` of ``runs -n``: a whole number of runs, 1 or more.

    >>> _how_many("5")
    5
    """
    count = int(text) if text.strip().isdigit() else 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give how many runs to show, 1 or more")
    return count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``export``, ``apply``, ``undo``, ``resume`` or ``runs``, by the parser's name."""
    name = parser.prog.split()[-1]
    if name not in _COMMANDS:
        raise ValueError(f"learnkit.cli.bulk serves {', '.join(_COMMANDS)}, not {name!r}")
    if name == "runs":
        parser.add_argument("--last", action="store_true", help="print only the newest run's id (for $(...))")
        parser.add_argument("-n", type=_how_many, default=20, metavar="N", help="show the newest N runs (20)")
        parser.add_argument("--provider", metavar="REGISTRATION_ID", help="only the runs that wrote to this provider")
        parser.add_argument(
            "--tenant",
            action="store_true",
            help="only the runs of the tenant the AZURE_* variables name (--sandbox-json: only that sandbox's)",
        )
        _journal_option(parser)
        add_connection_arguments(parser)
        return
    if name == "export":
        parser.add_argument("--provider", required=True, metavar="REGISTRATION_ID", help="the provider to export")
        parser.add_argument(
            "-o",
            "--output",
            default="-",
            metavar="FILE",
            help="the file to write: a CSV (UTF-8 with a byte-order mark, as Excel reads it), or an Excel "
            "workbook if it ends in .xlsx ('-': the CSV on stdout)",
        )
        add_source_arguments(parser)
    elif name == "apply":
        parser.add_argument(
            "csv",
            metavar="EDITS",
            help="a CSV or .xlsx workbook as `learnkit export` writes it, edited, or a sheet of keys (an id or "
            "externalcourseActivityId column) and new values (a pipe works too: <(...), /dev/stdin)",
        )
        parser.add_argument("--dry-run", action="store_true", help="read and compare, print the diff, send nothing")
        parser.add_argument("--force", action="store_true", help="overwrite records changed since the export")
        parser.add_argument(
            "--provider",
            metavar="REGISTRATION_ID",
            help="for a sheet of keys (an id or externalcourseActivityId column) and new values without a "
            "learningProviderId column: the provider whose records it names, read first; for any other "
            "sheet, a guard: rows of another provider are refused",
        )
        _journal_option(parser)
        _run_options(parser)
    elif name in ("undo", "redo"):
        _run_id_options(parser, "revert" if name == "undo" else "re-apply (an undo run)")
        parser.add_argument("--dry-run", action="store_true", help="read and compare, print the diff, send nothing")
        parser.add_argument("--force", action="store_true", help="revert records changed since the run too")
        _journal_option(parser)
        _run_options(parser)
    else:
        _run_id_options(parser, "finish")
        _journal_option(parser)
        _run_options(parser)
    add_connection_arguments(parser)


def _flat(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """``("dueDateTime", {"dateTime": ..})`` -> ``("dueDateTime.dateTime", ..)``: the CSV's column names."""
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            yield from _flat(inner, f"{prefix}.{key}")
    else:
        yield prefix, value


def _shown(value: Any) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False, default=str)


def diff_lines(row: Any, activity_id: str, patch: Mapping[str, Any], before: Mapping[str, Any]) -> list[str]:
    """One line per changed field: ``row 3 <id>: status: "notStarted" → "completed"``.

    >>> diff_lines(3, "a1", {"status": "completed", "notes": None}, {"status": "inProgress", "notes": {"content": "x"}})
    ['row 3 a1: status: "inProgress" → "completed"', 'row 3 a1: notes.content: "x" → null']
    """
    old = dict(_flat(dict(before), "")) if before else {}
    lines = []
    for name, value in patch.items():
        if name == "@odata.type":
            continue
        new = dict(_flat(value, f".{name}"))
        olds = {key: val for key, val in old.items() if key == f".{name}" or key.startswith(f".{name}.")}
        for key in sorted(new.keys() | olds.keys()):
            was, now = olds.get(key), new.get(key)
            if was != now:
                lines.append(f"row {row} {activity_id}: {key[1:]}: {_shown(was)} → {_shown(now)}")
    return lines


def _before(results: pd.DataFrame, client: GraphClient) -> Callable[[Any, str], Mapping[str, Any]]:
    """The values each dry-run row would replace: the results' ``before`` column, else read now."""
    if "before" in results.columns:
        column = results["before"]

        def recorded(row: Any, _id: str) -> Mapping[str, Any]:
            found = column.get(row)
            return found if isinstance(found, Mapping) else {}

        return recorded

    def read(_row: Any, activity_id: str) -> Mapping[str, Any]:
        return client.get_activity(activity_id).model_dump(mode="json", by_alias=True)

    return read


def _print_diff(results: pd.DataFrame, client: GraphClient, out: TextIO) -> None:
    changing = results[results["status"] == "dry-run"]
    before = _before(results, client)
    for row, entry in changing.head(_LIMIT).iterrows():
        for line in diff_lines(row, str(entry["id"]), entry["patch"] or {}, before(row, str(entry["id"]))):
            print(f"  {line}", file=out)
    if len(changing) > _LIMIT:
        print(f"  ... and {len(changing) - _LIMIT} more rows", file=out)


def _report(results: pd.DataFrame, out: TextIO) -> int:
    """Print the summary and the rows not applied; the exit status (1 if any row failed or conflicted)."""
    import pandas as pd

    from learnkit.bulk import summarize

    counts = summarize(results)
    total = len(results)
    print(", ".join(f"{state} {n}" for state, n in counts.items()) + f" (of {total} row{'s' * (total != 1)})", file=out)
    trouble = results[results["status"].isin(["failed", "conflict"])]
    for row, entry in trouble.head(_LIMIT).iterrows():
        code = "" if pd.isna(entry["code"]) else f" {entry['code']}"
        print(f"  row {row} {entry['id']}: {entry['status']}{code}: {entry['message']}", file=out)
    if len(trouble) > _LIMIT:
        print(f"  ... and {len(trouble) - _LIMIT} more (see the journal)", file=out)
    return 1 if len(trouble) else 0


def _guard_provider(plans: Sequence[PatchPlan], provider: str | None) -> None:
    """``--provider`` on ``apply``: a row of another provider stops the run before anything is read or sent."""
    if provider is None:
        return
    wanted = provider.strip().lower()  # a GUID: any case names it
    for plan in plans:
        if plan.registration_id.lower() != wanted:
            raise CommandError(
                f"row {plan.row} is a record of provider {plan.registration_id}, not of --provider {provider}; "
                "nothing sent"
            )


def _run_id(args: argparse.Namespace, journal: Journal, service: Service) -> str:
    if args.last and args.journal_id:
        raise CommandError(f"give a JOURNAL_ID or --last, not both ({args.journal_id!r} and --last)")
    if args.journal_id:
        return str(args.journal_id)
    if not args.last:
        raise CommandError(f"{args.command} needs the run: a JOURNAL_ID (see `learnkit runs`) or --last")
    history = journal.runs(service=service, provider=args.provider)
    if not history:
        raise CommandError(f"--last: the journal {journal.path} has no run on {service.label} yet (`learnkit runs`)")
    if args.command == "resume":
        return history[0].id
    found = history.last_in_effect() if args.command == "undo" else history.last_undone()
    if found is None:
        what = "undo: every change is undone" if args.command == "undo" else "redo: no undo is left to redo"
        raise CommandError(f"--last: nothing left to {what} on {service.label} (`learnkit runs` lists the runs)")
    return found.id


def _runs(args: argparse.Namespace, journal: Journal, out: TextIO) -> int:
    service = client_from_args(args).service() if args.sandbox_json or args.tenant else None
    where = f" on {service.label}" if service is not None else ""
    runs = journal.runs(service=service, provider=args.provider).to_frame()
    if args.last:
        if runs.empty:
            raise CommandError(f"the journal {journal.path} has no run{where} yet")
        print(runs.index[0], file=out)
        return 0
    if runs.empty:
        print(f"no runs{where} yet in {journal.path}", file=out)
        return 0
    states = [c for c in ("applied", "unchanged", "conflict", "failed", "sending", "planned") if c in runs.columns]
    print(
        f"{'JOURNAL_ID':<22}  {'WHEN (UTC)':<19}  {'KIND':<5}  {'ROWS':>5}  {'SERVICE':<28}  {'PROVIDER':<8}  OUTCOME",
        file=out,
    )
    for run_id, run in runs.head(args.n).iterrows():
        rows = int(sum(run[c] for c in states))
        outcome = ", ".join(f"{c} {int(run[c])}" for c in states if run[c])
        undoes = f" ({run['kind']}es {run['parent']})" if isinstance(run["parent"], str) else ""
        if isinstance(run["undone_by"], str):
            undoes += f" [undone by {run['undone_by']}]"
        if isinstance(run["redone_by"], str):
            undoes += f" [redone by {run['redone_by']}]"
        when = str(run["created"])[:19].replace("T", " ")
        print(
            f"{run_id!s:<22}  {when:<19}  {run['kind']:<5}  {rows:>5}  {run['service'] or '-':<28}  "
            f"{run['provider']:<8}  "
            f"{run['state']}: {outcome or '-'}{undoes}",
            file=out,
        )
    if len(runs) > args.n:
        print(f"... and {len(runs) - args.n} older (-n {len(runs)} shows all)", file=out)
    return 0


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``export``, ``apply``, ``undo``, ``redo``, ``resume`` or ``runs``; the exit status."""
    from learnkit.bulk.journal import Journal

    out = out or sys.stdout
    if args.command == "runs":
        return _runs(args, Journal(args.journal), out)
    # A pipe (`learnkit apply <(...)`) or a device is read like a file: once, to its end.
    if args.command == "apply" and Path(args.csv).is_dir():
        raise CommandError(f"{args.csv}: is a folder; give the CSV or workbook of edits")
    if args.command == "apply" and not Path(args.csv).exists():
        raise CommandError(f"{args.csv}: no such file (write one with `learnkit export ... -o {args.csv}`)")
    if args.command == "export":
        from learnkit._extras import import_part
        from learnkit.bulk.csvfile import write_csv

        workbook = args.output.lower().endswith(".xlsx")
        # Without the excel extra, say so before signing in and reading.
        write = import_part("learnkit.bulk.xlsxfile").write_xlsx if workbook else write_csv
        # A bad file of keys, or an output that cannot be written, is said before signing in.
        source = source_from_args(args)
        check_output("-o", args.output)
        frame = read_frame(args, client_for(args), source)
        if args.output == "-":
            write_csv(frame, out)
        else:
            writing(args.output, lambda: write(frame, Path(args.output)))
            print(f"exported {len(frame)} activities to {args.output}", file=sys.stderr)
        return 0
    from learnkit import bulk

    journal = Journal(args.journal)
    client = client_from_args(args)
    run_id = _run_id(args, journal, client.service()) if args.command != "apply" else None
    # Sign in first: a wrong secret or a stopped service is reported before a journal run exists.
    client.token_for("update_activity")
    progress = not args.no_progress

    def announce(started: str) -> None:
        print(f"journal {started}", file=out, flush=True)

    edits = None
    if args.command == "resume":
        assert run_id is not None
        outcome = bulk.resume(
            client,
            run_id,
            journal=journal,
            progress=progress,
            concurrency=args.concurrency,
            provider=args.provider,
            on_start=announce,
        )
    else:
        options: dict[str, Any] = {
            "journal": journal,
            "force": args.force,
            "dry_run": args.dry_run,
            "progress": progress,
            "concurrency": args.concurrency,
            "on_start": announce,
        }
        if args.command == "apply":
            from learnkit.bulk.keyed import plan_sheet

            # Rows left as exported make no plan: said after the report, with the sheet's columns kept aside.
            # A sheet of keys and values has its records read first (by those keys, as Graph documents).
            edits = plan_sheet(client, args.csv, provider=args.provider)
            _guard_provider(edits.plans, args.provider)
            if not edits.plans:
                # Nothing differs from the export: no run to journal, nothing to read or send.
                print(f"nothing to apply: {edits.summary()}", file=out)
                return 0
            outcome = bulk.apply(client, edits.plans, source=str(args.csv), **options)
        else:
            assert run_id is not None
            revert = bulk.undo if args.command == "undo" else bulk.redo
            outcome = revert(client, run_id, provider=args.provider, **options)
    results = outcome.frame  # a BulkResult: its per-row frame has the `before` column the diff shows
    if getattr(args, "dry_run", False):
        print("dry run: nothing sent", file=out)
        _print_diff(results, client, out)
    status = _report(results, out)
    if edits is not None:
        print(edits.summary(), file=out)
    return status
