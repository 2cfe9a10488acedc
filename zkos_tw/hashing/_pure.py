"""Pure-Python twin of ``ext/_hashing.pyx`` (hashlib BLAKE2s, pycryptodome keccak)."""

from hashlib import blake2s as _blake2s

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    """keccak-256 of ``data`` (Ethereum's hash, not NIST SHA3-256)."""
    return _keccak.new(data=bytes(data), digest_bits=256).digest()


def blake2s256(data: bytes) -> bytes:
    """BLAKE2s with a 32-byte digest and no key."""
    return _blake2s(bytes(data)).digest()


def blake2s256_pairs(data: bytes) -> bytes:
    """Hash each 64-byte chunk of ``data``; return the 32-byte digests joined."""
    data = bytes(data)
    if len(data) % 64:
        raise ValueError(f"blake2s256_pairs needs a multiple of 64 bytes, got {len(data)}")
    return b"".join(_blake2s(data[i : i + 64]).digest() for i in range(0, len(data), 64))


def logs_bloom(logs) -> bytes:
    """The 256-byte bloom filter (yellow paper M3:2048) over the addresses and topics of
    ``logs`` (objects with ``address`` and ``topics``)."""
    bloom = 0
    for log in logs:
        for item in (log.address, *log.topics):
            digest = keccak256(item)
            for i in (0, 2, 4):
                bloom |= 1 << (((digest[i] << 8) | digest[i + 1]) & 0x7FF)
    return bloom.to_bytes(256, "big")
