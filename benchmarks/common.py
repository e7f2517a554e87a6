"""What the benchmarks share: a sandbox in a child process, timing, and a Markdown table.

Example::

    with Server() as server:
        server.command("latency 50")
        client = GraphClient.for_sandbox(server.info)
"""

from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


class Server:
    """``benchmarks/_server.py`` in a child process: ``.info`` is the sandbox JSON, ``.command()`` steers it.

    ``contract``: ``metadata`` (the provider's list served) or ``documented`` (refused, as Graph's pages document).
    """

    def __init__(self, contract: str = "metadata") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNKIT_")}
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "_server.py"), contract],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first:
            raise RuntimeError("the sandbox process did not start")
        self.info: dict[str, Any] = json.loads(first)
        self.demo: dict[str, str] = self.info["demo"]

    def command(self, text: str) -> str:
        """Send one command; its answer (raises if it is not ``ok``)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError(f"sandbox command {text!r}: {answer or 'no answer'}")
        return answer

    def close(self) -> None:
        """Stop the child."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def throttled_wait(answers: Sequence[dict[str, Any]]) -> float:
    """How long a hand-written client waits before resending its throttled sub-requests: the longest
    ``Retry-After`` among them plus a random share of it (jitter, as backoff guidance has it, so threads
    throttled together do not all come back at the same instant); 0 when none was throttled.

    >>> throttled_wait([{"status": 200}])
    0.0
    """
    waits = [float((a.get("headers") or {}).get("Retry-After", 1)) for a in answers if a.get("status") in (429, 503)]
    wait = max(waits, default=0.0)
    return wait + random.uniform(0.0, wait / 2)


def collected() -> None:
    """Collect the heap's garbage before a contender's clock starts, as ``timeit`` and pyperf start each timing.

    A full collection falls due after enough allocations, wherever they were made: without this, a
    contender pays, at random, for the garbage of whatever ran before it (another contender, the read-back).
    Collections its own work makes due still fall in its time.
    """
    gc.collect()


def timed(call: Callable[[], T]) -> tuple[float, T]:
    """Seconds a call took (from a collected heap), and what it returned."""
    collected()
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def environment() -> str:
    """One line on where the numbers were measured."""
    import platform

    import pandas as pd

    return (
        f"Python {platform.python_version()}, pandas {pd.__version__}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.machine()}; sandbox in its own process on loopback (HTTPS)"
    )
