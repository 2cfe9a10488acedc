"""``nacl:`` against a hostile peer, the cases ``test_nacl.py`` does not cover: tampering and
replay in the server-to-client direction, a frame reflected back to its sender, a tampered
CLIENT_AUTH, and a connection cut inside a handshake message or a frame on either side."""

from __future__ import annotations

from twisted.logger import capturedLogs
from twisted.trial import unittest

from tests.transports.test_nacl import C_EPH, CLIENT_KEY, S_EPH, SERVER_KEY, _pair, _warnings
from zkos_tw.transports import nacl


def _taken(protocol) -> bytes:
    """What ``protocol`` wrote to its fake transport since the last call."""
    out = b"".join(protocol.transport.stream)
    del protocol.transport.stream[:]
    return out


class ServerToClientTests(unittest.TestCase):
    """The client checks the server's frames as strictly as the server checks the client's."""

    def _open(self):
        client, server, pump = _pair()
        pump.flush()
        return client, server

    def test_tampered_server_frame(self):
        """A flipped byte in a server frame fails the MAC at the client, which closes."""
        client, server = self._open()
        server.wrappedProtocol.transport.write(b"record")
        frame = bytearray(_taken(server))
        frame[20] ^= 0x40
        with capturedLogs() as events:
            client.dataReceived(bytes(frame))
        self.assertEqual(
            _warnings(events),
            ["nacl: closing 127.0.0.1:1: frame 1 failed authentication (tampered)"],
        )
        self.assertTrue(client.transport.disconnecting)
        self.assertEqual(client.wrappedProtocol.received, b"")

    def test_replayed_server_frame(self):
        """A server frame delivered twice: the client takes the first, refuses the copy."""
        client, server = self._open()
        server.wrappedProtocol.transport.write(b"record")
        frame = _taken(server)
        with capturedLogs() as events:
            client.dataReceived(frame + frame)
        self.assertEqual(
            _warnings(events),
            ["nacl: closing 127.0.0.1:1: frame counter 1, expected 2 (replayed)"],
        )
        self.assertEqual(client.wrappedProtocol.received, b"record")
        self.assertTrue(client.transport.disconnecting)

    def test_reflected_frame(self):
        """The client's own frame sent back to it, with the counter the client expects next,
        does not open: each direction has its own key and nonce prefix."""
        client, server = self._open()
        for payload in (b"zero", b"one"):
            client.wrappedProtocol.transport.write(payload)
        _taken(client)  # c2s frames 0 and 1
        client.wrappedProtocol.transport.write(b"x")
        reflected = _taken(client)
        self.assertEqual(reflected[4:12], (2).to_bytes(8, "big"))
        server.wrappedProtocol.transport.write(b"first")
        client.dataReceived(_taken(server))  # s2c frame 1 (0 was the accept); next is 2
        with capturedLogs() as events:
            client.dataReceived(reflected)
        self.assertEqual(
            _warnings(events),
            ["nacl: closing 127.0.0.1:1: frame 2 failed authentication (tampered)"],
        )
        self.assertEqual(client.wrappedProtocol.received, b"first")


class CutHandshakeTests(unittest.TestCase):
    """A connection that ends inside a handshake message, or a CLIENT_AUTH that was changed."""

    def test_truncated_server_hello(self):
        """The client gets 60 of SERVER_HELLO's 133 bytes, then the close: one line, and the
        endpoint's handshake Deferred fails."""
        client, server, pump = _pair(greet=False)
        failures = []
        client.handshake.addErrback(failures.append)
        hello = nacl.server_hello(bytes(S_EPH.public_key), SERVER_KEY, bytes(C_EPH.public_key))
        with capturedLogs() as events:
            client.dataReceived(hello[:60])
            client.connectionLost(None)
        self.assertEqual(
            _warnings(events),
            [
                "nacl: 127.0.0.1:1 closed the connection during the handshake "
                "(waiting for server_hello, 60 bytes buffered)"
            ],
        )
        failures[0].trap(nacl.NaclHandshakeError)
        self.assertFalse(client.wrappedProtocol.made)

    def test_truncated_client_auth(self):
        """The server gets CLIENT_HELLO and 40 bytes of CLIENT_AUTH, then the close."""
        client, server, pump = _pair(greet=False)
        with capturedLogs() as events:
            server.dataReceived(nacl.client_hello(bytes(C_EPH.public_key)))
            server.dataReceived(bytes(40))
            server.connectionLost(None)
        self.assertEqual(
            _warnings(events),
            [
                "nacl: 127.0.0.1:1 closed the connection during the handshake "
                "(waiting for client_auth, 40 bytes buffered)"
            ],
        )
        self.assertIsNone(server.wrappedProtocol.transport)

    def test_tampered_client_auth(self):
        """An allowed client key whose signature was changed in flight is refused."""
        client, server, pump = _pair(greet=False)
        c_eph, s_eph = bytes(C_EPH.public_key), bytes(S_EPH.public_key)
        auth = bytearray(nacl.client_auth(CLIENT_KEY, c_eph, s_eph, bytes(SERVER_KEY.verify_key)))
        auth[-1] ^= 1
        with capturedLogs() as events:
            server.dataReceived(nacl.client_hello(c_eph) + bytes(auth))
        self.assertEqual(
            _warnings(events),
            [
                "nacl: refused 127.0.0.1:1: bad client signature for key "
                + bytes(CLIENT_KEY.verify_key).hex()
            ],
        )
        self.assertTrue(server.transport.disconnecting)
        self.assertIsNone(server.wrappedProtocol.transport)

    def test_cut_inside_a_frame(self):
        """After the handshake, a close inside a frame is reported (not silently dropped)."""
        client, server, pump = _pair()
        pump.flush()
        client.wrappedProtocol.transport.write(b"half of this is lost")
        frame = _taken(client)
        with capturedLogs() as events:
            server.dataReceived(frame[:20])
            server.connectionLost(None)
        self.assertEqual(
            _warnings(events),
            [f"nacl: 127.0.0.1:1 closed the connection inside frame 0 (20 of {len(frame)} bytes)"],
        )
        self.assertEqual(server.wrappedProtocol.received, b"")
