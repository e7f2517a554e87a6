"""Where the Jupyter kernels learnkit starts listen: Unix sockets in a private folder, where Jupyter has them.

With TCP, jupyter_client picks five free ports and the kernel binds them a moment later: another program
taking one in between kills the kernel at its start, and Jupyter warns that the traffic is unencrypted. A
socket in a folder of its owner's alone cannot be taken. Jupyter's ipc transport is Unix only: on Windows
the kernels keep loopback TCP. ``learnkit quickstart`` and ``learnkit app`` (Voila) start theirs this way,
and so do the tests' notebooks and Voila pages.

Example: ``KernelManager(kernel_name="python3", **kernel_sockets(folder))``
"""

from __future__ import annotations

import os
from pathlib import Path

#: Whether Jupyter's ipc transport exists here (not on Windows).
HAS_IPC = os.name != "nt"


def kernel_sockets(folder: str | Path) -> dict[str, str]:
    """``KernelManager`` options for a kernel on Unix sockets in ``folder``; none where there is no ipc.

    The sockets' path is absolute: a kernel may run in another folder than its client.

    >>> kernel_sockets("/tmp/work") == ({"transport": "ipc", "ip": "/tmp/work/kernel"} if HAS_IPC else {})
    True
    """
    return {"transport": "ipc", "ip": str(Path(folder).absolute() / "kernel")} if HAS_IPC else {}


def voila_kernel_options() -> list[str]:
    """Voila's command-line options for the same: its kernels' sockets go in its own private temporary folder.

    >>> voila_kernel_options() == (["--KernelManager.transport=ipc"] if HAS_IPC else [])
    True
    """
    return ["--KernelManager.transport=ipc"] if HAS_IPC else []
