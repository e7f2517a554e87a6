"""Running the sandbox: ``start()`` serves it over HTTPS on loopback in a background thread.

Example::

    with start() as sb:
        requests.get(sb.graph_url + "/employeeExperience/learningProviders", verify=sb.ca_cert, ...)
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock
import requests
import uvicorn

from learnkit.errors import DatabaseInUse, RemoteWarning
from learnkit.permissions import KINDS, TokenKind
from learnkit.profile import TenantProfile, load_profile
from learnkit.sandbox.app import Services, create_app
from learnkit.sandbox.contract import DEFAULT_CONTRACT, ContractName, ContractRules, check_contract
from learnkit.sandbox.faults import Faults
from learnkit.sandbox.graph import GraphService
from learnkit.sandbox.identity import GRAPH_RESOURCE, DemoApp, Identity
from learnkit.sandbox.load import load_tenant
from learnkit.sandbox.oauth import OAuthService
from learnkit.sandbox.seed import (
    DEMO_IDS,
    LEARNER_ID,
    REGISTRATION_ID,
    Tenant,
    build_tenant,
    bulk_activities,
    bulk_users,
)
from learnkit.sandbox.store import Store
from learnkit.sandbox.switches import Switches
from learnkit.sandbox.tls import make_server_tls, private_dir, write_private

__all__ = ["Sandbox", "start"]

_MAIN_APP = "learnkit-demo"


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about the responses the ``drop`` fault cuts short on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


class _Server(uvicorn.Server):
    """uvicorn's server, closing idle keep-alive connections at once on shutdown.

    Over TLS a plain close waits for the client's close_notify, which an idle
    client never sends; stopping would then hang until the graceful timeout.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            transport = getattr(connection, "transport", None)
            if transport is not None and (cycle is None or cycle.response_complete):
                transport.abort()
        await super().shutdown(sockets)


_QUIET_DROPS = _QuietDrops()


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _claim(db_path: Path, files_dir: Path) -> filelock.BaseFileLock:
    """Hold the database's lock for this sandbox's life, or raise DatabaseInUse naming who holds it."""
    lock = filelock.FileLock(str(files_dir / "sandbox.lock"), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        holder = ""
        try:
            running = json.loads((files_dir / "running.json").read_text())
            holder = f" (process {running['pid']}, serving {running['url']})"
        except (OSError, ValueError, KeyError, TypeError):
            pass
        raise DatabaseInUse(
            f"another sandbox is already running on {db_path}{holder}: stop it first, or give this one "
            "another database (--db)"
        ) from None
    return lock


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless ``allow_remote``: the demo credentials are public."""
    if not allow_remote and not _is_loopback(host):
        raise ValueError(
            f"refusing to serve the sandbox on {host!r}: it is not a loopback address, and anyone who can "
            "reach it could use the demo tenant's published credentials. Use 127.0.0.1, or pass "
            "allow_remote=True (--allow-remote) if other machines must reach it."
        )


class Sandbox:
    """A running sandbox: its URLs, demo apps and ids, and switches for faults. Use ``start()`` to make one.

    ``repr`` shows no secret.
    """

    def __init__(
        self,
        *,
        port: int,
        db: str | os.PathLike[str] | None,
        reset: bool,
        host: str,
        faults: str | Mapping[str, float] | Mapping[int, float] | None,
        latency_ms: int,
        rate_limit: int | None,
        retry_after: float,
        fault_seed: int | None,
        token_lifetime: int,
        device_code_lifetime: int,
        load: str | os.PathLike[str] | None = None,
        pseudonymize: bool = False,
        contract: str = DEFAULT_CONTRACT,
        profile: str | os.PathLike[str] | TenantProfile | None = None,
        cloud: str = "global",
        clock: Callable[[], float] | None = None,
    ) -> None:
        # What is served, and the tenant to (re)build: the demo one, or one read from real activities (all
        # read first: a bad contract, profile or file fails before anything is created).
        self._rules = ContractRules(
            contract,
            profile if isinstance(profile, TenantProfile) or profile is None else load_profile(profile),
            cloud,
        )
        #: The profile file the sandbox imitates (None: none, or one given as a TenantProfile).
        self.profile_path = None if profile is None or isinstance(profile, TenantProfile) else str(profile)
        loaded = load_tenant(load, pseudonymize=pseudonymize) if load is not None else None
        self._build: Callable[[], Tenant] = (lambda: loaded) if loaded is not None else build_tenant
        self._temp_dir: str | None = None
        if db is None:
            self._temp_dir = tempfile.mkdtemp(prefix="learnkit-sandbox-")
            db = Path(self._temp_dir) / "graph.db"
        db_path = Path(db).expanduser().resolve()
        if not db_path.parent.exists():
            private_dir(db_path.parent)  # a folder made for the state is private; an existing one is the user's
        self.files_dir = private_dir(db_path.parent / f"{db_path.stem}-files")
        self.db_path = str(db_path)
        self._lock = _claim(db_path, self.files_dir)
        try:
            self._setup(
                db_path,
                loaded,
                port=port,
                reset=reset,
                host=host,
                faults=faults,
                latency_ms=latency_ms,
                rate_limit=rate_limit,
                retry_after=retry_after,
                fault_seed=fault_seed,
                token_lifetime=token_lifetime,
                device_code_lifetime=device_code_lifetime,
                clock=clock,
            )
        except BaseException:
            self._lock.release()
            raise

    def _setup(
        self,
        db_path: Path,
        loaded: Tenant | None,
        *,
        port: int,
        reset: bool,
        host: str,
        faults: str | Mapping[str, float] | Mapping[int, float] | None,
        latency_ms: int,
        rate_limit: int | None,
        retry_after: float,
        fault_seed: int | None,
        token_lifetime: int,
        device_code_lifetime: int,
        clock: Callable[[], float] | None,
    ) -> None:
        """Everything after the database's lock is held: the socket, the store, the identity, TLS, the server."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio turns Nagle off only on sockets that say so, and with Nagle
        # on, every response with a body waits ~40 ms for the client's delayed ACK.
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._socket.bind((host.strip("[]"), port))
        except OSError:
            self._socket.close()
            raise
        self._socket.listen(128)
        self.port = int(self._socket.getsockname()[1])
        #: The address the server listens on, as given (``0.0.0.0`` means every interface).
        self.bind_host = host.strip("[]")
        url_host = host.strip("[]")
        if url_host in ("0.0.0.0", "::"):
            url_host = "127.0.0.1"
        self.url = f"https://[{url_host}]:{self.port}" if ":" in url_host else f"https://{url_host}:{self.port}"
        self.graph_url = self.url + "/v1.0"
        #: The ``.default`` scope to ask tokens for (Graph's own, as in the Global cloud).
        self.scope = f"{GRAPH_RESOURCE}/.default"

        self._store = Store(db_path)
        if reset:
            self._store.clear_meta()  # new signing key, secrets and certificates: tokens issued before are refused
        if reset or loaded is not None or not self._store.has_tenant():
            self._store.replace_tenant(self._build())
        profile = self._rules.profile
        granted: dict[TokenKind, frozenset[str]] = {}
        for kind in KINDS:
            limit = profile.granted(kind) if profile is not None else None
            if limit is not None:
                granted[kind] = limit
        self._identity = Identity(
            self._store,
            self.files_dir,
            self.url,
            token_lifetime=token_lifetime,
            granted=granted or None,
            clock=clock or time.time,
        )
        self.tenant_id = self._identity.tenant_id
        self.authority = self._identity.authority
        self.token_url = self._identity.token_url
        self.apps: dict[str, DemoApp] = dict(self._identity.apps)
        self.client_id = self.apps[_MAIN_APP].client_id
        self.demo: dict[str, str] = (
            dict(DEMO_IDS)
            if loaded is None
            else {"registration_id": str(loaded.providers[0]["id"]), "learner_id": LEARNER_ID}
        )

        self._faults = Faults(clock or time.monotonic)
        self._faults.configure(faults, retry_after=retry_after, seed=fault_seed)
        self._faults.set_latency(latency_ms)
        self._faults.set_rate_limit(rate_limit)
        self._switches = Switches()
        self._oauth = OAuthService(
            self._identity, self._store, self._switches, device_code_lifetime=device_code_lifetime
        )
        graph = GraphService(self._store, self._identity, self._faults, self._switches, self.graph_url, self._rules)
        self._app = create_app(Services(self._store, self._identity, self._oauth, graph, self._faults, self._switches))

        hosts = ["127.0.0.1", "localhost", "::1"]
        if url_host not in hosts:
            hosts.append(url_host)
        tls = make_server_tls(self.files_dir / "tls", hosts)
        self.ca_cert = str(self.files_dir / "ca.pem")
        write_private(Path(self.ca_cert), tls.ca_cert.read_bytes())
        write_private(self.files_dir / "running.json", json.dumps({"pid": os.getpid(), "url": self.url}).encode())

        logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)  # adding the same filter twice is a no-op
        config = uvicorn.Config(
            self._app,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            ssl_certfile=str(tls.certfile),
            ssl_keyfile=str(tls.keyfile),
            timeout_graceful_shutdown=5,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="learnkit-sandbox", daemon=True
        )
        self._stopped = False

    # --- life cycle -----------------------------------------------------------------

    def _serve(self, timeout: float = 20.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox server did not start; see the log above")
            time.sleep(0.01)
        with requests.Session() as session:
            session.trust_env = False
            while True:
                try:
                    session.get(self.url + "/", verify=self.ca_cert, timeout=2).raise_for_status()
                    return
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError("the sandbox server started but does not answer") from None
                    time.sleep(0.05)

    def stop(self) -> None:
        """Stop serving and close the database; a temporary database is deleted. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()
        self._store.close()
        (self.files_dir / "running.json").unlink(missing_ok=True)
        self._lock.release()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        """True while the server thread is serving."""
        return self._thread.is_alive() and not self._stopped

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        profile = f" profile={self.profile_path!r}" if self.profile_path else ""
        where = f"tenant={self.tenant_id} contract={self.contract}{profile} db={self.db_path!r}"
        return f"<Sandbox {self.url} {where} {state}>"

    def _repr_html_(self) -> str:
        """A table for notebooks: URLs, tenant, demo ids and state files; no secret (those are in ``to_json()``)."""
        rows = [
            ("Graph", self.graph_url),
            ("state", "running" if self.running else "stopped"),
            ("listening on", f"{self.bind_host}:{self.port}"),
            ("tenant", self.tenant_id),
            ("contract", self.contract),
            *((("profile", self.profile_path),) if self.profile_path else ()),
            ("authority", self.authority),
            ("client id", f"{self.client_id} ({_MAIN_APP}; secret: sb.client_secret)"),
            *((f"demo {key.replace('_', ' ')}", value) for key, value in self.demo.items()),
            ("state file", self.db_path),
            ("CA file", self.ca_cert),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>"
            for k, v in rows
        )
        return f"<table><caption style='text-align:left'><b>learnkit sandbox</b></caption>{cells}</table>"

    # --- what clients need ----------------------------------------------------------

    @property
    def contract(self) -> ContractName:
        """``documented`` (only what Graph's pages describe) or ``metadata`` (also the provider-wide list)."""
        return self._rules.contract

    @property
    def client_secret(self) -> str:
        """The main demo app's client secret."""
        secret = self.apps[_MAIN_APP].client_secret
        assert secret is not None
        return secret

    def session(self) -> requests.Session:
        """A requests session that trusts the sandbox's CA, whatever the environment says.

        requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's
        ``verify`` and sends loopback traffic to ``HTTPS_PROXY`` unless ``trust_env``
        is off; pass this to msal as ``http_client=`` where those are set.
        """
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_cert
        return session

    def to_json(self) -> dict[str, Any]:
        """Everything a client needs, secrets included: what ``learnkit sandbox --json`` prints."""
        return {
            "url": self.url,
            "graph_url": self.graph_url,
            "token_url": self.token_url,
            "authority": self.authority,
            "tenant_id": self.tenant_id,
            "scope": self.scope,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "ca_cert": self.ca_cert,
            "db_path": self.db_path,
            "apps": [app.to_json() for app in self.apps.values()],
            "demo": dict(self.demo),
            "contract": self.contract,
            "profile": self.profile_path,
            "cloud": self._rules.cloud,
        }

    # --- switches ---------------------------------------------------------------------

    def reset(self) -> None:
        """Rebuild the demo tenant and put every switch back.

        No faults, latency or rate limit; service plan on; device-code auto-approval on; the contract
        the sandbox started with.
        """
        self._store.replace_tenant(self._build())
        self._faults.clear()
        self._switches.restore()
        self._rules.restore()

    def seed_bulk(self, count: int, registration_id: str = REGISTRATION_ID) -> int:
        """Add ``count`` random activities to a provider (for benchmarks); returns the provider's new total."""
        learners = [u for u in self._store.ids("users") if (self._store.get_user(u) or {}).get("hasPremiumLicense")]
        contents = self._store.ids("contents", registration_id)
        if not contents:
            raise ValueError("no such provider (or it has no contents) in the sandbox tenant")
        start = int(self._store.get_meta("bulk_next") or "1")
        self._store.set_meta("bulk_next", str(start + count))
        chunk = 20_000
        for offset in range(0, count, chunk):
            size = min(chunk, count - offset)
            self._store.add_activities(bulk_activities(size, registration_id, learners, contents, start + offset))
        page = self._store.page("provider_activities", registration_id, after=None, offset=0, limit=0, count=True)
        return int(page.total or 0)

    def activity_keys(self, registration_id: str | None = None) -> list[tuple[str, str | None]]:
        """The ``(id, externalcourseActivityId)`` of a provider's activities (the demo provider's by default), as
        the provider's own system of record would list them: the documented way to name records to read
        (``learnkit.bulk.sources``). Read from the sandbox's store, not through Graph.

        Example: ``ActivityIds(i for i, _ in sb.activity_keys())``
        """
        return self._store.activity_keys(registration_id or self.demo["registration_id"])

    def activity_ids(self, registration_id: str | None = None) -> list[str]:
        """The ids of a provider's activities (``activity_keys``'s first column).

        Example: ``read_activities(client, reg, source=ActivityIds(sb.activity_ids(reg)))``
        """
        return [activity_id for activity_id, _ in self.activity_keys(registration_id)]

    def external_ids(self, registration_id: str | None = None) -> list[str]:
        """The distinct external ids of a provider's activities (a key held twice reaches its first record).

        Example: ``read_activities(client, reg, source=ExternalIds(sb.external_ids(reg)))``
        """
        return list(dict.fromkeys(key for _, key in self.activity_keys(registration_id) if key))

    def seed_users(self, count: int) -> list[str]:
        """Add ``count`` named users to the tenant (for benchmarks of name lookups); returns their ids.

        Example: ``ids = sb.seed_users(1000)``
        """
        start = int(self._store.get_meta("users_next") or "1")
        self._store.set_meta("users_next", str(start + count))
        users = bulk_users(count, start)
        self._store.add_users(users)
        return [str(u["id"]) for u in users]

    def set_faults(
        self,
        faults: str | Mapping[str, float] | Mapping[int, float] | None = None,
        *,
        retry_after: float = 1.0,
        seed: int | None = None,
    ) -> None:
        """Answer a fraction of Graph requests with a fault: ``{"429": 0.1, "503": 0.05, "500": 0.02, "drop": 0.01}``.

        429 and 503 carry ``Retry-After: retry_after`` (seconds); ``drop`` cuts the connection
        mid-response. ``None`` turns random faults off.
        """
        self._faults.configure(faults, retry_after=retry_after, seed=seed)

    def fail_next(self, *kinds: str) -> None:
        """Fail the next Graph requests, one per kind given, in order: ``sb.fail_next("429", "drop")``."""
        self._faults.fail_next(*kinds)

    def set_latency(self, ms: int) -> None:
        """Delay each Graph HTTP request (a whole ``$batch`` once) by ``ms`` milliseconds."""
        self._faults.set_latency(ms)

    def set_rate_limit(self, per_second: int | None) -> None:
        """Allow at most ``per_second`` Graph requests (each $batch sub-request counting) per second."""
        self._faults.set_rate_limit(per_second)

    def set_contract(self, contract: str) -> None:
        """Answer by ``"documented"`` or ``"metadata"`` from now on (``reset()`` restores the one started with).

        Example: ``sb.set_contract("documented")  # the provider-wide list is now a 400``
        """
        self._rules.contract = check_contract(contract)

    def set_service_plan(self, enabled: bool) -> None:
        """Give or take away the tenant's service plan (off: every Graph call gets the service-plan 403)."""
        self._switches.service_plan = enabled

    def set_auto_approve(self, enabled: bool) -> None:
        """Whether device codes are approved for the demo learner on the first poll."""
        self._switches.auto_approve = enabled

    def approve_device_code(self, user_code: str, user_id: str = LEARNER_ID) -> None:
        """Approve a pending device code as ``user_id`` (the demo learner by default)."""
        if not self._oauth.approve(user_code, user_id):
            raise ValueError("no pending device code has that user code (it may have expired or been used)")


def start(
    port: int = 0,
    db: str | os.PathLike[str] | None = None,
    reset: bool = False,
    host: str = "127.0.0.1",
    *,
    faults: str | Mapping[str, float] | Mapping[int, float] | None = None,
    latency_ms: int = 0,
    rate_limit: int | None = None,
    allow_remote: bool = False,
    token_lifetime: int = 3600,
    retry_after: float = 1.0,
    fault_seed: int | None = None,
    device_code_lifetime: int = 900,
    load: str | os.PathLike[str] | None = None,
    pseudonymize: bool = False,
    contract: str = DEFAULT_CONTRACT,
    profile: str | os.PathLike[str] | TenantProfile | None = None,
    cloud: str = "global",
    clock: Callable[[], float] | None = None,
) -> Sandbox:
    """Start a sandbox over HTTPS in a background thread; returns once it answers.

    ``db=None`` keeps the tenant in a temporary file; a path keeps it across
    restarts, in files only their owner may read. ``reset=True`` rebuilds the
    tenant and makes a new signing key, secrets and certificates, so tokens
    issued before are refused. A database another running sandbox holds raises
    DatabaseInUse. A host other than loopback is refused unless ``allow_remote``,
    and then warned about (RemoteWarning). ``load`` seeds it from a provider's real activities instead of the
    demo tenant (``learnkit export``'s CSV, or Graph activities as JSON; see
    ``learnkit.sandbox.load.load_tenant``), with user ids replaced by stable pseudonyms if
    ``pseudonymize``; ``reset()`` then reloads that file's tenant.

    ``contract`` is ``"documented"`` (serve only what Graph's pages describe: the provider-wide activity
    list is refused as Graph refuses a path it does not implement) or ``"metadata"`` (serve it too); the
    default is ``learnkit.sandbox.contract.DEFAULT_CONTRACT``. ``profile`` (a file ``learnkit doctor
    --profile-out`` wrote, or a ``learnkit.profile.TenantProfile``) makes the sandbox answer as that
    tenant did: its refusals, and its tokens' permissions. ``cloud`` (``learnkit.clouds``' names) imitates
    a national cloud: in one Graph's pages do not list for the learning API, every learning request is
    refused as an unknown segment. A bad contract, profile or cloud raises ValueError
    (``InvalidInputError`` naming the file and the problem) before anything starts.

    ``clock`` (seconds since the epoch; default the system's) is the time the sandbox issues and checks
    tokens by, expires device codes by and counts the rate limit's one-second window by: a test passes
    one it advances, so a token expires without waiting for it (``tests/conftest.py``'s ``Clock``).

    Example: ``sb = start(contract="documented"); print(sb.graph_url); sb.stop()``
    """
    check_host(host, allow_remote)
    if not _is_loopback(host):
        # Warned before binding, so the warning is seen even if the server then fails to start.
        warnings.warn(
            f"the sandbox will listen on {host} (port {port or 'any free one'}), not only on loopback: anyone who "
            "can reach this machine there can use the demo tenant's published credentials",
            RemoteWarning,
            stacklevel=2,
        )
    sandbox = Sandbox(
        port=port,
        db=db,
        reset=reset,
        host=host,
        faults=faults,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        retry_after=retry_after,
        fault_seed=fault_seed,
        token_lifetime=token_lifetime,
        device_code_lifetime=device_code_lifetime,
        load=load,
        pseudonymize=pseudonymize,
        contract=contract,
        profile=profile,
        cloud=cloud,
        clock=clock,
    )
    sandbox._serve()
    return sandbox
