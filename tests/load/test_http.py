"""The load generator's keep-alive HTTP client over ``StringTransport``."""

from twisted.internet.defer import fail, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from zkos_tw.interfaces import IPoster
from zkos_tw.load.http import HttpError, HttpPool, parse_response


class FakeEndpoint:
    """Connects each protocol to its own ``StringTransport``; ``refuse`` makes connects fail."""

    def __init__(self):
        self.protocols = []
        self.refuse = False

    def connect(self, factory):
        if self.refuse:
            return fail(Failure(ConnectionRefusedError("refused")))
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.protocols.append(protocol)
        return succeed(protocol)


def response(body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )


def results(deferred):
    outcome = []
    deferred.addBoth(outcome.append)
    return outcome


class ParseTests(TestCase):
    def test_content_length(self):
        data = response(b'{"a":1}') + b"HTTP/1.1"
        self.assertEqual(parse_response(data), (200, b'{"a":1}', len(data) - 8, False))

    def test_incomplete(self):
        self.assertIsNone(parse_response(b"HTTP/1.1 200 OK\r\nContent-Le"))
        self.assertIsNone(parse_response(response(b"abcdef")[:-2]))

    def test_chunked(self):
        data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
        self.assertEqual(parse_response(data), (200, b"abcde", len(data), False))
        self.assertIsNone(parse_response(data[:-2]))

    def test_chunked_with_trailer(self):
        data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n"
        self.assertEqual(parse_response(data), (200, b"a", len(data), False))

    def test_connection_close(self):
        data = b"HTTP/1.1 413 Too Big\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
        self.assertEqual(parse_response(data), (413, b"{}", len(data), True))

    def test_not_http(self):
        self.assertRaises(HttpError, parse_response, b"SSH-2.0\r\n\r\n")
        self.assertRaises(HttpError, parse_response, b"HTTP/1.1 2x0 OK\r\n\r\n")
        self.assertRaises(HttpError, parse_response, b"HTTP/1.1 200 OK\r\n\r\n")


class PoolTests(TestCase):
    def setUp(self):
        self.endpoint = FakeEndpoint()
        self.pool = HttpPool(self.endpoint, b"node:3050", size=2)

    def test_request_bytes(self):
        """A POST with Host, content type and length, the body as given."""
        self.pool.post(b'{"x":1}')
        self.assertEqual(
            self.endpoint.protocols[0].transport.value(),
            b"POST / HTTP/1.1\r\nHost: node:3050\r\nContent-Type: application/json\r\n"
            b'Content-Length: 7\r\n\r\n{"x":1}',
        )

    def test_keep_alive_reuse(self):
        """The second request goes over the first connection once it is free."""
        first = results(self.pool.post(b"1"))
        connection = self.endpoint.protocols[0]
        connection.dataReceived(response(b"one"))
        self.assertEqual(first, [(200, b"one")])
        second = results(self.pool.post(b"2"))
        self.assertEqual(len(self.endpoint.protocols), 1)
        connection.dataReceived(response(b"two"))
        self.assertEqual(second, [(200, b"two")])

    def test_queue_beyond_size(self):
        """Two connections at most; a third request waits for the first free one."""
        answers = [results(self.pool.post(str(i).encode())) for i in range(3)]
        self.assertEqual(len(self.endpoint.protocols), 2)
        self.assertEqual(answers[2], [])
        second = self.endpoint.protocols[1]
        second.transport.clear()
        second.dataReceived(response(b"b"))
        self.assertEqual(answers[1], [(200, b"b")])
        self.assertTrue(second.transport.value().endswith(b"\r\n\r\n2"))
        second.dataReceived(response(b"c"))
        self.assertEqual(answers[2], [(200, b"c")])
        self.assertEqual(answers[0], [])

    def test_answer_in_pieces(self):
        answer = results(self.pool.post(b"x"))
        data = response(b"0123456789")
        for i in range(len(data)):
            self.endpoint.protocols[0].dataReceived(data[i : i + 1])
        self.assertEqual(answer, [(200, b"0123456789")])

    def test_connection_lost_fails_request_and_reconnects(self):
        answer = results(self.pool.post(b"x"))
        self.endpoint.protocols[0].connectionLost(Failure(ConnectionRefusedError("gone")))
        self.assertIsInstance(answer[0].value, HttpError)
        again = results(self.pool.post(b"y"))
        self.assertEqual(len(self.endpoint.protocols), 2)
        self.endpoint.protocols[1].dataReceived(response(b"ok"))
        self.assertEqual(again, [(200, b"ok")])

    def test_connection_close_header(self):
        """``Connection: close``: the answer is delivered, the next request connects anew."""
        results(self.pool.post(b"x"))
        self.endpoint.protocols[0].dataReceived(response(b"1", b"Connection: close\r\n"))
        self.assertTrue(self.endpoint.protocols[0].transport.disconnecting)
        self.pool.post(b"y")
        self.assertEqual(len(self.endpoint.protocols), 2)

    def test_garbage_fails(self):
        answer = results(self.pool.post(b"x"))
        self.endpoint.protocols[0].dataReceived(b"NOT HTTP\r\n\r\n")
        self.assertIsInstance(answer[0].value, HttpError)

    def test_refused_connect(self):
        self.endpoint.refuse = True
        answer = results(self.pool.post(b"x"))
        self.assertIsInstance(answer[0].value, HttpError)
        self.assertIn("cannot connect", str(answer[0].value))

    def test_close(self):
        """close() drops idle connections and fires when they are gone; later posts fail."""
        results(self.pool.post(b"x"))
        connection = self.endpoint.protocols[0]
        connection.dataReceived(response(b"1"))
        closed = results(self.pool.close())
        self.assertTrue(connection.transport.disconnecting)
        self.assertEqual(closed, [])
        connection.connectionLost(Failure(ConnectionRefusedError("closed")))
        self.assertEqual(closed, [None])
        self.assertIsInstance(results(self.pool.post(b"y"))[0].value, HttpError)

    def test_provides_iposter(self):
        verifyObject(IPoster, self.pool)

    def test_size_at_least_one(self):
        self.assertRaises(ValueError, HttpPool, self.endpoint, b"h", 0)
