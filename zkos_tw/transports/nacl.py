"""The ``nacl:`` transport's wire format (version 1) and its per-connection state machine.

Handshake (all integers big-endian)::

    client -> server  CLIENT_HELLO  "ZKNL" | 0x01 | client ephemeral X25519 key (32)          37 bytes
    server -> client  SERVER_HELLO  "ZKNL" | 0x01 | server ephemeral key (32)
                                    | server Ed25519 public key (32) | server signature (64)    133 bytes
    client -> server  CLIENT_AUTH   client Ed25519 public key (32) | client signature (64)      96 bytes
    server -> client  frame 0 with an empty payload (the server accepted the client)

The server signs ``"zkos-nacl/1 server\\0" | c_eph | s_eph``; the client signs
``"zkos-nacl/1 client\\0" | c_eph | s_eph | s_pub``. Each side thereby proves its long-term key
and binds it to this connection's ephemeral keys. The client refuses a server key other than the
one configured; the server refuses a client key not in its allowed list. With
``shared = X25519(own ephemeral, peer ephemeral)`` and ``transcript = c_eph | s_eph | s_pub | c_pub``
the direction keys are ``BLAKE2b-256(transcript, key=shared, person="zknacl1 c2s"/"zknacl1 s2c")``.

Frames (both directions, after the handshake)::

    length u32 (of what follows) | counter u64 | XSalsa20-Poly1305(payload)   (payload <= 64 KiB)

with nonce ``direction byte (1 = c2s, 2 = s2c) | 15 zero bytes | counter``. Each direction's
counter starts at 0 and goes up by one a frame, so a replayed, dropped or reordered frame has the
wrong counter and a changed byte fails the MAC; either closes the connection with one log line.
"""

from __future__ import annotations

import hashlib
import struct

from nacl.bindings import crypto_scalarmult
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey
from nacl.secret import SecretBox
from nacl.signing import SigningKey, VerifyKey
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import directlyProvides, providedBy

MAGIC = b"ZKNL"
VERSION = 1
CLIENT_HELLO_SIZE = 37
SERVER_HELLO_SIZE = 133
CLIENT_AUTH_SIZE = 96
SERVER_CONTEXT = b"zkos-nacl/1 server\x00"
CLIENT_CONTEXT = b"zkos-nacl/1 client\x00"
MAX_PAYLOAD = 64 * 1024
MAC_SIZE = SecretBox.MACBYTES
MAX_FRAME = 8 + MAX_PAYLOAD + MAC_SIZE
C2S, S2C = 1, 2
HANDSHAKE_TIMEOUT = 10.0

_log = Logger(namespace="zkos_tw.transports.nacl")


class NaclHandshakeError(Exception):
    """The handshake failed; the message is the log line."""


def client_hello(c_eph: bytes) -> bytes:
    """The CLIENT_HELLO message."""
    return MAGIC + bytes([VERSION]) + c_eph


def server_signed_bytes(c_eph: bytes, s_eph: bytes) -> bytes:
    """What the server signs."""
    return SERVER_CONTEXT + c_eph + s_eph


def client_signed_bytes(c_eph: bytes, s_eph: bytes, s_pub: bytes) -> bytes:
    """What the client signs."""
    return CLIENT_CONTEXT + c_eph + s_eph + s_pub


def server_hello(s_eph: bytes, key: SigningKey, c_eph: bytes) -> bytes:
    """The SERVER_HELLO message, signed by the server's long-term ``key``."""
    signature = key.sign(server_signed_bytes(c_eph, s_eph)).signature
    return MAGIC + bytes([VERSION]) + s_eph + bytes(key.verify_key) + signature


def client_auth(key: SigningKey, c_eph: bytes, s_eph: bytes, s_pub: bytes) -> bytes:
    """The CLIENT_AUTH message, signed by the client's long-term ``key``."""
    signature = key.sign(client_signed_bytes(c_eph, s_eph, s_pub)).signature
    return bytes(key.verify_key) + signature


def session_keys(shared: bytes, c_eph: bytes, s_eph: bytes, s_pub: bytes, c_pub: bytes):
    """``(client-to-server key, server-to-client key)`` of one connection."""
    transcript = c_eph + s_eph + s_pub + c_pub
    return tuple(
        hashlib.blake2b(transcript, digest_size=32, key=shared, person=person).digest()
        for person in (b"zknacl1 c2s", b"zknacl1 s2c")
    )


def frame_nonce(direction: int, counter: int) -> bytes:
    """The 24-byte nonce of frame ``counter`` in ``direction``."""
    return bytes([direction]) + bytes(15) + struct.pack(">Q", counter)


def encode_frame(box: SecretBox, direction: int, counter: int, payload: bytes) -> bytes:
    """One encrypted frame."""
    sealed = box.encrypt(payload, frame_nonce(direction, counter)).ciphertext
    return struct.pack(">IQ", 8 + len(sealed), counter) + sealed


def _shared(own: PrivateKey, peer_eph: bytes) -> bytes:
    shared = crypto_scalarmult(bytes(own), peer_eph)
    if shared == bytes(32):
        raise NaclHandshakeError("low-order ephemeral key")
    return shared


class NaclProtocol(ProtocolWrapper):
    """One end of a ``nacl:`` connection: runs the handshake, then encrypts for the inner protocol.

    The inner protocol is connected (``makeConnection``) only once the handshake succeeded, with
    this object as its transport, so any protocol runs over ``nacl:`` unchanged.
    """

    def __init__(self, factory, wrappedProtocol):
        super().__init__(factory, wrappedProtocol)
        self._buffer = bytearray()
        self._state = "client_hello" if not factory.is_client else "server_hello"
        self._eph = factory.ephemeral()
        self._c_eph = self._s_eph = self._s_pub = b""
        self._send_counter = self._recv_counter = 0
        self._send_box = self._recv_box = None
        self._inner_connected = False
        self._timeout = None
        self.handshake = Deferred()
        self.peer_key: bytes | None = None

    # -- connection events

    def makeConnection(self, transport):
        """Take the transport; unlike ``ProtocolWrapper`` the inner protocol waits for the handshake."""
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)

    def connectionMade(self):
        self.factory.registerProtocol(self)
        if self.factory.clock is not None:
            self._timeout = self.factory.clock.callLater(
                self.factory.handshake_timeout, self._handshake_timed_out
            )
        if self.factory.is_client:
            self._c_eph = bytes(self._eph.public_key)
            self.transport.write(client_hello(self._c_eph))

    def dataReceived(self, data):
        self._buffer += data
        try:
            while self._state != "closed" and self._step():
                pass
        except NaclHandshakeError as e:
            self._fail(str(e))

    def connectionLost(self, reason):
        self._cancel_timeout()
        self.factory.unregisterProtocol(self)
        if self._state not in ("open", "closed"):
            hint = ""
            if self.factory.is_client and self._state == "finish":
                hint = f" (does it allow our key {self._own_key_hex()}?)"
            message = (
                f"nacl: {self._peer()} closed the connection during the handshake "
                f"(waiting for {self._state}, {len(self._buffer)} bytes buffered){hint}"
            )
            _log.warn("{line}", line=message)
            self._handshake_failed(message)
        elif self._state == "open" and self._buffer:
            have = len(self._buffer)
            want = 4 + struct.unpack_from(">I", self._buffer)[0] if have >= 4 else "?"
            _log.warn(
                "{line}",
                line=f"nacl: {self._peer()} closed the connection inside frame "
                f"{self._recv_counter} ({have} of {want} bytes)",
            )
        self._state = "closed"
        if self._inner_connected:
            self._inner_connected = False
            self.wrappedProtocol.connectionLost(reason)

    # -- the inner protocol's transport

    def write(self, data):
        if self._state != "open":
            return
        view = memoryview(bytes(data))
        for start in range(0, len(view), MAX_PAYLOAD):
            self._send_frame(bytes(view[start : start + MAX_PAYLOAD]))

    def writeSequence(self, data):
        self.write(b"".join(data))

    # -- the state machine

    def _step(self) -> bool:
        """Consume one message from the buffer if it is complete; ``False`` when more is needed."""
        state = self._state
        if state == "open" or state == "finish":
            return self._read_frame()
        size = {
            "client_hello": CLIENT_HELLO_SIZE,
            "server_hello": SERVER_HELLO_SIZE,
            "client_auth": CLIENT_AUTH_SIZE,
        }[state]
        if len(self._buffer) < size:
            return False
        message = bytes(self._buffer[:size])
        del self._buffer[:size]
        getattr(self, "_on_" + state)(message)
        return True

    def _check_preamble(self, message: bytes):
        if message[:4] != MAGIC or message[4] != VERSION:
            raise NaclHandshakeError(
                f"nacl: refused {self._peer()}: not a zkos-nacl/{VERSION} handshake "
                f"(starts {message[:5].hex()})"
            )

    def _on_client_hello(self, message: bytes):
        """Server: answer the client's ephemeral key with ours, signed."""
        self._check_preamble(message)
        self._c_eph = message[5:]
        self._s_eph = bytes(self._eph.public_key)
        self._s_pub = bytes(self.factory.key.verify_key)
        self.transport.write(server_hello(self._s_eph, self.factory.key, self._c_eph))
        self._state = "client_auth"

    def _on_server_hello(self, message: bytes):
        """Client: check the server's key and signature, then prove ours."""
        self._check_preamble(message)
        self._s_eph, s_pub, signature = message[5:37], message[37:69], message[69:]
        if s_pub != self.factory.server_key:
            raise NaclHandshakeError(
                f"nacl: refused {self._peer()}: server key {s_pub.hex()} is not the expected "
                f"{self.factory.server_key.hex()}"
            )
        self._verify(s_pub, server_signed_bytes(self._c_eph, self._s_eph), signature, "server")
        self._s_pub = s_pub
        self.transport.write(client_auth(self.factory.key, self._c_eph, self._s_eph, s_pub))
        c_pub = bytes(self.factory.key.verify_key)
        self._keys(c_pub)
        self._state = "finish"

    def _on_client_auth(self, message: bytes):
        """Server: accept an allowed client key with a good signature, then confirm."""
        c_pub, signature = message[:32], message[32:]
        if c_pub not in self.factory.allowed:
            raise NaclHandshakeError(
                f"nacl: refused {self._peer()}: client key {c_pub.hex()} is not in the allowed keys"
            )
        self._verify(
            c_pub, client_signed_bytes(self._c_eph, self._s_eph, self._s_pub), signature, "client"
        )
        self._keys(c_pub)
        self._send_frame(b"")
        self._open()

    def _verify(self, public: bytes, signed: bytes, signature: bytes, who: str):
        try:
            VerifyKey(public).verify(signed, signature)
        except (BadSignatureError, CryptoError, ValueError):
            raise NaclHandshakeError(
                f"nacl: refused {self._peer()}: bad {who} signature for key {public.hex()}"
            ) from None

    def _keys(self, c_pub: bytes):
        shared = _shared(self._eph, self._s_eph if self.factory.is_client else self._c_eph)
        c2s, s2c = session_keys(shared, self._c_eph, self._s_eph, self._s_pub, c_pub)
        if self.factory.is_client:
            self._send_box, self._recv_box = SecretBox(c2s), SecretBox(s2c)
            self.peer_key = self._s_pub
        else:
            self._send_box, self._recv_box = SecretBox(s2c), SecretBox(c2s)
            self.peer_key = c_pub

    def _open(self):
        self._cancel_timeout()
        self._state = "open"
        self._inner_connected = True
        self.wrappedProtocol.makeConnection(self)
        if not self.handshake.called:
            self.handshake.callback(self.wrappedProtocol)

    # -- frames

    def _send_frame(self, payload: bytes):
        direction = C2S if self.factory.is_client else S2C
        frame = encode_frame(self._send_box, direction, self._send_counter, payload)
        self._send_counter += 1
        self.transport.write(frame)

    def _read_frame(self) -> bool:
        if len(self._buffer) < 4:
            return False
        (length,) = struct.unpack_from(">I", self._buffer)
        if length > MAX_FRAME or length < 8 + MAC_SIZE:
            raise NaclHandshakeError(
                f"nacl: closing {self._peer()}: frame of {length} bytes is outside "
                f"{8 + MAC_SIZE}..{MAX_FRAME}"
            )
        if len(self._buffer) < 4 + length:
            return False
        frame = bytes(self._buffer[4 : 4 + length])
        del self._buffer[: 4 + length]
        (counter,) = struct.unpack_from(">Q", frame)
        if counter != self._recv_counter:
            kind = "replayed" if counter < self._recv_counter else "out of order"
            raise NaclHandshakeError(
                f"nacl: closing {self._peer()}: frame counter {counter}, expected "
                f"{self._recv_counter} ({kind})"
            )
        direction = S2C if self.factory.is_client else C2S
        try:
            payload = self._recv_box.decrypt(frame[8:], frame_nonce(direction, counter))
        except CryptoError:
            raise NaclHandshakeError(
                f"nacl: closing {self._peer()}: frame {counter} failed authentication (tampered)"
            ) from None
        self._recv_counter += 1
        if self._state == "finish":
            self._open()
        if payload:
            self.wrappedProtocol.dataReceived(payload)
        return True

    # -- failure

    def _fail(self, message: str):
        _log.warn("{line}", line=message)
        self._state = "closed"
        self._handshake_failed(message)
        # An open inner protocol hears connectionLost when the transport has closed.
        self.transport.loseConnection()

    def _handshake_failed(self, message: str):
        self._cancel_timeout()
        if self.factory.is_client and not self.handshake.called:
            self.handshake.errback(Failure(NaclHandshakeError(message)))

    def _handshake_timed_out(self):
        self._timeout = None
        self._fail(
            f"nacl: closing {self._peer()}: no handshake within "
            f"{self.factory.handshake_timeout:g} s (waiting for {self._state})"
        )

    def _cancel_timeout(self):
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None

    def _peer(self) -> str:
        try:
            peer = self.transport.getPeer()
        except Exception:  # noqa: BLE001 - a transport without addresses
            return "peer"
        host, port = getattr(peer, "host", None), getattr(peer, "port", None)
        if host is not None:
            return f"{host}:{port}"
        return str(peer)

    def _own_key_hex(self) -> str:
        return bytes(self.factory.key.verify_key).hex()


class NaclFactory(WrappingFactory):
    """Wraps a protocol factory so each of its connections runs over ``nacl:``.

    ``ephemeral`` (a callable returning an X25519 ``PrivateKey``) and ``clock`` are test seams.
    """

    protocol = NaclProtocol

    def __init__(
        self,
        wrappedFactory,
        key: SigningKey,
        *,
        is_client: bool,
        allowed: frozenset[bytes] = frozenset(),
        server_key: bytes | None = None,
        clock=None,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        ephemeral=PrivateKey.generate,
    ):
        super().__init__(wrappedFactory)
        self.key = key
        self.is_client = is_client
        self.allowed = frozenset(allowed)
        self.server_key = server_key
        self.clock = clock
        self.handshake_timeout = handshake_timeout
        self.ephemeral = ephemeral
