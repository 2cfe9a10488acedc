"""0x05 MODEXP: ``base ** exp % modulus`` on big-endian integers of any length (EIP-198, EIP-2565).

The input starts with three 32-byte words, the byte lengths of base, exponent and modulus, followed
by the three numbers; input shorter than that is read as if padded with zeros. The output has the
modulus' length (all zeros when the modulus is zero).

Gas (EIP-2565) is ``max(200, words(max(len_base, len_mod)) ** 2 * iterations // 3)``, where
``iterations`` comes from the exponent's length and its first 32 bytes (the "adjusted exponent
length"). The lengths may be up to 2**256 - 1, so gas is computed from the lengths and the exponent
head alone and checked before anything of the length announced is read or allocated.
"""

from __future__ import annotations

from zkos_tw.execution.precompiles import PrecompileFailure

GAS_MINIMUM = 200
GAS_QUADRATIC_DIVISOR = 3


def read_int(data: bytes, start: int, length: int) -> int:
    """The big-endian integer in ``data[start:start + length]``, zero-padded past the end."""
    if length == 0:
        return 0
    chunk = data[start : start + length] if start < len(data) else b""
    value = int.from_bytes(chunk, "big")
    missing = length - len(chunk)
    return value << (8 * missing) if missing and value else value


def multiplication_complexity(base_length: int, modulus_length: int) -> int:
    """EIP-2565: the square of the number of 8-byte words in the longer of base and modulus."""
    words = (max(base_length, modulus_length) + 7) // 8
    return words * words


def iteration_count(exponent_length: int, exponent_head: int) -> int:
    """EIP-2565 "adjusted exponent length": about the number of squarings, at least 1."""
    head_bits = max(exponent_head.bit_length() - 1, 0)
    if exponent_length <= 32:
        count = head_bits
    else:
        count = 8 * (exponent_length - 32) + head_bits
    return max(count, 1)


def gas_cost(
    base_length: int, exponent_length: int, modulus_length: int, exponent_head: int
) -> int:
    """The EIP-2565 gas of a call with these lengths and this exponent head."""
    cost = (
        multiplication_complexity(base_length, modulus_length)
        * iteration_count(exponent_length, exponent_head)
        // GAS_QUADRATIC_DIVISOR
    )
    return max(GAS_MINIMUM, cost)


def modexp(data: bytes, gas: int) -> tuple[int, bytes]:
    """The MODEXP precompile."""
    base_length = read_int(data, 0, 32)
    exponent_length = read_int(data, 32, 32)
    modulus_length = read_int(data, 64, 32)
    exponent_start = 96 + base_length
    exponent_head = read_int(data, exponent_start, min(32, exponent_length))

    cost = gas_cost(base_length, exponent_length, modulus_length, exponent_head)
    if cost > gas:
        raise PrecompileFailure("out of gas")

    if base_length == 0 and modulus_length == 0:
        return cost, b""
    modulus = read_int(data, exponent_start + exponent_length, modulus_length)
    if modulus <= 1:
        # x mod 1 and the spec's "modulus zero" case are both all zeros: skip the exponentiation.
        return cost, bytes(modulus_length)
    base = read_int(data, 96, base_length)
    exponent = read_int(data, exponent_start, exponent_length)
    return cost, pow(base, exponent, modulus).to_bytes(modulus_length, "big")
