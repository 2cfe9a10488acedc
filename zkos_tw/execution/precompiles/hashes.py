"""0x02 SHA256, 0x03 RIPEMD160 and 0x04 IDENTITY: the three precompiles priced per 32-byte word.

Each costs a base fee plus a fee per word of input, rounded up, and cannot fail except by running
out of gas. RIPEMD-160 comes from pycryptodome (``hashlib`` lacks it on OpenSSL 3 builds) and its
20-byte digest is returned left-padded with zeros to 32 bytes.
"""

from __future__ import annotations

import hashlib

from Crypto.Hash import RIPEMD160

from zkos_tw.execution.precompiles import PrecompileFailure

GAS_SHA256 = 60
GAS_SHA256_WORD = 12
GAS_RIPEMD160 = 600
GAS_RIPEMD160_WORD = 120
GAS_IDENTITY = 15
GAS_IDENTITY_WORD = 3


def word_cost(base: int, per_word: int, data: bytes, gas: int) -> int:
    """``base + per_word * ceil(len(data) / 32)``; raises ``PrecompileFailure`` above ``gas``."""
    cost = base + per_word * ((len(data) + 31) // 32)
    if cost > gas:
        raise PrecompileFailure("out of gas")
    return cost


def sha256(data: bytes, gas: int) -> tuple[int, bytes]:
    """The SHA256 precompile: the 32-byte SHA-256 digest of the input."""
    cost = word_cost(GAS_SHA256, GAS_SHA256_WORD, data, gas)
    return cost, hashlib.sha256(data).digest()


def ripemd160(data: bytes, gas: int) -> tuple[int, bytes]:
    """The RIPEMD160 precompile: the 20-byte RIPEMD-160 digest, left-padded to 32 bytes."""
    cost = word_cost(GAS_RIPEMD160, GAS_RIPEMD160_WORD, data, gas)
    return cost, bytes(12) + RIPEMD160.new(data).digest()


def identity(data: bytes, gas: int) -> tuple[int, bytes]:
    """The IDENTITY precompile: the input, unchanged."""
    cost = word_cost(GAS_IDENTITY, GAS_IDENTITY_WORD, data, gas)
    return cost, bytes(data)
