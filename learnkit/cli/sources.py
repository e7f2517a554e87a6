"""The command line's way to say which records to read: ``--external-ids``, ``--ids``, ``--learners``, ``--list``.

``learnkit export`` and ``learnkit audit`` read a provider's activities through here: from a file
of keys (``learnkit.bulk.sources``), or from the provider's list where the service serves it. What was
not found, and how many keys a file repeats, are one line each on stderr; a tenant that serves no list,
with no source named or ``--list`` insisting on it, is one line naming the options (exit 2).

Example::

    learnkit export --sandbox-json sb.json --provider 01e8f81b-... --external-ids keys.txt -o some.csv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from learnkit.cli import client_from_args
from learnkit.errors import CommandError, GraphError, InvalidInputError, SourceRequiredError
from learnkit.settings import DELEGATED_CLIENT_VARIABLE, read_sandbox_json

if TYPE_CHECKING:
    import pandas as pd

    from learnkit.bulk.sources import Source
    from learnkit.client import GraphClient

__all__ = ["FLAGS", "add_source_arguments", "client_for", "read_frame", "source_from_args"]

#: The options that name the records to read, as the one-line refusal names them.
FLAGS = "--external-ids FILE, --ids FILE or --learners FILE"
#: Keys or ids shown in the line saying what was not found.
SHOWN = 5


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--external-ids``, ``--ids``, ``--learners`` and ``--list``: one at most."""
    group = parser.add_argument_group(
        "which records",
        "By default the provider's whole list, where the service serves it (Graph does not document it); "
        "else name the records. A FILE is one key a line (blank lines and # comments skipped), or a CSV "
        "or workbook (.xlsx) with that column (an exported one works).",
    )
    chosen = group.add_mutually_exclusive_group()
    chosen.add_argument(
        "--external-ids",
        metavar="FILE",
        help="the provider's own keys (externalcourseActivityId), read 20 to a $batch",
    )
    chosen.add_argument("--ids", metavar="FILE", help="activity ids (column id), read 20 to a $batch")
    chosen.add_argument(
        "--learners",
        metavar="FILE",
        help="learner ids (column userId, learnerUserId or id): each one's list, kept to the provider's records; "
        f"signs a user in by device code (a tenant: set {DELEGATED_CLIENT_VARIABLE})",
    )
    chosen.add_argument(
        "--list", action="store_true", help="insist on the provider's whole list (undocumented; a tenant may refuse)"
    )


def source_from_args(args: argparse.Namespace) -> Source | None:
    """The source the options name (None: the provider's list where served); a bad file is one line.

    A sandbox started just before (``learnkit sandbox --keys-out keys.csv --json > sb.json &``) writes its
    keys before its JSON line: that line is waited for first, so the file of keys is whole when read.
    """
    from learnkit.bulk.sources import ActivityIds, ExternalIds, Learners, ProviderList

    if args.list:
        return ProviderList()
    if getattr(args, "sandbox_json", None) not in (None, "-"):
        read_sandbox_json(args.sandbox_json)
    for option, attribute, kind in (
        ("--external-ids", "external_ids", ExternalIds),
        ("--ids", "ids", ActivityIds),
        ("--learners", "learners", Learners),
    ):
        path = getattr(args, attribute)
        if path is not None:
            try:
                keys = kind.keys_in_file(path)
                source = kind(keys)
            except InvalidInputError as exc:
                raise CommandError(f"{option} {exc}") from None
            repeated = len(keys) - len(source)
            # One record each: said once the records are read (read_frame), so the count is not a surprise.
            said = f"{path} repeats {repeated} of its {kind.WHAT}: each is read once" if repeated else ""
            if repeated and kind is ExternalIds and len(_ids_beside(path)) > len(source):
                # The file's own id column shows records sharing a key: reading by the key reaches one of them.
                said += f", and a key held by several records reaches one of them (--ids {path} reads each by its id)"
            args.repeated_keys = said
            return source
    return None


def _ids_beside(path: str) -> set[str]:
    """The distinct activity ids a file of external ids also holds (an export, a ``--keys-out`` file); none if
    it has no id column."""
    from learnkit.bulk.sources import ActivityIds

    try:
        return {key.lower() for key in ActivityIds.keys_in_file(path)}
    except InvalidInputError:
        return set()


def client_for(args: argparse.Namespace) -> GraphClient:
    """``client_from_args``, with a delegated sign-in when ``--learners`` asks for learners' lists."""
    return client_from_args(args, delegated=args.learners is not None)


def _some(keys: Sequence[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:SHOWN])
    return shown + (f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else "")


def read_frame(
    args: argparse.Namespace, client: GraphClient, source: Source | None, *, say: TextIO | None = None
) -> pd.DataFrame:
    """The provider's activities from ``source``; what was not found, or left out, one line each on ``say``."""
    from learnkit.bulk.frame import read_activities
    from learnkit.bulk.sources import NOT_FOUND, OTHER_PROVIDER, ProviderList, refusal_of_list

    say = say or sys.stderr
    try:
        frame = read_activities(client, args.provider, source=source)
    except SourceRequiredError as exc:
        raise CommandError(
            f"this tenant does not serve the provider's whole list ({exc.reason}): "
            f"say which records to read with {FLAGS}"
        ) from None
    except GraphError as exc:
        refused = refusal_of_list(exc) if isinstance(source, ProviderList) else None
        if refused is None:
            raise
        raise CommandError(
            f"this tenant does not serve the provider's whole list ({refused}), which --list insists on: "
            f"say which records to read with {FLAGS} instead"
        ) from None
    if getattr(args, "repeated_keys", ""):
        print(args.repeated_keys, file=say)
    missing: tuple[str, ...] = frame.attrs.get(NOT_FOUND, ())
    if missing and source is not None and not isinstance(source, ProviderList):
        print(f"{len(missing)} of {len(source)} {source.WHAT} not found: {_some(missing)}", file=say)
    other: tuple[str, ...] = frame.attrs.get(OTHER_PROVIDER, ())
    if other and frame.empty:
        # Every id named another provider's record: a mistyped --provider, most likely, or the wrong file.
        raise CommandError(
            f"none of the {len(other)} records read is provider {args.provider}'s, all are another provider's: "
            "check --provider"
        )
    if other:
        print(f"{len(other)} records of another provider left out: {_some(other)}", file=say)
    return frame
