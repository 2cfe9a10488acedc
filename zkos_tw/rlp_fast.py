"""A small RLP encoder for the node's own records: the same bytes as ``rlp.encode`` (pyrlp) for
byte strings, non-negative integers, and lists/tuples of those, several times faster.

pyrlp infers a serializer for every item (``infer_sedes``); encoding one receipt record per
transaction that way cost ~15 % of the block-sealing thread under load. Decoding stays with
pyrlp (it validates; records are read far less often than written).
"""

from __future__ import annotations


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def encode(item) -> bytes:
    """The RLP encoding of ``item`` (bytes, int >= 0, or a list/tuple of such items)."""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    if isinstance(item, int) and not isinstance(item, bool):
        if item < 0:
            raise ValueError(f"RLP cannot encode the negative integer {item}")
        if item == 0:
            return b"\x80"
        if item < 0x80:
            return bytes([item])
        raw = item.to_bytes((item.bit_length() + 7) // 8, "big")
        return _length_prefix(len(raw), 0x80) + raw
    if isinstance(item, (list, tuple)):
        payload = b"".join([encode(x) for x in item])
        return _length_prefix(len(payload), 0xC0) + payload
    raise TypeError(f"RLP cannot encode {type(item).__name__}")
