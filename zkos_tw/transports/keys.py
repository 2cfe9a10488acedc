"""Node key files and allowed-key lists for the ``nacl:`` transport.

A key file is versioned JSON, mode 0600::

    {"format": "zkos-nacl-key", "version": 1, "secret_key": "<64 hex>", "public_key": "<64 hex>"}

``secret_key`` is the 32-byte Ed25519 seed; ``public_key`` its verify key, which is what peers list.
An allowed-keys file holds one public key (64 hex digits) per line; ``#`` starts a comment.
"""

from __future__ import annotations

import json
import os
import stat

from nacl.signing import SigningKey, VerifyKey

KEY_FILE_FORMAT = "zkos-nacl-key"
KEY_FILE_VERSION = 1


class KeyFileError(ValueError):
    """A key file or allowed-keys list that cannot be used; the message names the file."""


def parse_public_key(text: str, where: str = "public key") -> bytes:
    """32 bytes from 64 hex digits (an optional ``0x`` is accepted); ``KeyFileError`` otherwise."""
    value = text.strip()
    if value.startswith(("0x", "0X")):
        value = value[2:]
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise KeyFileError(f"{where}: {text.strip()!r} is not a 32-byte public key in hex")
    return raw


def encode_key_file(signing_key: SigningKey) -> bytes:
    """The key file's bytes (version 1) for ``signing_key``."""
    document = {
        "format": KEY_FILE_FORMAT,
        "version": KEY_FILE_VERSION,
        "secret_key": bytes(signing_key).hex(),
        "public_key": bytes(signing_key.verify_key).hex(),
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def decode_key_file(data: bytes, where: str = "key file") -> SigningKey:
    """The signing key from a key file's bytes; checks format, version and the public key."""
    try:
        document = json.loads(data)
    except ValueError as e:
        raise KeyFileError(f"{where}: not JSON ({e})") from None
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise KeyFileError(f"{where}: not a {KEY_FILE_FORMAT} file")
    if document.get("version") != KEY_FILE_VERSION:
        raise KeyFileError(f"{where}: unsupported version {document.get('version')!r}")
    try:
        seed = bytes.fromhex(document["secret_key"])
    except (KeyError, TypeError, ValueError):
        seed = b""
    if len(seed) != 32:
        raise KeyFileError(f"{where}: secret_key is not 32 bytes of hex")
    signing_key = SigningKey(seed)
    public = parse_public_key(str(document.get("public_key", "")), f"{where}: public_key")
    if public != bytes(signing_key.verify_key):
        raise KeyFileError(f"{where}: public_key does not match secret_key")
    return signing_key


def write_key_file(path: str, signing_key: SigningKey | None = None) -> SigningKey:
    """Write a new key file (mode 0600, refusing to overwrite); return its signing key."""
    signing_key = SigningKey.generate() if signing_key is None else signing_key
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(encode_key_file(signing_key))
    return signing_key


def read_key_file(path: str) -> SigningKey:
    """Load a key file; refuses one that group or others can read (like ssh)."""
    try:
        mode = os.stat(path).st_mode
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise KeyFileError(f"key file {path}: {e.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path}: readable by others (mode {stat.S_IMODE(mode):04o}); chmod 600 it"
        )
    return decode_key_file(data, f"key file {path}")


def parse_allowed_keys(text: str, where: str = "allowed keys") -> frozenset[bytes]:
    """The public keys of an allowed-keys list (one hex key per line, ``#`` comments)."""
    keys = set()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            keys.add(parse_public_key(line, f"{where} line {number}"))
    return frozenset(keys)


def read_allowed_keys(path: str) -> frozenset[bytes]:
    """Load an allowed-keys file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise KeyFileError(f"allowed keys {path}: {e.strerror}") from None
    return parse_allowed_keys(text, f"allowed keys {path}")


def verify_key(public: bytes) -> VerifyKey:
    """The ``VerifyKey`` of 32 public-key bytes."""
    return VerifyKey(public)
