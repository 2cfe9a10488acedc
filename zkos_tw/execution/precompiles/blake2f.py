"""0x09 BLAKE2F: the BLAKE2b compression function F with a caller-chosen round count (EIP-152).

Input is exactly 213 bytes: ``rounds`` (4 bytes, big-endian), the state ``h`` (8 words), the
message block ``m`` (16 words), the offset counters ``t0, t1`` (2 words) and the final-block flag
``f`` (1 byte, 0 or 1); every word is a little-endian uint64. The output is the new ``h`` (64 bytes).
Gas is one per round and is checked before any round runs, so a huge round count fails at once.

The round body is unrolled over sixteen locals: this is the only pure-Python precompile whose run
time grows with a number the caller picks, and gas prices it at 1 per round.
"""

from __future__ import annotations

import struct

from zkos_tw.execution.precompiles import PrecompileFailure

GAS_PER_ROUND = 1
INPUT_LENGTH = 213

_MASK = 0xFFFFFFFFFFFFFFFF

# The BLAKE2b initialisation vector (the SHA-512 IV).
IV = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
    0x510E527FADE682D1,
    0x9B05688C2B3E6C1F,
    0x1F83D9ABFB41BD6B,
    0x5BE0CD19137E2179,
)

# The message schedule: round r reads the message words in the order SIGMA[r % 10].
SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)

_WORDS = struct.Struct("<26Q")


def compress(rounds: int, h: tuple, m: tuple, t0: int, t1: int, final: bool) -> tuple:
    """BLAKE2b F: ``rounds`` rounds over state ``h`` and block ``m``; returns the new 8-word state."""
    v0, v1, v2, v3, v4, v5, v6, v7 = h
    v8, v9, v10, v11, v12, v13, v14, v15 = IV
    v12 ^= t0
    v13 ^= t1
    if final:
        v14 ^= _MASK
    schedules = [tuple(m[i] for i in sigma) for sigma in SIGMA]
    for r in range(rounds):
        (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15) = schedules[r % 10]
        v0 = (v0 + v4 + x0) & _MASK
        t = v12 ^ v0
        v12 = ((t >> 32) | (t << 32)) & _MASK
        v8 = (v8 + v12) & _MASK
        t = v4 ^ v8
        v4 = ((t >> 24) | (t << 40)) & _MASK
        v0 = (v0 + v4 + x1) & _MASK
        t = v12 ^ v0
        v12 = ((t >> 16) | (t << 48)) & _MASK
        v8 = (v8 + v12) & _MASK
        t = v4 ^ v8
        v4 = ((t >> 63) | (t << 1)) & _MASK
        v1 = (v1 + v5 + x2) & _MASK
        t = v13 ^ v1
        v13 = ((t >> 32) | (t << 32)) & _MASK
        v9 = (v9 + v13) & _MASK
        t = v5 ^ v9
        v5 = ((t >> 24) | (t << 40)) & _MASK
        v1 = (v1 + v5 + x3) & _MASK
        t = v13 ^ v1
        v13 = ((t >> 16) | (t << 48)) & _MASK
        v9 = (v9 + v13) & _MASK
        t = v5 ^ v9
        v5 = ((t >> 63) | (t << 1)) & _MASK
        v2 = (v2 + v6 + x4) & _MASK
        t = v14 ^ v2
        v14 = ((t >> 32) | (t << 32)) & _MASK
        v10 = (v10 + v14) & _MASK
        t = v6 ^ v10
        v6 = ((t >> 24) | (t << 40)) & _MASK
        v2 = (v2 + v6 + x5) & _MASK
        t = v14 ^ v2
        v14 = ((t >> 16) | (t << 48)) & _MASK
        v10 = (v10 + v14) & _MASK
        t = v6 ^ v10
        v6 = ((t >> 63) | (t << 1)) & _MASK
        v3 = (v3 + v7 + x6) & _MASK
        t = v15 ^ v3
        v15 = ((t >> 32) | (t << 32)) & _MASK
        v11 = (v11 + v15) & _MASK
        t = v7 ^ v11
        v7 = ((t >> 24) | (t << 40)) & _MASK
        v3 = (v3 + v7 + x7) & _MASK
        t = v15 ^ v3
        v15 = ((t >> 16) | (t << 48)) & _MASK
        v11 = (v11 + v15) & _MASK
        t = v7 ^ v11
        v7 = ((t >> 63) | (t << 1)) & _MASK
        v0 = (v0 + v5 + x8) & _MASK
        t = v15 ^ v0
        v15 = ((t >> 32) | (t << 32)) & _MASK
        v10 = (v10 + v15) & _MASK
        t = v5 ^ v10
        v5 = ((t >> 24) | (t << 40)) & _MASK
        v0 = (v0 + v5 + x9) & _MASK
        t = v15 ^ v0
        v15 = ((t >> 16) | (t << 48)) & _MASK
        v10 = (v10 + v15) & _MASK
        t = v5 ^ v10
        v5 = ((t >> 63) | (t << 1)) & _MASK
        v1 = (v1 + v6 + x10) & _MASK
        t = v12 ^ v1
        v12 = ((t >> 32) | (t << 32)) & _MASK
        v11 = (v11 + v12) & _MASK
        t = v6 ^ v11
        v6 = ((t >> 24) | (t << 40)) & _MASK
        v1 = (v1 + v6 + x11) & _MASK
        t = v12 ^ v1
        v12 = ((t >> 16) | (t << 48)) & _MASK
        v11 = (v11 + v12) & _MASK
        t = v6 ^ v11
        v6 = ((t >> 63) | (t << 1)) & _MASK
        v2 = (v2 + v7 + x12) & _MASK
        t = v13 ^ v2
        v13 = ((t >> 32) | (t << 32)) & _MASK
        v8 = (v8 + v13) & _MASK
        t = v7 ^ v8
        v7 = ((t >> 24) | (t << 40)) & _MASK
        v2 = (v2 + v7 + x13) & _MASK
        t = v13 ^ v2
        v13 = ((t >> 16) | (t << 48)) & _MASK
        v8 = (v8 + v13) & _MASK
        t = v7 ^ v8
        v7 = ((t >> 63) | (t << 1)) & _MASK
        v3 = (v3 + v4 + x14) & _MASK
        t = v14 ^ v3
        v14 = ((t >> 32) | (t << 32)) & _MASK
        v9 = (v9 + v14) & _MASK
        t = v4 ^ v9
        v4 = ((t >> 24) | (t << 40)) & _MASK
        v3 = (v3 + v4 + x15) & _MASK
        t = v14 ^ v3
        v14 = ((t >> 16) | (t << 48)) & _MASK
        v9 = (v9 + v14) & _MASK
        t = v4 ^ v9
        v4 = ((t >> 63) | (t << 1)) & _MASK
    return (
        h[0] ^ v0 ^ v8,
        h[1] ^ v1 ^ v9,
        h[2] ^ v2 ^ v10,
        h[3] ^ v3 ^ v11,
        h[4] ^ v4 ^ v12,
        h[5] ^ v5 ^ v13,
        h[6] ^ v6 ^ v14,
        h[7] ^ v7 ^ v15,
    )


def blake2f(data: bytes, gas: int) -> tuple[int, bytes]:
    """The BLAKE2F precompile: a 213-byte input, one gas per round, 64 bytes of state out."""
    if len(data) != INPUT_LENGTH:
        raise PrecompileFailure("blake2f input must be exactly 213 bytes")
    rounds = int.from_bytes(data[:4], "big")
    cost = GAS_PER_ROUND * rounds
    if cost > gas:
        raise PrecompileFailure("out of gas")
    final = data[212]
    if final not in (0, 1):
        raise PrecompileFailure("blake2f final-block flag must be 0 or 1")
    words = _WORDS.unpack_from(data, 4)
    h = compress(rounds, words[0:8], words[8:24], words[24], words[25], final == 1)
    return cost, struct.pack("<8Q", *h)
