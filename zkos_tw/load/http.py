"""A minimal keep-alive HTTP/1.1 client for JSON-RPC posts: the load generator's fast path.

One ``HttpConnection`` carries one request at a time over a persistent TCP connection;
``HttpPool`` keeps up to ``size`` of them and queues requests while all are busy. It speaks just
what JSON-RPC servers answer: a status line, headers, and a body framed by ``Content-Length``
or ``Transfer-Encoding: chunked`` (``Connection: close`` ends the connection after the body).

Against treq (``HTTPConnectionPool(persistent=True)``) it spends about a third of the client
CPU per request (numbers in docs/load.md); the load tool must not be the bottleneck.
"""

from __future__ import annotations

from collections import deque

from twisted.internet.defer import Deferred, DeferredList, fail
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from zkos_tw.interfaces import IPoster


class HttpError(Exception):
    """A non-200 answer, a malformed answer, or a lost connection."""


class HttpConnection(Protocol):
    """One persistent connection; ``post`` may only be called while ``idle``."""

    def __init__(self, host_header: bytes, path: bytes = b"/"):
        self._host = host_header
        self._path = path
        self._buffer = bytearray()
        self._waiting: Deferred | None = None
        self.closed = False
        #: fires when the connection is gone
        self.lost: Deferred = Deferred()

    @property
    def idle(self) -> bool:
        return self._waiting is None and not self.closed

    def post(self, body: bytes) -> Deferred:
        """Send ``body``; the Deferred fires with ``(status, response body)``."""
        if not self.idle:
            raise RuntimeError("HttpConnection carries one request at a time")
        self._waiting = Deferred()
        head = (
            b"POST " + self._path + b" HTTP/1.1\r\nHost: " + self._host + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        self.transport.writeSequence([head, body])
        return self._waiting

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if self._waiting is None:
            if self._buffer:
                self._fail(HttpError("data from the server with no request in flight"))
            return
        try:
            answer = parse_response(self._buffer)
        except HttpError as e:
            self._fail(e)
            return
        if answer is None:
            return
        status, body, used, close = answer
        del self._buffer[:used]
        waiting, self._waiting = self._waiting, None
        if close:
            self.closed = True
            self.transport.loseConnection()
        waiting.callback((status, body))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        waiting, self._waiting = self._waiting, None
        self.transport.abortConnection()
        if waiting is not None:
            waiting.errback(Failure(error))

    def connectionLost(self, reason=ConnectionDone) -> None:
        self.closed = True
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.errback(Failure(HttpError(f"connection lost: {reason.getErrorMessage()}")))
        self.lost.callback(None)


def parse_response(buffer: bytes | bytearray):
    """``(status, body, bytes used, close)`` of the first complete response in ``buffer``, or
    ``None`` when more bytes are needed; ``HttpError`` when it is not HTTP/1.x."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > 65536:
            raise HttpError("response headers longer than 64 KiB")
        return None
    lines = bytes(buffer[:end]).split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HttpError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise HttpError(f"bad status line: {lines[0][:80]!r}") from None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    close = headers.get(b"connection", b"").lower() == b"close" or parts[0] == b"HTTP/1.0"
    start = end + 4
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return _parse_chunked(buffer, start, status, close)
    length = headers.get(b"content-length")
    if length is None:
        if status in (204, 304) or 100 <= status < 200:
            return status, b"", start, close
        raise HttpError("response without Content-Length or chunked encoding")
    try:
        size = int(length)
    except ValueError:
        raise HttpError(f"bad Content-Length: {length!r}") from None
    if len(buffer) < start + size:
        return None
    return status, bytes(buffer[start : start + size]), start + size, close


def _parse_chunked(buffer, position: int, status: int, close: bool):
    body = []
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        try:
            size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        except ValueError:
            raise HttpError("bad chunk size") from None
        position = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", position)
            while trailer_end > position:  # skip trailer headers up to the empty line
                position = trailer_end + 2
                trailer_end = buffer.find(b"\r\n", position)
            if trailer_end < 0:
                return None
            return status, b"".join(body), trailer_end + 2, close
        if len(buffer) < position + size + 2:
            return None
        body.append(bytes(buffer[position : position + size]))
        position += size + 2


@implementer(IPoster)
class HttpPool:
    """Up to ``size`` ``HttpConnection``s to one endpoint; ``post`` queues while all are busy.

    ``endpoint`` is a Twisted client endpoint (the test seam: a fake endpoint over
    ``StringTransport``)."""

    def __init__(self, endpoint, host_header: bytes, size: int = 4, path: bytes = b"/"):
        if size < 1:
            raise ValueError("pool size must be at least 1")
        self._endpoint = endpoint
        self._host = host_header
        self._path = path
        self.size = size
        self._idle: list[HttpConnection] = []
        self._connections: set[HttpConnection] = set()
        self._open = 0
        self._queue: deque = deque()
        self._closing = False

    def post(self, body: bytes) -> Deferred:
        """POST ``body``; fires with ``(status, body)`` or fails with ``HttpError``."""
        if self._closing:
            return fail(HttpError("pool is closed"))
        result = Deferred()
        self._queue.append((body, result))
        self._dispatch()
        return result

    def _dispatch(self) -> None:
        while self._queue:
            while self._idle and not self._idle[-1].idle:
                self._idle.pop()
                self._open -= 1
            if self._idle:
                self._send(self._idle.pop(), *self._queue.popleft())
            elif self._open < self.size:
                self._open += 1
                body, result = self._queue.popleft()
                self._connect(body, result)
            else:
                return

    def _connect(self, body: bytes, result: Deferred) -> None:
        factory = Factory.forProtocol(lambda: HttpConnection(self._host, self._path))
        connecting = self._endpoint.connect(factory)

        def failed(failure):
            self._open -= 1
            result.errback(Failure(HttpError(f"cannot connect: {failure.getErrorMessage()}")))
            self._dispatch()

        def connected(connection):
            self._connections.add(connection)
            connection.lost.addCallback(lambda _: self._connections.discard(connection))
            self._send(connection, body, result)

        connecting.addCallbacks(connected, failed)

    def _send(self, connection: HttpConnection, body: bytes, result: Deferred) -> None:
        def done(answer):
            if connection.idle and not self._closing:
                self._idle.append(connection)
            else:
                self._open -= 1
                if not connection.closed:
                    connection.transport.loseConnection()
            self._dispatch()
            return answer

        connection.post(body).addBoth(done).chainDeferred(result)

    def close(self) -> Deferred:
        """Close the idle connections (busy ones close when their answer arrives); fires when
        every connection is gone."""
        self._closing = True
        for connection in self._idle:
            connection.transport.loseConnection()
        self._open -= len(self._idle)
        self._idle = []
        return DeferredList([c.lost for c in self._connections]).addCallback(lambda _: None)
