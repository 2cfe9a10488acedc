"""The L1 senders and the batch watcher in a real node (issue #11): ``twistd zkos --dev`` on
anvil with our ``zkos-l1-state.json``.

* The node starts with its three senders prepared: ``/status/health`` has no problems,
  ``/metrics`` shows each operator's balance (the 100 ETH the state file funds) and nonce, no
  stopped stage, and the L1 batch counters; ``finalized`` is block 0 until the batch store
  maps batches to blocks (``docs/rpc.md``).
* An operator without funds is a start-up error: one line, and the process exits.
"""

from __future__ import annotations

import os

from eth_account import Account
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from web3 import Web3

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import NodeProcess, http_client, require_anvil
from zkos_tw.l1.deploy import operator_addresses

L1_STATE = os.path.join(REPO_ROOT, "zkos-l1-state.json")
UNFUNDED_KEY = "0x" + "5a" * 32


async def scrape(node: NodeProcess) -> tuple[dict, str]:
    """``{(name, sorted labels): value}`` of the node's ``/metrics``, and the page."""
    response = await http_client().get(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=5)
    text = (await response.content()).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, text


class L1SendersNodeTests(TestCase):
    timeout = 120

    def setUp(self):
        require_anvil()
        if not os.path.exists(L1_STATE):
            raise AssertionError(f"{L1_STATE} is missing: run `zkosctl l1 build-state`")

    def dev_node(self, *args: str) -> NodeProcess:
        node = NodeProcess(os.path.abspath(self.mktemp()), list(args))
        self.addCleanup(node.cleanup)
        return node

    async def test_senders_prepared_on_health_and_metrics(self):
        """Three funded operators: health 200 without problems; per command a balance of
        about 100 ETH, a nonce, ``l1_sender_stopped`` 0 and the operator address; the batch
        counters on L1; the stage latency histogram declared; ``finalized`` and ``safe`` at block 0; the start-up log names each
        operator."""
        node = self.dev_node()
        node.start()
        health = await node.wait_healthy()
        self.assertEqual(health["problems"], [])
        self.assertEqual(
            {command: stage["state"] for command, stage in health["l1_senders"].items()},
            {"commit": "running", "prove": "running", "execute": "running"},
        )
        self.assertEqual(health["l1_batches"]["lastExecutedBlock"], 0)
        samples, text = await scrape(node)
        for command, address in operator_addresses().items():
            labels = (("command", command),)
            self.assertGreater(samples[("l1_sender_balance", labels)], 1.0, command)
            self.assertGreaterEqual(samples[("l1_sender_nonce", labels)], 0)
            self.assertEqual(samples[("l1_sender_stopped", labels)], 0)
            key = (
                "l1_state_l1_operator_address",
                (("operation", command), ("operator_address", address)),
            )
            self.assertEqual(samples[key], 1)
            self.assertIn(f"L1 {command} operator {address} ready", node.output())
        for status in ("committed", "proved", "executed"):
            self.assertIn(("l1_state_batch_number", (("status", status),)), samples)
        # The batcher's stage histogram is declared from the start.
        self.assertIn("# TYPE batcher_execution_stages_seconds histogram", text)

        def tags():
            w3 = Web3(Web3.HTTPProvider(node.rpc_url))
            latest = w3.eth.get_block("latest")["number"]
            return (
                latest,
                w3.eth.get_block("safe")["number"],
                w3.eth.get_block("finalized")["number"],
            )

        # safe / finalized follow L1's batches, not the newest block; a busy machine may already
        # have committed (even executed) batch 1 by now, so only their order is fixed here.
        latest, safe, finalized = await deferToThread(tags)
        self.assertGreaterEqual(latest, 1)
        self.assertLessEqual(finalized, safe)
        self.assertLessEqual(safe, latest)

    async def test_unfunded_operator_stops_startup(self):
        """An execute operator key without funds: the node exits non-zero with one line naming
        the operator and the setting."""
        node = self.dev_node("--l1-sender-operator-execute-pk", UNFUNDED_KEY)
        node.start()
        code = await node.wait_exit(timeout=60)
        self.assertNotEqual(code, 0)
        address = Account.from_key(UNFUNDED_KEY).address
        lines = [line for line in node.output().splitlines() if "has no funds" in line]
        self.assertEqual(len(lines), 1, node.output())
        self.assertIn(f"L1 execute operator {address} has no funds on L1", lines[0])
        self.assertIn("l1_sender_operator_execute_pk", lines[0])
