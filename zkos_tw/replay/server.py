"""The block replay server (reference §4.1, on 3053): streams WAL records to external nodes.

One ``ReplaySession`` per connection reads the request (preamble, ``starting_block``), answers
the wire version and streams every stored block from ``starting_block`` on, then follows new
blocks: ``ReplayServerFactory.block_stored`` (a ``BlockSink`` listener) wakes the sessions that
wait at the tip — there is no polling. Each session is the transport's streaming producer
(``IPushProducer``): it stops writing as soon as the transport asks it to pause, so a slow EN
costs at most one record of buffered bytes above the transport's own buffer, and catch-up writes
at most ``CHUNK_RECORDS`` records per reactor turn so other connections get their share.

A bad request (no empty line, bytes after ``starting_block``, an unknown ``zkos-replay-version``,
a ``starting_block`` beyond the tip + 1) is answered with ``HTTP/1.0 400`` and one line saying
why, then closed; the server keeps serving everyone else.
"""

from __future__ import annotations

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

from zkos_tw.replay.codec import CURRENT_WIRE_VERSION, SUPPORTED_WIRE_VERSIONS, encode_record
from zkos_tw.replay.framing import (
    FramingError,
    RequestParser,
    encode_frame,
    encode_version,
    requested_version,
)
from zkos_tw.replay.metrics import ReplayServerMetrics
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.transports.reasons import describe, is_tls_failure

log = Logger()

#: records written per reactor turn while catching up
CHUNK_RECORDS = 32
#: seconds a client has to send its request before it is closed
REQUEST_TIMEOUT = 10.0


class ReplayRequestError(ValueError):
    """A client's request cannot be served; the message goes back to it before the close."""


@implementer(IPushProducer)
class ReplaySession(Protocol):
    """One EN connection: ``reading_request`` → ``streaming`` (writing / paused / at the tip)."""

    def __init__(self, factory: ReplayServerFactory):
        self.factory = factory
        self.state = "reading_request"
        self.next_block: int | None = None
        self.version = CURRENT_WIRE_VERSION
        self.paused = False
        self.bytes_written = 0
        self.records_sent = 0
        self._parser = RequestParser()
        self._scheduled = None
        self._timeout = None

    def connectionMade(self) -> None:
        self._timeout = self.factory.clock.callLater(
            self.factory.request_timeout, self._request_timed_out
        )

    def _request_timed_out(self) -> None:
        self._timeout = None
        self._refuse(f"no complete request within {self.factory.request_timeout:g} s")

    def _stop_timeout(self) -> None:
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None

    # -- request ---------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self.state != "reading_request":
            if data and self.state == "streaming":
                log.warn("replay: closing {peer}: it sent bytes while streaming", peer=self._peer())
                self.close()
            return
        try:
            start = self._parser.feed(data)
            if start is None:
                return
            self.version = requested_version(self._parser.header, CURRENT_WIRE_VERSION)
            self._check(start)
        except (FramingError, ReplayRequestError) as e:
            self._refuse(str(e))
            return
        self._stop_timeout()
        self.next_block = max(start, self.factory.first_block())
        self.state = "streaming"
        self.transport.registerProducer(self, True)
        self._write(encode_version(self.version))
        log.info(
            "replay: {peer} streams from block {start} (v{version})",
            peer=self._peer(),
            start=start,
            version=self.version,
        )
        self.factory.sessions.add(self)
        self.factory.metrics.clients.set(len(self.factory.sessions))
        self._schedule()

    def _check(self, start: int) -> None:
        if self.version not in SUPPORTED_WIRE_VERSIONS:
            raise ReplayRequestError(
                f"unknown replay wire version {self.version} "
                f"(supported: {', '.join(map(str, SUPPORTED_WIRE_VERSIONS))})"
            )
        tip = self.factory.tip()
        if start > tip + 1:
            raise ReplayRequestError(f"starting block {start} is beyond the tip {tip} + 1")

    def _refuse(self, reason: str) -> None:
        log.warn("replay: refused {peer}: {reason}", peer=self._peer(), reason=reason)
        self._stop_timeout()
        self.factory.metrics.refused.inc()
        self.state = "closed"
        self.transport.write(b"HTTP/1.0 400 Bad Request\r\n\r\n" + reason.encode() + b"\n")
        self.transport.loseConnection()

    # -- streaming -------------------------------------------------------------------------

    def wake(self) -> None:
        """A block was stored: write it unless paused or already scheduled."""
        self._schedule()

    def _schedule(self) -> None:
        if self.state == "streaming" and not self.paused and self._scheduled is None:
            self._scheduled = self.factory.clock.callLater(0, self._pump)

    def _pump(self) -> None:
        self._scheduled = None
        tip = self.factory.tip()
        written = 0
        while (
            self.state == "streaming"
            and not self.paused
            and self.next_block <= tip
            and written < CHUNK_RECORDS
        ):
            try:
                frame = self.factory.frame(self.next_block, self.version)
            except (LookupError, ValueError) as e:
                log.error(
                    "replay: closing {peer}: block {number} cannot be sent: {error}",
                    peer=self._peer(),
                    number=self.next_block,
                    error=str(e),
                )
                self.close()
                return
            self.next_block += 1
            if frame is None:
                continue
            self.records_sent += 1
            self.factory.metrics.records_sent.inc()
            written += 1
            self._write(frame)  # may call pauseProducing synchronously
        if written == CHUNK_RECORDS:
            self._schedule()

    def _write(self, data: bytes) -> None:
        self.bytes_written += len(data)
        self.factory.metrics.bytes_sent.inc(len(data))
        self.transport.write(data)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self._schedule()

    def stopProducing(self) -> None:
        self.state = "closed"

    def close(self) -> None:
        """End the stream: unregister as producer (else the close waits for us) and close."""
        if self.state == "streaming":
            self.transport.unregisterProducer()
        self.state = "closed"
        self.transport.loseConnection()

    def connectionLost(self, reason) -> None:
        if self.state == "reading_request" and is_tls_failure(reason):
            log.warn(
                "replay: {peer} dropped during the TLS handshake: {why}",
                peer=self._peer(),
                why=describe(reason),
            )
        self._stop_timeout()
        self.state = "closed"
        self.factory.sessions.discard(self)
        self.factory.metrics.clients.set(len(self.factory.sessions))
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None

    def _peer(self) -> str:
        peer = self.transport.getPeer()
        host, port = getattr(peer, "host", None), getattr(peer, "port", None)
        return f"{host}:{port}" if host is not None else str(peer)


class ReplayServerFactory(Factory):
    """Serves the WAL of ``storage`` (``last_block``, ``first_block``, ``wal_record``)."""

    def __init__(
        self,
        storage,
        clock,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        metrics: ReplayServerMetrics | None = None,
    ):
        self.metrics = metrics or ReplayServerMetrics()
        self.storage = storage
        self.clock = clock
        self.request_timeout = request_timeout
        self.sessions: set[ReplaySession] = set()

    def buildProtocol(self, addr) -> ReplaySession:
        return ReplaySession(self)

    def tip(self) -> int:
        """The newest stored block (-1 when nothing is stored: only block 0 may be asked for)."""
        last = self.storage.last_block()
        return -1 if last is None else last

    def first_block(self) -> int:
        """The oldest block the WAL holds (0 when nothing is stored)."""
        first = self.storage.first_block()
        return 0 if first is None else first

    def frame(self, number: int, version: int) -> bytes | None:
        """Block ``number``'s WAL record as one frame in wire ``version``; ``None`` for the
        genesis block, whose WAL record is empty (every node writes its own genesis, so the
        stream starts at block 1, as the reference's WAL does)."""
        raw = self.storage.wal_record(number)
        if raw is None:
            raise LookupError(f"WAL record of block {number} is missing")
        if not raw:
            return None
        return encode_frame(encode_record(ReplayRecord.decode(raw), version))

    def block_stored(self, _block=None) -> None:
        """The ``BlockSink`` listener: a new block is stored, wake every session."""
        for session in list(self.sessions):
            session.wake()


def create_replay_server(
    sequencer_config, reactor, storage, sink, *, registry=None, _endpoint=None
) -> StreamServerEndpointService:
    """The replay server service on ``sequencer_block_replay_server_address`` (always on, as in
    the reference: §2.2 has no switch), woken by ``sink`` after each stored block."""
    endpoint = _endpoint or serverFromString(reactor, sequencer_config.block_replay_server_address)
    factory = ReplayServerFactory(storage, reactor, metrics=ReplayServerMetrics(registry))
    sink.add_listener(factory.block_stored)
    service = StreamServerEndpointService(endpoint, factory)
    service.factory = factory
    return service
