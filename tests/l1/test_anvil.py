"""Integration: the L1 client against a real anvil (real sockets, real process).

Covers the real treq path: answers, a contract revert as ``L1RpcError``, anvil going away
(``L1Error`` naming the endpoint, health unreachable) and coming back on the same port.
"""

from __future__ import annotations

import os
import subprocess

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from tests.integration.node_process import free_port, require_anvil, sleep
from zkos_tw.l1.client import L1Error, L1RpcError, create_l1_client


class AnvilProcess:
    """anvil on a free port of 127.0.0.1, optionally loading a state file."""

    def __init__(self, state: str | None = None):
        self.binary = require_anvil()
        self.port = free_port()
        self.state = state
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, client) -> None:
        args = [self.binary, "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        if self.state:
            args += ["--load-state", self.state]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ)
        )
        for _ in range(200):
            try:
                await client.block_number()
                return
            except L1Error:
                await sleep(0.05)
        raise AssertionError(f"anvil did not answer on {self.url}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class ClientAgainstAnvilTests(TestCase):
    timeout = 120

    async def test_answers_revert_outage_and_recovery(self):
        anvil = AnvilProcess()
        self.addCleanup(anvil.stop)
        client = create_l1_client(anvil.url, reactor, timeout=2.0, retries=1, backoff=0.05)
        self.addCleanup(client.close)
        await anvil.start(client)

        self.assertEqual(await client.chain_id(), 31337)
        self.assertEqual(await client.get_code(b"\x42" * 20), b"")
        self.assertTrue(client.health.reachable)

        # A contract whose code is REVERT(0, 0): eth_call fails as a JSON-RPC error.
        await client.request("anvil_setCode", ["0x" + "42" * 20, "0x60006000fd"])
        with self.assertRaises(L1RpcError) as caught:
            await client.call(b"\x42" * 20, b"")
        self.assertIn("L1 eth_call failed: JSON-RPC error", str(caught.exception))
        self.assertTrue(client.health.reachable)

        anvil.stop()
        await client.close()
        with self.assertRaises(L1Error) as caught:
            await client.block_number()
        self.assertIn(f"cannot reach {anvil.url}", str(caught.exception))
        self.assertFalse(client.health.reachable)
        self.assertEqual(len(client.health.problems()), 1)

        await anvil.start(client)
        self.assertEqual(await client.block_number(), 0)
        self.assertTrue(client.health.reachable)
        self.assertEqual(client.health.problems(), [])
