"""On-disk size of the state tree (and the state it commits to) in LMDB, as JSON.

Usage: ``python benchmarks/tree_disk.py [--leaves N] [--per-block K] [--dir PATH]``

Builds a tree of ``N`` random leaves (default 200,000) in blocks of ``K`` writes (default
1,000): each block applies its writes to ``MerkleTree`` over the storage's ``tree_store()`` and
writes the tree patch and the state writes in one ``LMDBStorage.write_block``, as the sequencer
does. Reports the bytes LMDB uses in total, in the ``tree`` and ``state`` databases, and the
same per million leaves (linear extrapolation: every leaf costs the same records).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from zkos_tw.merkle.tree import MerkleTree  # noqa: E402
from zkos_tw.storage import BlockWrite, LMDBStorage  # noqa: E402


def measure(path: str, leaves: int, per_block: int, seed: int) -> dict:
    """Grow a tree to ``leaves`` leaves in ``path``; return the size figures."""
    rng = random.Random(seed)
    storage = LMDBStorage(path)
    started = time.perf_counter()
    try:
        tree = MerkleTree(storage.tree_store())
        number, done = 0, 0
        while done < leaves:
            n = min(per_block, leaves - done)
            writes = sorted((rng.randbytes(32), rng.randbytes(32)) for _ in range(n))
            patch = tree.apply(number, writes)
            storage.write_block(
                BlockWrite(
                    number,
                    number.to_bytes(32, "big"),
                    b"wal" + number.to_bytes(8, "big"),
                    b"block",
                    state_writes=tuple(writes),
                    tree_patch=tuple(patch.records),
                )
            )
            number += 1
            done += n
        elapsed = time.perf_counter() - started
        pages = storage.page_bytes()
        used = storage.used_bytes()
    finally:
        storage.close()
    per_million = 1_000_000 / leaves
    return {
        "leaves": leaves,
        "blocks": number,
        "seconds": round(elapsed, 2),
        "leaves_per_second": round(leaves / elapsed),
        "used_bytes": used,
        "tree_db_bytes": pages.get("tree"),
        "state_db_bytes": pages.get("state"),
        "used_mb_per_million_leaves": round(used * per_million / 1e6, 1),
        "tree_mb_per_million_leaves": round((pages.get("tree") or 0) * per_million / 1e6, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=200_000)
    parser.add_argument("--per-block", type=int, default=1_000)
    parser.add_argument("--dir", default=None, help="where to create the data directory")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    base = tempfile.mkdtemp(prefix="zkos-tree-disk-", dir=args.dir)
    try:
        result = measure(os.path.join(base, "db"), args.leaves, args.per_block, args.seed)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
