"""``learnkit app``: the workbench as a small web application on loopback, served by Voila.

Voila runs the notebook shipped in the package (``learnkit/app/app.ipynb``), which shows
``learnkit.widgets.app.WorkbenchApp``; each browser tab gets its own kernel. Settings reach
the kernel as environment variables (the ``*_VARIABLE`` names of ``learnkit.settings``). By default this
process keeps an embedded sandbox whose tenant lives in the user's data folder (or
``$LEARNKIT_DATA_DIR``), so edits survive a restart; ``--sandbox-json`` attaches to a
sandbox already running; ``--tenant`` works against a tenant (the ``AZURE_*`` variables,
or the sign-in form). Saves go to the journal ``learnkit runs`` and ``learnkit undo`` read.
``--external-ids``, ``--ids`` or ``--learners FILE`` choose on the Provider page which records
to read (``learnkit.bulk.sources``); on its own sandbox the app hands the kernel the demo provider's
keys (``SANDBOX_KEYS_VARIABLE``), so the page can fill them in with one click.

Why Voila: it serves exactly the widgets a notebook user gets (the same ``WorkbenchApp``, the
same front ends of ipywidgets and ipydatagrid, shipped in their wheels, nothing from a CDN)
with no code, no file browser and no terminal on the page; each page gets its own kernel, so
two tabs are two workbenches; it needs no second UI toolkit; and Binder serves the same
notebook as ``voila/render/...``. A token from a 0600 config file guards the page, since
loopback is shared by every user and every web page of the machine.

Example: ``learnkit app --port 8866 --open``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from learnkit.clouds import CLOUDS
from learnkit.errors import CommandError
from learnkit.settings import (
    APP_MODE_VARIABLE,
    CLOUD_VARIABLE,
    DELEGATED_CLIENT_VARIABLE,
    SANDBOX_JSON_VARIABLE,
    SANDBOX_KEYS_VARIABLE,
    SOURCE_VARIABLES,
    read_sandbox_json,
)
from learnkit.userdata import DATA_DIR_VARIABLE, data_dir

from . import port_number
from .kernels import voila_kernel_options

__all__ = [
    "APP_MODE_VARIABLE",
    "CLOUD_VARIABLE",
    "DATA_DIR_VARIABLE",
    "DELEGATED_CLIENT_VARIABLE",
    "SANDBOX_JSON_VARIABLE",
    "SANDBOX_KEYS_VARIABLE",
    "SOURCE_VARIABLES",
    "add_arguments",
    "data_dir",
    "notebook_path",
    "run",
    "voila_command",
]

#: Voila's own default port: the URL a person may already know.
DEFAULT_PORT = 8866
#: How long Voila may take to answer before the command gives up.
START_TIMEOUT = 60.0


def notebook_path() -> Path:
    """The app's notebook, shipped inside the package."""
    return Path(__file__).resolve().parents[1] / "app" / "app.ipynb"  # learnkit/app/, beside learnkit/cli/


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``learnkit app``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--sandbox-json",
        metavar="FILE",
        help="attach to a running sandbox: the JSON line `learnkit sandbox --json` wrote "
        "(default: the app's own sandbox, kept in the user data folder or $LEARNKIT_DATA_DIR)",
    )
    where.add_argument(
        "--tenant",
        action="store_true",
        help="work against a tenant: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET "
        "(or AZURE_CLIENT_CERTIFICATE_PATH) connect at once; otherwise sign in on the page",
    )
    parser.add_argument(
        "--cloud", choices=sorted(CLOUDS), default="global", help="national cloud of the tenant (default: global)"
    )
    parser.add_argument(
        "--delegated-client-id",
        metavar="ID",
        help="public client id for a device-code sign-in (with --tenant), remembered until `learnkit logout`",
    )
    parser.add_argument("--reset", action="store_true", help="rebuild the app's sandbox tenant from the demo seed")
    parser.add_argument(
        "--contract",
        choices=("documented", "metadata"),
        default=None,
        help="the app's own sandbox answers as `learnkit sandbox --contract` does: documented refuses the "
        "provider's whole list, as a tenant may (default: the sandbox's default)",
    )
    records = parser.add_argument_group(
        "which records",
        "Choose on the Provider page how to name the provider's records: Graph documents reading them by key "
        "and by learner; the provider's whole list only where the tenant serves it. A FILE is one key a line "
        "(blank lines and # comments skipped), or a CSV or workbook (.xlsx) with that column (an exported one works).",
    )
    chosen = records.add_mutually_exclusive_group()
    chosen.add_argument(
        "--external-ids", metavar="FILE", help="start with the provider's own keys (externalcourseActivityId) in FILE"
    )
    chosen.add_argument("--ids", metavar="FILE", help="start with the activity ids (column id) in FILE")
    chosen.add_argument(
        "--learners",
        metavar="FILE",
        help="start with the learners (column userId, learnerUserId or id) in FILE: their lists need a delegated "
        "sign-in (on a sandbox the demo user is signed in; a tenant needs --delegated-client-id)",
    )
    parser.add_argument(
        "--journal",
        metavar="PATH",
        help="the journal saves go to (default: $LEARNKIT_JOURNAL, else the one `learnkit runs` reads)",
    )
    parser.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0: any free one)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --ip: anyone who reaches it can edit through the app",
    )
    parser.add_argument("--open", action="store_true", help="open the app in a web browser")


def voila_command(notebook: Path, ip: str, port: int) -> list[str]:
    """The Voila command line serving ``notebook``.

    >>> voila_command(Path("app.ipynb"), "127.0.0.1", 8866)[3:6]
    ['app.ipynb', '--no-browser', '--port=8866']
    """
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--Voila.log_level=WARN",
        # Kernels on Unix sockets (learnkit.cli.kernels): no port for another program to take while the page waits.
        *voila_kernel_options(),
        # The analyst sees one clear message in the page, not a Python traceback.
        "--VoilaConfiguration.show_tracebacks=False",
    ]


#: Lines Voila and its kernels print that do not concern the person running the app, and why:
#: the app's notebook ships in the package (its outputs are the app's own widgets, so "not trusted" changes
#: nothing), a kernel on Windows talks to Voila over loopback TCP in this user's session (the page itself asks
#: for a token), and a tab closed mid-ping is not an error.
QUIET = (
    "is not trusted",
    "Kernel is running over TCP without encryption",
    "WebSocket ping timeout",
    "WebSocket closed",
    "Websocket closed",
    "Starting buffering for",
    "Discarding",
)


def _relay(lines: Iterable[str], out: Any = None) -> None:
    """Pass Voila's output on to the terminal, less the lines in ``QUIET``; the app's own event lines as they are.

    >>> import io; out = io.StringIO()
    >>> _relay(["[Voila] WARNING | Notebook app.ipynb is not trusted", "learnkit app: saved 1 row"], out)
    >>> out.getvalue()
    'learnkit app: saved 1 row'
    """
    out = sys.stderr if out is None else out
    for line in lines:
        if not line.strip() or any(noise in line for noise in QUIET):
            continue
        out.write(line)
        out.flush()


def _check_address(ip: str, port: int, allow_remote: bool) -> int:
    """The port to serve on (a free one for 0); a one-line error for a remote or busy address."""
    from learnkit.sandbox.server import check_host

    try:
        check_host(ip, allow_remote)
    except ValueError:
        raise CommandError(
            f"--ip {ip}: not a loopback address; anyone who reaches it could edit through the app. "
            "Use 127.0.0.1, or pass --allow-remote if other machines must reach it"
        ) from None
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((ip.strip("[]"), port))
        except OSError as exc:
            raise CommandError(
                f"--port {port} on {ip}: {exc.strerror or exc}; pass another --port (0 picks a free one)"
            ) from None
        return int(probe.getsockname()[1])


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as one JSON line readable by this user alone (it holds the sandbox's secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data) + "\n")


def _voila_config(private: Path) -> str:
    """A token for this run, in a Voila config file only this user reads; returns the token.

    Loopback is shared by every user and every web page of this machine: without the token,
    any of them could drive the app (and its credentials). A config file, not the command
    line, carries it, so ``ps`` does not show it.
    """
    token = secrets.token_urlsafe(24)
    _write_private(private / "voila.json", {"Voila": {"token": token}})
    return token


def _start_sandbox(args: argparse.Namespace) -> Any:
    import learnkit.sandbox

    db = data_dir() / "app-sandbox" / "graph.db"
    contract = {"contract": args.contract} if args.contract else {}
    try:
        return learnkit.sandbox.start(db=db, reset=args.reset, **contract)
    except (OSError, ValueError, RuntimeError) as exc:
        raise CommandError(
            f"cannot start the app's sandbox on {db}: {exc} (is another `learnkit app` using it? "
            f"stop it, or set {DATA_DIR_VARIABLE} to another folder)",
            status=1,
        ) from None


def _source_files(args: argparse.Namespace) -> dict[str, str]:
    """The variables of the source an option names, its file read once here: a bad file is one line, before
    anything starts. ``{}`` without one."""
    from learnkit.bulk.sources import ActivityIds, ExternalIds, Learners
    from learnkit.errors import InvalidInputError

    kinds: dict[str, type[ExternalIds] | type[ActivityIds] | type[Learners]] = {
        "external_ids": ExternalIds,
        "ids": ActivityIds,
        "learners": Learners,
    }
    for attribute, variable in SOURCE_VARIABLES.items():
        path = getattr(args, attribute, None)
        if path is None:
            continue
        option = "--" + attribute.replace("_", "-")
        try:
            kinds[attribute].from_file(path)
        except InvalidInputError as exc:
            raise CommandError(f"{option} {exc}") from None
        return {variable: str(Path(path).expanduser().resolve())}
    return {}


def _wait_for(url_host: str, port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise CommandError(f"Voila stopped as it started (exit {proc.returncode}): see its messages above", 1)
        try:
            socket.create_connection((url_host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise CommandError(f"Voila did not answer on port {port} within {START_TIMEOUT:.0f} s", 1) from None
            time.sleep(0.2)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace) -> int:
    """Serve the app until Ctrl+C (or SIGTERM); returns the exit status."""
    if args.delegated_client_id and not args.tenant:
        raise CommandError("--delegated-client-id goes with --tenant (a sandbox signs its demo user in itself)")
    if args.reset and (args.tenant or args.sandbox_json):
        raise CommandError("--reset rebuilds the app's own sandbox: it goes without --tenant and --sandbox-json")
    if args.contract and (args.tenant or args.sandbox_json):
        raise CommandError("--contract sets the app's own sandbox: it goes without --tenant and --sandbox-json")
    port = _check_address(args.ip, args.port, args.allow_remote)
    if importlib.util.find_spec("voila") is None:  # said before anything starts
        raise CommandError("the app needs Voila: python -m pip install 'learnkit[notebook]'")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost,::1"}
    for variable in SOURCE_VARIABLES.values():
        env.pop(variable, None)
    env.update(_source_files(args))
    if args.journal:
        env["LEARNKIT_JOURNAL"] = str(Path(args.journal).expanduser().resolve())
    private = Path(tempfile.mkdtemp(prefix="learnkit-app-"))  # 0700: the sandbox's JSON holds its secrets
    sandbox = None
    # SIGTERM ends the app as Ctrl+C does: Voila stopped, the sandbox closed, the private folder removed.
    # SIGINT is set too: a shell starts background jobs with it ignored, and `kill -INT` must still stop us.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, _interrupt)
    try:
        if args.tenant:
            env[APP_MODE_VARIABLE] = "tenant"
            env[CLOUD_VARIABLE] = args.cloud
            if args.delegated_client_id:
                env[DELEGATED_CLIENT_VARIABLE] = args.delegated_client_id
            env.pop(SANDBOX_JSON_VARIABLE, None)
            env.pop(SANDBOX_KEYS_VARIABLE, None)
            where = "a tenant (sign in on the page)"
        elif args.sandbox_json:
            info = read_sandbox_json(args.sandbox_json)
            if not Path(str(info.get("ca_cert", ""))).is_file():
                raise CommandError(f"--sandbox-json {args.sandbox_json}: that sandbox has stopped (its files are gone)")
            env[APP_MODE_VARIABLE] = "sandbox"
            env[SANDBOX_JSON_VARIABLE] = str(Path(args.sandbox_json).resolve())
            where = f"the sandbox at {info['graph_url']}"
        else:
            from learnkit.sandbox.cli import write_keys

            sandbox = _start_sandbox(args)
            described = private / "sandbox.json"
            _write_private(described, sandbox.to_json())
            # Beside it, the demo provider's keys: the kernel attaches through the JSON and has no handle to ask.
            write_keys(sandbox, private / "sandbox-keys.csv")
            env[APP_MODE_VARIABLE] = "sandbox"
            env[SANDBOX_JSON_VARIABLE] = str(described)
            env[SANDBOX_KEYS_VARIABLE] = str(private / "sandbox-keys.csv")
            where = f"its own sandbox (state kept in {Path(sandbox.db_path).parent})"
        token = _voila_config(private)
        env["JUPYTER_CONFIG_DIR"] = str(private)
        proc = subprocess.Popen(
            voila_command(notebook_path(), args.ip, port),
            env=env,
            stdin=subprocess.DEVNULL,
            # Voila's and its kernels' lines pass through a filter (QUIET): the URL, then one line per event.
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own session: the terminal's Ctrl+C reaches this process only, which stops Voila in order.
            start_new_session=True,
        )
        assert proc.stdout is not None
        threading.Thread(target=_relay, args=(proc.stdout,), name="learnkit-app-log", daemon=True).start()
        try:
            url_host = "127.0.0.1" if args.ip in ("0.0.0.0", "::") else args.ip.strip("[]")
            _wait_for(url_host, port, proc)
            shown = f"[{url_host}]" if ":" in url_host else url_host
            url = f"http://{shown}:{port}/?token={token}"
            print(f"learnkit app: serving {url} on {where}. Press Ctrl+C to stop.", flush=True)
            if args.open:
                import webbrowser

                webbrowser.open(url)
            status = proc.wait()
            if status != 0:
                raise CommandError(f"Voila stopped (exit {status}): see its messages above", 1)
        except KeyboardInterrupt:
            print("learnkit app: stopping", file=sys.stderr, flush=True)
        finally:
            _stop(proc)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        if sandbox is not None:
            sandbox.stop()
        shutil.rmtree(private, ignore_errors=True)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
