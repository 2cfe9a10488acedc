"""External nodes as real processes: a ``--dev`` main node, EN1 following it, EN2 behind EN1
over ``nacl:``, and EN3 behind a proxy that tampers with the stream.

One shared set-up (four processes, one anvil): transfers to the main node and one to EN2
(forwarded EN2 -> EN1 -> main node); EN1 and EN2 reach the tip with the main node's block hashes
and state roots; EN1 killed with SIGKILL under a load of transfers and restarted resumes from its own tip, not block 1;
the main node restarted, both ENs reconnect and follow its new blocks. EN3 follows the main node through ``TamperProxy``, which flips a byte of the first L2
transaction in flight: EN3 refuses that block, writes the block dump and exits with status 1
and the one divergence line. The node keys for ``nacl:`` come from ``zkosctl keygen``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

from eth_account import Account
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from tests.integration.node_process import NodeProcess, http_client, sleep
from tests.integration.tamper_proxy import TamperProxy

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
RICH = Account.from_key(KEY)
BOB = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"
#: transfers sent while EN1 is killed
LOAD = 60


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


def follower(
    workdir: str, upstream: NodeProcess, l1_port: int, download: str | None = None
) -> NodeProcess:
    """An EN following ``upstream``'s replay server (at ``download``, by default its tcp
    port), forwarding transactions to its RPC."""
    return NodeProcess(
        workdir,
        [
            "--sequencer-block-replay-download-address",
            download or f"127.0.0.1:{upstream.replay_port}",
            "--general-main-node-rpc-url",
            upstream.rpc_url,
            "--en-stall-timeout",
            "5s",
            "--sequencer-block-dump-path",
            os.path.join(workdir, "dumps"),
        ],
        dev=False,
        l1_port=l1_port,
    )


def keygen(path: str) -> str:
    """``zkosctl keygen path``: writes the key file, returns the public key it printed."""
    zkosctl = os.path.join(os.path.dirname(sys.executable), "zkosctl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    done = subprocess.run([zkosctl, "keygen", path], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def serve_over_nacl(node: NodeProcess, key: str, allow: str) -> None:
    """Make ``node``'s replay server a ``nacl:`` one that accepts only ``allow``."""
    index = node.args.index("--sequencer-block-replay-server-address") + 1
    node.args[index] = (
        f"nacl:tcp\\:{node.replay_port}\\:interface\\=127.0.0.1:key={key}:allow={allow}"
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

    async def assert_diverged(self, en: NodeProcess, proxy: TamperProxy) -> None:
        """``en`` got the tampered record: exit 1, one divergence line, the dump."""
        status = await en.wait_exit()
        self.assertIsNotNone(proxy.tampered, "the proxy never saw an L2 transaction")
        number, index = proxy.tampered
        log = en.output()
        self.assertEqual(status, 1, log)
        lines = re.findall(r"divergence at block .*", log)
        self.assertEqual(len(lines), 1, log)
        self.assertTrue(
            lines[0].startswith(f"divergence at block {number}: transactions[{index}] differs: "),
            lines[0],
        )
        (dump,) = os.listdir(os.path.join(en.workdir, "dumps"))
        self.assertIn(os.path.join(en.workdir, "dumps", dump), lines[0])
        with open(os.path.join(en.workdir, "dumps", dump)) as f:
            document = json.load(f)
        self.assertEqual((document["block"], document["field"]), (number, f"transactions[{index}]"))
        # nothing of the refused block was stored: EN3 stopped at the block before it
        self.assertNotIn(f"sealed block {number} with", log)

    async def test_follow_chain_forward_and_restart(self):
        """EN1 and EN2 (over nacl:) follow with identical blocks; EN2's transaction is included
        by the main node; EN3 behind a tampering proxy exits with the divergence line; a
        SIGKILLed EN1 resumes from its own tip; after a main-node restart both ENs go on."""
        base = os.path.abspath(self.mktemp())
        main = NodeProcess(os.path.join(base, "main"))
        self.addCleanup(main.cleanup)
        main.start()
        await main.wait_healthy()
        en1_pub = keygen(os.path.join(base, "keys", "en1.key"))
        en2_pub = keygen(os.path.join(base, "keys", "en2.key"))
        en1 = follower(os.path.join(base, "en1"), main, main.l1_port)
        serve_over_nacl(en1, os.path.join(base, "keys", "en1.key"), en2_pub)
        self.addCleanup(en1.cleanup)
        over_nacl = (
            f"nacl:tcp\\:host\\=127.0.0.1\\:port\\={en1.replay_port}"
            f":key={os.path.join(base, 'keys', 'en2.key')}:server={en1_pub}"
        )
        en2 = follower(os.path.join(base, "en2"), en1, main.l1_port, over_nacl)
        self.addCleanup(en2.cleanup)
        proxy = TamperProxy(main.replay_port)
        await proxy.listen()
        self.addCleanup(proxy.close)
        en3 = follower(os.path.join(base, "en3"), main, main.l1_port, f"127.0.0.1:{proxy.port}")
        self.addCleanup(en3.cleanup)
        en1.start()
        en2.start()
        en3.start()
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
        self.assertRegex(en2.output(), r"following nacl:tcp\\:host")
        await self.assert_diverged(en3, proxy)

        # SIGKILL EN1 while a load of transfers is being included
        before = await tip(main)
        load = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]}
            for i, raw in enumerate(transfer(nonce + 21 + k) for k in range(LOAD))
        ]

        async def send_load():
            # batches one after the other: blocks keep coming while EN1 is down and restarts
            answers = []
            for start in range(0, LOAD, 10):
                answers += await rpc(main, load[start : start + 10])
            return answers

        sending = defer.ensureDeferred(send_load())
        while await tip(main) == before:
            await sleep(0.02)
        en1.signal(signal.SIGKILL)
        await en1.wait_exit()
        restarted_at = len(en1.output())
        en1.start()
        await en1.wait_healthy()
        answers = await sending
        self.assertEqual([a.get("error") for a in answers], [None] * LOAD)
        after = await self.wait_same_tip([main, en1, en2], before + 1)
        await self.assert_same_blocks([main, en1, en2], after)
        log = en1.output()[restarted_at:]
        starts = [int(n) for n in re.findall(r"following \S+ from block (\d+)", log)]
        self.assertEqual(len(starts), 1, log)
        self.assertGreater(starts[0], 1, "the restarted EN replayed from block 1")
        self.assertNotIn("sealed block 1 with", log)

        # the main node restarts: both ENs reconnect (with backoff) and follow its new blocks
        main.signal(signal.SIGTERM)
        await main.wait_exit()
        main.start()
        await main.wait_healthy()
        forwarded = await call(en2, "eth_sendRawTransaction", transfer(nonce + 21 + LOAD))
        receipt = await call(main, "eth_getTransactionReceipt", forwarded)
        self.assertIsNotNone(receipt)
        last = await self.wait_same_tip([main, en1, en2], int(receipt["blockNumber"], 16))
        await self.assert_same_blocks([main, en1, en2], last)
        self.assertEqual((en1.process.poll(), en2.process.poll()), (None, None))
