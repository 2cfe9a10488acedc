"""A TCP proxy for the replay stream that flips a byte in one transaction in flight.

It sits between an external node and a replay server (3053): the EN's request goes through as
it is; of the server's answer it parses the version and the frames (``StreamParser``), and in the
first record holding an L2 transaction it flips the last byte of that transaction (the end of
its signature), re-encodes the record and frames it again. Everything else passes unchanged, so
the EN sees a well-formed stream whose one record no longer matches what the main node executed.

With ``tamper=False`` it only passes bytes through; with ``held=True`` it accepts the EN's
connections but connects them upstream only on ``release()`` (the EN benchmark uses that to
start an EN, see it idle at block 0, and then time its catch-up).
"""

from __future__ import annotations

import dataclasses

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint, connectProtocol
from twisted.internet.protocol import Factory, Protocol

from zkos_tw.execution.l1_transactions import is_l1_envelope
from zkos_tw.replay.codec import decode_record, encode_record
from zkos_tw.replay.framing import StreamParser, encode_frame, encode_version


class _Upstream(Protocol):
    """The proxy's connection to the replay server: tampers and forwards to the EN."""

    def __init__(self, downstream: _Downstream):
        self.downstream = downstream
        self.parser = StreamParser()

    def connectionMade(self):
        self.downstream.upstream_ready(self)

    def dataReceived(self, data: bytes):
        had_version = self.parser.version is not None
        frames = self.parser.feed(data)
        out = []
        if not had_version and self.parser.version is not None:
            out.append(encode_version(self.parser.version))
        for payload in frames:
            out.append(
                encode_frame(self.downstream.proxy.maybe_tamper(payload, self.parser.version))
            )
        if out:
            self.downstream.transport.write(b"".join(out))

    def connectionLost(self, reason):
        self.downstream.transport.loseConnection()


class _Downstream(Protocol):
    """The EN's connection to the proxy."""

    def __init__(self, proxy: TamperProxy):
        self.proxy = proxy
        self.upstream: _Upstream | None = None
        self.pending: list[bytes] = []

    def connectionMade(self):
        self.proxy.connections.append(self)
        if self.proxy.held:
            self.proxy.waiting.append(self)
        else:
            self.connect_upstream()

    def connect_upstream(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.proxy.upstream_port)
        d = connectProtocol(endpoint, _Upstream(self))
        d.addErrback(lambda _: self.transport.loseConnection())

    def upstream_ready(self, upstream: _Upstream):
        self.upstream = upstream
        for data in self.pending:
            upstream.transport.write(data)
        self.pending = []

    def dataReceived(self, data: bytes):
        if self.upstream is None:
            self.pending.append(data)
        else:
            self.upstream.transport.write(data)

    def connectionLost(self, reason):
        if self.upstream is not None:
            self.upstream.transport.loseConnection()


class TamperProxy:
    """Listens on ``127.0.0.1:port`` (after ``listen``) and forwards to ``upstream_port``;
    ``tamper`` and ``held`` as in the module docstring.

    ``tampered`` is ``(block number, transaction index)`` once a record was changed.
    """

    def __init__(self, upstream_port: int, *, tamper: bool = True, held: bool = False):
        self.upstream_port = upstream_port
        self.tamper = tamper
        self.held = held
        self.waiting: list[_Downstream] = []
        self.port: int | None = None
        self.tampered: tuple[int, int] | None = None
        self.connections: list[_Downstream] = []
        self._listening = None

    async def listen(self) -> int:
        factory = Factory.forProtocol(lambda: _Downstream(self))
        self._listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            factory
        )
        self.port = self._listening.getHost().port
        return self.port

    def maybe_tamper(self, payload: bytes, version: int) -> bytes:
        """``payload``, or the first record with an L2 transaction with that one changed."""
        if not self.tamper or self.tampered is not None:
            return payload
        record = decode_record(payload, version)
        for index, raw in enumerate(record.transactions):
            if not is_l1_envelope(raw):
                flipped = raw[:-1] + bytes([raw[-1] ^ 0x01])
                transactions = list(record.transactions)
                transactions[index] = flipped
                self.tampered = (record.context.number, index)
                tampered = dataclasses.replace(record, transactions=tuple(transactions))
                return encode_record(tampered, version)
        return payload

    def release(self) -> None:
        """Connect the held connections upstream, and every later one at once."""
        self.held = False
        waiting, self.waiting = self.waiting, []
        for downstream in waiting:
            if downstream.transport.connected:
                downstream.connect_upstream()

    def close(self):
        for connection in self.connections:
            connection.transport.abortConnection()
        if self._listening is not None:
            return self._listening.stopListening()
        return None
