"""The prover input, format ``V1``: everything a worker needs to re-execute a batch without the
node's database (issue #12 item 2; reference server.md §6.5, state.md §4.8, §8.3).

Per block: the block context, the tree commitment before the block (``root``, ``leaf_count``),
the previous block's timestamp, the transactions, and a **witness**: a Merkle ``KeyProof``
against that root for every state key the block reads (inclusion: the leaf; absence: the
predecessor and its successor), and every preimage (bytecode, account record) it reads.

The bytes are a sequence of little-endian u32 words, as the reference serves its prover input
(base64 of LE u32 words). All integers are little-endian; hashes, keys, values and addresses are
raw bytes; variable-length byte strings are ``u32 length || bytes || zero padding to 4``::

    input   = "ZKPI" || u32 version=1 || u64 batch_number || u32 n_blocks || block*
    block   = context || root[32] || u64 leaf_count || u64 previous_block_timestamp
              || rightmost leaf (index leaf_count - 1, the path new leaves append along)
              || u32 n_txs || bytes*  || u32 n_reads || read* || u32 n_preimages || preimage*
    context = u64 chain_id || u64 number || u64 timestamp || u256 base_fee || u256 pubdata_price
              || u256 native_price || coinbase[20] || u64 gas_limit || u64 pubdata_limit
              || mix_hash[32] || u32 execution_version || block_hashes[256][32]
    read    = key[32] || u32 kind (0 present, 1 absent) || leaf (present) | prev || next (absent)
    leaf    = u64 index || key[32] || value[32] || u64 next_index || path[64][32] (bottom-up)
    preimage = hash[32] || bytes

Reads are sorted by key and preimages by hash, so one witness has one encoding. ``decode``
refuses a wrong magic, another version, bad padding and trailing bytes (``ProverInputError``).
See docs/proving.md.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from zkos_tw.merkle.hashes import DEPTH
from zkos_tw.merkle.proofs import KeyProof, LeafProof, ProofError, verify_key_proof
from zkos_tw.sequencer.blocks import BlockContext

MAGIC = b"ZKPI"
VERSION = 1


class ProverInputError(ValueError):
    """The bytes are not a prover input this node reads, or a witness does not check out."""


class MissingWitness(ProverInputError):
    """Re-execution read a key or preimage the witness does not carry."""


@dataclass(frozen=True)
class BlockInput:
    """One block of a batch with its witness."""

    context: BlockContext
    tree_root: bytes
    leaf_count: int
    previous_block_timestamp: int
    rightmost: LeafProof
    transactions: tuple[bytes, ...]
    reads: tuple[KeyProof, ...]
    preimages: tuple[tuple[bytes, bytes], ...]

    def __post_init__(self):
        object.__setattr__(self, "reads", tuple(sorted(self.reads, key=lambda p: p.key)))
        object.__setattr__(self, "preimages", tuple(sorted(self.preimages)))

    def verify_witness(self) -> dict[bytes, bytes | None]:
        """Check every read proof against ``tree_root``; the proven ``{key: value or None}``."""
        if self.rightmost.index != self.leaf_count - 1:
            raise ProverInputError(f"block {self.context.number}: rightmost leaf is not last")
        try:
            if self.rightmost.compute_root() != self.tree_root:
                raise ProofError("rightmost leaf proof does not match the root")
        except ProofError as e:
            raise ProverInputError(f"block {self.context.number}: {e}") from None
        values = {}
        for proof in self.reads:
            try:
                values[proof.key] = verify_key_proof(self.tree_root, proof)
            except ProofError as e:
                where = f"block {self.context.number}: key 0x{proof.key.hex()}"
                raise ProverInputError(f"{where}: {e}") from None
        return values

    def read(self, key: bytes, values: dict[bytes, bytes | None]) -> bytes | None:
        """The witnessed value of ``key`` (None: absent); ``MissingWitness`` if not witnessed."""
        if key not in values:
            raise MissingWitness(
                f"block {self.context.number} reads key 0x{key.hex()}, which is not in the witness"
            )
        return values[key]


@dataclass(frozen=True)
class ProverInput:
    """A batch's prover input: its number and its blocks in order."""

    batch_number: int
    blocks: tuple[BlockInput, ...]


# -- encoding -------------------------------------------------------------------------------


def _u32(n: int) -> bytes:
    return struct.pack("<I", n)


def _u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def _u256(n: int) -> bytes:
    return n.to_bytes(32, "little")


def _blob(data: bytes) -> bytes:
    return _u32(len(data)) + data + bytes(-len(data) % 4)


def _leaf(proof: LeafProof) -> bytes:
    return b"".join(
        [_u64(proof.index), proof.key, proof.value, _u64(proof.next_index), *proof.path]
    )


def _context(c: BlockContext) -> bytes:
    return b"".join(
        [
            _u64(c.chain_id),
            _u64(c.number),
            _u64(c.timestamp),
            _u256(c.base_fee),
            _u256(c.pubdata_price),
            _u256(c.native_price),
            c.coinbase,
            _u64(c.gas_limit),
            _u64(c.pubdata_limit),
            c.mix_hash,
            _u32(c.execution_version),
            *c.block_hashes,
        ]
    )


def _block(b: BlockInput) -> bytes:
    out = [_context(b.context), b.tree_root, _u64(b.leaf_count), _u64(b.previous_block_timestamp)]
    out.append(_leaf(b.rightmost))
    out.append(_u32(len(b.transactions)))
    out.extend(_blob(tx) for tx in b.transactions)
    out.append(_u32(len(b.reads)))
    for proof in b.reads:
        if proof.leaf is not None:
            out += [proof.key, _u32(0), _leaf(proof.leaf)]
        else:
            out += [proof.key, _u32(1), _leaf(proof.prev), _leaf(proof.next)]
    out.append(_u32(len(b.preimages)))
    for digest, preimage in b.preimages:
        out += [digest, _blob(preimage)]
    return b"".join(out)


def encode(prover_input: ProverInput) -> bytes:
    """The ``V1`` bytes (a whole number of u32 words)."""
    head = MAGIC + _u32(VERSION) + _u64(prover_input.batch_number)
    return head + _u32(len(prover_input.blocks)) + b"".join(map(_block, prover_input.blocks))


def words(data: bytes) -> list[int]:
    """The little-endian u32 words of encoded prover input."""
    return list(struct.unpack(f"<{len(data) // 4}I", data))


# -- decoding -------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProverInputError(f"truncated at byte {self.pos} (wanted {n} more)")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def u256(self) -> int:
        return int.from_bytes(self.take(32), "little")

    def blob(self) -> bytes:
        n = self.u32()
        data = self.take(n)
        if any(self.take(-n % 4)):
            raise ProverInputError(f"non-zero padding before byte {self.pos}")
        return data

    def leaf(self) -> LeafProof:
        index, key, value, next_index = self.u64(), self.take(32), self.take(32), self.u64()
        return LeafProof(index, key, value, next_index, tuple(self.take(32) for _ in range(DEPTH)))

    def context(self) -> BlockContext:
        chain_id, number, timestamp = self.u64(), self.u64(), self.u64()
        base_fee, pubdata_price, native_price = self.u256(), self.u256(), self.u256()
        coinbase, gas_limit, pubdata_limit = self.take(20), self.u64(), self.u64()
        mix_hash, execution_version = self.take(32), self.u32()
        hashes = tuple(self.take(32) for _ in range(256))
        return BlockContext(
            chain_id=chain_id,
            number=number,
            block_hashes=hashes,
            timestamp=timestamp,
            base_fee=base_fee,
            pubdata_price=pubdata_price,
            native_price=native_price,
            coinbase=coinbase,
            gas_limit=gas_limit,
            pubdata_limit=pubdata_limit,
            mix_hash=mix_hash,
            execution_version=execution_version,
        )

    def read(self) -> KeyProof:
        key, kind = self.take(32), self.u32()
        if kind == 0:
            return KeyProof(key, leaf=self.leaf())
        if kind == 1:
            return KeyProof(key, prev=self.leaf(), next=self.leaf())
        raise ProverInputError(f"unknown read kind {kind}")

    def block(self) -> BlockInput:
        context = self.context()
        root, leaf_count, previous = self.take(32), self.u64(), self.u64()
        rightmost = self.leaf()
        txs = tuple(self.blob() for _ in range(self.u32()))
        reads = tuple(self.read() for _ in range(self.u32()))
        preimages = tuple((self.take(32), self.blob()) for _ in range(self.u32()))
        if [p.key for p in reads] != sorted(p.key for p in reads):
            raise ProverInputError(f"block {context.number}: reads not sorted by key")
        if [h for h, _ in preimages] != sorted(h for h, _ in preimages):
            raise ProverInputError(f"block {context.number}: preimages not sorted by hash")
        return BlockInput(context, root, leaf_count, previous, rightmost, txs, reads, preimages)


def decode(data: bytes) -> ProverInput:
    """Parse ``V1`` bytes; ``ProverInputError`` says what is wrong."""
    reader = _Reader(data)
    if reader.take(4) != MAGIC:
        raise ProverInputError("not a prover input (bad magic)")
    version = reader.u32()
    if version != VERSION:
        raise ProverInputError(f"unknown prover input version {version} (this node reads 1)")
    batch_number = reader.u64()
    blocks = tuple(reader.block() for _ in range(reader.u32()))
    if reader.pos != len(data):
        raise ProverInputError(f"{len(data) - reader.pos} trailing bytes")
    return ProverInput(batch_number, blocks)


# -- generation -----------------------------------------------------------------------------


def block_input_from_tree(
    tree,
    *,
    version: int,
    context: BlockContext,
    previous_block_timestamp: int,
    transactions,
    read_keys,
    preimages,
) -> BlockInput:
    """A block's input with the witness of ``read_keys`` proven against ``tree`` at
    ``version`` (the block before); ``preimages`` are ``(hash, bytes)`` pairs."""
    keys = sorted({bytes(k) for k in read_keys})
    return BlockInput(
        context,
        tree.root(version),
        tree.leaf_count(version),
        previous_block_timestamp,
        tree.leaf_proof(tree.leaf_count(version) - 1, version),
        tuple(transactions),
        tuple(tree.prove(key, version) for key in keys),
        tuple(dict(preimages).items()),
    )
