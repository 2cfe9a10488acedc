"""The replay server and client over real loopback sockets (``tcp:`` and ``nacl:``).

The server serves a ``MemoryStorage`` WAL and is woken by a real ``BlockSink``'s listeners; the
client is the real ``ReplayClientService``. Each test waits on Deferreds, never on sleeps, except
the backpressure test, which gives a stalled client a moment to show the server stays bounded.
"""

from __future__ import annotations

import os

from twisted.internet import defer, reactor, task
from twisted.internet.endpoints import clientFromString, connectProtocol, serverFromString
from twisted.internet.protocol import Protocol
from twisted.logger import capturedLogs
from twisted.trial.unittest import TestCase

from zkos_tw.chain import GENESIS_WAL_RECORD
from zkos_tw.replay.client import ReplayClientService, ReplayStreamError
from zkos_tw.replay.framing import encode_request
from zkos_tw.replay.server import ReplayServerFactory
from zkos_tw.sequencer.blocks import BlockContext
from zkos_tw.sequencer.sink import BlockSink
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.storage import BlockWrite
from zkos_tw.testing.memory_storage import MemoryStorage
from zkos_tw.transports import keys


def make_record(number: int, tx_size: int = 3) -> ReplayRecord:
    """Block ``number``'s record: one transaction of ``tx_size`` bytes naming the block."""
    context = BlockContext(
        chain_id=270,
        number=number,
        block_hashes=tuple([bytes(32)] * 256),
        timestamp=1_700_000_000 + number,
        base_fee=1000,
        pubdata_price=0,
        native_price=1,
        coinbase=bytes(20),
        gas_limit=100_000_000,
        pubdata_limit=110_000,
        mix_hash=bytes(32),
        execution_version=3,
    )
    tx = b"\x02" + number.to_bytes(8, "big") + os.urandom(max(0, tx_size - 9))
    return ReplayRecord(context, number, (tx,), 1_700_000_000 + number - 1, "0.1.0", bytes(32))


class Chain:
    """A WAL in a ``MemoryStorage`` and the ``BlockSink`` that announces its blocks."""

    def __init__(self, tx_size: int = 3, *, genesis: bool = False):
        self.storage = MemoryStorage()
        self.sink = BlockSink(self.storage, None)
        self.tx_size = tx_size
        if genesis:  # block 0 as a node writes it: an empty WAL record (chain.py)
            self.storage.write_block(BlockWrite(0, bytes(32), GENESIS_WAL_RECORD, b"g"))

    def add(self, count: int) -> None:
        """Store ``count`` more blocks and notify, as the sequencer does."""
        for _ in range(count):
            last = self.storage.last_block()
            number = 0 if last is None else last + 1
            wal = make_record(number, self.tx_size).encode()
            self.storage.write_block(BlockWrite(number, number.to_bytes(32, "big"), wal, b"b"))
            self.sink.notify(None)


class Collector:
    """``on_record``: keeps the block numbers; ``stall`` holds records until ``release``."""

    def __init__(self):
        self.numbers: list[int] = []
        self._waiters: list[tuple[int, defer.Deferred]] = []
        self.stalled: defer.Deferred | None = None

    def __call__(self, record: ReplayRecord):
        self.numbers.append(record.context.number)
        for want, d in list(self._waiters):
            if len(self.numbers) >= want:
                self._waiters.remove((want, d))
                d.callback(None)
        if self.stalled is not None:
            return self.stalled
        return None

    def wait_for(self, count: int) -> defer.Deferred:
        """Fires once ``count`` records were handled."""
        d = defer.Deferred()
        if len(self.numbers) >= count:
            d.callback(None)
        else:
            self._waiters.append((count, d))
        return d


class ReplayStreamTests(TestCase):
    """Catch-up, following, several clients, backpressure, reconnects and refusals."""

    timeout = 20

    def listen(self, chain: Chain, description: str = "tcp:0:interface=127.0.0.1"):
        factory = ReplayServerFactory(chain.storage, reactor)
        chain.sink.add_listener(factory.block_stored)
        d = serverFromString(reactor, description).listen(factory)

        def listening(port):
            self.addCleanup(port.stopListening)
            self.addCleanup(self._drop_sessions, factory)
            self.port = port.getHost().port
            return factory

        return d.addCallback(listening)

    def _drop_sessions(self, factory):
        for session in list(factory.sessions):
            session.transport.abortConnection()

    def follow(self, start: int, collector, description: str | None = None, **kwargs):
        description = description or f"tcp:host=127.0.0.1:port={self.port}"
        service = ReplayClientService(
            reactor, clientFromString(reactor, description), start, collector, **kwargs
        )
        service.startService()
        self.addCleanup(service.stopService)
        return service

    @defer.inlineCallbacks
    def test_catch_up_from_zero_then_follow(self):
        """Blocks 0..4 stored before the client came, then 5..7 arrive live, each exactly once."""
        chain = Chain()
        chain.add(5)
        yield self.listen(chain)
        got = Collector()
        self.follow(0, got)
        yield got.wait_for(5)
        chain.add(3)
        yield got.wait_for(8)
        self.assertEqual(got.numbers, list(range(8)))

    @defer.inlineCallbacks
    def test_genesis_is_not_streamed(self):
        """On a node's storage block 0 has an empty WAL record: a client from 0 gets 1.."""
        chain = Chain(genesis=True)
        chain.add(3)
        yield self.listen(chain)
        got = Collector()
        self.follow(0, got)
        yield got.wait_for(3)
        self.assertEqual(got.numbers, [1, 2, 3])

    @defer.inlineCallbacks
    def test_from_a_middle_block(self):
        """Starting at block 6 streams 6.. and nothing before."""
        chain = Chain()
        chain.add(10)
        yield self.listen(chain)
        got = Collector()
        self.follow(6, got)
        yield got.wait_for(4)
        chain.add(1)
        yield got.wait_for(5)
        self.assertEqual(got.numbers, [6, 7, 8, 9, 10])

    @defer.inlineCallbacks
    def test_from_tip_plus_one_waits(self):
        """Starting at tip + 1 is allowed: the client gets the next stored block."""
        chain = Chain()
        chain.add(3)
        factory = yield self.listen(chain)
        got = Collector()
        self.follow(3, got)
        while not factory.sessions:
            yield task.deferLater(reactor, 0.01, lambda: None)
        chain.add(1)
        yield got.wait_for(1)
        self.assertEqual(got.numbers, [3])

    @defer.inlineCallbacks
    def test_two_clients(self):
        """Two clients from different blocks each get their own complete stream."""
        chain = Chain()
        chain.add(4)
        yield self.listen(chain)
        first, second = Collector(), Collector()
        self.follow(0, first)
        self.follow(2, second)
        yield defer.gatherResults([first.wait_for(4), second.wait_for(2)])
        chain.add(2)
        yield defer.gatherResults([first.wait_for(6), second.wait_for(4)])
        self.assertEqual(first.numbers, list(range(6)))
        self.assertEqual(second.numbers, [2, 3, 4, 5])

    @defer.inlineCallbacks
    def test_slow_client_backpressure(self):
        """A client that does not finish handling a record holds the server back: of 48 MiB the
        server writes only a bounded part (socket buffers), and all of it arrives on release."""
        chain = Chain(tx_size=512 * 1024)
        chain.add(96)
        factory = yield self.listen(chain)
        got = Collector()
        got.stalled = defer.Deferred()
        self.follow(0, got)
        yield got.wait_for(1)
        yield task.deferLater(reactor, 0.5, lambda: None)
        (session,) = factory.sessions
        self.assertTrue(session.paused)
        self.assertLess(session.bytes_written, 16 * 1024 * 1024)
        self.assertEqual(got.numbers, [0])
        stalled, got.stalled = got.stalled, None
        stalled.callback(None)
        yield got.wait_for(96)
        self.assertEqual(got.numbers, list(range(96)))

    @defer.inlineCallbacks
    def test_reconnect_resumes_without_gap_or_repeat(self):
        """The server drops the connection mid-stream; the client reconnects from the block after
        the last one it handled."""
        chain = Chain()
        chain.add(6)
        factory = yield self.listen(chain)
        got = Collector()
        service = self.follow(0, got)
        yield got.wait_for(6)
        for session in list(factory.sessions):
            session.close()
        chain.add(4)
        yield got.wait_for(10)
        self.assertEqual(got.numbers, list(range(10)))
        self.assertEqual(service.connections, 2)
        self.assertFalse(service.failed.called)

    @defer.inlineCallbacks
    def test_server_restart_resumes(self):
        """The server goes away (port closed, connections dropped) and comes back on the same
        port with more blocks: the client reconnects with backoff and resumes."""
        chain = Chain()
        chain.add(3)
        got = Collector()
        first = ReplayServerFactory(chain.storage, reactor)
        port = yield serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(first)
        self.port = port.getHost().port
        service = self.follow(0, got)
        yield got.wait_for(3)
        yield port.stopListening()
        for session in list(first.sessions):
            session.close()
        chain.add(2)
        yield task.deferLater(reactor, 0.2, lambda: None)  # at least one refused reconnect
        yield self.listen(chain, f"tcp:{self.port}:interface=127.0.0.1")
        yield got.wait_for(5)
        self.assertEqual(got.numbers, [0, 1, 2, 3, 4])
        self.assertEqual(service.connections, 2)

    @defer.inlineCallbacks
    def test_requested_version(self):
        """``zkos-replay-version: 2`` gets v2 frames, which decode to the same records."""
        chain = Chain()
        chain.add(3)
        factory = yield self.listen(chain)
        got = Collector()
        self.follow(0, got, version=2)
        yield got.wait_for(3)
        self.assertEqual(got.numbers, [0, 1, 2])
        (session,) = factory.sessions
        self.assertEqual(session.version, 2)

    @defer.inlineCallbacks
    def test_unknown_version_refused(self):
        """An unknown version is refused with a reason the client reports; no reconnect."""
        chain = Chain()
        chain.add(1)
        yield self.listen(chain)
        service = self.follow(0, Collector(), version=9)
        error = yield self.assertFailure(service.failed, ReplayStreamError)
        self.assertIn("unknown replay wire version 9", str(error))
        self.assertIn("refused", str(error))
        self.flushLoggedErrors()

    @defer.inlineCallbacks
    def test_beyond_tip_refused_server_keeps_serving(self):
        """A starting block beyond tip + 1 is refused; the next good client is served."""
        chain = Chain()
        chain.add(3)
        yield self.listen(chain)
        service = self.follow(5, Collector())
        error = yield self.assertFailure(service.failed, ReplayStreamError)
        self.assertIn("starting block 5 is beyond the tip 2 + 1", str(error))
        got = Collector()
        self.follow(0, got)
        yield got.wait_for(3)
        self.assertEqual(got.numbers, [0, 1, 2])

    @defer.inlineCallbacks
    def test_bad_preamble(self):
        """No empty line in 16 KiB, or bytes after the starting block: 400 and close."""
        chain = Chain()
        chain.add(1)
        yield self.listen(chain)
        for request in (b"x" * 17000, encode_request(0) + b"junk"):
            raw = Raw()
            yield connectProtocol(
                clientFromString(reactor, f"tcp:host=127.0.0.1:port={self.port}"), raw
            )
            raw.transport.write(request)
            answer = yield raw.closed
            self.assertTrue(answer.startswith(b"HTTP/1.0 400 Bad Request\r\n\r\n"), answer[:80])
        got = Collector()
        self.follow(0, got)
        yield got.wait_for(1)

    @defer.inlineCallbacks
    def test_corrupt_frame_rejected(self):
        """A frame that does not decode ends following with a clear error."""
        yield self._fake_server(b"\x00\x00\x00\x03" + b"\x00\x00\x00\x02\xff\xff")
        service = self.follow(0, Collector())
        error = yield self.assertFailure(service.failed, ReplayStreamError)
        self.assertIn("corrupt record after block -1", str(error))

    @defer.inlineCallbacks
    def test_oversized_frame_rejected(self):
        """A length prefix above the limit is refused as soon as it arrives."""
        yield self._fake_server(b"\x00\x00\x00\x03" + b"\x7f\xff\xff\xff")
        service = self.follow(0, Collector())
        error = yield self.assertFailure(service.failed, ReplayStreamError)
        self.assertIn("exceeds the 8388608 limit", str(error))

    def _fake_server(self, answer: bytes):
        """A server that answers every connection with ``answer`` bytes."""
        from twisted.internet.protocol import Factory

        class Answer(Protocol):
            def connectionMade(self):
                self.transport.write(answer)

        d = serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
            Factory.forProtocol(Answer)
        )

        def listening(port):
            self.addCleanup(port.stopListening)
            self.port = port.getHost().port

        return d.addCallback(listening)

    @defer.inlineCallbacks
    def test_over_nacl(self):
        """The same stream over ``nacl:``: catch-up and a live block."""
        base = self.mktemp()
        os.makedirs(base)
        server_key = keys.write_key_file(os.path.join(base, "server.key"))
        client_key = keys.write_key_file(os.path.join(base, "client.key"))
        chain = Chain()
        chain.add(3)
        allow = bytes(client_key.verify_key).hex()
        yield self.listen(
            chain,
            f"nacl:tcp\\:0\\:interface\\=127.0.0.1:key={base}/server.key:allow={allow}",
        )
        got = Collector()
        server = bytes(server_key.verify_key).hex()
        self.follow(
            0,
            got,
            f"nacl:tcp\\:host\\=127.0.0.1\\:port\\={self.port}:key={base}/client.key:server={server}",
        )
        yield got.wait_for(3)
        chain.add(1)
        yield got.wait_for(4)
        self.assertEqual(got.numbers, [0, 1, 2, 3])

    @defer.inlineCallbacks
    def test_over_nacl_unknown_key(self):
        """A client whose key the server does not allow gets no record; the server logs the
        refusal and the client logs the drop, naming its key; the client keeps retrying."""
        base = self.mktemp()
        os.makedirs(base)
        server_key = keys.write_key_file(os.path.join(base, "server.key"))
        allowed = keys.write_key_file(os.path.join(base, "allowed.key"))
        intruder = keys.write_key_file(os.path.join(base, "intruder.key"))
        chain = Chain()
        chain.add(2)
        yield self.listen(
            chain,
            f"nacl:tcp\\:0\\:interface\\=127.0.0.1:key={base}/server.key"
            f":allow={bytes(allowed.verify_key).hex()}",
        )
        got = Collector()
        intruder_hex = bytes(intruder.verify_key).hex()
        with capturedLogs() as events:
            service = self.follow(
                0,
                got,
                f"nacl:tcp\\:host\\=127.0.0.1\\:port\\={self.port}:key={base}/intruder.key"
                f":server={bytes(server_key.verify_key).hex()}",
            )
            while sum("does it allow our key" in e.get("line", "") for e in events) < 2:
                yield task.deferLater(reactor, 0.05, lambda: None)
        lines = [e["line"] for e in events if "line" in e]
        self.assertRegex(
            lines[0],
            rf"^nacl: refused 127\.0\.0\.1:\d+: client key {intruder_hex} is not in the allowed keys$",
        )
        self.assertRegex(
            lines[1],
            r"^nacl: 127\.0\.0\.1:\d+ closed the connection during the handshake "
            rf"\(waiting for finish, 0 bytes buffered\) \(does it allow our key {intruder_hex}\?\)$",
        )
        self.assertEqual(got.numbers, [])
        self.assertEqual(service.connections, 0)  # connect fires only after a handshake
        self.assertFalse(service.failed.called)


class Raw(Protocol):
    """Collects what a server sends; ``closed`` fires with it when the server closes."""

    def __init__(self):
        self.data = b""
        self.closed = defer.Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.closed.callback(self.data)
