"""``learnkit ...``: the command line, thin over the library.

Each subcommand lives in the module that owns its feature and registers itself in
``COMMANDS`` with ``add_arguments(parser)`` and ``run(args) -> int``. Only the chosen
subcommand's module is imported, so ``learnkit --help`` loads neither pandas nor the
sandbox's web server.

A user's mistake or an unreachable service ends in one line on stderr saying the
cause and what to do, never a traceback (``--debug`` shows it). Exit status: 0 done,
1 some rows failed or the service could not be reached, 2 a usage or input error.

Example: ``learnkit export --sandbox-json sb.json --provider 01e8f81b-3060-4dec-acf0-0389665a0a38``
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from learnkit.clouds import CLOUDS
from learnkit.errors import CommandError, GraphError, InvalidInputError, LearnkitError, SettingsError, TokenError
from learnkit.settings import (
    AZURE_VARIABLES,
    DELEGATED_CLIENT_VARIABLE,
    SANDBOX_JSON_WAIT,
    ConnectionSettings,
    device_code_sign_in,
    read_sandbox_json,
    sandbox_gone,
)

if TYPE_CHECKING:
    from learnkit.auth import DeviceCodeSignIn
    from learnkit.client import GraphClient

__all__ = [
    "COMMANDS",
    "DELEGATED_CLIENT_VARIABLE",
    "add_connection_arguments",
    "client_from_args",
    "delegated_sign_in",
    "main",
    "read_sandbox_json",
]

#: name -> (module holding add_arguments/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("learnkit.sandbox.cli", "run the embedded Graph sandbox in the foreground"),
    "quickstart": ("learnkit.cli.quickstart", "start a sandbox and run the quickstart notebook"),
    "export": ("learnkit.cli.bulk", "write a provider's activities to a CSV or an Excel workbook to edit"),
    "apply": (
        "learnkit.cli.bulk",
        "apply an edited CSV or workbook: only the cells that differ, journaled, conflicts refused",
    ),
    "undo": ("learnkit.cli.bulk", "revert a finished apply (or the newest change not yet undone, --last)"),
    "redo": ("learnkit.cli.bulk", "re-apply what an undo reverted (or the newest undo not yet redone, --last)"),
    "resume": ("learnkit.cli.bulk", "finish an apply whose process stopped"),
    "runs": ("learnkit.cli.bulk", "list the journal's runs: when, kind, rows, outcome"),
    "app": ("learnkit.cli.app", "serve the workbench as a web app on loopback (Voila), on a kept sandbox or a tenant"),
    "audit": ("learnkit.cli.audit", "find what needs fixing in a provider's records; write fixes to apply"),
    "doctor": (
        "learnkit.cli.doctor",
        "probe, read-only, what a tenant serves and grants to learnkit; write its profile",
    ),
    "logout": ("learnkit.token_cache", "forget the sign-ins remembered in learnkit's data folder (its token cache)"),
}

#: Commands that change nothing: a reader that stops reading their output ends them without an error.
_READ_ONLY = frozenset({"runs", "export", "audit", "doctor"})

_DESCRIPTION = "Inspect, edit and PATCH Viva Learning course activities on Microsoft Graph, or on an embedded sandbox."

_EPILOG = (
    "connecting (export, apply, undo, redo, resume, runs, audit, doctor):\n"
    "  --sandbox-json FILE   a sandbox: the JSON line `learnkit sandbox --json > FILE &` writes\n"
    "  otherwise a tenant, from these environment variables:\n"
    + "".join(f"    {name:<35} {what}\n" for name, what in AZURE_VARIABLES.items())
    + "\nexit status: 0 done, 1 rows failed or the service was unreachable, 2 usage or input error\n"
    "`learnkit COMMAND --help` shows a command's options."
)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every Graph-talking command shares."""
    group = parser.add_argument_group(
        "connection",
        "A sandbox with --sandbox-json, else a tenant from " + ", ".join(AZURE_VARIABLES) + ".",
    )
    group.add_argument(
        "--sandbox-json",
        metavar="FILE",
        help="connect to a running sandbox: the JSON line `learnkit sandbox --json` printed ('-' for stdin); "
        f"waits up to {SANDBOX_JSON_WAIT:.0f} s for a sandbox just started to write it",
    )
    group.add_argument(
        "--cloud",
        choices=sorted(CLOUDS),
        default="global",
        help="national cloud of the tenant named by the AZURE_* variables (default: global)",
    )


def client_from_args(
    args: argparse.Namespace, environ: dict[str, str] | None = None, *, delegated: bool = False
) -> GraphClient:
    """The GraphClient that ``--sandbox-json`` or the ``AZURE_*`` variables describe (``learnkit.settings``).

    ``delegated`` also signs a user in by device code (what learners' lists need): a sandbox's demo
    learner, or on a tenant through the public client ``$LEARNKIT_DELEGATED_CLIENT_ID`` (its prompt on
    stderr, as stdout may carry a CSV), remembered in learnkit's token cache.

    Example: ``client_from_args(build_parser().parse_args(["runs", "--sandbox-json", "sb.json"]))``
    """
    settings = ConnectionSettings.from_env(environ, sandbox_json=args.sandbox_json, cloud=args.cloud)
    return settings.client(delegated=delegated)


def delegated_sign_in(tenant: str, client_id: str, cloud: str) -> DeviceCodeSignIn:
    """The command line's device-code sign-in: ``learnkit.settings.device_code_sign_in``, its prompt on stderr.

    Example: ``client.delegated = delegated_sign_in(tenant, public_client_id, "global")``
    """
    return device_code_sign_in(tenant, client_id, cloud)


def port_number(text: str) -> int:
    """The ``type`` of a ``--port`` option: 0 to 65535 (0: any free port); else argparse's one-line usage error.

    >>> port_number("8866")
    8866
    """
    port = int(text) if text.strip().isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 0 to 65535")
    return port


def _version() -> str:
    from learnkit import __version__

    return __version__


def _debug_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--debug", action="store_true", default=default, help="show the traceback of an error")


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is one), without importing any."""
    return next((word for word in argv if not word.startswith("-")), None) if argv else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``learnkit`` parser; only the subcommand named in ``argv`` (all if ``None``) gets its options."""
    parser = argparse.ArgumentParser(
        prog="learnkit",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"learnkit {_version()}")
    _debug_option(parser, False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else _chosen(argv)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        _debug_option(command, argparse.SUPPRESS)  # `learnkit apply ... --debug` works too
        if argv is None or name == chosen:
            from learnkit._extras import import_part

            module = import_part(module_name)
            module.add_arguments(command)
            command.set_defaults(_run=module.run)
    return parser


def _unreachable(exc: BaseException) -> BaseException | None:
    """The connection failure behind ``exc`` (requests' or learnkit's), if that is what it is."""
    seen: BaseException | None = exc
    while seen is not None:
        names = {cls.__name__ for cls in type(seen).__mro__}
        if names & {"NetworkError", "ConnectionError", "ConnectTimeout", "ReadTimeout", "SSLError"}:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(exc: BaseException, args: argparse.Namespace) -> tuple[int, str]:
    """(exit status, one line: the cause and what to do) for an error that ended a command."""
    from learnkit._extras import EXTRA_OF
    from learnkit.errors import MissingExtraError

    missing = (exc.name or "").split(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
    if missing in EXTRA_OF:  # a module the command imports as it runs
        exc = MissingExtraError(f"learnkit {args.command}", missing)
    if isinstance(exc, CommandError):
        return exc.status, str(exc)
    if isinstance(exc, SettingsError):
        return (1 if exc.stopped else 2), str(exc)
    if isinstance(exc, (InvalidInputError, TokenError, MissingExtraError)) and _unreachable(exc) is None:
        return 2, str(exc)
    failure = _unreachable(exc)
    if failure is not None:
        text = str(failure)
        cause = next(
            (
                said
                for marker, said in (
                    ("refused", "connection refused"),
                    ("timed out", "timed out"),
                    ("Name or service not known", "unknown host"),
                    ("CERTIFICATE_VERIFY_FAILED", "its certificate is not trusted"),
                )
                if marker in text
            ),
            "connection lost",
        )
        if getattr(args, "sandbox_json", None):
            return 1, sandbox_gone(args.sandbox_json, cause)
        return 1, f"cannot reach Microsoft Graph or its sign-in ({cause}): check the network and --cloud, then retry"
    if isinstance(exc, GraphError):
        return 1, str(exc)
    if isinstance(exc, LearnkitError):  # JournalError: an unknown or unfinished run, a usage error
        return 2, str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return 2, f"{exc.filename}: {exc.strerror or exc}"
    return 1, f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback, and report it)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``learnkit`` command; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(words).parse_args(words)
    except LearnkitError as exc:  # a command whose extra is missing
        print(f"learnkit: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args))
    except BrokenPipeError:
        # The reader went away (`learnkit runs | head -3`): what it wanted it has; a command that only
        # reads ends quietly, as git log does. stdout points at nothing from here, so the interpreter's
        # final flush raises no second error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if args.command in _READ_ONLY:
            return 0
        print(f"learnkit {args.command}: its output closed before it finished (see `learnkit runs`)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"learnkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        status, message = _describe(exc, args)
        if args.debug:
            traceback.print_exc()
        print(f"learnkit {args.command}: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":
    raise SystemExit(main())
