"""The replay stream over TLS: Twisted's ``ssl:`` server and ``tls:`` client endpoints.

Each test makes its own CA and certificates (``zkos_tw.testing.tls``) and runs the real replay
server and ``ReplayClientService`` over loopback. The client checks the server's certificate
against ``trustRoots=`` and the name given as ``host``; a client that does not trust the CA, or
that expects another name, is refused during the handshake and never sees a record.
"""

from __future__ import annotations

from twisted.internet import defer, reactor, task
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from tests.replay.test_stream import Chain, Collector
from zkos_tw.replay.client import ReplayClientService
from zkos_tw.replay.server import ReplayServerFactory
from zkos_tw.testing.tls import TestCA


class ReplayOverTLSTests(TestCase):
    """Catch-up and follow over ``ssl:``/``tls:``; an untrusted CA and a wrong name refused."""

    timeout = 20

    def setUp(self):
        self.base = self.mktemp()
        self.ca = TestCA(self.base)
        self.cert, self.key = self.ca.issue("server", ("main.zkos.test", "127.0.0.1"))

    @defer.inlineCallbacks
    def listen(self, chain: Chain):
        factory = ReplayServerFactory(chain.storage, reactor)
        chain.sink.add_listener(factory.block_stored)
        description = f"ssl:0:interface=127.0.0.1:privateKey={self.key}:certKey={self.cert}"
        port = yield serverFromString(reactor, description).listen(factory)
        self.addCleanup(port.stopListening)
        self.addCleanup(lambda: [s.transport.abortConnection() for s in list(factory.sessions)])
        self.port = port.getHost().port
        return factory

    def follow(self, got: Collector, *, name="main.zkos.test", trust=None):
        trust = trust or self.ca.trust_dir
        description = (
            f"tls:{name}:{self.port}:trustRoots={trust}:endpoint=tcp\\:127.0.0.1\\:{self.port}"
        )
        service = ReplayClientService(reactor, clientFromString(reactor, description), 0, got)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    @defer.inlineCallbacks
    def test_catch_up_then_follow(self):
        """A client trusting the CA gets the stored blocks, then a live one."""
        chain = Chain()
        chain.add(4)
        yield self.listen(chain)
        got = Collector()
        self.follow(got)
        yield got.wait_for(4)
        chain.add(1)
        yield got.wait_for(5)
        self.assertEqual(got.numbers, [0, 1, 2, 3, 4])

    @defer.inlineCallbacks
    def refused(self, chain: Chain, **follow):
        """Follow with ``follow`` options for half a second; returns the warning lines."""
        yield self.listen(chain)
        got = Collector()
        with capturedLogs() as events:
            service = self.follow(got, **follow)
            while service.connections < 2:  # refused once, and retried
                yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(got.numbers, [])
        self.assertFalse(service.failed.called)  # a refused handshake is retried, not fatal
        return [formatEvent(e) for e in events if e["log_level"] == LogLevel.warn]

    @defer.inlineCallbacks
    def test_untrusted_ca_refused(self):
        """A client trusting another CA refuses the server's certificate; both sides log why."""
        chain = Chain()
        chain.add(2)
        other = TestCA(self.base + "-other", "another CA")
        lines = yield self.refused(chain, trust=other.trust_dir)
        client = [line for line in lines if "connection to" in line]
        server = [line for line in lines if "dropped during the TLS handshake" in line]
        self.assertTrue(client, lines)
        self.assertRegex(
            client[0],
            r"^replay: connection to 127\.0\.0\.1:\d+ lost before block 0: TLS: .*"
            "certificate verify failed",
        )
        self.assertTrue(server, lines)
        self.assertRegex(
            server[0],
            r"^replay: 127\.0\.0\.1:\d+ dropped during the TLS handshake: TLS: tlsv1 alert unknown ca$",
        )

    @defer.inlineCallbacks
    def test_hostname_mismatch_refused(self):
        """A certificate from the trusted CA but for another name is refused too."""
        chain = Chain()
        chain.add(2)
        lines = yield self.refused(chain, name="other.zkos.test")
        client = [line for line in lines if "connection to" in line]
        self.assertTrue(client, lines)
        self.assertRegex(
            client[0],
            r"^replay: connection to 127\.0\.0\.1:\d+ lost before block 0: "
            r"TLS: the certificate is not valid for other\.zkos\.test$",
        )
