"""The child process of the crash test: writes test blocks to an LMDB data directory in a loop.

Run as ``python -m tests.storage.crash_writer DATA_DIR [LIMIT]`` from the repository root. It
opens the storage, prints ``ready LAST`` (``LAST`` is the last stored block, or ``none``), then
writes ``make_block(n)`` for n = LAST+1, LAST+2, ... and prints each block number on its own line
*after* ``write_block`` has returned. The parent kills it with SIGKILL at random moments. The map
starts small (256 KiB) so that map growth happens under the kills too. ``LIMIT`` (default
100000) bounds the loop in case nobody kills it.
"""

from __future__ import annotations

import sys

from tests.storage.blocks import make_block
from zkos_tw.storage import LMDBStorage

INITIAL_MAP_SIZE = 256 * 1024


def main(argv: list[str]) -> int:
    """Write blocks until killed (or ``LIMIT`` blocks were written)."""
    path = argv[1]
    limit = int(argv[2]) if len(argv) > 2 else 100_000
    storage = LMDBStorage(path, map_size=INITIAL_MAP_SIZE)
    last = storage.last_block()
    out = sys.stdout
    out.write(f"ready {'none' if last is None else last}\n")
    out.flush()
    number = 0 if last is None else last + 1
    for _ in range(limit):
        storage.write_block(make_block(number))
        out.write(f"{number}\n")
        out.flush()
        number += 1
    storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
