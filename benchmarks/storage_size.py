"""On-disk size of state history in LMDB storage: bytes per million flat-key writes, as JSON.

Usage: ``python benchmarks/storage_size.py [--writes N] [--per-block K] [--dir PATH]``

Writes ``N`` state writes (default 200,000) in blocks of ``K`` (default 1,000) through
``LMDBStorage.write_block`` twice, into fresh data directories:

* ``new_keys``: every write is a new random flat key (tree growth: one new leaf per write);
* ``rewrites``: writes go to a pool of ``N / 10`` keys, so most keys gather a history.

For each it reports the bytes LMDB uses (pages up to the last written one: B-tree overhead
and pages freed by copy-on-write but not yet reused included), the data file size, the bytes
in the ``state`` B-tree's own pages, the number of state entries, and bytes per write / per million
writes. Each block also carries a WAL record, a block entry and meta updates (about 200 bytes
per block), included in the figures. The raw payload of one state entry is 40 key bytes and 33
value bytes (format byte + value).
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

from zkos_tw.storage import BlockWrite, LMDBStorage  # noqa: E402
from zkos_tw.storage import codecs as c  # noqa: E402


def measure(path: str, writes: int, per_block: int, pool: int | None, seed: int) -> dict:
    """Write ``writes`` state writes into a new storage at ``path``; return the size figures."""
    rng = random.Random(seed)
    keys = [rng.randbytes(32) for _ in range(pool)] if pool else None
    storage = LMDBStorage(path)
    started = time.perf_counter()
    number, done = 0, 0
    try:
        while done < writes:
            n = min(per_block, writes - done)
            chosen = rng.sample(keys, n) if keys else [rng.randbytes(32) for _ in range(n)]
            state = tuple((k, rng.randbytes(32)) for k in chosen)
            storage.write_block(
                BlockWrite(
                    number,
                    number.to_bytes(32, "big"),
                    b"wal" + number.to_bytes(8, "big"),
                    b"block",
                    state_writes=state,
                )
            )
            number += 1
            done += n
        elapsed = time.perf_counter() - started
        used = storage.used_bytes()
        entries = storage.entries()["state"]
        state_pages = storage.page_bytes()["state"]
    finally:
        storage.close()
    file_bytes = os.path.getsize(os.path.join(path, "data.mdb"))
    return {
        "blocks": number,
        "state_entries": entries,
        "used_bytes": used,
        "file_bytes": file_bytes,
        "state_btree_bytes": state_pages,
        "state_btree_bytes_per_write": round(state_pages / writes, 1),
        "bytes_per_write": round(used / writes, 1),
        "bytes_per_million_writes": round(used / writes * 1_000_000),
        "writes_per_second": round(writes / elapsed),
    }


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200_000)
    parser.add_argument("--per-block", type=int, default=1_000)
    parser.add_argument("--dir", default=None, help="where to make the data directories")
    args = parser.parse_args(argv)
    base = tempfile.mkdtemp(prefix="zkos-storage-size-", dir=args.dir)
    try:
        result = {
            "benchmark": "storage_size",
            "schema_version": c.SCHEMA_VERSION,
            "writes": args.writes,
            "writes_per_block": args.per_block,
            "raw_state_entry_bytes": 40 + 33,
            "new_keys": measure(os.path.join(base, "new"), args.writes, args.per_block, None, 1),
            "rewrites": measure(
                os.path.join(base, "rewrites"),
                args.writes,
                args.per_block,
                max(args.per_block, args.writes // 10),
                2,
            ),
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
