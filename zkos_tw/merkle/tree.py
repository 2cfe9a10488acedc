"""The ZKsync OS state tree: depth-64 blake2s tree of linked-list leaves, one version per block.

Leaves are appended in write order (guards at 0 and 1, then new keys at ``leaf_count``,
``leaf_count + 1``, ... in the order of the block's writes) and never removed; each leaf points
at the leaf of the next larger key (reference ``zksync-os-state.md`` §4). Version ``v`` is the
state after block ``v``; version 0 is genesis and creates the guards.

The latest version lives in memory (leaves as one ``bytearray``, every level's hashes as one
``bytearray`` each, and a ``KeyIndex``: key -> leaf index in key order). Persistence goes
through an ``ITreeStore``: ``apply`` returns a ``TreePatch`` whose records the caller writes in
the block's write transaction; older versions and start-up read the store
(``zkos_tw.merkle.codec``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zkos_tw.extensions import load
from zkos_tw.hashing import blake2s256
from zkos_tw.merkle import codec
from zkos_tw.merkle.hashes import (
    DEPTH,
    EMPTY,
    LEAF_SIZE,
    MAX_GUARD_INDEX,
    MAX_KEY,
    MIN_GUARD_INDEX,
    MIN_KEY,
    ZERO32,
    hash_node,
    leaf_bytes,
)
from zkos_tw.merkle.proofs import KeyProof, LeafProof

_impl = load("_merkle", "zkos_tw.merkle._pure_merkle")
hash_leaves = _impl.hash_leaves
hash_level = _impl.hash_level
leaf_records = _impl.leaf_records
node_records = _impl.node_records
key_index_records = _impl.key_index_records
link_new_keys = _impl.link_new_keys
stage_writes = _impl.stage_writes
KeyIndex = _impl.KeyIndex


class TreeError(ValueError):
    """A batch of writes or a request the tree cannot accept."""


class TreeVersionError(TreeError):
    """A version that is not the next one to apply, or that the tree does not have."""


class TreeCorrupt(RuntimeError):
    """The stored records do not reproduce the stored root."""


@dataclass(frozen=True, slots=True)
class TreePatch:
    """The outcome of one ``apply``: the new commitment and the records to persist."""

    version: int
    root: bytes
    leaf_count: int
    records: list[tuple[bytes, bytes]]

    @property
    def size(self) -> int:
        """Bytes of keys and values in the patch (what the store will hold for it)."""
        return sum(len(k) + len(v) for k, v in self.records)


def _key32(key: bytes) -> bytes:
    key = bytes(key)
    if len(key) != 32:
        raise TreeError(f"tree keys are 32 bytes, got {len(key)}")
    return key


class MerkleTree:
    """The versioned state tree over an ``ITreeStore`` (loads the store's latest version)."""

    def __init__(self, store) -> None:
        self._store = store
        self._version: int | None = None
        self._count = 0
        self._leaves = bytearray()
        self._keys = KeyIndex()
        self._levels = [bytearray() for _ in range(DEPTH + 1)]
        self._load()

    # -- queries ---------------------------------------------------------------------------

    @property
    def latest_version(self) -> int | None:
        """The newest version, or ``None`` before genesis."""
        return self._version

    def root(self, version: int | None = None) -> bytes:
        """Root hash of ``version`` (default: latest)."""
        return self._version_info(version)[0]

    def leaf_count(self, version: int | None = None) -> int:
        """Leaves in use at ``version`` (default: latest), guards included."""
        return self._version_info(version)[1]

    def get(self, key: bytes, version: int | None = None) -> bytes | None:
        """Value of ``key`` at ``version``, or ``None`` if the key has no leaf there."""
        version, _, count = self._resolve(version)
        index = self._keys.get(_key32(key))
        if index is None or index >= count:
            return None
        return self._leaf(index, version)[32:64]

    def index_of(self, key: bytes, version: int | None = None) -> int | None:
        """Leaf index of ``key`` at ``version``, or ``None``."""
        _, _, count = self._resolve(version)
        index = self._keys.get(_key32(key))
        return index if index is not None and index < count else None

    def leaf_proof(self, index: int, version: int | None = None) -> LeafProof:
        """Authentication path of leaf ``index`` at ``version``."""
        version, _, count = self._resolve(version)
        if not 0 <= index < count:
            raise TreeError(f"leaf {index} is not in use at version {version}")
        leaf = self._leaf(index, version)
        if version == self._version:
            path = []
            for d in range(DEPTH):
                s = (index >> d) ^ 1
                path.append(bytes(self._levels[d][32 * s : 32 * s + 32]))
        else:
            cache: dict[tuple[int, int], bytes] = {}
            path = [
                self._old_node(d, (index >> d) ^ 1, version, count, cache) for d in range(DEPTH)
            ]
        return LeafProof(
            index, leaf[:32], leaf[32:64], int.from_bytes(leaf[64:72], "little"), tuple(path)
        )

    def prove(self, key: bytes, version: int | None = None) -> KeyProof:
        """Inclusion or non-inclusion proof of ``key`` at ``version``."""
        version, _, count = self._resolve(version)
        key = _key32(key)
        index = self._keys.get(key)
        if index is not None and index < count:
            return KeyProof(key, leaf=self.leaf_proof(index, version))
        prev, prev_index = self._keys.lower(key)
        while prev_index >= count:  # inserted after ``version``: look further left
            prev, prev_index = self._keys.lower(prev)
        prev_proof = self.leaf_proof(prev_index, version)
        return KeyProof(key, prev=prev_proof, next=self.leaf_proof(prev_proof.next_index, version))

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held for the latest version, by part (``sys.getsizeof``, keys counted once)."""
        import sys

        leaves = sys.getsizeof(self._leaves)
        levels = sum(sys.getsizeof(level) for level in self._levels)
        keys = self._keys.memory_bytes()
        return {
            "leaves": leaves,
            "levels": levels,
            "key_index": keys,
            "total": leaves + levels + keys,
        }

    # -- updates ---------------------------------------------------------------------------

    def apply(self, version: int, writes: Iterable[tuple[bytes, bytes]]) -> TreePatch:
        """Apply one block's writes (in the block's order) as ``version``; return the patch.

        ``version`` must be 0 for an empty tree (genesis: guards first, then the writes, which
        the caller has sorted by key), else the latest version plus one. Keys must be distinct.
        If the patch is not persisted, drop this tree object and open a new one on the store.
        """
        expected = 0 if self._version is None else self._version + 1
        if version != expected:
            raise TreeVersionError(f"tree version {version} applied, expected {expected}")
        writes = [(bytes(k), bytes(v)) for k, v in writes]
        leaves, old_count = self._leaves, self._count
        records: list[tuple[bytes, bytes]] = []
        fresh = self._version is None
        if fresh:
            leaves += leaf_bytes(MIN_KEY, ZERO32, MAX_GUARD_INDEX)
            leaves += leaf_bytes(MAX_KEY, ZERO32, MAX_GUARD_INDEX)
            records.append((codec.MANIFEST_KEY, codec.encode_manifest()))
        try:
            new_keys, updated = stage_writes(leaves, self._keys, writes)
        except ValueError as e:
            if fresh:
                del leaves[:]
            raise TreeError(str(e)) from None
        if fresh:
            self._keys.add(MIN_KEY, MIN_GUARD_INDEX)
            self._keys.add(MAX_KEY, MAX_GUARD_INDEX)
        first = old_count + (2 if fresh else 0)
        count = len(leaves) // LEAF_SIZE
        if new_keys:
            updated.extend(link_new_keys(self._keys, leaves, first, new_keys))
        touched = sorted(set(updated))
        touched.extend(range(old_count, count))
        self._count = count
        self._grow()
        if touched:
            records.extend(self._rehash(touched, version))
        records.extend(key_index_records(first, new_keys))
        root = bytes(self._levels[DEPTH][:32])
        records.append((codec.version_key(version), codec.encode_version(root, count)))
        records.append((codec.HEAD_KEY, codec.encode_head(version)))
        self._version = version
        return TreePatch(version, root, count, records)

    def _grow(self) -> None:
        """Extend every level to cover ``leaf_count`` (even-padded with empty hashes)."""
        count, levels = self._count, self._levels
        for d in range(DEPTH):
            n = (count + (1 << d) - 1) >> d
            n += n & 1
            have = len(levels[d]) >> 5
            if n > have:
                levels[d] += EMPTY[d] * (n - have)
        if not levels[DEPTH]:
            levels[DEPTH] += EMPTY[DEPTH]

    def _rehash(self, touched: list[int], version: int) -> list[tuple[bytes, bytes]]:
        """Rehash the touched leaves and their ancestors; return the leaf and node records."""
        leaves, levels = self._leaves, self._levels
        records = leaf_records(leaves, touched, version)
        hash_leaves(leaves, levels[0], touched)
        indices = touched
        stride = codec.NODE_STRIDE
        for d in range(1, DEPTH + 1):
            indices = hash_level(levels[d - 1], levels[d], indices)
            if d % stride == 0 and d < DEPTH:
                records.extend(node_records(levels[d], d, indices, version))
        return records

    # -- loading and old versions ----------------------------------------------------------

    def _load(self) -> None:
        store = self._store
        head = store.get(codec.HEAD_KEY)
        if head is None:
            return
        depth, stride = codec.decode_manifest(store.get(codec.MANIFEST_KEY) or b"")
        if (depth, stride) != (DEPTH, codec.NODE_STRIDE):
            raise TreeCorrupt(
                f"tree store has depth {depth} / stride {stride}, this code wants "
                f"{DEPTH} / {codec.NODE_STRIDE}"
            )
        latest = codec.decode_head(head)
        root, count = codec.decode_version(store.get(codec.version_key(latest)) or b"")
        leaves = bytearray(LEAF_SIZE * count)
        for key, value in store.scan(codec.LEAF_PREFIX):
            i, v = codec.decode_leaf_key(key)
            if v <= latest and i < count:
                leaves[LEAF_SIZE * i : LEAF_SIZE * i + LEAF_SIZE] = codec.decode_leaf(value)
        keys = [bytes(leaves[LEAF_SIZE * i : LEAF_SIZE * i + 32]) for i in range(count)]
        self._leaves, self._count, self._version = leaves, count, latest
        self._keys = KeyIndex((k, i) for i, k in enumerate(keys))
        self._grow()
        indices = list(range(count))
        hash_leaves(leaves, self._levels[0], indices)
        for d in range(1, DEPTH + 1):
            indices = hash_level(self._levels[d - 1], self._levels[d], indices)
        if bytes(self._levels[DEPTH][:32]) != root:
            raise TreeCorrupt(
                f"tree leaves of version {latest} do not reproduce its root 0x{root.hex()}"
            )

    def _version_info(self, version: int | None) -> tuple[bytes, int]:
        if self._version is None:
            raise TreeVersionError("the tree has no version yet (genesis not applied)")
        if version is None or version == self._version:
            return bytes(self._levels[DEPTH][:32]), self._count
        record = (
            self._store.get(codec.version_key(version)) if 0 <= version < self._version else None
        )
        if record is None:
            raise TreeVersionError(f"tree version {version} is not available")
        return codec.decode_version(record)

    def _resolve(self, version: int | None) -> tuple[int, bytes, int]:
        root, count = self._version_info(version)
        return (self._version if version is None else version), root, count

    def _leaf(self, index: int, version: int) -> bytes:
        if version == self._version:
            return bytes(self._leaves[LEAF_SIZE * index : LEAF_SIZE * index + LEAF_SIZE])
        record = self._store.get_versioned(codec.leaf_prefix(index), version)
        if record is None:
            raise TreeCorrupt(f"leaf {index} of version {version} is missing from the store")
        return codec.decode_leaf(record)

    def _old_node(self, level: int, index: int, version: int, count: int, cache: dict) -> bytes:
        """Hash of node ``(level, index)`` at an old ``version`` with ``count`` leaves."""
        if index << level >= count:
            return EMPTY[level]
        found = cache.get((level, index))
        if found is not None:
            return found
        if level == 0:
            h = blake2s256(self._leaf(index, version))
        elif level % codec.NODE_STRIDE == 0:
            record = self._store.get_versioned(codec.node_prefix(level, index), version)
            if record is None:
                raise TreeCorrupt(f"node ({level}, {index}) of version {version} is missing")
            h = codec.decode_node(record)
        else:
            h = hash_node(
                self._old_node(level - 1, 2 * index, version, count, cache),
                self._old_node(level - 1, 2 * index + 1, version, count, cache),
            )
        cache[(level, index)] = h
        return h
