"""One smoke test over a real socket: HTTP with treq and WebSocket with autobahn's client, both
on the port that ``create_rpc_service`` listens on (127.0.0.1, a free port)."""

from __future__ import annotations

import json
import socket

import treq
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from prometheus_client import CollectorRegistry
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import clientFromString
from twisted.trial.unittest import TestCase
from twisted.web.client import HTTPConnectionPool

from zkos_tw.config import RpcConfig
from zkos_tw.rpc import create_rpc_service
from zkos_tw.testing.fake_rpc_backend import FakeRpcBackend


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client(WebSocketClientProtocol):
    """Queues every message it receives; fires ``factory.opened`` / ``factory.closed``."""

    def onOpen(self):
        self.factory.opened.callback(self)

    def onMessage(self, payload, isBinary):
        self.factory.messages.put(json.loads(payload))

    def onClose(self, wasClean, code, reason):
        self.factory.closed.callback(None)


class SocketSmokeTests(TestCase):
    """HTTP and WebSocket on one real port."""

    timeout = 15

    async def test_http_and_websocket(self):
        """A POST, a batch, a GET, then a WebSocket subscription that sees a new block."""
        port = free_port()
        backend = FakeRpcBackend()
        service = create_rpc_service(
            RpcConfig(address=f"tcp:{port}:interface=127.0.0.1"),
            backend,
            reactor,
            CollectorRegistry(),
        )
        service.startService()
        self.addCleanup(service.stopService)
        pool = HTTPConnectionPool(reactor, persistent=False)
        url = f"http://127.0.0.1:{port}/"

        response = await treq.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
            pool=pool,
        )
        self.assertEqual(response.code, 200)
        self.assertEqual((await response.json())["result"], "0x10e")
        response = await treq.post(
            url,
            data=json.dumps(
                [{"jsonrpc": "2.0", "id": i, "method": "net_version"} for i in range(3)]
            ).encode(),
            headers={"content-type": "application/json"},
            pool=pool,
        )
        self.assertEqual([r["result"] for r in await response.json()], ["0x10e"] * 3)
        response = await treq.get(url, pool=pool)
        self.assertEqual(response.code, 405)
        await response.content()

        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/", reactor=reactor)
        factory.protocol = Client
        factory.opened, factory.closed, factory.messages = Deferred(), Deferred(), DeferredQueue()
        await clientFromString(reactor, f"tcp:127.0.0.1:{port}").connect(factory)
        client = await factory.opened
        client.sendMessage(
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            ).encode()
        )
        subscription = (await factory.messages.get())["result"]
        block = backend.add_block([])
        note = await factory.messages.get()
        self.assertEqual(
            note["params"],
            {
                "subscription": subscription,
                "result": {k: v for k, v in block.items() if k not in ("transactions", "uncles")},
            },
        )
        client.sendMessage(b'{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}')
        self.assertEqual((await factory.messages.get())["result"], "0x1")
        client.sendClose()
        await factory.closed
        await pool.closeCachedConnections()
