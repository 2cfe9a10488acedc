"""The real prover worker's speed and the time to ``finalized`` with it:
``python benchmarks/prover.py [--txs 5] [--load-txs 300]``.

One run: ``twistd zkos --dev`` with fake FRI provers off (``prover_api_trusted_signers`` = the
worker's address) and one ``zkosctl prover`` process.

1. ``--txs`` transfers, one at a time: seconds from each receipt to ``finalized`` reaching its
   block, proved by the one real worker (the fake SNARK prover and anvil do the rest).
2. ``--load-txs`` transactions in JSON-RPC batches of 50, half transfers and half calls of a contract
   that reads and writes a storage slot, then the wait until they are all ``finalized``.
3. From the worker's per-batch log lines: stateless re-execution (witness checks, the EVM over
   the witness, the new tree root and commitments) in gas/s and blocks/s, and prover input
   bytes per transaction.
4. The same blocks executed by the node, same run: the node's own VM time
   (``execution_tx_execution_seconds_sum`` and ``execution_gas_per_block`` from its
   ``/metrics``), and, after the node stopped, every block re-executed in this process over the
   node's LMDB state (the stateful path the node's replay uses) for gas/s and blocks/s.

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from eth_account import Account
from web3 import Web3

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from benchmarks.load import Peer, free_port  # noqa: E402

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
WORKER_KEY = "0x" + "5a" * 32
GENESIS = os.path.join(REPO_ROOT, "genesis.json")
L1_STATE = os.path.join(REPO_ROOT, "zkos-l1-state.json")
#: Adds 1 to slot 0 on every call; the creation code returns it.
COUNTER = bytes.fromhex("60005460010160005500")
COUNTER_INIT = b"\x69" + COUNTER + bytes.fromhex("600052600a6016f3")  # PUSH10; MSTORE; RETURN
DEAD = "0x000000000000000000000000000000000000dEaD"
INPUT_LINE = re.compile(r"batch (\d+): picked, prover input (\d+) bytes")
PROVED_LINE = re.compile(
    r"batch (\d+): (\d+) blocks, (\d+) txs, (\d+) gas re-executed in ([\d.]+) ms.*submit (\d+)"
)


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


class Run:
    def __init__(self, workdir: str):
        self.workdir = workdir
        self.rpc_port, self.metrics_port = free_port(), free_port()
        self.api_port = free_port()
        worker = Account.from_key(WORKER_KEY).address.lower()
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        env = dict(os.environ)
        env.setdefault("ZKOS_TOOLS_DIR", os.path.join(REPO_ROOT, ".tools"))
        self.node = Peer(
            "zkos",
            [
                twistd, "--pidfile=", "-n", "zkos", "--dev", "--dev-l1-state-path", L1_STATE,
                "--genesis-genesis-input-path", GENESIS,
                "--general-rocks-db-path", os.path.join(workdir, "db"),
                "--rpc-address", f"127.0.0.1:{self.rpc_port}",
                "--general-l1-rpc-url", f"http://127.0.0.1:{free_port()}",
                "--general-prometheus-port", str(self.metrics_port),
                "--status-server-address", f"127.0.0.1:{free_port()}",
                "--sequencer-block-replay-server-address", f"127.0.0.1:{free_port()}",
                "--prover-api-address", f"127.0.0.1:{self.api_port}",
                "--prover-api-fake-fri-provers-enabled", "false",
                "--prover-api-trusted-signers", worker,
            ],
            f"http://127.0.0.1:{self.rpc_port}",
            workdir,
            env,
        )  # fmt: skip
        key_file = os.path.join(workdir, "worker.key")
        with open(key_file, "w") as f:
            f.write(WORKER_KEY)
        self.worker_log_path = os.path.join(workdir, "worker.log")
        self._worker_log = open(self.worker_log_path, "wb")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "zkos_tw.cli.main", "prover", "--id", "bench",
             "--api", f"http://127.0.0.1:{self.api_port}", "--key", key_file],
            stdout=self._worker_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env,
        )  # fmt: skip
        self.l2 = Web3(Web3.HTTPProvider(self.node.url))
        self.account = Account.from_key(KEY)
        deadline = time.monotonic() + 60
        while self.l2.eth.get_balance(self.account.address) == 0:
            if time.monotonic() > deadline:
                raise SystemExit("prover benchmark: the rich account is never funded")
            time.sleep(0.1)
        self.nonce = self.l2.eth.get_transaction_count(self.account.address)

    def stop(self) -> None:
        if self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            self.worker.wait(20)
        self._worker_log.close()
        self.node.stop()

    def sign(self, to=None, data=b"", gas=21_000) -> bytes:
        tx = {"value": 0 if data else 1, "gas": gas, "nonce": self.nonce, "chainId": 270,
              "maxFeePerGas": 2000, "maxPriorityFeePerGas": 1, "data": data}  # fmt: skip
        if to is not None:
            tx["to"] = to
        self.nonce += 1
        return self.account.sign_transaction(tx).raw_transaction

    def send(self, raws: list[bytes]) -> list:
        """Submit ``raws`` in one JSON-RPC batch (so blocks hold many) and wait for them."""
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
             "params": ["0x" + bytes(raw).hex()]}
            for i, raw in enumerate(raws)
        ]  # fmt: skip
        request = urllib.request.Request(
            self.node.url, json.dumps(batch).encode(), {"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answers = sorted(json.loads(response.read()), key=lambda a: a["id"])
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise SystemExit(f"prover benchmark: transactions refused: {errors[:3]}")
        hashes = [a["result"] for a in answers]
        receipts = [
            self.l2.eth.wait_for_transaction_receipt(h, timeout=60, poll_latency=0.02)
            for h in hashes
        ]
        failed = [r for r in receipts if r.status != 1]
        if failed:
            raise SystemExit(f"prover benchmark: transactions failed: {failed}")
        return receipts

    def wait_finalized(self, block: int, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while self.l2.eth.get_block("finalized")["number"] < block:
            if time.monotonic() > deadline or self.worker.poll() is not None:
                raise SystemExit(f"prover benchmark: block {block} not finalized")
            time.sleep(0.02)

    def finality(self, txs: int) -> list[float]:
        seconds = []
        for _ in range(txs):
            (receipt,) = self.send([self.sign(DEAD)])
            included = time.monotonic()
            self.wait_finalized(receipt.blockNumber)
            seconds.append(time.monotonic() - included)
        return seconds

    def load(self, txs: int) -> dict:
        (deployed,) = self.send([self.sign(data=COUNTER_INIT, gas=100_000)])
        counter = deployed.contractAddress
        started = time.monotonic()
        last = 0
        for start in range(0, txs, 50):
            raws = [
                self.sign(counter, b"\1", 60_000) if i % 2 else self.sign(DEAD)
                for i in range(start, min(txs, start + 50))
            ]
            last = max(last, max(r.blockNumber for r in self.send(raws)))
        included = time.monotonic()
        self.wait_finalized(last)
        return {
            "txs": txs,
            "included_seconds": round(included - started, 3),
            "finalized_seconds": round(time.monotonic() - started, 3),
            "last_block": last,
        }

    def node_metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode()


def worker_numbers(log: str) -> dict:
    inputs = {int(n): int(size) for n, size in INPUT_LINE.findall(log)}
    proved = [m for m in PROVED_LINE.findall(log) if m[5] == "204"]
    blocks = sum(int(m[1]) for m in proved)
    txs = sum(int(m[2]) for m in proved)
    gas = sum(int(m[3]) for m in proved)
    seconds = sum(float(m[4]) for m in proved) / 1000
    input_bytes = sum(inputs[int(m[0])] for m in proved if int(m[0]) in inputs)
    return {
        "batches": len(proved),
        "blocks": blocks,
        "txs": txs,
        "gas": gas,
        "seconds": round(seconds, 3),
        "gas_per_second": round(gas / seconds) if seconds else None,
        "blocks_per_second": round(blocks / seconds, 1) if seconds else None,
        "prover_input_bytes": input_bytes,
        "prover_input_bytes_per_tx": round(input_bytes / txs) if txs else None,
    }


def stateful_reexecution(db: str, last_block: int) -> dict:
    """Every block 1..=last re-executed over the node's stored state before it."""
    from zkos_tw.prover_api.reexecute import execute_block
    from zkos_tw.sequencer.wal import ReplayRecord
    from zkos_tw.state.view import FlatState
    from zkos_tw.storage.lmdb_storage import LMDBStorage

    storage = LMDBStorage(db, readonly=True)
    try:
        gas = blocks = 0
        seconds = 0.0
        for number in range(1, last_block + 1):
            record = ReplayRecord.decode(storage.wal_record(number))
            state = FlatState(storage.state_at(number - 1), storage.preimage_store())
            started = time.perf_counter()
            block = execute_block(record.context, record.transactions, state)
            seconds += time.perf_counter() - started
            if block.output_hash() != record.block_output_hash:
                raise SystemExit(f"prover benchmark: block {number} re-executed differently")
            gas += block.header.gas_used
            blocks += 1
    finally:
        storage.close()
    return {
        "blocks": blocks,
        "gas": gas,
        "seconds": round(seconds, 3),
        "gas_per_second": round(gas / seconds) if seconds else None,
        "blocks_per_second": round(blocks / seconds, 1) if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=5, help="transfers timed to finalized")
    parser.add_argument("--load-txs", type=int, default=300, help="transactions of the load")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="zkos-bench-prover-")
    try:
        run = Run(workdir)
        try:
            finality = run.finality(args.txs)
            load = run.load(args.load_txs)
            metrics = run.node_metrics()
            last_block = run.l2.eth.block_number
        finally:
            run.stop()
        with open(run.worker_log_path, errors="replace") as f:
            worker = worker_numbers(f.read())
        vm_seconds = metric(metrics, "execution_tx_execution_seconds_sum")
        node_gas = metric(metrics, "execution_gas_per_block_sum")
        node_blocks = metric(metrics, "execution_gas_per_block_count")
        node = {
            "blocks": int(node_blocks),
            "gas": int(node_gas),
            "vm_seconds": round(vm_seconds, 3),
            "gas_per_second": round(node_gas / vm_seconds) if vm_seconds else None,
            "blocks_per_second": round(node_blocks / vm_seconds, 1) if vm_seconds else None,
        }
        stateful = stateful_reexecution(os.path.join(workdir, "db"), last_block)
        result = {
            "time_to_finalized_seconds_one_worker": {
                "txs": len(finality),
                "min": round(min(finality), 3),
                "median": round(sorted(finality)[len(finality) // 2], 3),
                "max": round(max(finality), 3),
            },
            "load": load,
            "worker_stateless_reexecution": worker,
            "node_sequencer_vm_execution": node,
            "node_stateful_reexecution_from_lmdb": stateful,
        }
        if worker["gas_per_second"] and stateful["gas_per_second"]:
            result["stateless_vs_stateful_gas_per_second"] = round(
                worker["gas_per_second"] / stateful["gas_per_second"], 3
            )
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
