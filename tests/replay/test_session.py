"""The server session and the client protocol as state machines: ``StringTransport`` and a
``Clock``, no sockets (STYLE 18)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.replay.client import ReplayClientProtocol, ReplayClientService, ReplayStreamError
from zkos_tw.replay.codec import decode_record, encode_record
from zkos_tw.replay.framing import StreamParser, encode_frame, encode_request, encode_version
from zkos_tw.replay.metrics import ReplayServerMetrics
from zkos_tw.replay.server import CHUNK_RECORDS, ReplayServerFactory

from .test_stream import Chain, make_record

PEER = IPv4Address("TCP", "10.0.0.9", 4242)


class PausingTransport(StringTransport):
    """A transport whose buffer 'fills' after ``limit`` bytes: it pauses its producer then."""

    def __init__(self, limit: int):
        super().__init__(peerAddress=PEER)
        self.limit = limit

    def write(self, data):
        super().write(data)
        if len(self.value()) > self.limit and self.producer is not None:
            self.producer.pauseProducing()


def open_session(chain: Chain, clock: Clock, transport=None):
    """A session of a factory serving ``chain``, connected to a string transport."""
    registry = CollectorRegistry()
    factory = ReplayServerFactory(chain.storage, clock, metrics=ReplayServerMetrics(registry))
    factory.sample = registry.get_sample_value
    chain.sink.add_listener(factory.block_stored)
    session = factory.buildProtocol(PEER)
    transport = transport or StringTransport(peerAddress=PEER)
    session.makeConnection(transport)
    return factory, session, transport


def one_turn(clock: Clock) -> None:
    """Run only the calls due now that were scheduled before this turn (``Clock.advance`` would
    also run the ones they schedule)."""
    due = [c for c in clock.getDelayedCalls() if c.getTime() <= clock.seconds()]
    for call in due:
        clock.calls.remove(call)
        call.called = True
        call.func(*call.args, **call.kw)


def frames_in(data: bytes) -> list[int]:
    """The block numbers of the frames after the version in ``data``."""
    parser = StreamParser()
    return [decode_record(f, parser.version).context.number for f in parser.feed(data)]


class SessionTests(SynchronousTestCase):
    """``ReplaySession``: chunked catch-up, pausing, waking, the request timeout."""

    def test_catch_up_in_chunks_then_wake(self):
        """At most ``CHUNK_RECORDS`` per reactor turn; a stored block is written when notified."""
        chain = Chain()
        chain.add(CHUNK_RECORDS + 5)
        clock = Clock()
        _, session, transport = open_session(chain, clock)
        session.dataReceived(encode_request(0))
        self.assertIs(transport.producer, session)
        self.assertTrue(transport.streaming)
        one_turn(clock)
        self.assertEqual(frames_in(transport.value()), list(range(CHUNK_RECORDS)))
        one_turn(clock)
        self.assertEqual(frames_in(transport.value()), list(range(CHUNK_RECORDS + 5)))
        self.assertEqual(clock.getDelayedCalls(), [])  # at the tip: nothing scheduled, no polling
        chain.add(1)
        clock.advance(0)
        self.assertEqual(frames_in(transport.value()), list(range(CHUNK_RECORDS + 6)))
        sample = session.factory.sample
        self.assertEqual(sample("replay_server_records_sent_total"), CHUNK_RECORDS + 6)
        self.assertEqual(sample("replay_server_sent_bytes_total"), len(transport.value()))
        self.assertEqual(sample("replay_server_clients"), 1)
        session.connectionLost(None)
        self.assertEqual(sample("replay_server_clients"), 0)

    def test_pause_stops_after_the_write_that_filled_the_buffer(self):
        """The transport pauses after the third record: nothing more until it resumes."""
        chain = Chain(tx_size=1000)
        chain.add(10)
        clock = Clock()
        frame_size = len(encode_frame(encode_record(make_record(0, 1000))))
        transport = PausingTransport(limit=4 + 2 * frame_size + 1)
        _, session, transport = open_session(chain, clock, transport)
        session.dataReceived(encode_request(0))
        clock.advance(0)
        self.assertTrue(session.paused)
        self.assertEqual(frames_in(transport.value()), [0, 1, 2])
        chain.add(1)  # a new block does not wake a paused session
        clock.advance(0)
        self.assertEqual(session.records_sent, 3)
        transport.clear()
        transport.limit = 1 << 30
        session.resumeProducing()
        clock.advance(0)
        parser_input = encode_version(3) + transport.value()
        self.assertEqual(frames_in(parser_input), list(range(3, 11)))

    def test_request_timeout(self):
        """A client that never finishes its request is refused after the timeout."""
        chain = Chain()
        clock = Clock()
        _, session, transport = open_session(chain, clock)
        session.dataReceived(b"POST /block_replays HTTP/1.0\r\n")
        with capturedLogs() as events:
            clock.advance(10)
        self.assertTrue(transport.disconnecting)
        self.assertIn(b"no complete request within 10 s", transport.value())
        self.assertEqual(
            [formatEvent(e) for e in events],
            ["replay: refused 10.0.0.9:4242: no complete request within 10 s"],
        )

    def test_request_in_time_cancels_the_timeout(self):
        """Once the request is in, the timeout is gone."""
        chain = Chain()
        chain.add(1)
        clock = Clock()
        _, session, transport = open_session(chain, clock)
        session.dataReceived(encode_request(0))
        clock.advance(0)
        clock.advance(60)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(frames_in(transport.value()), [0])

    def test_bytes_while_streaming_close(self):
        """A client that talks after its request is closed (the stream is one-way)."""
        chain = Chain()
        chain.add(1)
        _, session, transport = open_session(chain, Clock())
        session.dataReceived(encode_request(0))
        with capturedLogs():
            session.dataReceived(b"x")
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(transport.producer)


class ClientProtocolTests(SynchronousTestCase):
    """``ReplayClientProtocol``: flow control and stream checks."""

    def connect(self, on_record, start=0):
        service = ReplayClientService(Clock(), None, start, on_record)
        service.failed.addErrback(lambda f: self.errors.append(f.value))
        self.errors = []
        protocol = ReplayClientProtocol(service)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return service, protocol, transport

    def frames(self, *numbers):
        return b"".join(encode_frame(encode_record(make_record(n))) for n in numbers)

    def test_request_sent_and_pause_while_pending(self):
        """The request asks for ``next_block``; a pending record pauses reading, its firing
        resumes it and hands on the queued records in order."""
        pending = [defer.Deferred()]
        seen = []

        def on_record(record):
            seen.append(record.context.number)
            return pending[0] if len(seen) == 1 else None

        service, protocol, transport = self.connect(on_record, start=5)
        self.assertEqual(transport.value(), encode_request(5))
        protocol.dataReceived(encode_version(3) + self.frames(5, 6, 7))
        self.assertEqual(seen, [5])
        self.assertEqual(transport.producerState, "paused")
        pending[0].callback(None)
        self.assertEqual(seen, [5, 6, 7])
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(service.next_block, 8)

    def test_many_synchronous_records_do_not_recurse(self):
        """Thousands of frames in one read with a synchronous callback: no recursion limit."""
        seen = []
        service, protocol, _ = self.connect(lambda r: seen.append(r.context.number))
        protocol.dataReceived(encode_version(3) + self.frames(*range(3000)))
        self.assertEqual(len(seen), 3000)
        self.assertEqual(service.next_block, 3000)

    def test_empty_storage(self):
        """With nothing stored only block 0 may be asked for, and nothing is sent yet."""
        clock = Clock()
        _, session, transport = open_session(Chain(), clock)
        session.dataReceived(encode_request(0))
        clock.advance(0)
        self.assertEqual(transport.value(), encode_version(3))
        _, session, transport = open_session(Chain(), clock)
        with capturedLogs():
            session.dataReceived(encode_request(1))
        self.assertIn(b"starting block 1 is beyond the tip -1 + 1", transport.value())
        self.assertEqual(session.factory.sample("replay_server_refused_total"), 1)

    def test_gap_is_refused(self):
        """A record that is not the next block ends following."""
        _, protocol, transport = self.connect(lambda r: None)
        with capturedLogs():
            protocol.dataReceived(encode_version(3) + self.frames(0, 2))
        self.assertTrue(transport.disconnecting)
        self.assertEqual(str(self.errors[0]), "got block 2, expected 1")

    def test_failing_callback_ends_following(self):
        """An ``on_record`` failure is reported with the block it was handling."""

        def on_record(record):
            raise RuntimeError("disk full")

        _, protocol, _ = self.connect(on_record)
        with capturedLogs():
            protocol.dataReceived(encode_version(3) + self.frames(0))
        self.assertIsInstance(self.errors[0], ReplayStreamError)
        self.assertEqual(str(self.errors[0]), "handling block 0 failed: disk full")

    def test_unknown_version(self):
        """A version outside 1..3 ends following."""
        _, protocol, _ = self.connect(lambda r: None)
        with capturedLogs():
            protocol.dataReceived(b"\x00\x00\x00\x04")
        self.assertEqual(str(self.errors[0]), "unknown replay wire version 4")
