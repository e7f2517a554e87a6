"""Files a command writes (``-o``, ``--fixes``, ``--profile-out``): checked before anything is read, written
with a one-line error.

A command that reads thousands of records and only then finds it cannot write its file has wasted the
reader's wait, so each output is checked first (``check_output``); the write itself can still fail (a full
disk, a file another program holds), and ``writing`` says so in one line naming the file, with exit status 2.

Example::

    check_output("-o", args.output)                  # before signing in
    writing(args.output, lambda: write_csv(frame, args.output))
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from learnkit.errors import CommandError

__all__ = ["check_output", "writing"]

T = TypeVar("T")


def check_output(option: str, path: str | None) -> None:
    """Refuse, in one line naming ``option``, a file that cannot be written: a folder, or one in a folder that
    does not exist. ``-`` (standard output) and None (not asked for) pass.

    >>> check_output("-o", "/")
    Traceback (most recent call last):
    learnkit.errors.CommandError: -o /: is a folder; give a file name
    >>> check_output("-o", "/no-such-folder/a.csv")
    Traceback (most recent call last):
    learnkit.errors.CommandError: -o /no-such-folder/a.csv: no folder /no-such-folder
    """
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise CommandError(f"{option} {path}: is a folder; give a file name")
    if not target.parent.is_dir():
        raise CommandError(f"{option} {path}: no folder {target.parent}")


def writing(path: str, write: Callable[[], T]) -> T:
    """Run ``write``; an ``OSError`` becomes one line naming the file (pandas' and openpyxl's name none).

    >>> writing("/no-such-folder/a.txt", lambda: open("/no-such-folder/a.txt", "w"))
    Traceback (most recent call last):
    learnkit.errors.CommandError: cannot write /no-such-folder/a.txt: No such file or directory
    """
    try:
        return write()
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
