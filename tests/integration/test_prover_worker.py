"""Real prover workers carry a chain to ``finalized`` (issue #12): a ``--dev`` node with fake FRI
and fake SNARK provers off and a 3 s job timeout, two ``zkosctl prover`` FRI processes and one
``zkosctl prover --snark`` process, 100 transactions (transfers, a contract deployment and calls
that read and write its storage).

On the way: the test itself picks two jobs as a prover would, and its proofs are refused with
400 when one bit of the public input is flipped or when batch A's proof is submitted for batch
B (the jobs stay assigned, then time out to the workers); worker A, which spends 30 s on a job,
is SIGKILLed while it holds one, and worker B proves that batch after the timeout. Every batch
on L1 carries a real FRI proof (an attestation) in proof storage, and every prove transaction
on L1 carries a real SNARK proof (type 2, the SNARK worker's signed aggregate), which our
``TestnetVerifier`` accepts because the chain admin registered the worker's address with
``setSnarkSigner`` before it started.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time

from eth_abi import decode
from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3

from tests.integration.node_process import (
    NodeProcess,
    free_port,
    http_client,
    require_anvil,
    sleep,
)
from tests.integration.test_l1_node import CAROL, KEY, RICH
from tests.sequencer.test_backend_simulation import init_code
from zkos_tw.batcher.info import STORED_BATCH_INFO_ABI
from zkos_tw.config import GenesisConfig
from zkos_tw.l1.artifacts import encode_call, load_artifact
from zkos_tw.l1.calldata import PROVE_SELECTOR
from zkos_tw.l1.deploy import RICH_KEY, JsonRpc, Sender, eth_call
from zkos_tw.prover_api import attestation
from zkos_tw.prover_api.stateless import prove_batch
from zkos_tw.prover_worker import snark

#: Adds 1 to slot 0 on every call.
COUNTER = bytes.fromhex("60005460010160005500")
KEYS = {name: bytes([i + 1]) * 32 for i, name in enumerate(("a", "b", "test"))}
SNARK_KEY = b"\x05" * 32
BLOCKS_VERIFICATION = "0x22c9005dd88c18b552a1cd7e8b3b937fcde9ca69213c1f658f54d572e4877a81"
TRANSFERS = 70
CALLS = 29


def address(key: bytes) -> str:
    return Account.from_key(key).address.lower()


class ProverWorkerTests(TestCase):
    timeout = 120

    def setUp(self):
        require_anvil()
        self.workdir = os.path.abspath(self.mktemp())
        os.makedirs(self.workdir)
        signers = ",".join(address(k) for k in KEYS.values())
        self.node = NodeProcess(
            os.path.join(self.workdir, "node"),
            [
                "--prover-api-fake-fri-provers-enabled", "false",
                "--prover-api-fake-snark-provers-enabled", "false",
                "--prover-api-trusted-signers", signers,
                "--prover-api-job-timeout", "3s",
            ],
        )  # fmt: skip
        self.addCleanup(self.node.cleanup)
        self.api = f"http://127.0.0.1:{self.node.prover_api_port}"
        self.workers: dict[str, subprocess.Popen] = {}

    def start_worker(self, name: str, *args: str, key: bytes | None = None) -> subprocess.Popen:
        key_file = os.path.join(self.workdir, f"{name}.key")
        with open(key_file, "w") as f:
            f.write("0x" + (key or KEYS[name]).hex())
        log = open(os.path.join(self.workdir, f"worker-{name}.log"), "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [sys.executable, "-m", "zkos_tw.cli.main", "prover", "--api", self.api]
            + ["--id", name, "--key", key_file, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait()))
        self.workers[name] = process
        return process

    def worker_log(self, name: str) -> str:
        with open(os.path.join(self.workdir, f"worker-{name}.log"), "rb") as f:
            return f.read().decode(errors="replace")

    async def post(self, path: str, body=None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        response = await http_client().post(self.api + path, data=data, timeout=10)
        return response.code, await response.content()

    async def pick(self) -> tuple[int, bytes]:
        """A FRI job as a prover gets it (204 while its input is being built)."""
        deadline = time.monotonic() + 20
        while True:
            code, content = await self.post("/prover-jobs/FRI/pick")
            if code == 200:
                job = json.loads(content)
                return job["block_number"], base64.b64decode(job["prover_input"])
            self.assertEqual(code, 204, content)
            self.assertLess(time.monotonic(), deadline, "no FRI job to pick")
            await sleep(0.1)

    async def submit(self, number: int, proof: bytes) -> tuple[int, str]:
        code, content = await self.post(
            "/prover-jobs/FRI/submit?id=test",
            {"block_number": number, "proof": base64.b64encode(proof).decode()},
        )
        return code, content.decode()

    async def test_workers_finalize_the_chain(self):
        started = time.monotonic()
        node = self.node
        node.start()
        await node.wait_healthy()
        # The chain admin registers the SNARK worker with the L1 verifier; then it starts.
        l1 = JsonRpc(f"http://127.0.0.1:{node.l1_port}")
        chain = await deferToThread(self.register_snark_signer, l1)
        self.start_worker("snark", "--snark", key=SNARK_KEY)
        l2 = Web3(Web3.HTTPProvider(node.rpc_url))
        account = Account.from_key(KEY)
        state = {"nonce": await deferToThread(l2.eth.get_transaction_count, RICH)}

        def send(count: int, to=None, data=b"", gas=21_000) -> int:
            """``count`` transactions; the highest block they landed in."""
            hashes = []
            for _ in range(count):
                tx = {"value": 0 if data else 1, "gas": gas, "nonce": state["nonce"],
                      "chainId": 270, "maxFeePerGas": 2000, "maxPriorityFeePerGas": 1,
                      "data": data}  # fmt: skip
                if to is not None:
                    tx["to"] = to
                state["nonce"] += 1
                signed = account.sign_transaction(tx)
                hashes.append(l2.eth.send_raw_transaction(signed.raw_transaction))
            receipts = [
                l2.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.05)
                for h in hashes
            ]
            assert all(r.status == 1 for r in receipts), receipts
            state["contract"] = receipts[-1].contractAddress or state.get("contract")
            return max(r.blockNumber for r in receipts)

        # Round 1, then a pause past the batch timeout: at least two batches.
        last_block = await deferToThread(send, 1, None, init_code(COUNTER), 100_000)
        counter = state["contract"]
        last_block = max(last_block, await deferToThread(send, 10, CAROL))
        await sleep(0.5)
        last_block = max(last_block, await deferToThread(send, 5, counter, b"\1", 60_000))

        # The test as a prover: two jobs, refused proofs, the jobs stay assigned.
        first, first_input = await self.pick()
        second, _ = await self.pick()
        proof = await deferToThread(prove_batch, first_input)
        self.assertEqual(proof.batch_number, first)
        flipped = bytes([proof.public_input[0] ^ 1]) + proof.public_input[1:]
        tampered = attestation.encode(attestation.sign(first, flipped, KEYS["test"]))
        self.assertEqual(await self.submit(first, tampered), (400, "proof verification failed"))
        good = attestation.encode(attestation.sign(first, proof.public_input, KEYS["test"]))
        self.assertEqual(await self.submit(second, good), (400, "proof verification failed"))
        code, text = await self.submit(first, b"not an attestation")
        self.assertEqual(code, 400)
        self.assertTrue(text.startswith("deserialization failed: "), text)
        response = await http_client().get(self.api + "/prover-jobs/status", timeout=5)
        assigned = [j["batch_number"] for j in json.loads(await response.content())]
        self.assertEqual(assigned, [first, second])

        # Two workers; A holds its job for 30 s and is killed while it does.
        self.start_worker("a", "--min-job-time", "30")
        b_metrics = free_port()
        self.start_worker("b", "--metrics-port", str(b_metrics))
        last_block = max(last_block, await deferToThread(send, CALLS - 5, counter, b"\1", 60_000))
        last_block = max(last_block, await deferToThread(send, TRANSFERS - 10, CAROL))
        deadline = time.monotonic() + 20
        while not (held := re.search(r"batch (\d+): picked", self.worker_log("a"))):
            self.assertLess(time.monotonic(), deadline, self.worker_log("a"))
            await sleep(0.1)
        held_batch = int(held.group(1))
        self.workers["a"].send_signal(signal.SIGKILL)
        self.workers["a"].wait()
        self.assertNotIn("submit", self.worker_log("a"))

        def finalized() -> int:
            return l2.eth.get_block("finalized")["number"]

        deadline = time.monotonic() + 45
        while await deferToThread(finalized) < last_block:
            self.assertLess(
                time.monotonic(), deadline, node.output()[-3000:] + self.worker_log("b")[-3000:]
            )
            await sleep(0.2)
        elapsed = time.monotonic() - started

        slot = await deferToThread(l2.eth.get_storage_at, counter, 0)
        self.assertEqual(int.from_bytes(slot, "big"), CALLS)
        b_log = self.worker_log("b")
        proved_by_b = [int(n) for n in re.findall(r"batch (\d+): \d+ blocks.*submit 204", b_log)]
        self.assertIn(held_batch, proved_by_b, b_log)
        self.assertIn(first, proved_by_b)
        self.assertIn(second, proved_by_b)
        batch_number = int(
            (await deferToThread(l2.provider.make_request, "zks_getL1BatchNumber", []))["result"],
            16,
        )
        shared = os.path.join(node.workdir, "db", "shared", "fri_batch_envelopes")
        executed = sorted(
            int(m.group(1))
            for name in os.listdir(shared)
            if (m := re.fullmatch(r"fri_batch_envelope_(\d+)\.json", name))
        )
        for number in executed:
            with open(os.path.join(shared, f"fri_batch_envelope_{number}.json")) as f:
                data = json.load(f)["V1"]["data"]
            self.assertIsInstance(data, dict, f"batch {number} has a fake FRI proof")
            signed = attestation.decode(bytes(data["Real"]["proof"]))
            self.assertIn("0x" + signed.signer().hex(), [address(k) for k in KEYS.values()])
        snark_ranges = await deferToThread(self.real_snark_ranges, l1, chain)
        verified = [n for first, last in snark_ranges for n in range(first, last + 1)]
        self.assertEqual(verified, list(range(1, len(verified) + 1)))
        self.assertGreaterEqual(len(verified), max(executed))
        snark_log = self.worker_log("snark")
        self.assertEqual(
            [
                (int(a), int(b))
                for a, b in re.findall(r"SNARK (\d+)-(\d+): .* submit 204", snark_log)
            ][: len(snark_ranges)],
            snark_ranges,
            snark_log,
        )
        response = await http_client().get(
            f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=5
        )
        metrics = (await response.content()).decode()
        rejected = re.search(
            r'prover_rejected_proofs_total\{reason="verification",stage="fri"\} (\S+)', metrics
        )
        self.assertIsNotNone(rejected, metrics)
        self.assertGreaterEqual(float(rejected.group(1)), 2)
        response = await http_client().get(f"http://127.0.0.1:{b_metrics}/metrics", timeout=5)
        worker_metrics = (await response.content()).decode()
        gas = re.search(r"^prover_worker_reexecuted_gas_total (\S+)$", worker_metrics, re.M)
        self.assertIsNotNone(gas, worker_metrics)
        self.assertGreater(float(gas.group(1)), 21_000 * TRANSFERS)
        print(
            f"prover workers: {batch_number} batches, {len(executed)} real FRI proofs stored, "
            f"worker B proved {len(proved_by_b)} (incl. batch {held_batch} taken from killed "
            f"worker A), {len(snark_ranges)} real SNARK proofs on L1, finalized block "
            f"{last_block} after {elapsed:.1f} s"
        )

    def register_snark_signer(self, l1: JsonRpc) -> str:
        """``setSnarkSigner(worker, true)`` from the admin (the deployer); the chain address."""
        bridgehub = load_artifact("Bridgehub")
        zk_chain = load_artifact("ZKChain")
        verifier = load_artifact("TestnetVerifier")
        chain = eth_call(l1, bridgehub, GenesisConfig().bridgehub_address, "getZKChain", 270)
        address = Web3.to_checksum_address(eth_call(l1, zk_chain, chain, "getVerifier"))
        admin = Sender(l1, RICH_KEY, [verifier.abi])
        signer = Account.from_key(SNARK_KEY).address
        admin.send(
            "setSnarkSigner", address, encode_call(verifier.abi, "setSnarkSigner", signer, True)
        )
        return chain

    def real_snark_ranges(self, l1: JsonRpc, chain: str) -> list[tuple[int, int]]:
        """The batch range of every prove transaction on L1, each checked to carry a real SNARK
        aggregate (type 2) signed by the SNARK worker."""
        logs = l1.call(
            "eth_getLogs",
            {"fromBlock": "0x0", "toBlock": "latest", "address": chain,
             "topics": [BLOCKS_VERIFICATION]},
        )  # fmt: skip
        ranges = []
        for log in logs:
            tx = l1.call("eth_getTransactionByHash", log["transactionHash"])
            call = bytes.fromhex(tx["input"][2:])
            self.assertEqual(call[:4], PROVE_SELECTOR)
            _, first, last, data = decode(["address", "uint256", "uint256", "bytes"], call[4:])
            *_, proof = decode(
                [STORED_BATCH_INFO_ABI, STORED_BATCH_INFO_ABI + "[]", "uint256[]"], data[1:]
            )
            self.assertEqual(proof[0] & 0xFF, 2, f"prove {first}-{last} is not a real SNARK")
            aggregate = snark.decode(b"".join(w.to_bytes(32, "big") for w in proof[2:]))
            self.assertEqual((aggregate.first, aggregate.last), (first, last))
            self.assertEqual(aggregate.signer(), bytes.fromhex(address(SNARK_KEY)[2:]))
            ranges.append((first, last))
        return ranges
