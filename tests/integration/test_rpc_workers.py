"""RPC worker processes (``rpc_workers``) in a real node: admission through any worker, reads
that agree across workers and with storage, and a killed worker that comes back.

Every request goes on a fresh TCP connection, so the kernel spreads them over the workers;
each answer names its worker in the ``x-zkos-rpc-worker`` header.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.integration._workers import WORKERS, from_every_worker, rpc
from tests.integration.node_process import NodeProcess, alive, sleep
from tests.integration.test_restart import RECIPIENTS, RICH, transfer
from zkos_tw.storage import LMDBStorage


def wait_receipt(port: int, tx_hash: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt, _ = rpc(port, "eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            return receipt
        time.sleep(0.05)
    raise AssertionError(f"{tx_hash} not included after {timeout} s")


class RpcWorkerTests(TestCase):
    timeout = 120

    async def started_node(self) -> NodeProcess:
        node = NodeProcess(os.path.abspath(self.mktemp()), ["--rpc-workers", str(WORKERS)])
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()
        self.assertEqual(len(node.worker_pids()), WORKERS, node.output())
        # Healthy means the node is; its workers may still be importing on a busy machine.
        await deferToThread(from_every_worker, node.rpc_port, "eth_chainId")
        return node

    async def test_transaction_through_any_worker_included_once(self):
        """Transactions sent through each worker are each in exactly one block, and the pool's
        nonce is the same whichever worker is asked."""
        node = await self.started_node()
        port = node.rpc_port

        def run():
            sent: dict[str, str] = {}
            nonce = int(rpc(port, "eth_getTransactionCount", [RICH.address, "pending"])[0], 16)
            while set(sent.values()) != {str(i) for i in range(WORKERS)} or len(sent) < 6:
                raw = "0x" + transfer(nonce, RECIPIENTS[nonce % 4]).hex()
                tx_hash, worker = rpc(port, "eth_sendRawTransaction", [raw])
                sent[tx_hash] = worker
                nonce += 1
                pending = from_every_worker(
                    port, "eth_getTransactionCount", [RICH.address, "pending"]
                )
                assert set(pending.values()) == {hex(nonce)}, pending
            # The same bytes again, through any worker: refused by the pool.
            again = None
            try:
                rpc(port, "eth_sendRawTransaction", [raw])
            except AssertionError as e:
                again = str(e)
            receipts = {h: wait_receipt(port, h) for h in sent}
            last = int(rpc(port, "eth_blockNumber")[0], 16)
            hashes = []
            for number in range(last + 1):
                block, _ = rpc(port, "eth_getBlockByNumber", [hex(number), False])
                hashes += block["transactions"]
            return sent, receipts, hashes, again

        sent, receipts, hashes, again = await deferToThread(run)
        self.assertEqual(set(sent.values()), {str(i) for i in range(WORKERS)})
        for tx_hash in sent:
            self.assertEqual(hashes.count(tx_hash), 1, tx_hash)
            self.assertEqual(receipts[tx_hash]["status"], "0x1")
        self.assertIsNotNone(again)
        # The pool's answer (still pooled, or already included), not a worker's.
        self.assertRegex(again, "already imported|nonce is not consistent")

    async def test_reads_agree_after_each_block(self):
        """After each new block every worker serves the same block, hash and balances as the
        node's storage holds."""
        node = await self.started_node()
        port = node.rpc_port
        storage = LMDBStorage(os.path.join(node.workdir, "db"), readonly=True)
        self.addCleanup(storage.close)

        def run():
            checked = []
            nonce = int(rpc(port, "eth_getTransactionCount", [RICH.address, "pending"])[0], 16)
            for step in range(4):
                raw = "0x" + transfer(nonce + step, RECIPIENTS[0], step + 1).hex()
                tx_hash, _ = rpc(port, "eth_sendRawTransaction", [raw])
                number = int(wait_receipt(port, tx_hash)["blockNumber"], 16)
                blocks = from_every_worker(port, "eth_getBlockByNumber", [hex(number), False])
                balances = from_every_worker(port, "eth_getBalance", [RECIPIENTS[0], hex(number)])
                receipts = from_every_worker(port, "eth_getTransactionReceipt", [tx_hash])
                checked.append((number, blocks, balances, receipts))
            return checked

        checked = await deferToThread(run)
        self.assertEqual(len(checked), 4)
        for number, blocks, balances, receipts in checked:
            stored = storage.block(number)
            hashes = {b["hash"] for b in blocks.values()}
            self.assertEqual(hashes, {"0x" + stored.block_hash.hex()}, f"block {number}")
            self.assertEqual(len(set(balances.values())), 1, balances)
            self.assertEqual(len({json.dumps(r, sort_keys=True) for r in receipts.values()}), 1)
        # The balance grew by each step's value: 1 + 2 + 3 + 4 over the four blocks.
        first = int(next(iter(checked[0][2].values())), 16)
        last = int(next(iter(checked[-1][2].values())), 16)
        self.assertEqual(last - first, 2 + 3 + 4)

    async def test_killed_worker_restarts_while_others_serve(self):
        """SIGKILL one worker under load: requests keep being answered (by the other), the
        node restarts it, and it serves again; every accepted transaction is included."""
        node = await self.started_node()
        port = node.rpc_port
        stop = threading.Event()
        accepted: list[str] = []
        failures: list[str] = []
        answered_by: list[str] = []

        def submit():
            nonce = int(rpc(port, "eth_getTransactionCount", [RICH.address, "pending"])[0], 16)
            while not stop.is_set():
                raw = "0x" + transfer(nonce, RECIPIENTS[nonce % 4]).hex()
                try:
                    tx_hash, worker = rpc(port, "eth_sendRawTransaction", [raw])
                except (OSError, http.client.HTTPException) as e:
                    # Only a request on a connection the killed worker had accepted fails. The
                    # node may have admitted that transaction before the worker died: go on
                    # from the pool's pending nonce, not from ours.
                    failures.append(repr(e))
                    nonce = int(
                        rpc(port, "eth_getTransactionCount", [RICH.address, "pending"])[0], 16
                    )
                    continue
                accepted.append(tx_hash)
                answered_by.append(worker)
                nonce += 1

        submitter = threading.Thread(target=submit, daemon=True)
        submitter.start()
        self.addCleanup(stop.set)
        while len(accepted) < 20:
            await sleep(0.05)
        victim = node.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = len(accepted)
        for _ in range(50):
            if len(accepted) > killed_at + 5:
                break
            await sleep(0.1)
        self.assertGreater(len(accepted), killed_at + 5, "hardly anything answered after the kill")
        for _ in range(100):
            pids = node.worker_pids()
            if len(pids) == WORKERS and victim not in pids:
                break
            await sleep(0.1)
        self.assertEqual(len(node.worker_pids()), WORKERS, node.output())
        self.assertFalse(alive(victim))
        restarted_at = len(answered_by)
        for _ in range(300):
            if len(set(answered_by[restarted_at:])) == WORKERS:
                break
            await sleep(0.1)
        stop.set()
        await deferToThread(submitter.join, 10)
        self.assertEqual(len(set(answered_by[restarted_at:])), WORKERS, "restarted worker idle")
        self.assertLessEqual(len(failures), 3, failures)
        self.assertIn("exited", node.output())

        def included():
            return [wait_receipt(port, h)["status"] for h in accepted]

        self.assertEqual(set(await deferToThread(included)), {"0x1"})
