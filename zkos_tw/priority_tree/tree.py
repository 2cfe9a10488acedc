"""The priority tree (reference ``zksync-os-server.md`` §7.4): a keccak Merkle tree over the L1
priority transaction hashes, in priority-id order, with the range proofs the execute transaction
carries.

Leaves are the transaction hashes themselves (not re-hashed); a node is ``keccak(left || right)``;
the tree is padded with empty leaves ``keccak("")`` to the next power of two, and grows by doubling
(a tree of ``n`` leaves has depth ``ceil(log2 n)``), exactly as ``contracts/l1/PriorityTree.sol``
and the reference's mini Merkle tree.

Executed leaves are trimmed: the tree keeps only the leaves from ``start_index`` on, plus the
*left cache* — for every height ``h`` where bit ``h`` of ``start_index`` is set, the root of the
fully trimmed subtree just left of ``start_index`` at that height. Those subtrees never change, so
the cache, ``start_index`` and the untrimmed leaves give every root and every range proof the full
tree would. ``PriorityTreeSnapshot`` is the persisted form (§9: the cache with the block it is
valid at); its byte codec is versioned.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.hashing import keccak256

ZERO32 = bytes(32)
EMPTY_LEAF = keccak256(b"")
#: The contract refuses paths of 256 levels or more; no real tree comes near.
MAX_DEPTH = 64


def _zeros() -> list[bytes]:
    """``zeros[h]`` = the root of an empty subtree of height ``h``."""
    zeros = [EMPTY_LEAF]
    for _ in range(MAX_DEPTH):
        zeros.append(keccak256(zeros[-1] + zeros[-1]))
    return zeros


ZEROS = _zeros()


class PriorityTreeError(ValueError):
    """A range outside the untrimmed leaves, a trim backwards, or a corrupt snapshot."""


@dataclass(frozen=True)
class RangeProof:
    """``PriorityOpsBatchInfo``: the paths left and right of a range of leaves, and the leaves.

    A sibling a side does not need (the range starts on an even index, or ends on an odd one, at
    that height) is zero, as the contract expects."""

    left_path: tuple[bytes, ...]
    right_path: tuple[bytes, ...]
    item_hashes: tuple[bytes, ...]

    def as_tuple(self) -> tuple:
        """The ABI value of ``(bytes32[] leftPath, bytes32[] rightPath, bytes32[] itemHashes)``."""
        return (list(self.left_path), list(self.right_path), list(self.item_hashes))


EMPTY_RANGE = RangeProof((), (), ())


class PriorityTree:
    """The node's priority tree: push leaves, prove ranges, trim what L1 executed."""

    def __init__(self, start_index: int = 0, left_cache: dict[int, bytes] | None = None):
        self._start = start_index
        # height -> root of the trimmed subtree left of start_index at that height
        self._cache = dict(left_cache or {})
        expected = {h for h in range(MAX_DEPTH) if (start_index >> h) & 1}
        if set(self._cache) != expected:
            raise PriorityTreeError(
                f"left cache heights {sorted(self._cache)} do not match start index {start_index}"
            )
        self._leaves: list[bytes] = []

    @property
    def start_index(self) -> int:
        """The first leaf still held (every leaf before it was trimmed)."""
        return self._start

    def __len__(self) -> int:
        """The number of leaves ever pushed (trimmed ones included)."""
        return self._start + len(self._leaves)

    def push(self, leaf: bytes) -> None:
        if len(leaf) != 32:
            raise PriorityTreeError("a priority tree leaf is a 32-byte transaction hash")
        self._leaves.append(bytes(leaf))

    def extend(self, leaves) -> None:
        for leaf in leaves:
            self.push(leaf)

    def depth(self) -> int:
        return (len(self) - 1).bit_length() if len(self) > 1 else 0

    def _levels(self) -> list[list[bytes]]:
        """``levels[h][i]`` = the node at height ``h``, index ``(start_index >> h) + i``, for
        every node that covers an untrimmed leaf (padding included up to the tree's width)."""
        depth = self.depth()
        width = 1 << depth
        level = self._leaves + [EMPTY_LEAF] * (width - len(self))
        levels = [level]
        for h in range(depth):
            offset = (self._start >> h) & 1  # the first node's left sibling is trimmed
            if offset:
                level = [self._cache[h]] + level
            if len(level) % 2:
                level = level + [ZEROS[h]]
            level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
            levels.append(level)
        return levels

    def root(self) -> bytes:
        """The root over every leaf pushed (zero for an empty tree, as the contract's)."""
        if len(self) == 0:
            return ZERO32
        depth = self.depth()
        if not self._leaves and len(self) == 1 << depth:
            return self._cache[depth]  # every leaf trimmed, the tree full: the cache has it
        return self._levels()[-1][0]

    def _node(self, levels, h: int, index: int) -> bytes:
        first = self._start >> h
        if index < first:
            if index == first - 1 and h in self._cache:
                return self._cache[h]
            raise PriorityTreeError(f"node {index} at height {h} was trimmed")
        position = index - first
        level = levels[h]
        return level[position] if position < len(level) else ZEROS[h]

    def range_proof(self, start: int, count: int) -> RangeProof:
        """The proof of leaves ``[start, start + count)`` against ``root()``; empty for none."""
        if count == 0:
            return EMPTY_RANGE
        if start < self._start or start + count > len(self) or count < 0:
            raise PriorityTreeError(
                f"range {start}..{start + count} is outside the held leaves "
                f"{self._start}..{len(self)}"
            )
        levels = self._levels()
        left, right = [], []
        lo, hi = start, start + count - 1
        for h in range(self.depth()):
            left.append(self._node(levels, h, lo - 1) if lo % 2 else ZERO32)
            right.append(self._node(levels, h, hi + 1) if hi % 2 == 0 else ZERO32)
            lo //= 2
            hi //= 2
        items = tuple(self._leaves[start - self._start : start - self._start + count])
        return RangeProof(tuple(left), tuple(right), items)

    def trim(self, new_start: int) -> None:
        """Forget the leaves before ``new_start`` (executed on L1), keeping what proofs need."""
        if new_start < self._start or new_start > len(self):
            raise PriorityTreeError(
                f"cannot trim to {new_start}: the tree holds {self._start}..{len(self)}"
            )
        if new_start == self._start:
            return
        levels = self._full_levels()
        cache = {}
        for h in range(MAX_DEPTH):
            if (new_start >> h) & 1:
                cache[h] = self._node(levels, h, (new_start >> h) - 1)
        self._leaves = self._leaves[new_start - self._start :]
        self._start = new_start
        self._cache = cache

    def _full_levels(self) -> list[list[bytes]]:
        """Like ``_levels`` but up to ``MAX_DEPTH``: a trim may need nodes above the root's
        height (the left sibling at a height the tree has not grown to yet)."""
        levels = self._levels()
        level = levels[-1]
        for h in range(len(levels) - 1, MAX_DEPTH):
            offset = (self._start >> h) & 1
            if offset:
                level = [self._cache[h]] + level
            if len(level) % 2:
                level = level + [ZEROS[h]]
            level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
            levels.append(level)
        return levels

    def snapshot(self, block_number: int) -> PriorityTreeSnapshot:
        """The persisted form: start index and left cache, valid after block ``block_number``."""
        return PriorityTreeSnapshot(block_number, self._start, dict(self._cache))


@dataclass(frozen=True)
class PriorityTreeSnapshot:
    """What survives a restart (§7.4, §9): ``start_index`` and the left cache, with the block
    whose executed priority transactions it reflects. The leaves from ``start_index`` on are
    re-pushed from the WAL after loading."""

    block_number: int
    start_index: int
    left_cache: dict[int, bytes]

    VERSION = 1

    def tree(self) -> PriorityTree:
        return PriorityTree(self.start_index, self.left_cache)

    def encode(self) -> bytes:
        """Version 1: ``0x01 || block u64 BE || start u64 BE || count u8 || (height u8 || 32 bytes)*``."""
        out = bytearray([self.VERSION])
        out += self.block_number.to_bytes(8, "big") + self.start_index.to_bytes(8, "big")
        out.append(len(self.left_cache))
        for h in sorted(self.left_cache):
            out.append(h)
            out += self.left_cache[h]
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> PriorityTreeSnapshot:
        if not raw or raw[0] != cls.VERSION:
            raise PriorityTreeError(
                f"unknown priority tree snapshot version {raw[:1].hex() or 'none'}"
            )
        if len(raw) < 18:
            raise PriorityTreeError("truncated priority tree snapshot")
        block = int.from_bytes(raw[1:9], "big")
        start = int.from_bytes(raw[9:17], "big")
        count = raw[17]
        if len(raw) != 18 + 33 * count:
            raise PriorityTreeError("priority tree snapshot length does not match its count")
        cache = {}
        for i in range(count):
            entry = raw[18 + 33 * i : 18 + 33 * (i + 1)]
            cache[entry[0]] = bytes(entry[1:])
        snapshot = cls(block, start, cache)
        snapshot.tree()  # checks the cache against the start index
        return snapshot
