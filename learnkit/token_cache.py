"""Sign-ins remembered across restarts: msal's token cache kept on disk by msal-extensions, and ``learnkit logout``.

A delegated sign-in (device code) leaves msal a refresh token; kept in a file, the next
kernel, command or app page signs the same user in silently, without a second device code.
msal-extensions' ``PersistedTokenCache`` keeps it, locked against other processes, encrypted
where the platform can encrypt: DPAPI on Windows, the Keychain on macOS, libsecret on Linux.
Where it cannot (Linux without libsecret and a keyring, as on most servers and containers) the
cache is a plain file readable by its owner only (0600), and a log line says so.

The command line, the widgets and the app remember delegated sign-ins in
``default_cache_path()`` (learnkit's data folder); ``learnkit.connect(..., cache_path=...)`` and
the sign-ins' ``cache_path`` take any file. ``learnkit logout`` forgets them.

Example::

    cache = open_token_cache(default_cache_path())   # an msal token cache, kept on disk
    forget_sign_ins(default_cache_path())            # what `learnkit logout` does
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnkit.userdata import data_dir

if TYPE_CHECKING:
    import msal

__all__ = ["CACHE_FILE", "add_arguments", "default_cache_path", "forget_sign_ins", "open_token_cache", "run"]

log = logging.getLogger(__name__)

#: The cache's file name in learnkit's data folder.
CACHE_FILE = "token_cache.bin"

# Caches already said to be unencrypted, so the log line comes once per file and process.
_said_plain: set[Path] = set()


def default_cache_path() -> Path:
    """Where the command line, the widgets and the app remember sign-ins: ``token_cache.bin`` in the data folder.

    Example: ``default_cache_path()`` is ``~/.local/share/learnkit/token_cache.bin`` on Linux
    (``$LEARNKIT_DATA_DIR/token_cache.bin`` when set).
    """
    return data_dir() / CACHE_FILE


def _persistence(path: Path) -> Any:
    """msal-extensions' encrypted persistence for ``path``, or an owner-only plain file where there is none."""
    from msal_extensions import FilePersistence, build_encrypted_persistence

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # Any failure means "no encryption here": a missing module (PyGObject), no keyring daemon,
        # an unsupported platform. msal-extensions raises each its own way.
        return build_encrypted_persistence(str(path))
    except Exception as exc:
        if path not in _said_plain:
            _said_plain.add(path)
            log.warning(
                "token cache %s is a plain file readable by you only (0600): this platform offers no encryption "
                "(%s: %s); `learnkit logout` deletes it",
                path,
                type(exc).__name__,
                exc,
            )
    # Created owner-only before msal-extensions writes it (it opens with 0600, but only a new file gets
    # that mode); an existing file made wider by hand is narrowed again.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    return FilePersistence(str(path))


def open_token_cache(path: str | os.PathLike[str]) -> msal.SerializableTokenCache:
    """An msal token cache kept in ``path``: encrypted where the platform allows, else a 0600 plain file.

    Every change msal makes is written at once, under a lock file beside it (``PATH.lockfile``),
    and read again when another process changed it.

    Example: ``msal.PublicClientApplication(client_id, token_cache=open_token_cache(path))``
    """
    from msal_extensions import PersistedTokenCache

    path = Path(path).expanduser()
    persistence = _persistence(path)
    _start_afresh_if_unreadable(persistence, path)
    cache: msal.SerializableTokenCache = PersistedTokenCache(persistence)
    return cache


def _start_afresh_if_unreadable(persistence: Any, path: Path) -> None:
    """Empty a cache that cannot be read (cut short, edited, encrypted by another key): it only saves a sign-in,
    and msal would otherwise fail on it at every sign-in with an error that names no cache."""
    from msal_extensions.persistence import PersistenceNotFound

    try:
        state = persistence.load()
        if state.strip():
            json.loads(state)
    except PersistenceNotFound:
        return
    except Exception as exc:
        log.warning("token cache %s could not be read (%s): starting afresh", path, type(exc).__name__)
        persistence.save("{}")


def forget_sign_ins(path: str | os.PathLike[str] | None = None) -> bool:
    """Forget the sign-ins remembered in ``path`` (default: ``default_cache_path()``); True if there was a cache.

    An encrypted cache is emptied in its store (the Keychain, libsecret) as well as deleted.

    Example: ``forget_sign_ins()``
    """
    target = Path(path).expanduser() if path is not None else default_cache_path()
    if not target.exists():
        return False
    with contextlib.suppress(Exception):  # an encrypted store that is gone already has nothing to empty
        _persistence(target).save("{}")
    for leftover in (target, target.with_name(target.name + ".lockfile")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    return True


# --- `learnkit logout` -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``learnkit logout``'s options."""
    parser.add_argument(
        "--cache",
        metavar="FILE",
        help="the token cache to forget (default: the one the command line, the widgets and the app use, "
        f"{CACHE_FILE} in learnkit's data folder)",
    )


def run(args: argparse.Namespace) -> int:
    """Forget the remembered sign-ins; say which file, in one line."""
    path = Path(args.cache).expanduser() if args.cache else default_cache_path()
    if forget_sign_ins(path):
        print(f"signed out: forgot the sign-ins remembered in {path}")
    else:
        print(f"no sign-in remembered in {path}: nothing to forget")
    return 0
