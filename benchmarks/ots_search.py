"""``ots_searchTransactionsBefore`` / ``After`` latency on a long chain; prints JSON.

Usage: ``python benchmarks/ots_search.py [--txs N] [--per-block K] [--anvil-txs M] [--dir PATH]``

Writes a chain of ``N`` signed transfers (default 100,000) in blocks of ``K`` (default 10)
straight into a fresh LMDB storage (``LMDBStorage.write_block``, with the address index the
sequencer's sink writes: ``zkos_tw.sequencer.sink.address_index``), then times the ``ots_``
search handlers (``zkos_tw.rpc.ots.OtsNamespace`` over a ``NodeBackend``, in process, the
answer JSON-encoded; no HTTP) with Otterscan's page size 25 for three addresses:

* ``hot``: the recipient of every 2nd transaction (N/2 appearances);
* ``sparse``: the recipient of every 100th transaction (N/100);
* ``rare``: the recipient of 10 transactions spread over the chain;

Before from the tip (block 0 = newest), the middle and a tenth of the way from the start; After
from the start (block 0 = first), the middle and a tenth of the way from the tip; 20 runs each
(median and max in ms). The goal is under 100 ms.

Peer: when anvil is installed and ``--anvil-txs`` > 0 (default 2,000), the same distribution
of transfers is sent to a real anvil (automine: one block per transaction) and its
``ots_searchTransactionsBefore`` is timed over HTTP (anvil scans its blocks' traces). Our
in-process figure on a chain of the same size is given beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer  # noqa: E402

from zkos_tw.devnet.anvil import AnvilError, find_anvil  # noqa: E402
from zkos_tw.execution.transactions import decode_transaction  # noqa: E402
from zkos_tw.load.signing import derive_signers  # noqa: E402
from zkos_tw.rpc.ots import OtsNamespace  # noqa: E402
from zkos_tw.sequencer.accounts import StorageAccountReader  # noqa: E402
from zkos_tw.sequencer.backend import NodeBackend  # noqa: E402
from zkos_tw.sequencer.blocks import BlockHeader, rolling_hash  # noqa: E402
from zkos_tw.sequencer.builder import IncludedTransaction, SealedBlock  # noqa: E402
from zkos_tw.sequencer.mempool import Mempool  # noqa: E402
from zkos_tw.sequencer.receipts import StoredReceipt, block_bloom  # noqa: E402
from zkos_tw.sequencer.sink import address_index  # noqa: E402
from zkos_tw.storage import BlockWrite, LMDBStorage, TxWrite  # noqa: E402
from zkos_tw.storage import codecs as c  # noqa: E402

CHAIN_ID = 270
PAGE_SIZE = 25
RUNS = 20
SENDERS = 200
HOT = bytes.fromhex("00000000000000000000000000000000000c0ffe")
SPARSE = bytes.fromhex("00000000000000000000000000000000005a75e0")
RARE = bytes.fromhex("0000000000000000000000000000000000000a7e")


def recipient(i: int, total: int) -> bytes:
    """The recipient of transaction ``i`` of ``total``: the benchmark's address distribution."""
    if total >= 10 and i % (total // 10) == total // 20:
        return RARE
    if i % 100 == 0:
        return SPARSE
    if i % 2 == 0:
        return HOT
    return (0x10000 + i % 5000).to_bytes(20, "big")


def signed_transfers(total: int, chain_id: int, signers) -> list[tuple[bytes, bytes]]:
    """``(raw, sender)`` of ``total`` transfers, senders taking turns, nonces in order."""
    nonces = [0] * len(signers)
    txs = []
    for i in range(total):
        k = i % len(signers)
        signed = signers[k].sign_1559(chain_id=chain_id, nonce=nonces[k], max_priority_fee=0,
                                      max_fee=10**10, gas=21_000, to=recipient(i, total),
                                      value=1)  # fmt: skip
        nonces[k] += 1
        txs.append((bytes.fromhex(signed.raw_hex[2:]), signers[k].address_bytes))
    return txs


def build_chain(path: str, txs, per_block: int) -> tuple[LMDBStorage, float, float]:
    """Write block 0 (empty) and ``txs`` in blocks of ``per_block``; return the storage, the
    seconds the writes took, and the seconds of those spent building the address index."""
    storage = LMDBStorage(path)
    parent = bytes(32)
    index_seconds = 0.0
    started = time.perf_counter()
    number = 0
    for start in range(-per_block, len(txs), per_block):
        chunk = txs[max(start, 0) : start + per_block] if start >= 0 else []
        included, receipts = [], []
        for raw, sender in chunk:
            tx = decode_transaction(raw)
            included.append(IncludedTransaction(raw, tx, sender, tx.hash, frozenset((tx.to,))))
            receipts.append(StoredReceipt(2, True, 21_000 * (len(receipts) + 1), 21_000, 1000,
                                          sender, tx.to, None, ()))  # fmt: skip
        header = BlockHeader(parent, b"\x01" * 20, rolling_hash(t.tx_hash for t in included),
                             number, 100_000_000, 21_000 * len(included), 1_700_000_000 + number,
                             1000, logs_bloom=block_bloom(receipts))  # fmt: skip
        block = SealedBlock(None, header, tuple(included), tuple(receipts), None, "benchmark")
        t0 = time.perf_counter()
        index = address_index(block)
        index_seconds += time.perf_counter() - t0
        storage.write_block(
            BlockWrite(
                number,
                header.hash,
                b"wal" + number.to_bytes(8, "big"),
                header.encode(),
                transactions=tuple(
                    TxWrite(t.tx_hash, t.raw, r.encode())
                    for t, r in zip(included, receipts, strict=True)
                ),
                address_index=index,
            )
        )
        parent = header.hash
        number += 1
    return storage, time.perf_counter() - started, index_seconds


def namespace(storage) -> OtsNamespace:
    """The ``ots_`` handlers over a ``NodeBackend`` of ``storage``."""
    mempool = Mempool(StorageAccountReader(storage), chain_id=CHAIN_ID, block_gas_limit=10**8)
    backend = NodeBackend(chain=SimpleNamespace(storage=storage), mempool=mempool,
                          genesis_document={}, chain_id=CHAIN_ID,
                          bridgehub_address="0x" + "00" * 20, eth_call_gas=10**7)  # fmt: skip
    return OtsNamespace(backend, backend.traces, backend.address_index)


def run_once(call) -> tuple[float, dict]:
    """Seconds one handler call and its JSON encoding take (the handler completes at once:
    storage reads are synchronous), and the answer."""
    started = time.perf_counter()
    results = []
    defer.ensureDeferred(call()).addCallbacks(results.append, results.append)
    answer = results[0]
    if not isinstance(answer, dict):
        answer.raiseException()
    json.dumps(answer)
    return time.perf_counter() - started, answer


def timed(call, runs: int = RUNS) -> dict:
    seconds = []
    for _ in range(runs):
        elapsed, answer = run_once(call)
        seconds.append(elapsed)
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3),
        "txs": len(answer["txs"]),
        "firstPage": answer["firstPage"],
        "lastPage": answer["lastPage"],
    }


def measure_ours(ots: OtsNamespace, last_block: int) -> dict:
    """Before and After for each address from the tip, the middle and near the start."""
    figures = {}
    for name, address in (("hot", HOT), ("sparse", SPARSE), ("rare", RARE)):
        # Before: from the newest block (0), the middle, a tenth of the way from the start;
        # After: from the first block (0), the middle, a tenth of the way from the tip.
        positions = (("tip", 0, last_block - last_block // 10),
                     ("middle", last_block // 2, last_block // 2),
                     ("start", max(last_block // 10, 1), 0))  # fmt: skip
        for where, before, after in positions:
            figures[f"before_{name}_{where}"] = timed(
                lambda a=address, b=before: ots.search_transactions_before(a, b, PAGE_SIZE)
            )
            figures[f"after_{name}_{where}"] = timed(
                lambda a=address, b=after: ots.search_transactions_after(a, b, PAGE_SIZE)
            )
    return figures


def rpc(url: str, method: str, params: list):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def measure_anvil(total: int, signers) -> dict:
    """Send ``total`` transfers to a fresh anvil, then time its searches over HTTP."""
    anvil = find_anvil(None)
    port = 18600 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([anvil, "--port", str(port), "--silent", "--hardfork", "cancun"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                rpc(url, "eth_chainId", [])
                break
            except OSError:
                time.sleep(0.1)
        chain_id = int(rpc(url, "eth_chainId", []), 16)
        for signer in signers:
            rpc(url, "anvil_setBalance", [signer.address, hex(10**21)])
        started = time.perf_counter()
        for raw, _ in signed_transfers(total, chain_id, signers):
            rpc(url, "eth_sendRawTransaction", ["0x" + raw.hex()])
        send_seconds = time.perf_counter() - started
        figures = {"txs": total, "blocks": int(rpc(url, "eth_blockNumber", []), 16),
                   "send_seconds": round(send_seconds, 1)}  # fmt: skip
        for name, address in (("hot", HOT), ("sparse", SPARSE)):
            seconds = []
            for _ in range(5):
                t0 = time.perf_counter()
                answer = rpc(
                    url, "ots_searchTransactionsBefore", ["0x" + address.hex(), 0, PAGE_SIZE]
                )
                seconds.append(time.perf_counter() - t0)
            figures[f"before_{name}_tip"] = {
                "median_ms": round(statistics.median(seconds) * 1000, 3),
                "max_ms": round(max(seconds) * 1000, 3),
                "txs": len(answer["txs"]),
            }
        return figures
    finally:
        process.terminate()
        process.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=100_000)
    parser.add_argument("--per-block", type=int, default=10)
    parser.add_argument("--anvil-txs", type=int, default=2_000)
    parser.add_argument("--dir", default=None, help="where the data directories go (temp dir)")
    args = parser.parse_args(argv)
    base = tempfile.mkdtemp(prefix="ots-search-", dir=args.dir)
    signers = derive_signers(b"ots search benchmark", SENDERS)
    result = {"page_size": PAGE_SIZE, "runs": RUNS, "goal_ms": 100}
    try:
        started = time.perf_counter()
        txs = signed_transfers(args.txs, CHAIN_ID, signers)
        result["sign_seconds"] = round(time.perf_counter() - started, 1)
        storage, write_seconds, index_seconds = build_chain(
            os.path.join(base, "chain"), txs, args.per_block
        )
        try:
            last = storage.last_block()
            result["chain"] = {
                "txs": args.txs,
                "blocks": last + 1,
                "write_seconds": round(write_seconds, 1),
                "index_build_us_per_tx": round(index_seconds / args.txs * 1e6, 2),
                "index_entries": storage.entries()[c.ADDRESS_INDEX_DB.decode()],
                "index_bytes": storage.page_bytes()[c.ADDRESS_INDEX_DB.decode()],
                "appearances": {"hot": args.txs // 2, "sparse": args.txs // 100, "rare": 10},
            }
            result["ours"] = measure_ours(namespace(storage), last)
        finally:
            storage.close()
        if args.anvil_txs > 0:
            try:
                result["anvil"] = measure_anvil(args.anvil_txs, signers)
            except AnvilError as e:
                result["anvil"] = {"skipped": str(e)}
            small, _, _ = build_chain(
                os.path.join(base, "small"),
                signed_transfers(args.anvil_txs, CHAIN_ID, signers),
                1,
            )
            try:
                ots = namespace(small)
                result["ours_same_chain_as_anvil"] = {
                    "txs": args.anvil_txs,
                    "blocks": small.last_block() + 1,
                    "before_hot_tip": timed(
                        lambda: ots.search_transactions_before(HOT, 0, PAGE_SIZE)
                    ),
                    "before_sparse_tip": timed(
                        lambda: ots.search_transactions_before(SPARSE, 0, PAGE_SIZE)
                    ),
                }
            finally:
                small.close()
        worst = max(v["median_ms"] for v in result["ours"].values())
        result["worst_median_ms"] = worst
        result["goal_met"] = worst < result["goal_ms"]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
