"""Log matching by address and topics, and the logs-bloom pre-check (shared by every backend).

A filter's ``addresses`` is a tuple of 20-byte addresses (empty = any address); ``topics`` has
one entry per position, ``None`` (any) or a tuple of 32-byte alternatives. Logs are RPC log
dicts (hex strings).
"""

from __future__ import annotations

from eth_utils import keccak


def log_matches(log: dict, addresses: tuple, topics: tuple) -> bool:
    """True if the RPC log matches the address set and every topic position."""
    if addresses and bytes.fromhex(log["address"][2:]) not in addresses:
        return False
    log_topics = log.get("topics", ())
    for position, alternatives in enumerate(topics):
        if alternatives is None:
            continue
        if position >= len(log_topics):
            return False
        if bytes.fromhex(log_topics[position][2:]) not in alternatives:
            return False
    return True


def _bloom_bits(item: bytes):
    digest = keccak(item)
    for i in (0, 2, 4):
        yield ((digest[i] << 8) | digest[i + 1]) & 2047


def bloom_contains(bloom: int, item: bytes) -> bool:
    """True if the 2048-bit bloom (as an ``int``, byte 0 most significant) may contain ``item``."""
    return all(bloom >> bit & 1 for bit in _bloom_bits(item))


def bloom_add(bloom: int, item: bytes) -> int:
    """The bloom with ``item`` added."""
    for bit in _bloom_bits(item):
        bloom |= 1 << bit
    return bloom


def bloom_may_match(bloom_hex: str, addresses: tuple, topics: tuple) -> bool:
    """False only if the block's ``logsBloom`` proves no log in it can match the filter."""
    bloom = int(bloom_hex, 16)
    if addresses and not any(bloom_contains(bloom, a) for a in addresses):
        return False
    for alternatives in topics:
        if alternatives is not None and not any(bloom_contains(bloom, t) for t in alternatives):
            return False
    return True


def logs_bloom(logs) -> str:
    """The ``logsBloom`` hex of RPC logs (address and every topic of each)."""
    bloom = 0
    for log in logs:
        bloom = bloom_add(bloom, bytes.fromhex(log["address"][2:]))
        for topic in log.get("topics", ()):
            bloom = bloom_add(bloom, bytes.fromhex(topic[2:]))
    return "0x" + bloom.to_bytes(256, "big").hex()
