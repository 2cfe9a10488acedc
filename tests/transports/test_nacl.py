"""The ``nacl:`` wire format (golden bytes) and state machine (iosim), with each failure."""

from __future__ import annotations

import hashlib

from nacl.public import PrivateKey
from nacl.secret import SecretBox
from nacl.signing import SigningKey
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.test.iosim import FakeTransport, connectedServerAndClient
from twisted.trial import unittest

from zkos_tw.transports import nacl


def _key(tag: bytes) -> SigningKey:
    return SigningKey(hashlib.sha256(tag).digest())


def _eph(tag: bytes) -> PrivateKey:
    return PrivateKey(hashlib.sha256(b"eph " + tag).digest())


def _ADDR(port):
    return IPv4Address("TCP", "127.0.0.1", port)


SERVER_KEY = _key(b"server")
CLIENT_KEY = _key(b"client")
C_EPH = _eph(b"client")
S_EPH = _eph(b"server")


class Echo(Protocol):
    """Echoes what it gets; records it too."""

    def __init__(self):
        self.received = b""
        self.lost = None

    def dataReceived(self, data):
        self.received += data
        self.transport.write(data)

    def connectionLost(self, reason):
        self.lost = reason


class Recorder(Protocol):
    """Records what it gets."""

    def __init__(self):
        self.received = b""
        self.made = False
        self.lost = None

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost = reason


def _pair(*, greet=True, allowed=None, server_key=None, client_key=CLIENT_KEY, clock=None):
    server_factory = nacl.NaclFactory(
        Factory.forProtocol(Echo),
        SERVER_KEY,
        is_client=False,
        allowed=frozenset([bytes(CLIENT_KEY.verify_key)]) if allowed is None else allowed,
        clock=clock,
        ephemeral=lambda: S_EPH,
    )
    client_factory = nacl.NaclFactory(
        Factory.forProtocol(Recorder),
        client_key,
        is_client=True,
        server_key=bytes(SERVER_KEY.verify_key) if server_key is None else server_key,
        clock=clock,
        ephemeral=lambda: C_EPH,
    )
    client, server, pump = connectedServerAndClient(
        lambda: server_factory.buildProtocol(None),
        lambda: client_factory.buildProtocol(None),
        clientTransportFactory=lambda p: FakeTransport(p, False, _ADDR(2), _ADDR(1)),
        serverTransportFactory=lambda p: FakeTransport(p, True, _ADDR(1), _ADDR(1)),
        greet=greet,
    )
    return client, server, pump


def _warnings(events):
    return [e["line"] for e in events if "line" in e]


class GoldenBytesTests(unittest.TestCase):
    """Version 1 messages for fixed keys; a change here is a wire-format change."""

    def test_client_hello(self):
        """CLIENT_HELLO is magic, version, ephemeral key."""
        hello = nacl.client_hello(bytes(C_EPH.public_key))
        self.assertEqual(hello[:5], b"ZKNL\x01")
        self.assertEqual(len(hello), nacl.CLIENT_HELLO_SIZE)
        self.assertEqual(
            hashlib.sha256(hello).hexdigest(),
            GOLDEN["client_hello"],
        )

    def test_server_hello_and_client_auth(self):
        """SERVER_HELLO and CLIENT_AUTH (Ed25519 signatures are deterministic)."""
        c_eph, s_eph = bytes(C_EPH.public_key), bytes(S_EPH.public_key)
        hello = nacl.server_hello(s_eph, SERVER_KEY, c_eph)
        auth = nacl.client_auth(CLIENT_KEY, c_eph, s_eph, bytes(SERVER_KEY.verify_key))
        self.assertEqual(len(hello), nacl.SERVER_HELLO_SIZE)
        self.assertEqual(len(auth), nacl.CLIENT_AUTH_SIZE)
        self.assertEqual(hello[37:69], bytes(SERVER_KEY.verify_key))
        self.assertEqual(hashlib.sha256(hello).hexdigest(), GOLDEN["server_hello"])
        self.assertEqual(hashlib.sha256(auth).hexdigest(), GOLDEN["client_auth"])

    def test_frame(self):
        """A frame: u32 length, u64 counter, sealed payload; nonce direction | 0 | counter."""
        self.assertEqual(nacl.frame_nonce(nacl.C2S, 5), b"\x01" + bytes(15) + bytes(7) + b"\x05")
        frame = nacl.encode_frame(SecretBox(bytes(range(32))), nacl.S2C, 1, b"hello")
        self.assertEqual(
            frame.hex(),
            GOLDEN["frame"],
        )

    def test_session_keys(self):
        """The direction keys of the fixed handshake."""
        c_eph, s_eph = bytes(C_EPH.public_key), bytes(S_EPH.public_key)
        shared = nacl._shared(C_EPH, s_eph)
        self.assertEqual(shared, nacl._shared(S_EPH, c_eph))
        c2s, s2c = nacl.session_keys(
            shared, c_eph, s_eph, bytes(SERVER_KEY.verify_key), bytes(CLIENT_KEY.verify_key)
        )
        self.assertNotEqual(c2s, s2c)
        self.assertEqual((c2s + s2c).hex(), GOLDEN["session_keys"])


class HappyPathTests(unittest.TestCase):
    """An arbitrary protocol runs over nacl: unchanged."""

    def test_echo(self):
        """Data sent by the client's protocol comes back through the server's echo."""
        client, server, pump = _pair()
        pump.flush()
        self.assertTrue(client.wrappedProtocol.made)
        self.assertEqual(client.peer_key, bytes(SERVER_KEY.verify_key))
        self.assertEqual(server.peer_key, bytes(CLIENT_KEY.verify_key))
        big = bytes(range(256)) * 1000  # several frames
        client.wrappedProtocol.transport.write(b"ping")
        client.wrappedProtocol.transport.writeSequence([b"-", big])
        pump.flush()
        self.assertEqual(server.wrappedProtocol.received, b"ping-" + big)
        self.assertEqual(client.wrappedProtocol.received, b"ping-" + big)

    def test_handshake_deferred(self):
        """The client's handshake Deferred fires with the inner protocol."""
        client, server, pump = _pair()
        results = []
        client.handshake.addCallback(results.append)
        pump.flush()
        self.assertEqual(results, [client.wrappedProtocol])


class FailureTests(unittest.TestCase):
    """Each failure closes the connection with one clear log line."""

    def _open(self):
        client, server, pump = _pair()
        pump.flush()
        return client, server, pump

    def _client_bytes(self, client, data):
        client.wrappedProtocol.transport.write(data)
        out = b"".join(client.transport.stream)
        del client.transport.stream[:]
        return out

    def test_tampered_frame(self):
        """A flipped ciphertext byte fails the MAC."""
        client, server, pump = self._open()
        frame = bytearray(self._client_bytes(client, b"hello"))
        frame[-1] ^= 1
        with capturedLogs() as events:
            server.dataReceived(bytes(frame))
        self.assertEqual(
            _warnings(events),
            ["nacl: closing 127.0.0.1:1: frame 0 failed authentication (tampered)"],
        )
        self.assertTrue(server.transport.disconnecting)
        self.assertEqual(server.wrappedProtocol.received, b"")

    def test_replayed_frame(self):
        """A frame sent twice is refused the second time."""
        client, server, pump = self._open()
        frame = self._client_bytes(client, b"hello")
        server.dataReceived(frame)
        with capturedLogs() as events:
            server.dataReceived(frame)
        self.assertEqual(
            _warnings(events),
            ["nacl: closing 127.0.0.1:1: frame counter 0, expected 1 (replayed)"],
        )
        self.assertTrue(server.transport.disconnecting)

    def test_out_of_order_frame(self):
        """Frame 1 before frame 0 is refused."""
        client, server, pump = self._open()
        first = self._client_bytes(client, b"one")
        second = self._client_bytes(client, b"two")
        with capturedLogs() as events:
            server.dataReceived(second + first)
        self.assertEqual(
            _warnings(events),
            ["nacl: closing 127.0.0.1:1: frame counter 1, expected 0 (out of order)"],
        )
        self.assertEqual(server.wrappedProtocol.received, b"")

    def test_oversized_frame(self):
        """A length prefix over the limit closes at once."""
        client, server, pump = self._open()
        with capturedLogs() as events:
            server.dataReceived(b"\xff\xff\xff\xff")
        self.assertEqual(
            _warnings(events),
            [
                f"nacl: closing 127.0.0.1:1: frame of 4294967295 bytes is outside 24..{nacl.MAX_FRAME}"
            ],
        )
        self.assertTrue(server.transport.disconnecting)

    def test_unknown_client_key(self):
        """The server refuses a key not allowed; the client logs that it was dropped."""
        other = _key(b"intruder")
        with capturedLogs() as events:
            client, server, pump = _pair(client_key=other)
            failures = []
            client.handshake.addErrback(failures.append)
            pump.flush()
        lines = _warnings(events)
        self.assertEqual(len(lines), 2)
        self.assertEqual(
            lines[0],
            f"nacl: refused 127.0.0.1:1: client key {bytes(other.verify_key).hex()} "
            "is not in the allowed keys",
        )
        self.assertIn("closed the connection during the handshake", lines[1])
        self.assertIn(f"does it allow our key {bytes(other.verify_key).hex()}?", lines[1])
        self.assertFalse(client.wrappedProtocol.made)
        self.assertIsNone(server.wrappedProtocol.transport)
        failures[0].trap(nacl.NaclHandshakeError)

    def test_wrong_server_key(self):
        """The client refuses a server whose key is not the configured one."""
        expected = bytes(_key(b"other server").verify_key)
        with capturedLogs() as events:
            client, server, pump = _pair(server_key=expected)
            client.handshake.addErrback(lambda f: None)
            pump.flush()
        lines = _warnings(events)
        self.assertEqual(
            lines[0],
            f"nacl: refused 127.0.0.1:1: server key {bytes(SERVER_KEY.verify_key).hex()} "
            f"is not the expected {expected.hex()}",
        )
        self.assertIn("closed the connection during the handshake", lines[1])

    def test_bad_signature(self):
        """A SERVER_HELLO whose signature does not verify is refused."""
        factory = nacl.NaclFactory(
            Factory.forProtocol(Recorder),
            CLIENT_KEY,
            is_client=True,
            server_key=bytes(SERVER_KEY.verify_key),
            ephemeral=lambda: C_EPH,
        )
        from twisted.internet.testing import StringTransport

        proto = factory.buildProtocol(None)
        proto.handshake.addErrback(lambda f: None)
        proto.makeConnection(StringTransport())
        hello = bytearray(
            nacl.server_hello(bytes(S_EPH.public_key), SERVER_KEY, bytes(C_EPH.public_key))
        )
        hello[-1] ^= 1
        with capturedLogs() as events:
            proto.dataReceived(bytes(hello))
        self.assertEqual(
            _warnings(events),
            [
                "nacl: refused 192.168.1.1:54321: bad server signature for key "
                + bytes(SERVER_KEY.verify_key).hex()
            ],
        )

    def test_not_a_handshake(self):
        """Bytes that are not a zkos-nacl/1 hello are refused."""
        client, server, pump = _pair(
            greet=False,
        )
        with capturedLogs() as events:
            server.dataReceived(b"POST /block_replays HTTP/1.0\r\n\r\n\x00\x00\x00\x00\x00")
        self.assertEqual(
            _warnings(events),
            ["nacl: refused 127.0.0.1:1: not a zkos-nacl/1 handshake (starts 504f535420)"],
        )

    def test_truncated_handshake(self):
        """A connection that ends inside the handshake logs where it stopped."""
        client, server, pump = _pair(
            greet=False,
        )
        with capturedLogs() as events:
            server.dataReceived(b"ZKNL\x01" + bytes(10))
            server.connectionLost(None)
        self.assertEqual(
            _warnings(events),
            [
                "nacl: 127.0.0.1:1 closed the connection during the handshake "
                "(waiting for client_hello, 15 bytes buffered)"
            ],
        )

    def test_handshake_timeout(self):
        """A silent peer is dropped after the handshake timeout."""
        clock = Clock()
        client, server, pump = _pair(greet=False, clock=clock)
        client.handshake.addErrback(lambda f: f.trap(nacl.NaclHandshakeError))
        with capturedLogs() as events:
            clock.advance(nacl.HANDSHAKE_TIMEOUT)
        self.assertIn(
            "nacl: closing 127.0.0.1:1: no handshake within 10 s (waiting for client_hello)",
            _warnings(events),
        )


GOLDEN = {
    "client_hello": "878ad1fe50be89a828d3ff67674298a7d62ef1c58735ce52c82d82ea6642b3ae",
    "server_hello": "5b6dbdd67226dff86d6264de409b2ea89a900a3ec6800e5ea564c961eeedb45e",
    "client_auth": "b94d3ca5c79ec98eaf533f3f832946abd5648d21552d1372ebdb2ae68627d452",
    "frame": "0000001d00000000000000018298d542eb3927dc6875bd645d98cf8a53cf86e444",
    "session_keys": (
        "f57c7352835426b03c3839036eb8ce176482e407f3933d3bd0278200ebb826a5"
        "2b9664a53e9397e494902846ccc7f3239f1504a4e4403aeb47ff54245efdaf5d"
    ),
}
