"""Bad input to a real node's JSON-RPC over a real socket: each gets its error, the node serves on."""

from __future__ import annotations

import json
import os
import socket

from eth_account import Account
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.integration.node_process import NodeProcess, http_client

KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
BOB = "0x5A67EE02274D9Ec050d412b96fE810Be4D71e7A0"


def signed(chain_id: int = 270) -> bytes:
    tx = {
        "to": BOB,
        "value": 1,
        "gas": 21_000,
        "nonce": 0,
        "chainId": chain_id,
        "maxFeePerGas": 2000,
        "maxPriorityFeePerGas": 1,
    }
    return bytes(Account.from_key(KEY).sign_transaction(tx).raw_transaction)


def oversized_status(port: int) -> bytes:
    """Announce a 16 MiB JSON body on a raw socket and read the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n[1," % (16 * 1024 * 1024)
        )
        return conn.makefile("rb").readline().rstrip(b"\r\n")


class BadInputTests(TestCase):
    timeout = 90

    async def post(self, body: bytes):
        response = await http_client().post(
            self.node.rpc_url, data=body, headers={"content-type": ["application/json"]}
        )
        content = await response.content()
        return response.code, (json.loads(content) if content.startswith(b"{") else content)

    async def call(self, method: str, params) -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return (await self.post(json.dumps(body).encode()))[1]

    async def test_each_bad_input_and_the_node_serves_on(self):
        self.node = NodeProcess(
            os.path.abspath(self.mktemp()),
        )
        self.addCleanup(self.node.cleanup)
        self.node.start()
        await self.node.wait_healthy()

        code, answer = await self.post(b'{"jsonrpc": "2.0", "id": 1, "method": ')
        self.assertEqual((code, answer["error"]["code"]), (200, -32700))

        answer = await self.call("eth_getBalance", [12, "latest"])
        self.assertEqual(answer["error"]["code"], -32602)

        answer = await self.call("eth_noSuchMethod", [])
        self.assertEqual(answer["error"]["code"], -32601)
        self.assertEqual(answer["error"]["message"], "Method not found")

        # A body over the limit (15 MiB) is refused from its Content-Length, before it is sent.
        status = await deferToThread(oversized_status, self.node.rpc_port)
        self.assertEqual(status, b"HTTP/1.1 413 Payload Too Large")

        tampered = bytearray(signed())
        tampered[-5] ^= 0xFF  # inside s: the signature recovers to some other, empty account
        answer = await self.call("eth_sendRawTransaction", ["0x" + tampered.hex()])
        self.assertIn("sender does not have enough funds", answer["error"]["message"])
        invalid = bytearray(signed())
        invalid[-32:] = b"\xff" * 32  # s above the curve order: no sender at all
        answer = await self.call("eth_sendRawTransaction", ["0x" + invalid.hex()])
        self.assertEqual(answer["error"]["message"], "invalid transaction signature")

        answer = await self.call("eth_sendRawTransaction", ["0x" + signed(chain_id=1).hex()])
        self.assertIn("chain", answer["error"]["message"].lower())

        answer = await self.call("eth_sendRawTransaction", ["0x02c0"])
        self.assertIn("error", answer)

        # Still serving, and a good transaction goes through.
        answer = await self.call("eth_sendRawTransaction", ["0x" + signed().hex()])
        self.assertEqual(
            answer["result"],
            "0x"
            + Account.from_key(KEY)
            .sign_transaction(
                {
                    "to": BOB,
                    "value": 1,
                    "gas": 21_000,
                    "nonce": 0,
                    "chainId": 270,
                    "maxFeePerGas": 2000,
                    "maxPriorityFeePerGas": 1,
                }
            )
            .hash.hex()
            .removeprefix("0x"),
        )
        self.assertEqual((await self.call("eth_chainId", []))["result"], "0x10e")
