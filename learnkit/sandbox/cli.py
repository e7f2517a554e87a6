"""``learnkit sandbox``: run the sandbox in the foreground until SIGINT or SIGTERM.

With ``--json`` the first line of stdout is one JSON object with everything a
client needs (secrets included); without it, a short summary with no secret.

Example: ``learnkit sandbox --port 8443 --db graph.db --faults 429=0.1,drop=0.01 --json``;
``learnkit sandbox --load activities.csv --pseudonymize`` rehearses on a copy of real data;
``learnkit sandbox --contract documented`` serves only what Graph's pages document, and
``learnkit sandbox --profile tenant.json`` answers as the tenant ``learnkit doctor`` probed.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType

from learnkit.cli import port_number
from learnkit.cli.outputs import check_output
from learnkit.clouds import CLOUDS
from learnkit.errors import CommandError, DatabaseInUse, MissingExtraError
from learnkit.sandbox.contract import CONTRACTS, DEFAULT_CONTRACT
from learnkit.sandbox.faults import parse_faults
from learnkit.sandbox.server import Sandbox, start

__all__ = ["add_arguments", "run", "write_keys"]


def _faults(text: str) -> str:
    try:
        parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``sandbox`` options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=0, help="port to listen on (default: any free port)")
    parser.add_argument(
        "--db", default=None, help="SQLite file that keeps the tenant across restarts (default: a temporary file)"
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="rebuild the demo tenant in --db, with new keys and secrets (older tokens are refused)",
    )
    parser.add_argument(
        "--load",
        metavar="FILE",
        default=None,
        help="seed from a provider's real activities instead of the demo tenant: a CSV as "
        "`learnkit export` writes it (read as `learnkit apply` reads one), or Graph activities as JSON lines "
        "or one saved answer (providers, contents and users are inferred; replaces the tenant in --db)",
    )
    parser.add_argument(
        "--pseudonymize",
        action="store_true",
        help="with --load: replace every user id by a stable pseudonym (same id, same pseudonym), wherever "
        "it appears in the records' text too",
    )
    parser.add_argument(
        "--contract",
        choices=CONTRACTS,
        default=DEFAULT_CONTRACT,
        help="documented: serve only what Graph's pages document (the provider-wide activity list is refused "
        "as Graph refuses a path it does not implement); metadata: also what only its metadata declares "
        f"(default: {DEFAULT_CONTRACT})",
    )
    parser.add_argument(
        "--cloud",
        choices=sorted(CLOUDS),
        default="global",
        help="imitate a national cloud: where Graph's pages do not list the learning API (all but global), "
        "every learning request is refused as an unknown segment (default: global)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        default=None,
        help="answer as a probed tenant did: the JSON `learnkit doctor --profile-out FILE` wrote (its refusals, "
        "and only the permissions its tokens held)",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        default=None,
        metavar="KIND=RATE,...",
        help="answer a fraction of Graph requests with a fault, e.g. 429=0.1,503=0.05,500=0.02,drop=0.01",
    )
    parser.add_argument(
        "--retry-after",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="Retry-After of injected 429 and 503 answers (default 1)",
    )
    parser.add_argument("--latency-ms", type=int, default=0, metavar="N", help="delay each Graph request by N ms")
    parser.add_argument(
        "--rate-limit", type=int, default=None, metavar="N", help="answer 429 past N Graph requests per second"
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="lifetime of issued access tokens (default 3600)",
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a non-loopback --host (the demo credentials are public)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON line with URLs, apps, secrets and demo ids first"
    )
    parser.add_argument(
        "--keys-out",
        metavar="FILE",
        help="write the demo provider's keys to FILE, a CSV of id and externalcourseActivityId (what a provider's "
        "own system lists), for `learnkit export --ids FILE` or `--external-ids FILE`",
    )


def write_keys(sandbox: Sandbox, path: str | Path, registration_id: str | None = None) -> None:
    """Write a provider's keys (the demo provider's by default) as ``--keys-out`` does: a CSV of ``id`` and
    ``externalcourseActivityId`` (``Sandbox.activity_keys``), through the one CSV writer (its escape of
    formula cells), so ``--ids FILE`` and ``--external-ids FILE`` read it back as it was.

    Example: ``write_keys(sb, "keys.csv")``
    """
    # pandas comes with the bulk extra.
    import pandas as pd

    from learnkit.bulk.csvfile import write_table

    keys = pd.DataFrame(sandbox.activity_keys(registration_id), columns=["id", "externalcourseActivityId"])
    write_table(keys, path)


def run(args: argparse.Namespace) -> int:
    """Run the sandbox described by ``args`` until interrupted; returns the exit status."""
    if args.pseudonymize and not args.load:
        print("learnkit sandbox: --pseudonymize needs --load FILE", file=sys.stderr)
        return 2
    try:  # files it will write, said before it starts
        check_output("--db", args.db)
        check_output("--keys-out", args.keys_out)
    except CommandError as exc:
        print(f"learnkit sandbox: {exc}", file=sys.stderr)
        return 2
    _log_to_stderr()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sandbox = start(
                port=args.port,
                db=args.db,
                reset=args.reset,
                host=args.host,
                faults=args.faults,
                latency_ms=args.latency_ms,
                rate_limit=args.rate_limit,
                allow_remote=args.allow_remote,
                token_lifetime=args.token_lifetime,
                retry_after=args.retry_after,
                load=args.load,
                pseudonymize=args.pseudonymize,
                contract=args.contract,
                profile=args.profile,
                cloud=args.cloud,
            )
    # A bad profile or --load file too (InvalidInputError is a ValueError), and a CSV to --load without pandas.
    except (ValueError, OSError, DatabaseInUse, MissingExtraError) as exc:
        print(f"learnkit sandbox: {exc}", file=sys.stderr)
        return 2
    for warning in caught:
        print(f"learnkit sandbox: warning: {warning.message}", file=sys.stderr, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        if args.keys_out:
            try:
                write_keys(sandbox, args.keys_out)
            except OSError as exc:
                print(f"learnkit sandbox: --keys-out {args.keys_out}: {exc.strerror or exc}", file=sys.stderr)
                return 2
        if args.json:
            print(json.dumps(sandbox.to_json()), flush=True)
        else:
            demo = sandbox.demo
            where = f", assignment {demo['assignment_id']}" if "assignment_id" in demo else f" (from {args.load})"
            print(
                f"learnkit sandbox serving {sandbox.graph_url}\n"
                f"  listening  {sandbox.bind_host}:{sandbox.port}\n"
                f"  authority  {sandbox.authority}\n"
                f"  client id  {sandbox.client_id} (learnkit-demo; secret and certificate: --json)\n"
                f"  contract   {sandbox.contract}"
                + (f" (answering as the profile {sandbox.profile_path})" if sandbox.profile_path else "")
                + "\n"
                f"  CA file    {sandbox.ca_cert}\n"
                f"  database   {sandbox.db_path}\n"
                f"  provider   {demo['registration_id']}{where}\n"
                "Press Ctrl+C to stop.",
                flush=True,
            )
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


def _log_to_stderr() -> None:
    """The sandbox's own log lines (a client that went away, an unexpected error) on stderr, one line each."""
    logger = logging.getLogger("learnkit.sandbox")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("learnkit sandbox: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
