"""External nodes as real processes: a ``--dev`` main node, EN1 following it, EN2 behind EN1.

One shared set-up (three processes, one anvil): transfers to the main node and one to EN2
(forwarded EN2 -> EN1 -> main node); both ENs reach the tip with the main node's block hashes
and state roots; EN1 killed with SIGKILL and restarted resumes from its own tip, not block 1.
"""

from __future__ import annotations

import json
import os
import re
import signal

from eth_account import Account
from twisted.trial.unittest import TestCase

from tests.integration.node_process import NodeProcess, http_client, sleep

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
RICH = Account.from_key(KEY)
BOB = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"


def transfer(nonce: int, value: int = 1) -> str:
    tx = {
        "to": BOB,
        "value": value,
        "gas": 21_000,
        "nonce": nonce,
        "chainId": 270,
        "maxFeePerGas": 2000,
        "maxPriorityFeePerGas": 1,
    }
    return "0x" + bytes(RICH.sign_transaction(tx).raw_transaction).hex()


async def rpc(node: NodeProcess, body):
    """POST ``body`` (a request or a batch) to the node; the decoded answer."""
    response = await http_client().post(
        node.rpc_url,
        data=json.dumps(body).encode(),
        headers={b"Content-Type": [b"application/json"]},
        timeout=20,
    )
    return json.loads(await response.content())


async def call(node: NodeProcess, method: str, *params):
    answer = await rpc(node, {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    if "error" in answer:
        raise AssertionError(f"{method} on {node.rpc_url}: {answer['error']}")
    return answer["result"]


async def tip(node: NodeProcess) -> int:
    return int(await call(node, "eth_blockNumber"), 16)


def follower(workdir: str, upstream: NodeProcess, l1_port: int) -> NodeProcess:
    """An EN following ``upstream``'s replay server, forwarding transactions to its RPC."""
    return NodeProcess(
        workdir,
        [
            "--sequencer-block-replay-download-address",
            f"127.0.0.1:{upstream.replay_port}",
            "--general-main-node-rpc-url",
            upstream.rpc_url,
            "--en-stall-timeout",
            "5s",
        ],
        dev=False,
        l1_port=l1_port,
    )


class ExternalNodeTests(TestCase):
    timeout = 120

    async def wait_same_tip(self, nodes, at_least: int, timeout: float = 30.0) -> int:
        waited = 0.0
        while waited < timeout:
            tips = [await tip(n) for n in nodes]
            if tips[0] >= at_least and len(set(tips)) == 1:
                return tips[0]
            await sleep(0.2)
            waited += 0.2
        raise AssertionError(f"tips {tips} did not meet at >= {at_least}")

    async def assert_same_blocks(self, nodes, up_to: int) -> None:
        for number in range(up_to + 1):
            blocks = [await call(n, "eth_getBlockByNumber", hex(number), False) for n in nodes]
            hashes = {(b["hash"], b["stateRoot"]) for b in blocks}
            self.assertEqual(len(hashes), 1, f"block {number} differs: {hashes}")

    async def test_follow_chain_forward_and_restart(self):
        """Both ENs follow with identical blocks; EN2's transaction is included by the main
        node; a SIGKILLed EN1 resumes from its own tip."""
        base = os.path.abspath(self.mktemp())
        main = NodeProcess(os.path.join(base, "main"))
        self.addCleanup(main.cleanup)
        main.start()
        await main.wait_healthy()
        en1 = follower(os.path.join(base, "en1"), main, main.l1_port)
        self.addCleanup(en1.cleanup)
        en2 = follower(os.path.join(base, "en2"), en1, main.l1_port)
        self.addCleanup(en2.cleanup)
        en1.start()
        en2.start()
        await en1.wait_healthy()
        await en2.wait_healthy()

        nonce = int(await call(main, "eth_getTransactionCount", RICH.address, "pending"), 16)
        batch = [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_sendRawTransaction",
                "params": [transfer(nonce + i)],
            }
            for i in range(20)
        ]
        answers = await rpc(main, batch)
        self.assertEqual([a.get("error") for a in answers], [None] * 20)
        forwarded = await call(en2, "eth_sendRawTransaction", transfer(nonce + 20))
        receipt = await call(main, "eth_getTransactionReceipt", forwarded)
        self.assertIsNotNone(receipt, "the transaction sent to EN2 is not in a main-node block")
        # the main node's error object comes back through both ENs unchanged
        refused = await rpc(
            en2,
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "eth_sendRawTransaction",
                "params": [transfer(nonce)],
            },
        )
        direct = await rpc(
            main,
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "eth_sendRawTransaction",
                "params": [transfer(nonce)],
            },
        )
        self.assertIn("error", direct)
        self.assertEqual(refused, direct)

        last = await self.wait_same_tip([main, en1, en2], int(receipt["blockNumber"], 16))
        await self.assert_same_blocks([main, en1, en2], last)

        en1.signal(signal.SIGKILL)
        await en1.wait_exit()
        restarted_at = len(en1.output())
        before = await tip(main)
        await call(main, "eth_sendRawTransaction", transfer(nonce + 21))
        en1.start()
        await en1.wait_healthy()
        after = await self.wait_same_tip([main, en1, en2], before + 1)
        await self.assert_same_blocks([main, en1, en2], after)
        log = en1.output()[restarted_at:]
        starts = [int(n) for n in re.findall(r"following \S+ from block (\d+)", log)]
        self.assertEqual(len(starts), 1, log)
        self.assertGreater(starts[0], 1, "the restarted EN replayed from block 1")
        self.assertNotIn("sealed block 1 with", log)
