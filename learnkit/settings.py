"""Connection settings: which service to talk to and how to sign in, read from the environment.

One object, ``ConnectionSettings``, says what a client is built from: a running sandbox (the JSON
line ``learnkit sandbox --json`` writes) or a tenant (azure-identity's ``AZURE_*`` variables, and
``$LEARNKIT_DELEGATED_CLIENT_ID`` for a person's device-code sign-in). The command line, the widgets
and the app all build their client through it, so none of them reads a variable the others do not,
and the widgets never import the command line. This module also names the variables ``learnkit app``
hands its notebook's kernel (the app's mode, its sandbox, the source of records to start with).

Example::

    settings = ConnectionSettings.from_env()          # AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET ...
    client = settings.client()
    client = ConnectionSettings(sandbox_json="sb.json").client()
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnkit.errors import SettingsError, TokenError

if TYPE_CHECKING:
    from learnkit.auth import DeviceCodeSignIn
    from learnkit.client import GraphClient

__all__ = [
    "APP_MODE_VARIABLE",
    "AZURE_VARIABLES",
    "CLOUD_VARIABLE",
    "DELEGATED_CLIENT_VARIABLE",
    "SANDBOX_JSON_VARIABLE",
    "SANDBOX_KEYS_VARIABLE",
    "SOURCE_VARIABLES",
    "ConnectionSettings",
    "device_code_sign_in",
    "read_sandbox_json",
    "sandbox_gone",
]

#: The environment variables a tenant connection reads (azure-identity's names), and what each holds.
AZURE_VARIABLES: dict[str, str] = {
    "AZURE_TENANT_ID": "the tenant (directory) id",
    "AZURE_CLIENT_ID": "the app registration's application (client) id",
    "AZURE_CLIENT_SECRET": "a client secret of that app, or:",
    "AZURE_CLIENT_CERTIFICATE_PATH": "a PFX file with the app's certificate and private key",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD": "the PFX's passphrase, if it has one",
}
#: The public client id of a device-code sign-in, for what Graph serves to delegated tokens only.
DELEGATED_CLIENT_VARIABLE = "LEARNKIT_DELEGATED_CLIENT_ID"
#: The national cloud of the tenant (``learnkit.clouds``'s names); the command line's ``--cloud`` wins over it.
CLOUD_VARIABLE = "LEARNKIT_CLOUD"

# What `learnkit app` hands the kernel of its notebook (``learnkit.cli.app`` sets them, ``WorkbenchApp`` reads them).
#: ``sandbox`` (default) or ``tenant``: which page Connect opens on.
APP_MODE_VARIABLE = "LEARNKIT_APP_MODE"
#: The JSON file of a running sandbox (what ``learnkit sandbox --json`` prints); the kernel attaches to it.
SANDBOX_JSON_VARIABLE = "LEARNKIT_SANDBOX_JSON"
#: A CSV of the sandbox demo provider's keys (``id``, ``externalcourseActivityId``: what ``learnkit sandbox
#: --keys-out`` writes), for the Provider page's "use the demo provider's keys". Set for the app's own
#: sandbox; set it yourself, beside ``--sandbox-json``, to a ``--keys-out`` file of the sandbox attached to.
SANDBOX_KEYS_VARIABLE = "LEARNKIT_SANDBOX_KEYS"
#: The option's ``argparse`` name -> the variable that hands its file (absolute) to the kernel: the source
#: the Provider page starts with (``learnkit.bulk.sources``: ExternalIds, ActivityIds, Learners).
SOURCE_VARIABLES = {
    "external_ids": "LEARNKIT_APP_EXTERNAL_IDS",
    "ids": "LEARNKIT_APP_IDS",
    "learners": "LEARNKIT_APP_LEARNERS",
}

#: How long reading a sandbox's JSON waits for the sandbox started just before to write its line.
SANDBOX_JSON_WAIT = 30.0
#: Seconds a sandbox's JSON file may take to appear (the shell creates a redirect's target as the job starts).
SANDBOX_JSON_GRACE = 3.0


def _sandbox_object(text: str) -> dict[str, Any] | None:
    """The sandbox description in ``text``'s first line, or None while it is incomplete."""
    line = text.split("\n", 1)[0]
    if "\n" not in text and not line.rstrip().endswith("}"):
        return None
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) and "graph_url" in found and "apps" in found else None


def read_sandbox_json(path: str | Path, *, wait: float | None = None) -> dict[str, Any]:
    """The sandbox description ``learnkit sandbox --json`` wrote to ``path``, waiting for it if needed.

    ``learnkit sandbox --json > sb.json &`` returns before the sandbox has written its line:
    the file is polled until its first line is a complete JSON object (at most ``wait`` seconds,
    ``SANDBOX_JSON_WAIT`` by default; a file that does not appear within a few seconds is reported
    at once as missing). Anything else raises ``SettingsError`` saying what to do.

    Example: ``read_sandbox_json("sb.json")["graph_url"]``
    """
    wait = SANDBOX_JSON_WAIT if wait is None else wait
    path = Path(path)
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if waited > min(SANDBOX_JSON_GRACE, wait):
                raise SettingsError(
                    f"--sandbox-json {path}: no such file; start a sandbox with `learnkit sandbox --json > {path} &`"
                ) from None
        except OSError as exc:
            raise SettingsError(f"--sandbox-json {path}: cannot read it ({exc.strerror or exc})") from None
        else:
            found = _sandbox_object(text)
            if found is not None:
                return found
            if text.strip() and "\n" in text:
                raise SettingsError(
                    f"--sandbox-json {path}: its first line is not what `learnkit sandbox --json` prints"
                )
        if waited > wait:
            raise SettingsError(
                f"--sandbox-json {path}: no sandbox wrote to it within {wait:.0f} s; is `learnkit sandbox --json "
                f"> {path} &` running? (its errors go to the terminal)"
            )
        time.sleep(0.1)


def sandbox_gone(path: str, cause: str) -> str:
    """What to say when the sandbox a JSON file describes cannot be reached (``cause``)."""
    return (
        f"cannot reach the sandbox of {path} ({cause}): it is not running any more? "
        f"Start one with `learnkit sandbox --json > {path} &` and run this again"
    )


def _say_on_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def device_code_sign_in(
    tenant: str, client_id: str, cloud: str, prompt: Callable[[str], object] = _say_on_stderr
) -> DeviceCodeSignIn:
    """A person's device-code sign-in, remembered in learnkit's token cache; its prompt on stderr by default
    (stdout may carry a CSV).

    The next sign-in of the same user comes from the cache, without a second code, until
    ``learnkit logout`` (``learnkit.token_cache``).

    Example: ``client.delegated = device_code_sign_in(tenant, public_client_id, "global")``
    """
    from learnkit.auth import DeviceCodeSignIn
    from learnkit.token_cache import default_cache_path

    return DeviceCodeSignIn(tenant, client_id, cloud=cloud, prompt=prompt, cache_path=default_cache_path())


@dataclass(frozen=True)
class ConnectionSettings:
    """Where a client connects and how it signs in: a sandbox's JSON, or a tenant's app registration.

    ``sandbox_json`` is the file ``learnkit sandbox --json`` wrote (``"-"``: standard input); without
    it, the tenant ``tenant_id`` through the app ``client_id`` with ``client_secret`` or the PFX at
    ``certificate_path`` (its ``certificate_password``), in the national ``cloud``;
    ``delegated_client_id`` is a public client for a person's device-code sign-in. The secret and
    the passphrase never show in the repr.

    >>> ConnectionSettings.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"})
    ConnectionSettings(sandbox_json=None, tenant_id='t', client_id='c', certificate_path=None, delegated_client_id=None, cloud='global')
    """  # noqa: E501

    sandbox_json: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    delegated_client_id: str | None = None
    cloud: str = "global"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ConnectionSettings:
        """The settings the ``AZURE_*``, ``LEARNKIT_DELEGATED_CLIENT_ID`` and ``LEARNKIT_CLOUD`` variables give,
        ``overrides`` (what a command line or a form said) taking precedence; an empty variable is unset.

        Example: ``ConnectionSettings.from_env(sandbox_json=args.sandbox_json, cloud=args.cloud)``
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name) or None

        found = cls(
            tenant_id=get("AZURE_TENANT_ID"),
            client_id=get("AZURE_CLIENT_ID"),
            client_secret=get("AZURE_CLIENT_SECRET"),
            certificate_path=get("AZURE_CLIENT_CERTIFICATE_PATH"),
            certificate_password=get("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
            delegated_client_id=get(DELEGATED_CLIENT_VARIABLE),
            cloud=get(CLOUD_VARIABLE) or "global",
        )
        return replace(found, **overrides)

    @property
    def has_app_credential(self) -> bool:
        """Whether a secret or a certificate of the app is set (the app can connect without a form)."""
        return bool(self.client_secret or self.certificate_path)

    def sandbox_info(self) -> dict[str, Any]:
        """The description of the sandbox ``sandbox_json`` names, checked to be still running."""
        if self.sandbox_json is None:
            raise SettingsError("no sandbox: sandbox_json is not set")
        if self.sandbox_json == "-":
            info = _sandbox_object(sys.stdin.readline())
            if info is None:
                raise SettingsError("--sandbox-json -: standard input holds no `learnkit sandbox --json` line")
        else:
            info = read_sandbox_json(self.sandbox_json)
        if not Path(str(info.get("ca_cert", ""))).is_file():  # the sandbox deletes its files as it stops
            raise SettingsError(sandbox_gone(self.sandbox_json, "its files are gone"), stopped=True)
        return info

    def client(
        self, *, delegated: bool = False, prompt: Callable[[str], object] = _say_on_stderr, **options: Any
    ) -> GraphClient:
        """The ``GraphClient`` these settings describe; ``options`` go to it (``timeout``, ``retry`` ...).

        ``delegated`` also signs a person in by device code (what learners' lists need): a sandbox's demo
        learner (approved by the sandbox itself), or on a tenant through ``delegated_client_id``, its
        ``prompt`` on stderr by default and the sign-in remembered (``device_code_sign_in``). Settings that
        name no usable connection raise ``TokenError`` saying which variable to set.

        Example: ``ConnectionSettings.from_env().client(deadline=30)``
        """
        from learnkit.client import GraphClient

        if self.sandbox_json is not None:
            return GraphClient.for_sandbox(self.sandbox_info(), delegated=delegated, **options)
        if not self.tenant_id or not self.client_id:
            raise TokenError(
                "no connection: pass --sandbox-json FILE, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
                "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)"
            )
        if not self.has_app_credential:
            raise TokenError(
                "AZURE_TENANT_ID and AZURE_CLIENT_ID are set, but no credential of the app: set AZURE_CLIENT_SECRET, "
                "or AZURE_CLIENT_CERTIFICATE_PATH (and AZURE_CLIENT_CERTIFICATE_PASSWORD for a protected PFX)"
            )
        if delegated and not self.delegated_client_id:
            raise TokenError(
                "learners' lists are served to delegated tokens only: set "
                f"{DELEGATED_CLIENT_VARIABLE} to the public client id of an app registration for a device-code sign-in"
            )
        certificate = None
        if self.certificate_path:
            certificate = {"pfx_path": self.certificate_path, "passphrase": self.certificate_password}
        client = GraphClient.connect(
            self.tenant_id,
            self.client_id,
            client_secret=self.client_secret,
            certificate=certificate,
            cloud=self.cloud,
            **options,
        )
        if delegated and self.delegated_client_id:
            client.delegated = device_code_sign_in(self.tenant_id, self.delegated_client_id, self.cloud, prompt)
        return client
