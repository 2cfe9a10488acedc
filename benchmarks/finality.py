"""Time to ``safe`` and ``finalized``, and L1 gas per batch: ``python benchmarks/finality.py``.

Two profiles in one run, one after the other, each with a fresh data directory:

* ``dev``: ``twistd zkos --dev`` as a dApp developer runs it (embedded anvil, automine, the
  shortened pipeline timings of ``zkos_tw.config.DEV_DEFAULTS``);
* ``reference``: the reference's pipeline timings (batch timeout 1 s, fake FRI min age 3 s +
  compute 2 s, fake SNARK max age 10 s) against an external anvil mining a block every second,
  the setting the reference's "finalized roughly 12-20 s after inclusion" comes from (§5.6).

For each of ``--txs`` transfers, sent one at a time, it measures the seconds from the moment
its receipt is visible to the moment ``safe`` and then ``finalized`` reach its block. Then it
reads every operator transaction on L1 and reports gas per commit / prove / execute
transaction and per batch. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from eth_account import Account
from web3 import Web3

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from benchmarks.load import Peer, free_port  # noqa: E402
from zkos_tw.devnet.anvil import find_anvil  # noqa: E402
from zkos_tw.l1.calldata import COMMIT_SELECTOR, EXECUTE_SELECTOR, PROVE_SELECTOR  # noqa: E402

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
GENESIS = os.path.join(REPO_ROOT, "genesis.json")
L1_STATE = os.path.join(REPO_ROOT, "zkos-l1-state.json")
REFERENCE_TIMINGS = [
    "--batcher-batch-timeout", "1s",
    "--prover-api-fake-fri-provers-min-age", "3s",
    "--prover-api-fake-fri-provers-compute-time", "2s",
    "--prover-api-fake-snark-provers-max-batch-age", "10s",
]  # fmt: skip
SELECTORS = {COMMIT_SELECTOR: "commit", PROVE_SELECTOR: "prove", EXECUTE_SELECTOR: "execute"}


def node_args(workdir: str, l1_port: int, rpc_port: int, dev: bool) -> list[str]:
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    args = [
        twistd, "--pidfile=", "-n", "zkos",
        "--genesis-genesis-input-path", GENESIS,
        "--general-rocks-db-path", os.path.join(workdir, "db"),
        "--rpc-address", f"127.0.0.1:{rpc_port}",
        "--general-l1-rpc-url", f"http://127.0.0.1:{l1_port}",
        "--general-prometheus-port", str(free_port()),
        "--status-server-address", f"127.0.0.1:{free_port()}",
        "--sequencer-block-replay-server-address", f"127.0.0.1:{free_port()}",
        "--prover-api-address", f"127.0.0.1:{free_port()}",
    ]  # fmt: skip
    if dev:
        return args + ["--dev", "--dev-l1-state-path", L1_STATE]
    return args + REFERENCE_TIMINGS


def run_profile(name: str, txs: int, timeout: float) -> dict:
    workdir = tempfile.mkdtemp(prefix=f"zkos-bench-finality-{name}-")
    dev = name == "dev"
    l1_port, rpc_port = free_port(), free_port()
    anvil = None
    env = dict(os.environ)
    env.setdefault("ZKOS_TOOLS_DIR", os.path.join(REPO_ROOT, ".tools"))
    try:
        if not dev:
            state = os.path.join(workdir, "l1-state.json")
            shutil.copyfile(L1_STATE, state)
            anvil = Peer(
                "anvil",
                [find_anvil(None), "--host", "127.0.0.1", "--port", str(l1_port),
                 "--state", state, "--block-time", "1"],
                f"http://127.0.0.1:{l1_port}",
                workdir,
            )  # fmt: skip
        node = Peer(
            "zkos", node_args(workdir, l1_port, rpc_port, dev), f"http://127.0.0.1:{rpc_port}",
            workdir, env,
        )  # fmt: skip
        try:
            return measure(name, node.url, f"http://127.0.0.1:{l1_port}", txs, timeout)
        finally:
            node.stop()
    finally:
        if anvil is not None:
            anvil.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def measure(name: str, l2_url: str, l1_url: str, txs: int, timeout: float) -> dict:
    l2, l1 = Web3(Web3.HTTPProvider(l2_url)), Web3(Web3.HTTPProvider(l1_url))
    account = Account.from_key(KEY)
    deadline = time.monotonic() + 60
    while l2.eth.get_balance(account.address) == 0:  # block 1: the L1 state's deposits
        if time.monotonic() > deadline:
            raise SystemExit(f"finality benchmark ({name}): the rich account is never funded")
        time.sleep(0.1)
    nonce = l2.eth.get_transaction_count(account.address)
    to_safe, to_finalized = [], []
    for i in range(txs):
        signed = account.sign_transaction(
            {"to": "0x000000000000000000000000000000000000dEaD", "value": 1, "gas": 21_000,
             "nonce": nonce + i, "chainId": 270, "maxFeePerGas": 2000, "maxPriorityFeePerGas": 1}
        )  # fmt: skip
        tx_hash = l2.eth.send_raw_transaction(signed.raw_transaction)
        receipt = l2.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.02)
        included = time.monotonic()
        block = receipt.blockNumber
        safe_at = None
        end = included + timeout
        while time.monotonic() < end:
            if safe_at is None and l2.eth.get_block("safe")["number"] >= block:
                safe_at = time.monotonic()
            if l2.eth.get_block("finalized")["number"] >= block:
                if safe_at is None:
                    safe_at = time.monotonic()
                break
            time.sleep(0.02)
        else:
            raise SystemExit(f"finality benchmark ({name}): block {block} not final in {timeout} s")
        to_safe.append(safe_at - included)
        to_finalized.append(time.monotonic() - included)
    return {
        "txs": txs,
        "to_safe_seconds": summary(to_safe),
        "to_finalized_seconds": summary(to_finalized),
        "l1_gas": l1_gas(l1),
    }


def summary(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def l1_gas(l1: Web3) -> dict:
    """Gas per operator transaction and per batch, by operation, over the whole L1 chain."""
    found: dict[str, list[tuple[int, int]]] = {op: [] for op in SELECTORS.values()}
    for number in range(1, l1.eth.block_number + 1):
        for tx in l1.eth.get_block(number, full_transactions=True).transactions:
            data = bytes(tx["input"])
            op = SELECTORS.get(data[:4])
            if op is None:
                continue
            first = int.from_bytes(data[36:68], "big")
            last = int.from_bytes(data[68:100], "big")
            gas = l1.eth.get_transaction_receipt(tx["hash"]).gasUsed
            found[op].append((gas, last - first + 1))
    out = {}
    for op, rows in found.items():
        if not rows:
            continue
        batches = sum(b for _, b in rows)
        out[op] = {
            "transactions": len(rows),
            "batches": batches,
            "median_gas_per_tx": int(statistics.median(g for g, _ in rows)),
            "gas_per_batch": round(sum(g for g, _ in rows) / batches),
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--profiles", default="dev,reference")
    args = parser.parse_args(argv)
    output = {"benchmark": "finality", "machine": {"cpus": os.cpu_count()}}
    for name in args.profiles.split(","):
        output[name] = run_profile(name, args.txs, args.timeout)
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
