"""Replay-stream throughput over ``tcp:``, TLS (``ssl:``/``tls:``) and ``nacl:`` in one run.

``python benchmarks/transports.py [--records N] [--txs K] [--tx-size B] [--repeat R]`` stores N
replay records (K transactions of B random bytes each, plus the 256 block hashes every record
carries) in a ``MemoryStorage`` WAL, then for each transport starts the real replay server
(``ReplayServerFactory``) on a loopback socket and the real ``ReplayClientService`` from block 1,
and times until the client has decoded the last record. Server and client share this process
and its reactor (one core), so the figure is what the transport costs on top of framing and
decoding, not a network's speed. Best of R runs per transport; prints one JSON object with
records/s, MB/s and each transport's ratio to ``tcp``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString, serverFromString

from zkos_tw.replay.client import ReplayClientService
from zkos_tw.replay.server import ReplayServerFactory
from zkos_tw.sequencer.blocks import BlockContext
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.storage import BlockWrite
from zkos_tw.testing.memory_storage import MemoryStorage
from zkos_tw.testing.tls import TestCA
from zkos_tw.transports import keys

TRANSPORTS = ("tcp", "tls", "nacl")


def make_storage(records: int, txs: int, tx_size: int) -> tuple[MemoryStorage, int]:
    """A WAL of blocks 1..records; (the storage, the bytes of one encoded record)."""
    storage = MemoryStorage()
    size = 0
    for number in range(1, records + 1):
        context = BlockContext(
            chain_id=270,
            number=number,
            block_hashes=tuple(os.urandom(32) for _ in range(256)),
            timestamp=1_700_000_000 + number,
            base_fee=1000,
            pubdata_price=0,
            native_price=1,
            coinbase=bytes(20),
            gas_limit=100_000_000,
            pubdata_limit=110_000,
            mix_hash=bytes(32),
            execution_version=3,
        )
        transactions = tuple(b"\x02" + os.urandom(tx_size - 1) for _ in range(txs))
        record = ReplayRecord(context, 0, transactions, context.timestamp - 1, "0.1.0", bytes(32))
        wal = record.encode()
        size = len(wal)
        storage.write_block(BlockWrite(number, number.to_bytes(32, "big"), wal, b"b"))
    return storage, size


class Endpoints:
    """Server and client endpoint strings per transport, with their keys and certificates."""

    def __init__(self, directory: str):
        ca = TestCA(os.path.join(directory, "ca"))
        self.cert, self.key = ca.issue("server", ("main.zkos.test", "127.0.0.1"))
        self.trust = ca.trust_dir
        self.server_key = os.path.join(directory, "server.key")
        self.client_key = os.path.join(directory, "client.key")
        self.server_pub = bytes(keys.write_key_file(self.server_key).verify_key).hex()
        self.client_pub = bytes(keys.write_key_file(self.client_key).verify_key).hex()

    def server(self, transport: str) -> str:
        return {
            "tcp": "tcp:0:interface=127.0.0.1",
            "tls": f"ssl:0:interface=127.0.0.1:privateKey={self.key}:certKey={self.cert}",
            "nacl": f"nacl:tcp\\:0\\:interface\\=127.0.0.1:key={self.server_key}"
            f":allow={self.client_pub}",
        }[transport]

    def client(self, transport: str, port: int) -> str:
        return {
            "tcp": f"tcp:host=127.0.0.1:port={port}",
            "tls": f"tls:main.zkos.test:{port}:trustRoots={self.trust}"
            f":endpoint=tcp\\:127.0.0.1\\:{port}",
            "nacl": f"nacl:tcp\\:host\\=127.0.0.1\\:port\\={port}:key={self.client_key}"
            f":server={self.server_pub}",
        }[transport]


async def run_once(reactor, storage, records: int, endpoints: Endpoints, transport: str) -> float:
    """Seconds from the client's start until it decoded record ``records``."""
    factory = ReplayServerFactory(storage, reactor)
    port = await serverFromString(reactor, endpoints.server(transport)).listen(factory)
    done = defer.Deferred()
    count = 0

    def on_record(record):
        nonlocal count
        count += 1
        if record.context.number == records:
            done.callback(None)

    endpoint = clientFromString(reactor, endpoints.client(transport, port.getHost().port))
    client = ReplayClientService(reactor, endpoint, 1, on_record)
    started = time.perf_counter()
    client.startService()
    try:
        await done
        elapsed = time.perf_counter() - started
    finally:
        await client.stopService()
        for session in list(factory.sessions):
            session.transport.abortConnection()
        await port.stopListening()
    if count != records:
        raise AssertionError(f"{transport}: {count} records, expected {records}")
    return elapsed


async def measure(reactor, options) -> dict:
    storage, record_bytes = make_storage(options.records, options.txs, options.tx_size)
    with tempfile.TemporaryDirectory() as directory:
        endpoints = Endpoints(directory)
        best: dict[str, float] = {}
        for _ in range(options.repeat):
            for transport in TRANSPORTS:  # interleaved, so drift hits every transport alike
                seconds = await run_once(reactor, storage, options.records, endpoints, transport)
                best[transport] = min(best.get(transport, seconds), seconds)
    total = options.records * record_bytes
    report = {
        "benchmark": "transports",
        "records": options.records,
        "record_bytes": record_bytes,
        "transactions_per_record": options.txs,
        "repeat": options.repeat,
        "transports": {},
    }
    for transport in TRANSPORTS:
        seconds = best[transport]
        report["transports"][transport] = {
            "seconds": round(seconds, 4),
            "records_per_second": round(options.records / seconds, 1),
            "mb_per_second": round(total / seconds / 1e6, 2),
            "throughput_ratio_to_tcp": round(best["tcp"] / seconds, 3),
        }
    return report


def main(argv=None) -> None:
    """Parse the options, measure, print the JSON report; exits (``task.react``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--txs", type=int, default=50, help="transactions per record")
    parser.add_argument("--tx-size", type=int, default=110, help="bytes per transaction")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    if min(options.records, options.txs, options.repeat) < 1 or options.tx_size < 2:
        parser.error("--records, --txs and --repeat must be at least 1, --tx-size at least 2")

    async def run(reactor):
        print(json.dumps(await measure(reactor, options), indent=2))

    task.react(lambda reactor: defer.ensureDeferred(run(reactor)), [])


if __name__ == "__main__":
    main()
