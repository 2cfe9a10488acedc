"""What batch verification costs: ``python benchmarks/batch_verification.py``.

Two profiles, one after the other, each on a fresh anvil (automine) with our L1 state and the
``--dev`` pipeline timings (batch timeout 200 ms, fake provers without delay):

* ``plain``: a main node, no validator set on L1 — commits are ``commitBatchesSharedBridge``;
* ``multisig``: the chain admin sets a validator set of two with threshold 2; the main node
  collects signatures (``batch_verification_server_enabled``) from two external nodes that sign
  (``batch_verification_client_enabled``) — commits are ``commitBatchesMultisig``.

``--txs`` transfers are sent one at a time, each waited for until ``safe`` (committed on L1)
reaches its block, so every transfer is its own batch. Reported: the seconds each batch spent
collecting signatures (the main node's ``batch N signed by … in S s`` lines; batch 1 is left out,
it waits for the ENs to connect), receipt → ``safe`` per transfer in both profiles, and the L1
gas of each commit transaction (batch 1 carries the genesis upgrade and deposits, so it is
reported apart). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

from eth_abi import encode
from eth_account import Account
from web3 import Web3

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from benchmarks.load import Peer, free_port  # noqa: E402
from zkos_tw.batch_verification.digest import address_of_key  # noqa: E402
from zkos_tw.config import GenesisConfig  # noqa: E402
from zkos_tw.devnet.anvil import find_anvil  # noqa: E402
from zkos_tw.hashing import keccak256  # noqa: E402
from zkos_tw.l1.calldata import COMMIT_SELECTOR, MULTISIG_COMMIT_SELECTOR  # noqa: E402

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
GENESIS = os.path.join(REPO_ROOT, "genesis.json")
L1_STATE = os.path.join(REPO_ROOT, "zkos-l1-state.json")
SIGNER_KEYS = ["0x" + "a1" * 32, "0x" + "b2" * 32]
FAST = [
    "--batcher-batch-timeout", "200ms",
    "--prover-api-fake-fri-provers-min-age", "0s",
    "--prover-api-fake-fri-provers-compute-time", "100ms",
    "--prover-api-fake-snark-provers-max-batch-age", "0s",
]  # fmt: skip
COMMITS = {
    COMMIT_SELECTOR: "commitBatchesSharedBridge",
    MULTISIG_COMMIT_SELECTOR: "commitBatchesMultisig",
}


def node_args(workdir: str, name: str, l1_port: int, rpc_port: int, replay_port: int, extra):
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    return [
        twistd, "--pidfile=", "-n", "zkos",
        "--genesis-genesis-input-path", GENESIS,
        "--general-rocks-db-path", os.path.join(workdir, name, "db"),
        "--rpc-address", f"127.0.0.1:{rpc_port}",
        "--general-l1-rpc-url", f"http://127.0.0.1:{l1_port}",
        "--general-prometheus-port", str(free_port()),
        "--status-server-address", f"127.0.0.1:{free_port()}",
        "--sequencer-block-replay-server-address", f"127.0.0.1:{replay_port}",
        "--prover-api-address", f"127.0.0.1:{free_port()}",
        *extra,
    ]  # fmt: skip


def call_word(w3: Web3, to: str, signature: str, *words: bytes) -> bytes:
    data = keccak256(signature.encode())[:4] + b"".join(w.rjust(32, b"\0") for w in words)
    return bytes(w3.eth.call({"to": to, "data": "0x" + data.hex()}))


def set_policy(w3: Web3, validators: list[str], threshold: int) -> None:
    chain = (270).to_bytes(32, "big")
    bridgehub = Web3.to_checksum_address(GenesisConfig().bridgehub_address)
    diamond = Web3.to_checksum_address(call_word(w3, bridgehub, "getZKChain(uint256)", chain)[-20:])
    ctm = Web3.to_checksum_address(
        call_word(w3, bridgehub, "chainTypeManager(uint256)", chain)[-20:]
    )
    timelock = Web3.to_checksum_address(call_word(w3, ctm, "validatorTimelockPostV29()")[-20:])
    data = keccak256(b"setBatchVerification(address,address[],uint256)")[:4] + encode(
        ["address", "address[]", "uint256"], [diamond, validators, threshold]
    )
    account = Account.from_key(KEY)
    tx = {
        "to": timelock, "data": data, "gas": 500_000, "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address),
        "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash).status == 1


def run_profile(name: str, txs: int, timeout: float) -> dict:
    workdir = tempfile.mkdtemp(prefix=f"zkos-bench-2fa-{name}-")
    env = dict(os.environ)
    env.setdefault("ZKOS_TOOLS_DIR", os.path.join(REPO_ROOT, ".tools"))
    l1_port = free_port()
    peers: list[Peer] = []
    try:
        state = os.path.join(workdir, "l1-state.json")
        shutil.copyfile(L1_STATE, state)
        l1_url = f"http://127.0.0.1:{l1_port}"
        anvil = Peer(
            "anvil",
            [find_anvil(None), "--host", "127.0.0.1", "--port", str(l1_port), "--state", state],
            l1_url,
            workdir,
        )
        peers.append(anvil)
        l1 = Web3(Web3.HTTPProvider(l1_url))
        extra = list(FAST)
        bv_port = free_port()
        if name == "multisig":
            signers = sorted(
                Web3.to_checksum_address(address_of_key(bytes.fromhex(k[2:]))) for k in SIGNER_KEYS
            )
            set_policy(l1, signers, 2)
            extra += ["--batch-verification-server-enabled", "true",
                      "--batch-verification-address", f"127.0.0.1:{bv_port}"]  # fmt: skip
        rpc_port, replay_port = free_port(), free_port()
        os.makedirs(os.path.join(workdir, "main"))
        main = Peer(
            "main", node_args(workdir, "main", l1_port, rpc_port, replay_port, extra),
            f"http://127.0.0.1:{rpc_port}", workdir, env,
        )  # fmt: skip
        peers.append(main)
        if name == "multisig":
            for i, key in enumerate(SIGNER_KEYS):
                port = free_port()
                os.makedirs(os.path.join(workdir, f"en{i}"))
                peers.append(Peer(f"en{i}", node_args(workdir, f"en{i}", l1_port, port, free_port(), [
                    "--sequencer-block-replay-download-address", f"127.0.0.1:{replay_port}",
                    "--general-main-node-rpc-url", main.url,
                    "--batch-verification-client-enabled", "true",
                    "--batch-verification-address", f"127.0.0.1:{bv_port}",
                    "--batch-verification-signing-key", key,
                ]), f"http://127.0.0.1:{port}", workdir, env))  # fmt: skip
        result = measure(name, main.url, l1, txs, timeout)
        with open(main.log_path, "rb") as f:
            log = f.read().decode(errors="replace")
        signing = [
            (int(n), float(s))
            for n, s in re.findall(r"batch (\d+) signed by .* in ([\d.]+) s", log)
        ]
        steady = [s for n, s in signing if n > 1]
        if steady:
            result["signing_seconds"] = quantiles(steady)
            result["signing_seconds_batch_1"] = dict(signing).get(1)
        return result
    finally:
        for peer in reversed(peers):
            peer.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def measure(name: str, l2_url: str, l1: Web3, txs: int, timeout: float) -> dict:
    l2 = Web3(Web3.HTTPProvider(l2_url))
    account = Account.from_key(KEY)
    deadline = time.monotonic() + 60
    while l2.eth.get_balance(account.address) == 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"batch verification benchmark ({name}): never funded")
        time.sleep(0.1)
    nonce = l2.eth.get_transaction_count(account.address)
    to_safe = []
    for i in range(txs):
        signed = account.sign_transaction(
            {"to": "0x000000000000000000000000000000000000dEaD", "value": 1, "gas": 21_000,
             "nonce": nonce + i, "chainId": 270, "maxFeePerGas": 2000, "maxPriorityFeePerGas": 1}
        )  # fmt: skip
        tx_hash = l2.eth.send_raw_transaction(signed.raw_transaction)
        receipt = l2.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.02)
        included = time.monotonic()
        end = included + timeout
        while l2.eth.get_block("safe")["number"] < receipt.blockNumber:
            if time.monotonic() > end:
                raise SystemExit(f"({name}) block {receipt.blockNumber} not safe in {timeout} s")
            time.sleep(0.01)
        to_safe.append(time.monotonic() - included)
    return {"txs": txs, "receipt_to_safe_seconds": quantiles(to_safe), "commit_gas": commit_gas(l1)}


def quantiles(values: list[float]) -> dict:
    cuts = (
        statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    )
    return {
        "count": len(values),
        "p50": round(statistics.median(values), 4),
        "p99": round(cuts[98], 4),
        "max": round(max(values), 4),
    }


def commit_gas(l1: Web3) -> dict:
    """Gas of every commit transaction on L1, by function; batch 1 apart."""
    rows: dict[str, list[int]] = {}
    first: dict[str, int] = {}
    for number in range(1, l1.eth.block_number + 1):
        for tx in l1.eth.get_block(number, full_transactions=True).transactions:
            data = bytes(tx["input"])
            function = COMMITS.get(data[:4])
            if function is None:
                continue
            batch = int.from_bytes(data[36:68], "big")
            gas = l1.eth.get_transaction_receipt(tx["hash"]).gasUsed
            if batch == 1:
                first[function] = gas
            else:
                rows.setdefault(function, []).append(gas)
    return {
        function: {
            "batch_1": first.get(function),
            "batches": len(gas) + (function in first),
            "median_other_batches": int(statistics.median(gas)),
            "min": min(gas),
            "max": max(gas),
        }
        for function, gas in rows.items()
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--profiles", default="plain,multisig")
    args = parser.parse_args(argv)
    output = {"benchmark": "batch_verification", "machine": {"cpus": os.cpu_count()}}
    for name in args.profiles.split(","):
        output[name] = run_profile(name, args.txs, args.timeout)
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
