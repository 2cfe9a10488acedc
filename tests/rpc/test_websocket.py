"""WebSocket on the RPC port, driven through ``StringTransport`` (no sockets): the upgrade is
routed to autobahn, requests are answered, subscriptions notify, and closing drops them."""

from __future__ import annotations

import base64
import json
import os

from prometheus_client import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from zkos_tw.config import RpcConfig
from zkos_tw.rpc.server import build_rpc
from zkos_tw.testing.fake_rpc_backend import FakeRpcBackend


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One masked client frame (RFC 6455 §5.2)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes([0x80 | opcode, 0x80 | length])
    elif length < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split unmasked server frames into ``(opcode, payload)``."""
    frames = []
    while data:
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        offset = 2
        if length == 126:
            length, offset = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(data[2:10], "big"), 10
        frames.append((opcode, data[offset : offset + length]))
        data = data[offset + length :]
    return frames


class WebSocketTests(TestCase):
    """One WebSocket client on a ``StringTransport``."""

    def setUp(self):
        self.clock = Clock()
        self.backend = FakeRpcBackend()
        site, _, _ = build_rpc(
            RpcConfig(max_request_size=1), self.backend, self.clock, CollectorRegistry()
        )
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5555))
        self.channel = site.buildProtocol(None)
        # Real transports know their protocol; autobahn swaps it for the WebSocket one.
        self.transport.protocol = self.channel
        self.channel.makeConnection(self.transport)
        key = base64.b64encode(os.urandom(16))
        self.channel.dataReceived(
            b"GET / HTTP/1.1\r\nHost: node:3050\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        handshake = self.transport.value()
        self.assertTrue(handshake.startswith(b"HTTP/1.1 101"), handshake[:200])
        self.transport.clear()
        self.protocol = self.transport.protocol
        self.closed = False

    def tearDown(self):
        if not self.closed:
            self.protocol.connectionLost(Failure(ConnectionDone()))
        for call in self.clock.getDelayedCalls():
            call.cancel()

    def send(self, payload) -> list:
        """Send one JSON text message; return the JSON of every text frame sent back."""
        self.protocol.dataReceived(client_frame(json.dumps(payload).encode()))
        return self.received()

    def received(self) -> list:
        frames = server_frames(self.transport.value())
        self.transport.clear()
        return [json.loads(p) for opcode, p in frames if opcode == 0x1]

    def test_request_and_batch(self):
        """Any HTTP method works over WebSocket, batches too."""
        [response] = self.send({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
        self.assertEqual(response, {"jsonrpc": "2.0", "result": "0x10e", "id": 1})
        [batch] = self.send(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
                {"jsonrpc": "2.0", "id": 2, "method": "nope"},
            ]
        )
        self.assertEqual(batch[0]["result"], "0x0")
        self.assertEqual(batch[1]["error"]["code"], -32601)

    def test_parse_error(self):
        """Malformed JSON over WebSocket: -32700, and the connection stays open."""
        self.protocol.dataReceived(client_frame(b"{nope"))
        [response] = self.received()
        self.assertEqual(response["error"]["code"], -32700)
        [response] = self.send({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
        self.assertEqual(response["result"], "0x10e")

    def test_subscription(self):
        """``eth_subscribe newHeads``: the id, then one ``eth_subscription`` per block."""
        [response] = self.send(
            {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
        )
        sid = response["result"]
        block = self.backend.add_block([])
        [note] = self.received()
        self.assertEqual(note["method"], "eth_subscription")
        self.assertEqual(note["params"]["subscription"], sid)
        self.assertEqual(note["params"]["result"]["hash"], block["hash"])

    def test_close_drops_subscriptions(self):
        """When the connection goes, its listeners are removed from the backend."""
        self.send({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
        self.assertEqual(len(self.backend._block_listeners), 1)
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.closed = True
        self.assertEqual(self.backend._block_listeners, [])
        self.backend.add_block([])

    def test_message_over_limit_closes(self):
        """A message longer than ``rpc_max_request_size`` closes the connection with 1009."""
        self.protocol.dataReceived(client_frame(b" " * (1024 * 1024 + 1)))
        frames = server_frames(self.transport.value())
        self.assertEqual(frames[0][0], 0x8)  # close
        self.assertEqual(int.from_bytes(frames[0][1][:2], "big"), 1009)
