"""A test case base that serves a ``FakeRpcBackend`` through the real RPC resource, via StubTreq.

No sockets and no real time: the reactor handed to the RPC layer is a ``Clock``.
"""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry
from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from zkos_tw.config import RpcConfig
from zkos_tw.rpc.server import build_rpc
from zkos_tw.testing.fake_rpc_backend import FakeRpcBackend, make_transaction

ALICE = bytes.fromhex("a1" * 20)
BOB = bytes.fromhex("b0" * 20)
TOKEN = bytes.fromhex("70" * 20)
TRANSFER = bytes.fromhex("dd" * 32)


def hx(value: bytes) -> str:
    """``0x``-hex of bytes."""
    return "0x" + value.hex()


class FakeConnection:
    """A stand-in WebSocket connection for pub/sub handlers: records notifications."""

    def __init__(self):
        self.subscriptions = {}
        self.notifications = []

    def notify(self, subscription_id, result):
        self.notifications.append((subscription_id, result))


class RpcTestCase(TestCase):
    """Serves a fresh fake backend; ``call`` sends one request and returns the response."""

    config = RpcConfig()
    max_batch_size = None

    def setUp(self):
        self.clock = Clock()
        self.backend = FakeRpcBackend()
        self.registry = CollectorRegistry()
        self.site, self.filters, self.dispatcher = build_rpc(
            self.config,
            self.backend,
            self.clock,
            self.registry,
            max_batch_size=self.max_batch_size,
        )
        self.treq = StubTreq(self.site.resource)

    def add_transfer_block(self, nonce=0, amount=5, extra_logs=()):
        """A block with one transaction from ALICE emitting one TOKEN Transfer log."""
        tx = make_transaction(
            ALICE,
            nonce,
            TOKEN,
            logs=[(TOKEN, [TRANSFER, b"\0" * 12 + ALICE, b"\0" * 12 + BOB], bytes([amount]))]
            + list(extra_logs),
        )
        block = self.backend.add_block([tx])
        return block, tx

    async def post(self, body: bytes, headers=None):
        """POST raw bytes; return ``(status, headers, parsed JSON or None)``."""
        response = await self.treq.post("http://node/", data=body, headers=headers)
        content = await response.content()
        return response.code, response.headers, (json.loads(content) if content else None)

    async def request(self, payload):
        """POST a JSON value; return the parsed response body."""
        _, _, body = await self.post(json.dumps(payload).encode())
        return body

    async def call(self, method, *params, raw_params=None):
        """Call one method; return the whole response object."""
        payload = {"jsonrpc": "2.0", "id": 7, "method": method}
        payload["params"] = list(params) if raw_params is None else raw_params
        return await self.request(payload)

    async def result(self, method, *params):
        """Call one method and return its ``result`` (failing the test on an error)."""
        response = await self.call(method, *params)
        self.assertNotIn("error", response, response)
        return response["result"]

    async def error(self, method, *params):
        """Call one method and return its ``error`` object (failing the test on a result)."""
        response = await self.call(method, *params)
        self.assertIn("error", response, response)
        return response["error"]

    async def assert_error(self, code, message, method, *params):
        """The call fails with exactly ``code`` and ``message``."""
        error = await self.error(method, *params)
        self.assertEqual((error["code"], error["message"]), (code, message), error)
        return error
