"""Exec a program so that it dies with its parent: ``python -m zkos_tw.devnet.child PROG ARGS...``.

On Linux it sets ``PR_SET_PDEATHSIG`` to SIGTERM before ``exec``, so the child (anvil) gets
SIGTERM even when the node is killed with SIGKILL and cannot stop it itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel for SIGTERM when our parent exits (no-op where prctl is missing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    # The parent may have died before prctl took effect.
    if os.getppid() != parent_pid:
        os._exit(1)


def main(argv: list[str]) -> None:
    if not argv:
        sys.stderr.write("usage: python -m zkos_tw.devnet.child PROGRAM [ARGS...]\n")
        os._exit(2)
    die_with_parent(int(os.environ.pop("ZKOS_CHILD_PARENT_PID", os.getppid())))
    try:
        os.execv(argv[0], argv)
    except OSError as e:
        sys.stderr.write(f"cannot run {argv[0]}: {e.strerror}\n")
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
