"""Value-diff compression of ZKsync OS pubdata (zksync-os-state.md §5.6).

A compressed value is a metadata byte, low 3 bits the type and high 5 bits a length ``L``, then
``L`` big-endian bytes:

* 0 Nothing: ``0x00 || final(32)``;
* 1 Add: ``final - initial`` in ``L`` bytes;
* 2 Sub: ``initial - final`` in ``L`` bytes;
* 3 Transform: ``final`` in ``L`` bytes.

Operands have their leading zero bytes stripped and must be shorter than 32 bytes; Add and Sub do
not wrap (Add only when the value grew, Sub only when it shrank). The shortest
applicable encoding wins; ties go to the earliest type in the order above. Type 4 is the account
form of ``pubdata.py``, built from these.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTHING = 0
ADD = 1
SUB = 2
TRANSFORM = 3
ACCOUNT = 4
_U256 = 2**256
_TYPE_MASK = 7
_LENGTH_SHIFT = 3


class PubdataFormatError(ValueError):
    """Pubdata bytes that do not parse."""


@dataclass(frozen=True, slots=True)
class ValueDiff:
    """One compressed value: its ``kind`` (``NOTHING`` .. ``TRANSFORM``) and ``operand``."""

    kind: int
    operand: int

    def apply(self, initial: int) -> int:
        """The final value, given the value before the block."""
        if self.kind == ADD:
            final = initial + self.operand
        elif self.kind == SUB:
            final = initial - self.operand
        else:
            return self.operand
        if not 0 <= final < _U256:
            raise PubdataFormatError(f"{self} does not apply to {initial}")
        return final

    def encode(self) -> bytes:
        if self.kind == NOTHING:
            return b"\0" + self.operand.to_bytes(32, "big")
        length = _byte_length(self.operand)
        return bytes([length << _LENGTH_SHIFT | self.kind]) + self.operand.to_bytes(length, "big")


def _byte_length(value: int) -> int:
    return (value.bit_length() + 7) // 8


def compress(initial: int, final: int) -> ValueDiff:
    """The shortest encoding of ``initial -> final`` (ties: Nothing, Add, Sub, Transform)."""
    if not (0 <= initial < _U256 and 0 <= final < _U256):
        raise ValueError("values are 256-bit unsigned")
    best = ValueDiff(NOTHING, final)
    best_size = 33
    for kind, operand in ((ADD, final - initial), (SUB, initial - final), (TRANSFORM, final)):
        if operand < 0:
            continue
        length = _byte_length(operand)
        if length < 32 and 1 + length < best_size:
            best, best_size = ValueDiff(kind, operand), 1 + length
    return best


#: The metadata byte for each (length, kind), precomputed for ``compressed``.
_META = tuple(
    tuple(bytes([length << _LENGTH_SHIFT | kind]) for kind in range(4)) for length in range(32)
)


def compressed(initial: int, final: int) -> bytes:
    """``compress(initial, final).encode()``, without building the ``ValueDiff`` (the block
    sink compresses every written slot and account field of every block)."""
    if not (0 <= initial < _U256 and 0 <= final < _U256):
        raise ValueError("values are 256-bit unsigned")
    # Add and Sub: exactly one applies (Add on a tie, when the difference is 0).
    diff = final - initial
    kind = ADD
    if diff < 0:
        diff, kind = -diff, SUB
    length = (diff.bit_length() + 7) >> 3
    final_length = (final.bit_length() + 7) >> 3
    if final_length < length:
        kind, diff, length = TRANSFORM, final, final_length
    if length >= 32:
        return b"\0" + final.to_bytes(32, "big")
    return _META[length][kind] + diff.to_bytes(length, "big")


def decode_value(data: bytes, offset: int) -> tuple[ValueDiff, int]:
    """Parse one compressed value at ``offset``: ``(diff, offset after it)``."""
    if offset >= len(data):
        raise PubdataFormatError(f"compressed value expected at byte {offset}, got the end")
    meta = data[offset]
    kind, length = meta & _TYPE_MASK, meta >> _LENGTH_SHIFT
    if kind == NOTHING:
        if length:
            raise PubdataFormatError(f"Nothing with length {length} at byte {offset}")
        length = 32
    elif kind > TRANSFORM:
        raise PubdataFormatError(f"compression type {kind} at byte {offset}")
    end = offset + 1 + length
    if end > len(data):
        raise PubdataFormatError(f"compressed value at byte {offset} runs past the end")
    return ValueDiff(kind, int.from_bytes(data[offset + 1 : end], "big")), end
