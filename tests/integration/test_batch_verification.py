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
from zkos_tw.l1.calldata import COMMIT_SELECTOR, MULTISIG_COMMIT_SELECTOR
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

    async def start_network(self, keys, main_args=(), policy=True):
        """anvil with a 2-of-2 validator set of ``SIGNER_KEYS`` (without ``policy``: none yet,
        ``self.set_policy()`` sets it), a main node collecting signatures and one signing EN
        per key in ``keys``, all healthy."""
        self.workdir = workdir = os.path.abspath(self.mktemp())
        os.makedirs(workdir)
        port = self.start_anvil(workdir)
        self.l1 = l1 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        await deferToThread(self._wait_l1, l1)
        self.diamond, self.timelock = await deferToThread(l1_addresses, l1)
        if policy:
            await self.set_policy()

        bv_port = free_port()
        main = self.node(os.path.join(workdir, "main"), port, [
            *FAST,
            "--batch-verification-server-enabled", "true",
            "--batch-verification-address", f"127.0.0.1:{bv_port}",
            "--batch-verification-request-timeout", "1s",
            "--batch-verification-retry-delay", "200ms",
            "--batch-verification-total-timeout", "2s",
            *main_args,
        ])  # fmt: skip
        main.start()
        await main.wait_healthy()
        ens = []
        for i, key in enumerate(keys):
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
        self.l2 = Web3(Web3.HTTPProvider(main.rpc_url))
        self.nonce = None
        return main, ens

    async def set_policy(self):
        """The chain admin sets the 2-of-2 set of ``SIGNER_KEYS``."""
        signers = sorted(
            Web3.to_checksum_address(address_of_key(bytes.fromhex(k[2:]))) for k in SIGNER_KEYS
        )
        await deferToThread(set_policy, self.l1, self.timelock, self.diamond, signers, 2)

    def send(self, count: int, pause: float = 0.3) -> int:
        """``count`` transfers on L2, ``pause`` s apart; the block of the last one."""
        l2, account = self.l2, Account.from_key(KEY)
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
            time.sleep(pause)  # a few blocks, so a few batches
        receipts = [l2.eth.wait_for_transaction_receipt(h, timeout=30) for h in hashes]
        return max(r.blockNumber for r in receipts)

    async def committed(self, at_least):
        value = await deferToThread(counter, self.l1, self.diamond, "getTotalBatchesCommitted")
        return value if value >= at_least else None

    async def executed(self, at_least):
        value = await deferToThread(counter, self.l1, self.diamond, "getTotalBatchesExecuted")
        return value if value >= at_least else None

    async def test_two_signers_threshold_two(self):
        """Commits need both ENs: multisig commits finalize; one EN down holds the next commit
        (health says why); back up, the commits resume."""
        main, ens = await self.start_network([*SIGNER_KEYS, OUTSIDER_KEY])
        l1, diamond, workdir = self.l1, self.diamond, self.workdir
        send, committed, executed = self.send, self.committed, self.executed

        await deferToThread(send, 6)

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

    async def test_kills_mid_signing(self):
        """kill -9 of a validator EN mid-signing, of the main node while a commit waits for
        signatures and while they are being collected: after each restart the batches L1
        already has bypass signing, every batch is committed exactly once, none is skipped,
        and the chain finalizes. The main node starts before L1 has a validator set and
        follows it once set; an outsider's signature sent straight to L1 is rejected."""
        # No SNARKs until the last restart (batches must be an hour old): both kills leave
        # commits not yet executed, which a restart must not sign or commit again.
        main, ens = await self.start_network(
            SIGNER_KEYS,
            # No L1 set yet: threshold 0 in config, plain commits until L1 has one.
            ["--prover-api-fake-snark-provers-max-batch-age", "1h",
             "--batch-verification-threshold", "0"],
            policy=False,
        )  # fmt: skip
        l1, diamond = self.l1, self.diamond
        await deferToThread(self.send, 2)
        await self.wait_for("2 batches committed", lambda: self.committed(2))

        # -- L1 gets its validator set only now: the next plain commit reverts with
        # MultisigRequired, the node re-reads the policy and commits it signed --------------
        await self.set_policy()
        plain = await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted")
        await deferToThread(self.send, 1, 0)
        await self.wait_for("a multisig commit", lambda: self.committed(plain + 1), 20)
        self.assertIn("a commit reverted with MultisigRequired(", main.output())
        self.assertIn("batch verification policy changed on L1", main.output())

        async def held(connected):
            """The batch whose commit waits with 1 of 2 signatures, ``connected`` signers."""
            answer = await main.health()
            waiting = answer and answer[1].get("batch_verification", {}).get("waiting")
            text = f"1 of 2, {connected} signers connected"
            return waiting["batch"] if waiting and text in waiting["reason"] else None

        async def kill_main_and_restart(before_restart=None):
            """kill -9 the main node, restart it; the (committed, executed) L1 had then, and
            the batches the restarted node bypassed."""
            main.signal(signal.SIGKILL)
            await main.wait_exit()
            at_kill = (
                await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted"),
                await deferToThread(counter, l1, diamond, "getTotalBatchesExecuted"),
            )
            if before_restart is not None:
                await before_restart()
            offset = len(main.output())
            main.start()
            await main.wait_healthy()
            await self.wait_for(
                "the restarted node past the committed batches",
                lambda: self.committed(at_kill[0] + 1),
                30,
            )
            bypassed = [
                int(n)
                for n in re.findall(
                    r"batch (\d+) is already committed on L1; not signed", main.output()[offset:]
                )
            ]
            return at_kill, bypassed

        # -- a validator EN killed mid-signing (it has the request), then the main node ------
        ens[1].signal(signal.SIGSTOP)
        await deferToThread(self.send, 1, 0)
        batch = await self.wait_for("a request at the stopped EN", lambda: held(2), 20)
        ens[1].signal(signal.SIGKILL)
        await ens[1].wait_exit()
        self.assertEqual(await self.wait_for("the EN gone", lambda: held(1), 10), batch)

        async def restart_en():
            ens[1].start()  # it signs once the main node is back

        (committed, executed), bypassed = await kill_main_and_restart(restart_en)
        self.assertEqual(committed, batch - 1)
        self.assertLess(executed, committed, "nothing left to bypass; the test lost its point")
        self.assertEqual(bypassed, list(range(executed + 1, committed + 1)))
        await ens[1].wait_healthy()

        # -- the main node killed while the signatures are being collected ----------------
        async def both_connected():
            answer = await main.health()
            return answer and answer[1]["batch_verification"]["connected_signers"] == 2

        await self.wait_for("both ENs connected", both_connected, 20)
        await deferToThread(self.send, 1, 0)
        before = await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted")
        await self.wait_for("the next batch committed", lambda: self.committed(before + 1), 20)
        ens[1].signal(signal.SIGSTOP)
        self.addCleanup(lambda: ens[1].process.poll() is None and ens[1].signal(signal.SIGCONT))
        await deferToThread(self.send, 1, 0)
        batch = await self.wait_for("a request at the stopped EN", lambda: held(2), 20)
        reverted = {}

        async def outsider_to_l1():
            """While the node is down (its operator nonce is free): the last commit again
            with one validator's signature replaced by the outsider's, sent straight to L1."""
            reverted.update(await deferToThread(self._outsider_commit, l1, diamond))
            ens[1].signal(signal.SIGCONT)
            # From now on the batches are proven and executed (the last value counts).
            main.args += ["--prover-api-fake-snark-provers-max-batch-age", "0s"]

        (committed, executed), bypassed = await kill_main_and_restart(outsider_to_l1)
        self.assertEqual(committed, batch - 1)
        self.assertLess(executed, committed)
        self.assertEqual(bypassed, list(range(executed + 1, committed + 1)))
        outsider = Web3.to_checksum_address(address_of_key(bytes.fromhex(OUTSIDER_KEY[2:])))
        self.assertEqual(reverted["status"], 0)
        self.assertEqual(reverted["reason"].lower(), f"SignerNotValidator({outsider})".lower())

        # -- finalizes: every batch committed once, through multisig, and executed --------
        last_block = await deferToThread(self.send, 1)
        last_batch = await deferToThread(self._batch_of_block, last_block)
        await self.wait_for("the last batch executed", lambda: self.executed(last_batch), 40)
        last = await deferToThread(counter, l1, diamond, "getTotalBatchesCommitted")
        gas = await deferToThread(self._commit_gas, l1, diamond, last, plain)
        self.assertEqual(sorted(gas), list(range(1, last + 1)))
        await self.wait_for("healthy again", self._healthy(main))
        for en in ens:
            self.assertIn("batch verification: signed batch", en.output())

    def _batch_of_block(self, block: int) -> int:
        """The batch that holds L2 ``block`` (asked of the main node, retried until sealed)."""
        deadline = time.monotonic() + 20
        while True:
            answer = self.l2.provider.make_request("zks_getL1BatchNumber", [])
            number = int(answer["result"], 16)
            low, high = self.l2.provider.make_request("zks_getL1BatchBlockRange", [number])[
                "result"
            ]
            if int(high, 16) >= block:
                return number
            assert time.monotonic() < deadline, f"no batch holds block {block}"
            time.sleep(0.2)

    def _outsider_commit(self, w3: Web3, diamond: str) -> dict:
        """The last commit's arguments with the second signer replaced by the outsider (a
        valid signature of its own over the same digest), sent by the commit operator as a
        transaction: (status, decoded revert reason replayed with eth_call)."""
        from eth_abi import decode, encode

        from zkos_tw.batch_verification.digest import SigningDomain, commit_digest, sign_digest
        from zkos_tw.config import L1SenderConfig
        from zkos_tw.l1.artifacts import decode_error, load_artifact

        logs = w3.eth.get_logs({"address": diamond, "topics": [BLOCK_COMMIT], "fromBlock": 0})
        tx = w3.eth.get_transaction(logs[-1]["transactionHash"])
        types = ["address", "uint256", "uint256", "bytes", "address[]", "bytes[]"]
        chain, first, last, data, signers, signatures = decode(types, bytes(tx["input"])[4:])
        timelock = tx["to"]
        domain = SigningDomain(w3.eth.chain_id, bytes.fromhex(timelock[2:]))
        digest = commit_digest(domain, bytes.fromhex(chain[2:]), first, last, data)
        pairs = sorted(
            [
                (signers[0].lower(), signatures[0]),
                (
                    Web3.to_checksum_address(
                        address_of_key(bytes.fromhex(OUTSIDER_KEY[2:]))
                    ).lower(),
                    sign_digest(digest, bytes.fromhex(OUTSIDER_KEY[2:])),
                ),
            ]
        )
        calldata = MULTISIG_COMMIT_SELECTOR + encode(
            types, [chain, first, last, data, [a for a, _ in pairs], [s for _, s in pairs]]
        )
        operator = Account.from_key(L1SenderConfig().operator_commit_pk)
        call = {"from": operator.address, "to": timelock, "data": "0x" + calldata.hex()}
        signed = operator.sign_transaction({
            **call, "gas": 2_000_000, "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(operator.address),
            "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9,
        })  # fmt: skip
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        answer = w3.provider.make_request("eth_call", [call, hex(receipt.blockNumber - 1)])
        data = answer["error"]["data"]
        reason = decode_error(bytes.fromhex(data[2:]), load_artifact("ValidatorTimelock").abi)
        return {"status": receipt.status, "reason": reason}

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

    def _commit_gas(self, w3: Web3, diamond: str, last: int, plain: int = 0) -> dict[int, int]:
        """batch -> gas used of its commit; each commit after batch ``plain`` must be a
        commitBatchesMultisig, the ones up to it plain commits; one commit per batch."""
        logs = w3.eth.get_logs({"address": diamond, "topics": [BLOCK_COMMIT], "fromBlock": 0})
        gas = {}
        for entry in logs:
            number = int.from_bytes(entry["topics"][1], "big")
            tx = w3.eth.get_transaction(entry["transactionHash"])
            selector = MULTISIG_COMMIT_SELECTOR if number > plain else COMMIT_SELECTOR
            assert bytes(tx["input"])[:4] == selector, (number, tx["input"][:4])
            assert number not in gas, f"batch {number} committed twice"
            gas[number] = w3.eth.get_transaction_receipt(entry["transactionHash"]).gasUsed
        return gas
