"""The tree benchmark: random-key blocks applied to a growing tree (``zkosctl bench tree``).

Each block is ``block_size`` writes of fresh random keys (so every write inserts a leaf and
relinks a random predecessor), applied as the next version until the tree holds ``leaves``
leaves. Only ``MerkleTree.apply`` is timed; patches are measured, not stored. Run as a module
(``python -m zkos_tw.merkle.bench``) it prints one JSON object for the implementation this
process loaded, so the pure path can be measured in a child with ``ZKOS_NO_EXTENSIONS=1``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time

from zkos_tw import extensions


def run(leaves: int = 1_000_000, block_size: int = 1000, seed: int = 1) -> dict:
    """Run the benchmark in this process; return the figures as a dict."""
    from zkos_tw.merkle.tree import MerkleTree
    from zkos_tw.testing.memory_tree_store import MemoryTreeStore

    rng = random.Random(seed)
    tree = MerkleTree(MemoryTreeStore())
    tree.apply(0, [])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    version, writes, elapsed, patch_bytes, records = 0, 0, 0.0, 0, 0
    tail_writes, tail_elapsed = 0, 0.0
    tail_from = max(2, leaves - leaves // 10)
    while tree.leaf_count() < leaves:
        n = min(block_size, leaves - tree.leaf_count())
        raw = rng.randbytes(64 * n)
        block = [(raw[64 * i : 64 * i + 32], raw[64 * i + 32 : 64 * i + 64]) for i in range(n)]
        version += 1
        start = time.perf_counter()
        patch = tree.apply(version, block)
        took = time.perf_counter() - start
        elapsed += took
        writes += n
        if tree.leaf_count() > tail_from:
            tail_writes += n
            tail_elapsed += took
        patch_bytes += patch.size
        records += len(patch.records)
    memory = tree.memory_bytes()
    count = tree.leaf_count()
    return {
        "implementation": "cext" if extensions.LOADED.get("_merkle") else "pure",
        "hashing": extensions.describe().get("_hashing", "pure"),
        "leaves": count,
        "block_size": block_size,
        "blocks": version,
        "seconds": round(elapsed, 3),
        "updates_per_s": round(writes / elapsed) if elapsed else None,
        "updates_per_s_last_10pct": round(tail_writes / tail_elapsed) if tail_elapsed else None,
        "patch_bytes_per_million_leaves": round(patch_bytes * 1_000_000 / count),
        "patch_records_per_block": round(records / version),
        "memory_bytes_per_million_leaves": {
            k: round(v * 1_000_000 / count) for k, v in memory.items()
        },
        "max_rss_growth_bytes": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before)
        * 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="zkos-tw tree benchmark (one implementation)")
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--block-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.leaves, args.block_size, args.seed), sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
