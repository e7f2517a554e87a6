"""``learnkit audit``: find what needs fixing in a provider's records, and write the fixes as a CSV to apply.

It reads the provider's activities (connecting and choosing records like ``learnkit export``), runs the rules
of ``learnkit.audit``, prints how many findings each rule has, and writes the findings
(``-o``) and the proposed fixes (``--fixes``): a CSV of the fixed records, each with the
``@learnkit.etag`` of the record as read, that ``learnkit apply`` takes as it is (and
refuses, record by record, where the service changed since).

Example::

    learnkit audit --sandbox-json sb.json --provider 01e8f81b-... -o findings.csv --fixes fixes.csv
    learnkit audit --sandbox-json sb.json --provider 01e8f81b-... --learners team.txt   # only their records
    learnkit apply --sandbox-json sb.json fixes.csv            # journaled; learnkit undo reverts it
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from learnkit.audit import RULES, audit
from learnkit.cli import add_connection_arguments
from learnkit.cli.outputs import check_output, writing
from learnkit.cli.sources import add_source_arguments, client_for, read_frame, source_from_args
from learnkit.errors import InvalidInputError

__all__ = ["add_arguments", "run"]


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``learnkit audit``."""
    parser.add_argument("--provider", metavar="REGISTRATION_ID", help="the provider whose records to audit")
    parser.add_argument(
        "--rules",
        type=_ids,
        metavar="ID,ID",
        help="run only these rules (comma-separated; default: all, see --list-rules)",
    )
    parser.add_argument("--disable", type=_ids, default=[], metavar="ID,ID", help="rules to switch off")
    parser.add_argument(
        "--now",
        metavar="ISO",
        help="judge 'future' and 'overdue' against this moment, e.g. 2025-01-01T00:00:00Z (default: the clock)",
    )
    parser.add_argument("-o", "--output", metavar="FINDINGS.csv", help="write the findings here ('-': stdout)")
    parser.add_argument("--fixes", metavar="FIXES.csv", help="write the proposed fixes here, for `learnkit apply`")
    parser.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    add_source_arguments(parser)
    add_connection_arguments(parser)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``learnkit audit``; the exit status (0 whatever was found; errors are ``learnkit.cli``'s one line)."""
    out = out or sys.stdout
    if args.list_rules:
        for rule in RULES:
            print(f"{rule.id:<28} {rule.severity:<8} {rule.explanation}", file=out)
        return 0
    if not args.provider:
        raise InvalidInputError("--provider", "required", "say which provider to audit: --provider REGISTRATION_ID")
    # A bad file of keys, or an output that cannot be written, is said before signing in.
    source = source_from_args(args)
    check_output("-o", args.output)
    check_output("--fixes", args.fixes)
    frame = read_frame(args, client_for(args), source)
    result = audit(frame, rules=args.rules, disable=args.disable, now=args.now)
    # What to read goes to stderr when stdout carries the findings.
    say = sys.stderr if args.output == "-" else out
    counts = result.counts()
    for rule_id, row in counts[counts["findings"] > 0].iterrows():
        print(f"  {rule_id:<28} {row['severity']:<8} {row['findings']:>6} found, {row['fixes']:>6} fixable", file=say)
    print(result.summary(), file=say)
    if args.output:
        writing(args.output, lambda: result.write_findings(sys.stdout if args.output == "-" else args.output))
        if args.output != "-":
            print(f"findings written to {args.output}", file=say)
    if args.fixes:
        left_out = writing(args.fixes, lambda: result.write_fixes(args.fixes))
        stuck = {row for row, _, _ in [*result.unplanned, *left_out]}
        fixed = len(result.plans) - len(left_out)
        if fixed:
            print(f"{fixed} fixed records written to {args.fixes}", file=say)
        else:
            print(f"no fixes to propose: {args.fixes} holds the header only, nothing to apply", file=say)
        if stuck:
            print(f"{len(stuck)} records' fixes left out (Graph would refuse them):", file=say)
            for row, column, reason in [*result.unplanned, *left_out][:10]:
                activity_id = str(result.frame.at[row, "id"])
                print(f"  row {row} {activity_id}: {column}: {reason}", file=say)
        if fixed:
            print(f"review it, then: learnkit apply {args.fixes} (with the same connection options)", file=say)
    return 0
