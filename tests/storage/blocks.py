"""Deterministic test blocks, and a check that storage holds one completely.

``make_block(n)`` always builds the same ``BlockWrite`` for ``n``, so a process that only knows a
block number (the crash test's parent) can rebuild what its child wrote and compare. The WAL record
ends with a digest of every other part, so ``check_block`` also verifies content hashes.
"""

from __future__ import annotations

import hashlib
import random
import struct

from zkos_tw.storage import (
    ROLE_CALLED,
    ROLE_CREATED,
    ROLE_LOG,
    ROLE_SENDER,
    ROLE_TO,
    AddressIndexWrite,
    BlockWrite,
    LogWrite,
    TxLocation,
    TxWrite,
)

#: State keys shared by all blocks, so that keys gather a history across blocks.
SHARED_KEYS = tuple(hashlib.sha256(b"shared key %d" % i).digest() for i in range(40))
MANIFEST_KEY = b"\x00"
#: Addresses in the address index of every block (so their histories span blocks).
SHARED_ADDRESSES = (b"\xaa" * 20, b"\xab" * 20)


def _h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"|".join(parts)).digest()


def block_hash(number: int) -> bytes:
    """The hash ``make_block`` gives block ``number``."""
    return _h(b"block", struct.pack(">Q", number))


def tree_node_key(number: int, index: int) -> bytes:
    """A tree node key that names the block writing it (so a scan can tell blocks apart)."""
    return b"n" + struct.pack(">QH", number, index)


def preimage_of(number: int, index: int, size: int) -> bytes:
    """A preimage whose first bytes name the block writing it."""
    rng = random.Random(number * 1000 + index)
    return b"pre" + struct.pack(">QH", number, index) + rng.randbytes(size)


def own_address(number: int, index: int) -> bytes:
    """An address only transaction ``index`` of block ``number`` names."""
    return _h(b"address", struct.pack(">QI", number, index))[:20]


def make_address_index(number: int, txs: tuple[TxWrite, ...]) -> tuple[AddressIndexWrite, ...]:
    """The address index of test block ``number``: per transaction a shared sender, its own
    recipient, a shared address it calls, a nonce, and (every 5th block) a creation."""
    entries = []
    for index, tx in enumerate(txs):
        sender, called = SHARED_ADDRESSES
        own = own_address(number, index)
        roles = ROLE_TO | ROLE_LOG | (ROLE_CREATED if number % 5 == 0 else 0)
        creations = ((own, sender),) if number % 5 == 0 else ()
        entries.append(
            AddressIndexWrite(
                index,
                tx.tx_hash,
                tuple(sorted(((sender, ROLE_SENDER), (own, roles), (called, ROLE_CALLED)))),
                (sender, number * 3 + index),
                creations,
            )
        )
    return tuple(entries)


def make_block(number: int) -> BlockWrite:
    """The test block ``number``: 1-3 transactions with logs and their address index, 12 state
    writes, 2 preimages (large ones, on LMDB overflow pages, every 7th block), a tree patch, and a
    WAL record ending with a digest of all of it."""
    rng = random.Random(number)
    preimage_size = 9000 if number % 7 == 3 else 300
    n = struct.pack(">Q", number)
    txs = tuple(
        TxWrite(_h(b"tx", n, bytes([i])), b"\x02" + rng.randbytes(90), b"\x02" + rng.randbytes(40))
        for i in range(number % 3 + 1)
    )
    logs = tuple(
        LogWrite(
            i,
            i,
            rng.randbytes(20),
            tuple(rng.randbytes(32) for _ in range(i % 4)),
            rng.randbytes(i * 7),
        )
        for i in range(len(txs))
    )
    keys = rng.sample(SHARED_KEYS, 10) + [_h(b"own key", n, b"a"), _h(b"own key", n, b"b")]
    state = tuple((key, _h(b"value", n, key)) for key in keys)
    preimages = tuple(
        (hashlib.sha256(p).digest(), p)
        for p in (preimage_of(number, i, preimage_size) for i in range(2))
    )
    tree = tuple((tree_node_key(number, i), rng.randbytes(60)) for i in range(3)) + (
        (MANIFEST_KEY, n),
    )
    record = b"block %d|" % number + rng.randbytes(50)
    index = make_address_index(number, txs)
    parts = BlockWrite(
        number, block_hash(number), b"", record, txs, logs, state, preimages, tree,
        address_index=index,
    )  # fmt: skip
    return BlockWrite(
        number,
        parts.block_hash,
        b"wal1" + n + digest(parts),
        record,
        txs,
        logs,
        state,
        preimages,
        tree,
        address_index=index,
    )


def digest(bw: BlockWrite) -> bytes:
    """A hash of every part of ``bw`` except its WAL record."""
    h = hashlib.sha256()
    for part in (bw.block_hash, bw.block_record):
        h.update(struct.pack(">I", len(part)) + part)
    for tx in bw.transactions:
        for part in (tx.tx_hash, tx.raw, tx.receipt):
            h.update(struct.pack(">I", len(part)) + part)
    for log in bw.logs:
        h.update(repr(log).encode())
    for pairs in (bw.state_writes, bw.preimages, bw.tree_patch):
        for key, value in pairs:
            h.update(struct.pack(">II", len(key), len(value)) + key + value)
    for entry in bw.address_index:
        h.update(repr(entry).encode())
    return h.digest()


def read_address_index(storage, number: int, expected: BlockWrite) -> tuple:
    """The address index of block ``number`` as read back from ``storage`` (the entries
    ``expected`` names, with what storage holds for them)."""
    entries = []
    for entry in expected.address_index:
        appearances = []
        for address, _ in entry.appearances:
            found, _ = storage.address_history(
                address, None if number == 0 else number - 1, descending=False, min_count=1
            )
            roles = [
                a.roles for a in found if (a.block_number, a.tx_index) == (number, entry.tx_index)
            ]
            assert roles, (
                f"block {number}: no appearance of 0x{address.hex()} in tx {entry.tx_index}"
            )
            appearances.append((address, roles[0]))
        sender, nonce = entry.sender_nonce
        tx_hash = storage.tx_by_sender_and_nonce(sender, nonce)
        creations = []
        for contract, _ in entry.creations:
            creation = storage.contract_creation(contract)
            assert creation is not None and creation.tx_hash == entry.tx_hash, (
                f"block {number}: creation of 0x{contract.hex()}"
            )
            creations.append((contract, creation.creator))
        entries.append(
            AddressIndexWrite(
                entry.tx_index, tx_hash, tuple(appearances), (sender, nonce), tuple(creations)
            )
        )
    return tuple(entries)


def check_block(storage, number: int) -> None:
    """Raise ``AssertionError`` unless ``storage`` holds every part of ``make_block(number)``.

    The parts are read back, rebuilt into a ``BlockWrite`` and hashed; the hash must equal the
    digest inside the stored WAL record. The tree manifest is overwritten by every block, so for
    it the check is that it names this block or a later one.
    """
    expected = make_block(number)
    wal = storage.wal_record(number)
    assert wal == expected.wal_record, f"block {number}: WAL record {wal!r}"
    stored = storage.block(number)
    assert stored is not None, f"block {number}: no block entry"
    assert storage.block_number_by_hash(stored.block_hash) == number, f"block {number}: hash index"
    txs = tuple(TxWrite(h, storage.transaction(h), storage.receipt(h)) for h in stored.tx_hashes)
    for index, h in enumerate(stored.tx_hashes):
        location = storage.tx_location(h)
        assert location == TxLocation(number, index), f"block {number}: tx {index} at {location}"
    view = storage.state_at(number)
    state = tuple((key, view.read(key)) for key, _ in expected.state_writes)
    preimages = tuple((h, storage.preimage(h)) for h, _ in expected.preimages)
    tree = []
    for key, value in expected.tree_patch:
        node = storage.tree_node(key)
        if key == MANIFEST_KEY:
            assert node is not None and struct.unpack(">Q", node)[0] >= number, (
                f"block {number}: tree manifest {node!r}"
            )
            node = value
        tree.append((key, node))
    rebuilt = BlockWrite(
        number,
        stored.block_hash,
        b"",
        stored.block_record,
        txs,
        storage.logs(number),
        state,
        preimages,
        tuple(tree),
        address_index=read_address_index(storage, number, expected),
    )
    assert digest(rebuilt) == wal[-32:], f"block {number}: content differs from the WAL digest"
