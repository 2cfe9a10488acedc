"""Opening a node's chain data: the LMDB environment, block 0 from genesis.json, and the tree.

``open_chain`` is the storage step of node start-up. A fresh data directory gets block 0 built
from ``genesis.json`` (refused with one line when its state commitment differs from
``genesis_root``) and written in one transaction; an existing one is checked by storage (schema
version, all databases at the same last block) and must hold the same genesis block — a node
never serves one chain's data under another chain's genesis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from twisted.logger import Logger

from zkos_tw.config import NodeConfig
from zkos_tw.genesis import (
    Genesis,
    GenesisError,
    build_genesis,
    check_genesis,
    compute_genesis,
    load_genesis,
)
from zkos_tw.launcher import StartupError
from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.sequencer.blocks import genesis_header
from zkos_tw.storage import BlockWrite, LMDBStorage, StorageError

log = Logger()

# Block 0 is computed from genesis.json, never replayed: its WAL record is empty.
GENESIS_WAL_RECORD = b""


@dataclass
class Chain:
    """The opened chain data: storage, the tree at the last block, and the genesis values."""

    storage: LMDBStorage
    tree: MerkleTree
    genesis: Genesis

    @property
    def last_block(self) -> int:
        last = self.storage.last_block()
        return 0 if last is None else last

    def close(self) -> None:
        self.storage.close()


def open_chain(config: NodeConfig, *, _storage_factory=LMDBStorage) -> Chain:
    """Open (creating if needed) the chain data in ``general_rocks_db_path``; see the module doc.

    Raises ``StartupError`` with one readable line for every known problem.
    """
    path = config.general.rocks_db_path
    genesis_path = config.genesis.genesis_input_path
    try:
        genesis_input = load_genesis(genesis_path)
    except GenesisError as e:
        raise StartupError(str(e)) from None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise StartupError(f"data directory {path}: cannot create it ({e.strerror})") from None
    try:
        storage = _storage_factory(path)
    except StorageError as e:
        raise StartupError(str(e)) from None
    try:
        tree = MerkleTree(storage.tree_store())
        if storage.last_block() is None:
            genesis = _write_genesis(storage, tree, genesis_input, genesis_path)
        else:
            genesis = _check_stored_genesis(storage, tree, genesis_input, genesis_path)
    except (StorageError, GenesisError) as e:
        storage.close()
        raise StartupError(str(e)) from None
    except BaseException:
        storage.close()
        raise
    log.info(
        "chain data in {path}: last block {last}, genesis 0x{hash}",
        path=path,
        last=storage.last_block(),
        hash=genesis.block_hash.hex(),
    )
    return Chain(storage, tree, genesis)


def _write_genesis(storage, tree, genesis_input, genesis_path) -> Genesis:
    genesis, patch = build_genesis(genesis_input, tree)
    check_genesis(genesis_input, genesis)
    header = genesis_header()
    if header.rlp() != genesis.header_rlp:
        raise GenesisError("genesis header of the sequencer and of genesis.py disagree")
    storage.write_block(
        BlockWrite(
            0,
            genesis.block_hash,
            GENESIS_WAL_RECORD,
            header.encode(),
            state_writes=genesis.storage_writes,
            preimages=genesis.preimages,
            tree_patch=tuple(patch.records),
        )
    )
    log.info(
        "wrote block 0 from {path}: state commitment 0x{commitment}",
        path=genesis_path,
        commitment=genesis.state_commitment.hex(),
    )
    return genesis


def _check_stored_genesis(storage, tree, genesis_input, genesis_path) -> Genesis:
    # The genesis block hash does not commit to the state (reference quirk), so compare the
    # tree root of version 0 with the one genesis.json gives.
    genesis = compute_genesis(genesis_input)
    check_genesis(genesis_input, genesis)
    if storage.block(0) is None:
        raise StorageError(f"data directory {storage.path} has no block 0")
    stored_root = tree.root(0)
    if stored_root != genesis.tree_root:
        raise StorageError(
            f"data directory {storage.path} holds a chain whose genesis tree root is "
            f"0x{stored_root.hex()}, but {genesis_path} gives 0x{genesis.tree_root.hex()}"
        )
    return genesis
