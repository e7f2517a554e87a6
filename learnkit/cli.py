"""``learnkit ...``: the command line, thin over the library.

Each subcommand lives in the module that owns its feature and registers itself
in ``COMMANDS`` with ``add_arguments(parser)`` and ``run(args) -> int``.

Every command that talks to Graph connects the same way (``add_connection_arguments``):
to a running sandbox with ``--sandbox-json FILE`` (the object ``learnkit sandbox --json``
prints), or to a tenant from azure-identity's variables ``AZURE_TENANT_ID``,
``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET`` / ``AZURE_CLIENT_CERTIFICATE_PATH``
(``AZURE_CLIENT_CERTIFICATE_PASSWORD`` for a protected PFX), with ``--cloud``.

Example: ``learnkit sandbox --json > sb.json & learnkit export --sandbox-json sb.json --provider ...``
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from learnkit.client import GraphClient
from learnkit.clouds import CLOUDS
from learnkit.errors import LearnkitError, TokenError

__all__ = ["COMMANDS", "add_connection_arguments", "client_from_args", "main"]

#: name -> (module holding add_arguments/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("learnkit.sandbox.cli", "run the embedded Graph sandbox in the foreground"),
    "quickstart": ("learnkit.quickstart", "start a sandbox and run the quickstart notebook"),
    "export": ("learnkit.bulk_cli", "write a provider's activities to a CSV to edit"),
    "apply": ("learnkit.bulk_cli", "apply an edited CSV: only the cells that differ, journaled, conflicts refused"),
    "undo": ("learnkit.bulk_cli", "revert a finished apply from its journal id"),
    "resume": ("learnkit.bulk_cli", "finish an apply whose process stopped, from its journal id"),
    "audit": ("learnkit.audit_cli", "find what needs fixing in a provider's records; write fixes to apply"),
}


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every Graph-talking command shares."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--sandbox-json",
        metavar="FILE",
        help="connect to a running sandbox: the JSON object `learnkit sandbox --json` printed ('-' for stdin)",
    )
    group.add_argument(
        "--cloud",
        choices=sorted(CLOUDS),
        default="global",
        help="national cloud of the tenant named by the AZURE_* variables (default: global)",
    )


def client_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> GraphClient:
    """The GraphClient that ``--sandbox-json`` or the ``AZURE_*`` variables describe."""
    env = dict(os.environ if environ is None else environ)
    if args.sandbox_json:
        text = sys.stdin.readline() if args.sandbox_json == "-" else Path(args.sandbox_json).read_text()
        info: dict[str, Any] = json.loads(text.splitlines()[0] if text.strip() else "{}")
        return GraphClient.for_sandbox(info)
    tenant, client_id = env.get("AZURE_TENANT_ID"), env.get("AZURE_CLIENT_ID")
    if not tenant or not client_id:
        raise TokenError(
            "no connection: pass --sandbox-json FILE, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
            "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)"
        )
    certificate = None
    if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        certificate = {
            "pfx_path": env["AZURE_CLIENT_CERTIFICATE_PATH"],
            "passphrase": env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
        }
    return GraphClient.connect(
        tenant,
        client_id,
        client_secret=env.get("AZURE_CLIENT_SECRET"),
        certificate=certificate,
        cloud=args.cloud,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``learnkit`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="learnkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``learnkit`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args))
    except LearnkitError as exc:
        print(f"learnkit {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
