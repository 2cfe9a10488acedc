"""On-disk records of the state tree, format version 1 (one codec per version, STYLE rule 13).

Every value starts with the format version byte ``0x01``. Keys (integers big-endian, so LMDB's
bytewise order is numeric order)::

    b"M"                               manifest: 0x01 || u8 depth || u8 node stride
    b"H"                               head: 0x01 || u64be latest version
    b"V" || u64be version              version: 0x01 || root(32) || u64be leaf_count
    b"L" || u64be index || u64be ver   leaf as of ver: 0x01 || key(32) || value(32) || u64le next
    b"N" || u8 level || u64be index || u64be ver
                                       internal node hash as of ver: 0x01 || hash(32)
    b"K" || key(32)                    key index: 0x01 || u64be leaf index

``L`` and ``N`` records are versioned (``ITreeStore.get_versioned``): a record is written each
time the leaf or node changes. Internal nodes are stored only at levels that are multiples of
``NODE_STRIDE``; the levels between are recomputed from the stored level below when an old
version is read. Leaf values are the 72-byte hash preimage, so the leaf hash is ``blake2s(value[1:])``.
"""

from __future__ import annotations

import struct

from zkos_tw.merkle.hashes import DEPTH, LEAF_SIZE

FORMAT_VERSION = 1
_V = bytes([FORMAT_VERSION])
NODE_STRIDE = 4

MANIFEST_KEY = b"M"
HEAD_KEY = b"H"
VERSION_PREFIX = b"V"
LEAF_PREFIX = b"L"
NODE_PREFIX = b"N"
KEY_INDEX_PREFIX = b"K"

_U64 = struct.Struct(">Q")
_LEAF_KEY = struct.Struct(">cQQ")
_NODE_KEY = struct.Struct(">cBQQ")
_NODE_PREFIX = struct.Struct(">cBQ")
_VERSION_VALUE = struct.Struct(">c32sQ")


class TreeFormatError(ValueError):
    """A stored record has an unknown format version or a wrong length."""


def _check(value: bytes, length: int, what: str) -> None:
    if len(value) != length or value[0] != FORMAT_VERSION:
        raise TreeFormatError(
            f"tree {what} record: expected format {FORMAT_VERSION} and {length} bytes, "
            f"got format {value[:1].hex() or 'none'} and {len(value)} bytes"
        )


def encode_manifest() -> bytes:
    """The manifest value of this format."""
    return _V + bytes([DEPTH, NODE_STRIDE])


def decode_manifest(value: bytes) -> tuple[int, int]:
    """``(depth, node stride)``; raises for another format."""
    _check(value, 3, "manifest")
    return value[1], value[2]


def encode_head(version: int) -> bytes:
    """The head value: the latest version."""
    return _V + _U64.pack(version)


def decode_head(value: bytes) -> int:
    """The latest version from a head value."""
    _check(value, 9, "head")
    return _U64.unpack_from(value, 1)[0]


def version_key(version: int) -> bytes:
    """Key of the ``(root, leaf_count)`` record of ``version``."""
    return VERSION_PREFIX + _U64.pack(version)


def encode_version(root: bytes, leaf_count: int) -> bytes:
    """Value of a version record."""
    return _VERSION_VALUE.pack(_V, root, leaf_count)


def decode_version(value: bytes) -> tuple[bytes, int]:
    """``(root, leaf_count)`` from a version record."""
    _check(value, 41, "version")
    _, root, count = _VERSION_VALUE.unpack(value)
    return root, count


def leaf_prefix(index: int) -> bytes:
    """Versioned-key prefix of leaf ``index``."""
    return LEAF_PREFIX + _U64.pack(index)


def leaf_key(index: int, version: int) -> bytes:
    """Key of leaf ``index`` as written at ``version``."""
    return _LEAF_KEY.pack(LEAF_PREFIX, index, version)


def decode_leaf_key(key: bytes) -> tuple[int, int]:
    """``(index, version)`` of a leaf key."""
    _, index, version = _LEAF_KEY.unpack(key)
    return index, version


def encode_leaf(preimage: bytes) -> bytes:
    """Value of a leaf record from the 72-byte leaf preimage."""
    return _V + preimage


def decode_leaf(value: bytes) -> bytes:
    """The 72-byte leaf preimage ``key || value || u64le(next)``."""
    _check(value, 1 + LEAF_SIZE, "leaf")
    return value[1:]


def node_prefix(level: int, index: int) -> bytes:
    """Versioned-key prefix of internal node ``(level, index)``."""
    return _NODE_PREFIX.pack(NODE_PREFIX, level, index)


def node_key(level: int, index: int, version: int) -> bytes:
    """Key of internal node ``(level, index)`` as written at ``version``."""
    return _NODE_KEY.pack(NODE_PREFIX, level, index, version)


def encode_node(node_hash: bytes) -> bytes:
    """Value of an internal node record."""
    return _V + node_hash


def decode_node(value: bytes) -> bytes:
    """The 32-byte hash of an internal node record."""
    _check(value, 33, "node")
    return value[1:]


def key_index_key(key: bytes) -> bytes:
    """Key of the leaf-index record of a tree key."""
    return KEY_INDEX_PREFIX + key


def encode_key_index(index: int) -> bytes:
    """Value of a leaf-index record."""
    return _V + _U64.pack(index)


def decode_key_index(value: bytes) -> int:
    """The leaf index from a leaf-index record."""
    _check(value, 9, "key index")
    return _U64.unpack_from(value, 1)[0]
