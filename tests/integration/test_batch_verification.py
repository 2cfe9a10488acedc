"""Batch verification end to end (issue #14): a real anvil with our L1 state and a validator set
of two with threshold 2, a main node collecting signatures, two external nodes signing.

Batches are committed through ``commitBatchesMultisig`` and executed; with one EN stopped the
next commit waits and ``/status/health`` says why; restarted, it signs and the commits resume.
A third EN signs with a key outside the set: the main node drops its signatures (they never
make up for the stopped EN); with one block of its data changed it refuses the held batch,
naming ``da_commitment``. The signing latency per batch (from the main node's log) and the L1 gas of the multisig commits
are written to ``batch_verification_measurements.json`` in the test's directory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import time

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3

from tests.integration.node_process import NodeProcess, free_port, require_anvil, sleep
from tests.integration.test_l1_node import CAROL, KEY, L1_STATE, RICH
from tests.integration.test_rollup_pipeline import FAST
from zkos_tw.batch_verification.digest import address_of_key
from zkos_tw.config import GenesisConfig
from zkos_tw.hashing import keccak256
from zkos_tw.l1.calldata import MULTISIG_COMMIT_SELECTOR
from zkos_tw.storage import codecs
from zkos_tw.storage.lmdb_storage import LMDBStorage

BRIDGEHUB = GenesisConfig().bridgehub_address
SIGNER_KEYS = ["0x" + "a1" * 32, "0x" + "b2" * 32]
#: An EN signing with a key outside L1's validator set: its signatures must not count.
OUTSIDER_KEY = "0x" + "c3" * 32
BLOCK_COMMIT = "0x" + keccak256(b"BlockCommit(uint256,bytes32,bytes32)").hex()


def word_call(w3: Web3, to: str, signature: str, *args: bytes) -> bytes:
    data = keccak256(signature.encode())[:4] + b"".join(a.rjust(32, b"\0") for a in args)
    return bytes(w3.eth.call({"to": to, "data": "0x" + data.hex()}))


def address_word(raw: bytes) -> str:
    return Web3.to_checksum_address(raw[-20:])


def l1_addresses(w3: Web3) -> tuple[str, str]:
    """(diamond proxy, validator timelock) of chain 270, as the node's discovery finds them."""
    chain = (270).to_bytes(32, "big")
    bridgehub = Web3.to_checksum_address(BRIDGEHUB)
    diamond = address_word(word_call(w3, bridgehub, "getZKChain(uint256)", chain))
    ctm = address_word(word_call(w3, bridgehub, "chainTypeManager(uint256)", chain))
    timelock = address_word(word_call(w3, ctm, "validatorTimelockPostV29()"))
    return diamond, timelock


def set_policy(w3: Web3, timelock: str, diamond: str, validators: list[str], threshold: int):
    """The chain admin (the deployer) sets the validator set and threshold."""
    from eth_abi import encode

    data = keccak256(b"setBatchVerification(address,address[],uint256)")[:4] + encode(
        ["address", "address[]", "uint256"], [diamond, validators, threshold]
    )
    account = Account.from_key(KEY)
    tx = {
        "to": timelock, "data": data, "gas": 500_000, "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address),
        "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )
    assert receipt.status == 1, receipt


def counter(w3: Web3, diamond: str, name: str) -> int:
    return int.from_bytes(word_call(w3, diamond, f"{name}()"), "big")


def tamper_pubdata(path: str, block: int) -> None:
    """Flip one bit of a stopped node's stored pubdata of ``block`` (storage internals: the
    node has no way to write a different block on purpose)."""
    storage = LMDBStorage(path)
    try:
        changed = bytearray(storage.block_pubdata(block))
        changed[-1] ^= 1
        with storage._env.begin(write=True) as txn:
            txn.put(
                codecs.block_key(block),
                codecs.encode_envelope_v1(bytes(changed)),
                db=storage._dbs[codecs.PUBDATA_DB],
            )
    finally:
        storage.close()


class BatchVerificationTests(TestCase):
    timeout = 150

    def start_anvil(self, workdir: str) -> int:
        state = os.path.join(workdir, "l1-state.json")
        with open(L1_STATE, "rb") as src, open(state, "wb") as dst:
            dst.write(src.read())
        port = free_port()
        anvil = subprocess.Popen(
            [require_anvil(), "--host", "127.0.0.1", "--port", str(port), "--state", state],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(lambda: anvil.poll() is None and anvil.kill())
        return port

    def node(self, path, port, args) -> NodeProcess:
        node = NodeProcess(path, ["--general-l1-rpc-url", f"http://127.0.0.1:{port}", *args],
                           dev=False, l1_port=port)  # fmt: skip
        self.addCleanup(node.cleanup)
        return node

    async def wait_for(self, what: str, check, timeout: float = 40.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await check()
            if value:
                return value
            await sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    async def test_two_signers_threshold_two(self):
        """Commits need both ENs: multisig commits finalize; one EN down holds the next commit
        (health says why); back up, the commits resume."""
        workdir = os.path.abspath(self.mktemp())
        os.makedirs(workdir)
        port = self.start_anvil(workdir)
        l1 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        await deferToThread(self._wait_l1, l1)
        diamond, timelock = await deferToThread(l1_addresses, l1)
        signers = sorted(
            Web3.to_checksum_address(address_of_key(bytes.fromhex(k[2:]))) for k in SIGNER_KEYS
        )
        await deferToThread(set_policy, l1, timelock, diamond, signers, 2)

        bv_port = free_port()
        main = self.node(os.path.join(workdir, "main"), port, [
            *FAST,
            "--batch-verification-server-enabled", "true",
            "--batch-verification-address", f"127.0.0.1:{bv_port}",
            "--batch-verification-request-timeout", "1s",
            "--batch-verification-retry-delay", "200ms",
            "--batch-verification-total-timeout", "2s",
        ])  # fmt: skip
        main.start()
        await main.wait_healthy()
        ens = []
        for i, key in enumerate([*SIGNER_KEYS, OUTSIDER_KEY]):
            en = self.node(os.path.join(workdir, f"en{i}"), port, [
                "--sequencer-block-replay-download-address", f"127.0.0.1:{main.replay_port}",
                "--general-main-node-rpc-url", main.rpc_url,
                "--batch-verification-client-enabled", "true",
                "--batch-verification-address", f"127.0.0.1:{bv_port}",
                "--batch-verification-signing-key", key,
            ])  # fmt: skip
            en.start()
            ens.append(en)
        for en in ens:
            await en.wait_healthy()
        l2 = Web3(Web3.HTTPProvider(main.rpc_url))
        account = Account.from_key(KEY)
        self.nonce = None

        def send(count: int) -> int:
            """``count`` transfers on L2; the block of the last one."""
            while l2.eth.get_balance(RICH) == 0:  # block 1 holds the deposits
                time.sleep(0.1)
            if self.nonce is None:
                self.nonce = l2.eth.get_transaction_count(RICH)
            hashes = []
            for _ in range(count):
                signed = account.sign_transaction(
                    {"to": CAROL, "value": 1, "gas": 21_000, "nonce": self.nonce,
                     "chainId": 270, "maxFeePerGas": 2000, "maxPriorityFeePerGas": 1}
                )  # fmt: skip
                self.nonce += 1
                hashes.append(l2.eth.send_raw_transaction(signed.raw_transaction))
                time.sleep(0.3)  # a few blocks, so a few batches
            receipts = [l2.eth.wait_for_transaction_receipt(h, timeout=30) for h in hashes]
            return max(r.blockNumber for r in receipts)

        await deferToThread(send, 6)

        async def committed(at_least):
            value = await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted")
            return value if value >= at_least else None

        async def executed(at_least):
            value = await deferToThread(counter, l1, diamond, "getTotalBatchesExecuted")
            return value if value >= at_least else None

        first = await self.wait_for("3 batches committed", lambda: committed(3))
        await self.wait_for("the batches executed", lambda: executed(first))

        # -- one signer down: the next commit waits, health says why ---------------------------
        ens[1].signal(signal.SIGTERM)
        await ens[1].wait_exit()
        await deferToThread(send, 1)

        async def waiting():
            answer = await main.health()
            section = answer and answer[1].get("batch_verification")
            if section and section["waiting"] and answer[1]["problems"]:
                return answer
            return None

        code, report = await self.wait_for("a commit waiting for signatures", waiting)
        self.assertEqual(code, 503)
        held = report["batch_verification"]["waiting"]
        self.assertIn("waiting for signatures: 1 of 2, 2 signers connected", held["reason"])
        self.assertTrue(
            any("batch verification: commit of batch" in p for p in report["problems"]),
            report["problems"],
        )
        self.assertEqual(report["batch_verification"]["source"], "L1")
        before = await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted")
        self.assertLess(before, held["batch"])
        await sleep(1.5)
        still = await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted")
        self.assertLess(still, held["batch"], "committed without the second signature")

        # -- the outsider EN's data made to differ: it refuses, naming the field -------------
        outsider_en = ens[2]
        l2_main = Web3(Web3.HTTPProvider(main.rpc_url))
        block_range = await deferToThread(
            l2_main.provider.make_request, "zks_getL1BatchBlockRange", [held["batch"]]
        )
        held_block = int(block_range["result"][1], 16)
        await self.wait_for(
            "the outsider EN has the held block", self._has_block(outsider_en, held_block)
        )
        outsider_en.signal(signal.SIGTERM)
        await outsider_en.wait_exit()
        await deferToThread(tamper_pubdata, os.path.join(outsider_en.workdir, "db"), held_block)
        outsider_en.start()
        await outsider_en.wait_healthy()
        refusal = f"batch {held['batch']} refused by "
        await self.wait_for("the refusal", self._logged(main, refusal), 15)
        line = next(x for x in main.output().splitlines() if refusal in x)
        self.assertIn(f"batch {held['batch']}: da_commitment differs: main node 0x", line)
        self.assertIn("refused", (await main.health())[1]["batch_verification"]["last_refusal"])

        # -- back up: it signs, the commits resume ------------------------------------------
        ens[1].start()
        await ens[1].wait_healthy()
        await self.wait_for("the held batch committed", lambda: committed(held["batch"]), 30)
        await self.wait_for("the held batch executed", lambda: executed(held["batch"]), 30)
        await self.wait_for("healthy again", self._healthy(main))

        # -- every commit went through commitBatchesMultisig ---------------------------------
        last = await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted")
        gas = await deferToThread(self._commit_gas, l1, diamond, last)
        self.assertEqual(sorted(gas), list(range(1, last + 1)))
        seconds = [
            float(s)
            for s in re.findall(r"batch \d+ signed by \S+, \S+ in ([\d.]+) s", main.output())
        ]
        self.assertGreaterEqual(len(seconds), last)
        for en in ens:
            self.assertIn("batch verification: signed batch", en.output())
        outsider = Web3.to_checksum_address(address_of_key(bytes.fromhex(OUTSIDER_KEY[2:])))
        self.assertIn(f"dropping the signature of {outsider.lower()} from", main.output())
        self.assertNotIn(outsider.lower(), " ".join(re.findall(r"signed by .*", main.output())))
        quantiles = statistics.quantiles(seconds, n=100, method="inclusive")
        with open(os.path.join(workdir, "batch_verification_measurements.json"), "w") as f:
            json.dump(
                {
                    "signing_seconds": seconds,
                    "signing_p50": statistics.median(seconds),
                    "signing_p99": quantiles[98],
                    "multisig_commit_gas": gas,
                },
                f,
                indent=1,
            )

    def _has_block(self, node, number):
        async def check():
            l2 = Web3(Web3.HTTPProvider(node.rpc_url))
            return await deferToThread(lambda: l2.eth.block_number >= number)

        return check

    def _logged(self, node, text):
        async def check():
            return text in node.output()

        return check

    def _healthy(self, node):
        async def check():
            answer = await node.health()
            return answer is not None and answer[0] == 200

        return check

    def _wait_l1(self, w3: Web3) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                w3.eth.get_block_number()
                return
            except Exception:  # noqa: BLE001 - anvil starting
                assert time.monotonic() < deadline, "anvil did not start"
                time.sleep(0.1)

    def _commit_gas(self, w3: Web3, diamond: str, last: int) -> dict[int, int]:
        """batch -> gas used of its commit; each commit must be a commitBatchesMultisig."""
        logs = w3.eth.get_logs({"address": diamond, "topics": [BLOCK_COMMIT], "fromBlock": 0})
        gas = {}
        for entry in logs:
            number = int.from_bytes(entry["topics"][1], "big")
            tx = w3.eth.get_transaction(entry["transactionHash"])
            assert bytes(tx["input"])[:4] == MULTISIG_COMMIT_SELECTOR, (number, tx["input"][:4])
            assert number not in gas, f"batch {number} committed twice"
            gas[number] = w3.eth.get_transaction_receipt(entry["transactionHash"]).gasUsed
        return gas
