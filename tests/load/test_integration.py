"""``zkosctl load`` against a real ``twistd zkos --dev`` node (dev genesis, its anvil L1, real
LMDB, real HTTP)."""

from __future__ import annotations

import json
import os
import sys

from twisted.internet import utils
from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import NodeProcess, http_client, require_anvil

DEV_GENESIS = os.path.join(REPO_ROOT, "dev-genesis.json")
RESULT_FIELDS = {
    "version", "chain_id", "kind", "senders", "planned", "submitted", "included",
    "not_included", "rejected", "timed_out", "submitted_tps", "included_tps",
    "inclusion_latency_ms", "block_number_latency_ms", "errors", "blocks", "funding_blocks",
    "client_cpu_seconds",
}  # fmt: skip


async def zkosctl(*args: str):
    """(stdout, stderr, exit code) of ``zkosctl`` run with this interpreter."""
    return await utils.getProcessOutputAndValue(
        sys.executable, ["-m", "zkos_tw.cli.main", *args], env=dict(os.environ)
    )


async def rpc(url: str, method: str, params: list):
    response = await http_client().post(
        url,
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
        headers={b"content-type": [b"application/json"]},
    )
    return json.loads(await response.content())["result"]


class LoadAgainstNodeTests(TestCase):
    timeout = 240

    async def test_small_load_all_included(self):
        """4 senders x 50 transfers (and then an ERC-20 run): every transaction is included,
        the blocks hold them, and the JSON has its fields; bad input gets one line."""
        require_anvil()
        env = dict(os.environ)
        env.setdefault("ZKOS_TOOLS_DIR", os.path.join(REPO_ROOT, ".tools"))
        # NodeProcess runs the node with --dev (its own anvil L1 from zkos-l1-state.json)
        node = NodeProcess(
            os.path.abspath(self.mktemp()), ["--genesis-genesis-input-path", DEV_GENESIS], env
        )
        self.addCleanup(node.cleanup)
        node.start()
        await node.wait_healthy()
        out, err, code = await zkosctl(
            "load", "--rpc-url", node.rpc_url, "--senders", "4", "--txs", "200",
            "--batch-size", "25", "--timeout", "60", "--json",
        )  # fmt: skip
        self.assertEqual(code, 0, err.decode())
        result = json.loads(out)
        self.assertLessEqual(RESULT_FIELDS, set(result))
        self.assertEqual(result["chain_id"], 270)
        self.assertEqual((result["planned"], result["submitted"]), (200, 200))
        self.assertEqual((result["included"], result["not_included"]), (200, 0))
        self.assertEqual(result["errors"], {})
        self.assertFalse(result["timed_out"])
        # the node agrees: the blocks the tool saw carry 200 transactions in all
        blocks = result["blocks"]
        carried = 0
        for number in range(blocks["first"], blocks["last"] + 1):
            block = await rpc(node.rpc_url, "eth_getBlockByNumber", [hex(number), False])
            carried += len(block["transactions"])
        self.assertEqual(carried, 200)

        out, err, code = await zkosctl(
            "load", "--rpc-url", node.rpc_url, "--kind", "erc20", "--senders", "2", "--txs", "20",
            "--json",
        )  # fmt: skip
        self.assertEqual(code, 0, err.decode())
        self.assertEqual(json.loads(out)["included"], 20)

        out, err, code = await zkosctl(
            "load", "--rpc-url", node.rpc_url, "--private-key", "0x" + "11" * 32, "--txs", "10"
        )
        self.assertEqual(code, 1)
        self.assertEqual(len(err.decode().strip().splitlines()), 1, err.decode())
        self.assertIn("this run needs", err.decode())
        # the node still serves
        self.assertIsNotNone(await rpc(node.rpc_url, "eth_blockNumber", []))
