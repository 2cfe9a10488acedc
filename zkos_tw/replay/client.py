"""The block replay client (reference §4.1): follows a replay server from a given block.

``ReplayClientService`` keeps one connection to ``sequencer_block_replay_download_address``
through a ``ClientService`` (reconnect with exponential backoff when the server goes away). Each
connection sends the request from the block after the last record handled, so a reconnect
neither repeats nor skips a block. Every decoded record goes to ``on_record(record)``, which
returns a Deferred (or ``None``); while it is pending the transport is paused, so the server is
held back by TCP and nothing piles up here.

A stream the client cannot trust ends the service with ``ReplayStreamError`` on ``failed``
(logged as one line): an oversized or corrupt frame, an unknown wire version, a record that is
not the next block, a server refusal (``HTTP/1.0 400 ...``) or a failing ``on_record``.
"""

from __future__ import annotations

import random
from collections import deque

from twisted.application.internet import ClientService
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from zkos_tw.replay.codec import SUPPORTED_WIRE_VERSIONS, ReplayCodecError, decode_record
from zkos_tw.replay.framing import MAX_FRAME_LENGTH, FramingError, StreamParser, encode_request
from zkos_tw.transports.reasons import describe

log = Logger()

_REFUSAL = b"HTTP"


#: the first reconnect delay (seconds); it doubles per failed attempt up to ``max_delay``
INITIAL_RETRY_DELAY = 0.1


def retry_policy(max_delay: float, jitter=random.random):
    """``ClientService``'s ``retryPolicy``: 0.1 s doubling per failed attempt up to
    ``max_delay``, plus up to 10 % jitter so ENs behind one main node do not reconnect in step.

    (Twisted's ``backoffPolicy`` grows by 1.5 and adds up to a whole second of jitter, which
    would swamp the 0.1 s first retry.)
    """

    def policy(attempt: int) -> float:
        # ClientService counts from 1: the first retry after one failed attempt
        delay = min(INITIAL_RETRY_DELAY * 2 ** min(attempt - 1, 64), max_delay)
        return delay * (1 + 0.1 * jitter())

    return policy


class ReplayStreamError(Exception):
    """The replay stream is unusable (bad frame, wrong block, refusal); following stops."""


class ReplayClientProtocol(Protocol):
    """One connection: ``request`` sent → records decoded in order → handed on one at a time."""

    def __init__(self, owner: ReplayClientService):
        self.owner = owner
        self._parser = StreamParser(owner.max_frame_length)
        self._head: bytes | None = b""
        self._refusal: bytes | None = None
        self._queue: deque[bytes] = deque()
        self._busy = False
        self._paused = False
        self._failed = False

    def connectionMade(self) -> None:
        self.transport.write(encode_request(self.owner.next_block, self.owner.version))

    def dataReceived(self, data: bytes) -> None:
        if self._failed:
            return
        if self._refusal is not None:
            self._refusal += data
            return
        if self._head is not None:
            # the first four bytes: the wire version, or "HTTP" when the server refuses
            self._head += data
            if len(self._head) < 4:
                return
            if self._head.startswith(_REFUSAL):
                self._refusal = self._head
                return
            data, self._head = self._head, None
        try:
            frames = self._parser.feed(data)
            if self._parser.version not in SUPPORTED_WIRE_VERSIONS:
                raise ReplayStreamError(f"unknown replay wire version {self._parser.version}")
        except FramingError as e:
            self._fail(ReplayStreamError(str(e)))
            return
        except ReplayStreamError as e:
            self._fail(e)
            return
        self._queue.extend(frames)
        self._next()

    def _next(self) -> None:
        while not self._busy and self._queue and not self._failed:
            payload = self._queue.popleft()
            try:
                record = decode_record(payload, self._parser.version)
            except ReplayCodecError as e:
                self._fail(ReplayStreamError(f"corrupt record after block {self._last()}: {e}"))
                return
            number = record.context.number
            # block 0 is genesis, never streamed: a request from 0 starts with block 1
            if number != self.owner.next_block and (number, self.owner.next_block) != (1, 0):
                self._fail(
                    ReplayStreamError(f"got block {number}, expected {self.owner.next_block}")
                )
                return
            self._busy = True
            d = defer.maybeDeferred(self.owner.on_record, record)
            d.addCallbacks(self._handled, self._callback_failed, callbackArgs=(number,))
            if self._busy:
                # still pending: stop reading until it fires (flow control through TCP)
                self._paused = True
                self.transport.pauseProducing()
                return

    def _handled(self, _result, number: int) -> None:
        self.owner.next_block = number + 1
        self._busy = False
        if self._paused and not self._failed:
            self._paused = False
            self.transport.resumeProducing()
            self._next()

    def _callback_failed(self, failure) -> None:
        self._busy = False
        self._fail(
            ReplayStreamError(f"handling block {self.owner.next_block} failed: {failure.value}")
        )

    def _fail(self, error: ReplayStreamError) -> None:
        self._failed = True
        self.owner.stream_failed(error)
        self.transport.loseConnection()

    def _last(self) -> int:
        return self.owner.next_block - 1

    def connectionLost(self, reason) -> None:
        if self._refusal is not None and not self._failed:
            text = self._refusal.split(b"\r\n\r\n", 1)[-1].strip().decode("utf-8", "replace")
            self._failed = True
            self.owner.stream_failed(ReplayStreamError(f"the server refused the request: {text}"))
            return
        why = describe(reason)
        if why is not None and not self._failed and self.owner.running:
            # a refused TLS handshake lands here; ClientService retries with backoff
            log.warn(
                "replay: connection to {peer} lost before block {number}: {why}",
                peer=_peer(self.transport),
                number=self.owner.next_block,
                why=why,
            )


def _peer(transport) -> str:
    peer = transport.getPeer() if transport is not None else None
    host, port = getattr(peer, "host", None), getattr(peer, "port", None)
    return f"{host}:{port}" if host is not None else str(peer)


class _Factory(Factory):
    def __init__(self, owner: ReplayClientService):
        self.owner = owner

    def buildProtocol(self, addr) -> ReplayClientProtocol:
        protocol = ReplayClientProtocol(self.owner)
        protocol.factory = self
        return protocol


class ReplayClientService(Service):
    """Follows the replay stream at ``endpoint`` from ``starting_block``; see the module doc.

    ``next_block`` is the block the next (re)connection asks for; ``failed`` fires with the
    ``ReplayStreamError`` that ended following (it never fires on a normal stop).
    """

    name = "replay-client"

    def __init__(
        self,
        reactor,
        endpoint,
        starting_block: int,
        on_record,
        *,
        version: int | None = None,
        max_frame_length: int = MAX_FRAME_LENGTH,
        max_delay: float = 10.0,
        _jitter=random.random,
    ):
        self.next_block = starting_block
        self.on_record = on_record
        self.version = version
        self.max_frame_length = max_frame_length
        self.failed: defer.Deferred = defer.Deferred()
        self.connections = 0
        self._client = ClientService(
            endpoint,
            _Factory(self),
            retryPolicy=retry_policy(max_delay, _jitter),
            clock=reactor,
            prepareConnection=self._connected,
        )

    def _connected(self, _protocol) -> None:
        self.connections += 1

    def startService(self) -> None:
        super().startService()
        self._client.startService()

    def stopService(self):
        super().stopService()
        return self._client.stopService()

    def stream_failed(self, error: ReplayStreamError) -> None:
        """Stop following for good: log one line and fire ``failed``."""
        log.error("replay: {error}", error=str(error))
        if self.running:
            Service.stopService(self)
            self._client.stopService()
        if not self.failed.called:
            self.failed.errback(error)


def create_replay_client(
    sequencer_config, reactor, starting_block: int, on_record, **kwargs
) -> ReplayClientService:
    """The client of ``sequencer_block_replay_download_address``."""
    endpoint = clientFromString(reactor, sequencer_config.block_replay_download_address)
    return ReplayClientService(reactor, endpoint, starting_block, on_record, **kwargs)
