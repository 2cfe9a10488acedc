"""The body limit at the HTTP channel: a 413 before the body is read (StringTransport, no sockets)."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from zkos_tw.config import RpcConfig
from zkos_tw.rpc.server import build_rpc
from zkos_tw.testing.fake_rpc_backend import FakeRpcBackend

LIMIT = 1024 * 1024


class ChannelLimitTests(TestCase):
    """``LimitedHTTPChannel`` with ``rpc_max_request_size`` = 1 MiB."""

    def setUp(self):
        self.clock = Clock()
        site, _, _ = build_rpc(
            RpcConfig(max_request_size=1), FakeRpcBackend(), self.clock, CollectorRegistry()
        )
        self.channel = site.buildProtocol(None)
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)

    def tearDown(self):
        self.channel.connectionLost(None)

    def response(self):
        head, _, body = self.transport.value().partition(b"\r\n\r\n")
        return head.split(b"\r\n")[0], head, body

    def test_declared_length_over_limit(self):
        """A Content-Length over the limit is answered 413 as soon as the headers end, and the
        connection is closed without reading the body."""
        self.channel.dataReceived(
            b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (LIMIT + 1)
        )
        status, head, body = self.response()
        self.assertEqual(status, b"HTTP/1.1 413 Payload Too Large")
        self.assertIn(b"connection: close", head)
        self.assertEqual(json.loads(body)["error"]["code"], -32007)
        self.assertTrue(self.transport.disconnecting)
        # Body bytes that still arrive are ignored.
        self.channel.dataReceived(b"x" * 1000)
        self.assertEqual(self.transport.value().count(b"HTTP/1.1"), 1)

    def test_chunked_body_over_limit(self):
        """A chunked body is cut off with 413 once it grows past the limit."""
        self.channel.dataReceived(
            b"POST / HTTP/1.1\r\nHost: node\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        for _ in range(20):
            if self.transport.disconnecting:
                break
            self.channel.dataReceived(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        status, _, body = self.response()
        self.assertEqual(status, b"HTTP/1.1 413 Payload Too Large")
        self.assertEqual(json.loads(body)["error"]["message"], "Request is too big")

    def test_small_request_is_served(self):
        """A request under the limit is served normally on the same kind of channel."""
        payload = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
        self.channel.dataReceived(
            b"POST / HTTP/1.1\r\nHost: node\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload
        )
        status, _, body = self.response()
        self.assertEqual(status, b"HTTP/1.1 200 OK")
        self.assertEqual(json.loads(body)["result"], "0x10e")


class ConnectionLimitTests(TestCase):
    """``rpc_max_connections``."""

    def test_limit(self):
        """Connections beyond the limit are refused until one closes."""
        from twisted.internet.address import IPv4Address
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        from zkos_tw.rpc.server import ConnectionLimit

        site, _, _ = build_rpc(RpcConfig(), FakeRpcBackend(), Clock(), CollectorRegistry())
        limit = ConnectionLimit(site, 2)
        addr = IPv4Address("TCP", "127.0.0.1", 1)
        first, second = limit.buildProtocol(addr), limit.buildProtocol(addr)
        for protocol in (first, second):
            protocol.makeConnection(StringTransport())
        self.assertIsNone(limit.buildProtocol(addr))
        first.connectionLost(Failure(ConnectionDone()))
        third = limit.buildProtocol(addr)
        self.assertIsNotNone(third)
        third.makeConnection(StringTransport())
        for protocol in (second, third):
            protocol.connectionLost(Failure(ConnectionDone()))


class ServiceTests(TestCase):
    """``create_rpc_service``."""

    def test_is_a_service_on_the_configured_endpoint(self):
        """An ``IService`` listening where ``rpc_address`` says, wrapped in the connection limit."""
        from twisted.application.service import IService
        from twisted.internet.testing import MemoryReactorClock
        from zope.interface.verify import verifyObject

        from zkos_tw.rpc import create_rpc_service

        reactor = MemoryReactorClock()
        service = create_rpc_service(
            RpcConfig(address="tcp:3999:interface=127.0.0.1"),
            FakeRpcBackend(),
            reactor,
            CollectorRegistry(),
        )
        self.assertTrue(verifyObject(IService, service))
        service.startService()
        [(port, factory, _, interface)] = reactor.tcpServers
        self.assertEqual((port, interface), (3999, "127.0.0.1"))
        self.assertEqual(factory.max_connections, 1000)
        self.assertEqual(len(reactor.getDelayedCalls()), 1)  # the stale-filter check
        service.stopService()
        self.assertEqual(reactor.getDelayedCalls(), [])
