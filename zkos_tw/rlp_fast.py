"""A small RLP codec for the node's own records: ``encode`` gives the same bytes as
``rlp.encode`` (pyrlp) for byte strings, non-negative integers, and lists/tuples of those;
``decode`` gives what ``rlp.decode(data, strict=True)`` gives (byte strings and lists), with
the same refusals (non-canonical length prefixes, truncation, trailing bytes), several times
faster.

pyrlp infers a serializer for every item (``infer_sedes``); encoding one receipt record per
transaction that way cost ~15 % of the block-sealing thread under load. Decoding the WAL record
of a 1,000-transaction block (the batcher reads each block's record for its context) and the
receipts of a batch with pyrlp was ~10 % of the node's GIL time under load (docs/load.md).
"""

from __future__ import annotations


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def encode_bytes(item: bytes) -> bytes:
    """``encode`` of one byte string."""
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _length_prefix(len(item), 0x80) + item


def encode_uint(item: int) -> bytes:
    """``encode`` of one non-negative integer."""
    if item < 0x80:
        if item == 0:
            return b"\x80"
        if item < 0:
            raise ValueError(f"RLP cannot encode the negative integer {item}")
        return bytes([item])
    raw = item.to_bytes((item.bit_length() + 7) // 8, "big")
    return _length_prefix(len(raw), 0x80) + raw


def encode_encoded_list(encoded_items) -> bytes:
    """The RLP list of items given already encoded."""
    payload = b"".join(encoded_items)
    return _length_prefix(len(payload), 0xC0) + payload


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


class DecodingError(ValueError):
    """Bytes that are not one canonical RLP item."""


def decode(data: bytes) -> bytes | list:
    """The item ``data`` encodes: ``bytes`` or a ``list`` of items (as pyrlp's strict decode).

    Raises ``DecodingError`` for anything pyrlp's strict decoding refuses.
    """
    data = bytes(data)
    item, end = _item(data, 0, len(data))
    if end != len(data):
        raise DecodingError(f"{len(data) - end} trailing bytes after the RLP item")
    return item


def _long_length(data: bytes, pos: int, size: int, limit: int) -> tuple[int, int]:
    """(payload start, payload end) of a long-form item whose length takes ``size`` bytes."""
    start = pos + 1 + size
    if start > limit:
        raise DecodingError("RLP length prefix cut short")
    if data[pos + 1] == 0:
        raise DecodingError("RLP length prefix with leading zeros")
    length = int.from_bytes(data[pos + 1 : start], "big")
    if length < 56:
        raise DecodingError("long RLP length prefix for a short item")
    return start, start + length


def _item(data: bytes, pos: int, limit: int):
    """The item at ``pos`` (which must end by ``limit``) and where it ends."""
    if pos >= limit:
        raise DecodingError("RLP item cut short")
    first = data[pos]
    if first < 0x80:
        return data[pos : pos + 1], pos + 1
    if first < 0xB8:
        start = pos + 1
        end = start + first - 0x80
        if end > limit:
            raise DecodingError("RLP string cut short")
        if first == 0x81 and data[start] < 0x80:
            raise DecodingError("single byte below 0x80 encoded as a string")
        return data[start:end], end
    if first < 0xC0:
        start, end = _long_length(data, pos, first - 0xB7, limit)
        if end > limit:
            raise DecodingError("RLP string cut short")
        return data[start:end], end
    if first < 0xF8:
        start = pos + 1
        end = start + first - 0xC0
    else:
        start, end = _long_length(data, pos, first - 0xF7, limit)
    if end > limit:
        raise DecodingError("RLP list cut short")
    items = []
    append = items.append
    while start < end:
        # Strings are decoded inline: a record's lists hold mostly short strings.
        first = data[start]
        if first < 0x80:
            append(data[start : start + 1])
            start += 1
        elif first < 0xB8:
            stop = start + 1 + first - 0x80
            if stop > end:
                raise DecodingError("RLP string cut short")
            if first == 0x81 and data[start + 1] < 0x80:
                raise DecodingError("single byte below 0x80 encoded as a string")
            append(data[start + 1 : stop])
            start = stop
        else:
            item, start = _item(data, start, end)
            append(item)
    return items, end
