"""Mempool benchmark: ``python benchmarks/mempool.py [--txs N] [--senders S]``; prints JSON.

Signs ``N`` EIP-1559 transfers from ``S`` senders (nonces in order, sender by sender interleaved
as a load generator sends them), then measures ``Mempool.add`` (decoding, signature recovery,
checks, bookkeeping), a full ``best_transactions`` pass, and ``on_block_mined`` of the lot in
blocks of 1,000. Signature recovery alone is timed too, to show how much of ``add`` it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import coincurve
import rlp

from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.hashing import IMPLEMENTATION, keccak256
from zkos_tw.sequencer.mempool import Mempool

CHAIN_ID = 270


class _Accounts:
    """Every account is rich; nonces as mined."""

    def __init__(self) -> None:
        self.nonces: dict[bytes, int] = {}

    def nonce_of(self, address: bytes) -> int:
        return self.nonces.get(address, 0)

    def balance_of(self, address: bytes) -> int:
        return 10**30


def _transfer(key: coincurve.PrivateKey, nonce: int, tip: int) -> bytes:
    fields = [CHAIN_ID, nonce, tip, 2000 + tip, 21_000, b"\xab" * 20, 1, b"", []]
    signature = key.sign_recoverable(keccak256(b"\x02" + rlp.encode(fields)), hasher=None)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    return b"\x02" + rlp.encode(fields + [signature[64], r, s])


def main(argv=None) -> int:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=100)
    args = parser.parse_args(argv)
    keys = [coincurve.PrivateKey((i + 1).to_bytes(32, "big")) for i in range(args.senders)]
    per_sender = args.txs // args.senders
    raws = [
        _transfer(key, nonce, tip=(index * 7 + nonce) % 50)
        for nonce in range(per_sender)
        for index, key in enumerate(keys)
    ]

    start = time.perf_counter()
    for raw in raws:
        recover_sender(decode_transaction(raw))
    decode_recover_s = time.perf_counter() - start

    accounts = _Accounts()
    pool = Mempool(accounts, chain_id=CHAIN_ID, block_gas_limit=100_000_000)
    start = time.perf_counter()
    for raw in raws:
        pool.add(raw)
    add_s = time.perf_counter() - start
    assert pool.pending_count() == len(raws)

    start = time.perf_counter()
    best = list(pool.best_transactions(1000))
    best_s = time.perf_counter() - start
    assert len(best) == len(raws)

    start = time.perf_counter()
    for first in range(0, len(best), 1000):
        block = best[first : first + 1000]
        for ptx in block:
            accounts.nonces[ptx.sender] = ptx.nonce + 1
        pool.on_block_mined([(ptx.sender, ptx.nonce) for ptx in block])
    mined_s = time.perf_counter() - start
    assert len(pool) == 0

    n = len(raws)
    json.dump(
        {
            "benchmark": "mempool",
            "python": sys.version.split()[0],
            "hashing": IMPLEMENTATION,
            "transactions": n,
            "senders": args.senders,
            "adds_per_s": round(n / add_s),
            "decode_and_recover_per_s": round(n / decode_recover_s),
            "decode_and_recover_share_of_add": round(decode_recover_s / add_s, 3),
            "best_transactions_per_s": round(n / best_s),
            "mined_removals_per_s": round(n / mined_s),
        },
        sys.stdout,
        indent=2,
    )
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
