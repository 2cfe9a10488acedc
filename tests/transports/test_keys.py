"""Key files, allowed-key lists, ``zkosctl keygen`` and the ``nacl:`` endpoint-string parsers."""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout

from nacl.signing import SigningKey
from twisted.internet import endpoints
from twisted.internet.testing import MemoryReactorClock
from twisted.trial import unittest

from zkos_tw.cli.main import main as zkosctl
from zkos_tw.transports import keys
from zkos_tw.transports.endpoints import NaclClientEndpoint, NaclServerEndpoint

SEED = bytes(range(32))


class KeyFileTests(unittest.TestCase):
    """The versioned key-file format."""

    def test_golden(self):
        """Version 1 of a fixed key, byte for byte."""
        key = SigningKey(SEED)
        self.assertEqual(
            keys.encode_key_file(key),
            b'{\n  "format": "zkos-nacl-key",\n  "version": 1,\n  "secret_key": "'
            + SEED.hex().encode()
            + b'",\n  "public_key": "'
            + bytes(key.verify_key).hex().encode()
            + b'"\n}\n',
        )
        self.assertEqual(bytes(keys.decode_key_file(keys.encode_key_file(key))), SEED)

    def test_write_mode_and_refusals(self):
        """Written 0600; not overwritten; a group-readable file is refused."""
        path = self.mktemp()
        key = keys.write_key_file(path)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(bytes(keys.read_key_file(path)), bytes(key))
        self.assertRaises(FileExistsError, keys.write_key_file, path)
        os.chmod(path, 0o640)
        e = self.assertRaises(keys.KeyFileError, keys.read_key_file, path)
        self.assertEqual(str(e), f"key file {path}: readable by others (mode 0640); chmod 600 it")

    def test_bad_documents(self):
        """Wrong format, version or a mismatched public key are named."""
        good = json.loads(keys.encode_key_file(SigningKey(SEED)))
        for change, message in [
            ({"version": 2}, "key file: unsupported version 2"),
            ({"format": "x"}, "key file: not a zkos-nacl-key file"),
            ({"public_key": "00" * 32}, "key file: public_key does not match secret_key"),
        ]:
            e = self.assertRaises(
                keys.KeyFileError, keys.decode_key_file, json.dumps({**good, **change})
            )
            self.assertEqual(str(e), message)

    def test_allowed_keys(self):
        """One hex key a line; comments and blanks ignored; a bad line is named."""
        a, b = "11" * 32, "0x" + "22" * 32
        self.assertEqual(
            keys.parse_allowed_keys(f"# ENs\n{a}  # en1\n\n{b}\n"),
            frozenset([bytes.fromhex(a), bytes.fromhex("22" * 32)]),
        )
        e = self.assertRaises(keys.KeyFileError, keys.parse_allowed_keys, "abc\n")
        self.assertEqual(str(e), "allowed keys line 1: 'abc' is not a 32-byte public key in hex")


class KeygenTests(unittest.TestCase):
    """``zkosctl keygen PATH``."""

    def test_keygen(self):
        """Writes the file and prints its public key; a second run refuses to overwrite."""
        path = self.mktemp()
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(zkosctl(["keygen", path]), 0)
        key = keys.read_key_file(path)
        self.assertEqual(out.getvalue(), bytes(key.verify_key).hex() + "\n")
        self.assertEqual(zkosctl(["keygen", path]), 1)


class ParserTests(unittest.TestCase):
    """The plugins make ``nacl:`` strings into our endpoints."""

    def setUp(self):
        self.key_path = self.mktemp()
        self.key = keys.write_key_file(self.key_path, SigningKey(SEED))
        self.reactor = MemoryReactorClock()

    def test_server_string(self):
        """``nacl:tcp\\:PORT:key=...:allow=...`` listens on the wrapped tcp endpoint."""
        peers = self.mktemp()
        with open(peers, "w") as f:
            f.write("33" * 32 + "\n")
        endpoint = endpoints.serverFromString(
            self.reactor, f"nacl:tcp\\:3053:key={self.key_path}:peers={peers}:allow={'44' * 32}"
        )
        self.assertIsInstance(endpoint, NaclServerEndpoint)
        self.assertEqual(endpoint._allowed, {b"\x33" * 32, b"\x44" * 32})
        endpoint.listen(object())
        port, factory, _, _ = self.reactor.tcpServers[0]
        self.assertEqual(port, 3053)
        self.assertFalse(factory.is_client)

    def test_client_string(self):
        """``nacl:tcp\\:HOST\\:PORT:key=...:server=HEX`` connects through tcp."""
        endpoint = endpoints.clientFromString(
            self.reactor, f"nacl:tcp\\:127.0.0.1\\:3053:key={self.key_path}:server={'55' * 32}"
        )
        self.assertIsInstance(endpoint, NaclClientEndpoint)
        endpoint.connect(object())
        host, port, factory, _, _ = self.reactor.tcpClients[0]
        self.assertEqual(
            (host, port, factory._wrappedFactory.server_key), ("127.0.0.1", 3053, b"\x55" * 32)
        )

    def test_errors(self):
        """Missing options are named."""
        e = self.assertRaises(
            ValueError,
            endpoints.serverFromString,
            self.reactor,
            f"nacl:tcp\\:1:key={self.key_path}",
        )
        self.assertEqual(
            str(e), "nacl server: no allowed client keys (give peers=PATH or allow=HEX)"
        )
        e = self.assertRaises(
            ValueError,
            endpoints.clientFromString,
            self.reactor,
            f"nacl:tcp\\:h\\:1:key={self.key_path}",
        )
        self.assertEqual(str(e), "nacl client: server=<server public key hex> is required")
