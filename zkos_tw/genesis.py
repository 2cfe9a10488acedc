"""Genesis: load ``genesis.json``, build block 0's state, tree and header, check ``genesis_root``.

Schema (reference ``zksync-os-state.md`` §6.1): ``initial_contracts`` = ``[[address, runtime
code hex], ...]``, ``additional_storage`` = ``[[key32, value32], ...]`` raw flat entries,
``execution_version``, and ``genesis_root`` -- the chain *state commitment* of block 0, not the
tree root. Algorithm (§6.2): every contract gets an account record (nonce 1, deployed EVM code
with cached artifacts); the entries are sorted by flat key and applied as tree version 0 after
the guards; the server-defined genesis header (gas limit 5000, base fee 1 gwei, all else zero)
gives the genesis hash; the commitment uses 255 zero hashes plus that hash and timestamp 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import rlp

from zkos_tw.hashing import keccak256
from zkos_tw.merkle import MerkleTree, TreePatch, state_commitment
from zkos_tw.state.account import EMPTY_ACCOUNT
from zkos_tw.state.bytecode import deploy_code
from zkos_tw.state.keys import account_key

OMMERS_HASH_EMPTY = bytes.fromhex(
    "1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
)
GENESIS_GAS_LIMIT = 5000
GENESIS_BASE_FEE = 1_000_000_000


class GenesisError(ValueError):
    """``genesis.json`` is malformed."""


class GenesisMismatch(GenesisError):
    """The computed state commitment differs from the file's ``genesis_root``."""


@dataclass(frozen=True)
class GenesisInput:
    """The parsed ``genesis.json``."""

    initial_contracts: tuple[tuple[bytes, bytes], ...]
    additional_storage: tuple[tuple[bytes, bytes], ...]
    execution_version: int
    genesis_root: bytes | None
    # zkos-tw extension for dev chains: ``"balances": [[address, wei hex], ...]`` creates funded
    # accounts at genesis (until deposits from L1 fund them; the reference schema has no such key).
    balances: tuple[tuple[bytes, int], ...] = ()


@dataclass(frozen=True)
class Genesis:
    """Block 0: its state writes, preimages, tree commitment, header hash and state commitment."""

    storage_writes: tuple[tuple[bytes, bytes], ...]
    preimages: tuple[tuple[bytes, bytes], ...]
    tree_root: bytes
    leaf_count: int
    block_hash: bytes
    header_rlp: bytes
    state_commitment: bytes
    execution_version: int


def _hex(value, length: int | None, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise GenesisError(f"genesis.json: {what} must be a 0x-prefixed hex string, got {value!r}")
    try:
        data = bytes.fromhex(value[2:])
    except ValueError:
        raise GenesisError(f"genesis.json: {what} is not valid hex") from None
    if length is not None and len(data) != length:
        raise GenesisError(f"genesis.json: {what} must be {length} bytes, got {len(data)}")
    return data


def parse_genesis(document: dict) -> GenesisInput:
    """Validate and parse a decoded ``genesis.json`` object."""
    if not isinstance(document, dict):
        raise GenesisError("genesis.json: expected a JSON object")
    contracts = []
    for n, pair in enumerate(document.get("initial_contracts", [])):
        if not isinstance(pair, list) or len(pair) != 2:
            raise GenesisError(f"genesis.json: initial_contracts[{n}] must be [address, code]")
        contracts.append(
            (
                _hex(pair[0], 20, f"initial_contracts[{n}] address"),
                _hex(pair[1], None, f"initial_contracts[{n}] code"),
            )
        )
    storage = []
    for n, pair in enumerate(document.get("additional_storage", [])):
        if not isinstance(pair, list) or len(pair) != 2:
            raise GenesisError(f"genesis.json: additional_storage[{n}] must be [key, value]")
        storage.append(
            (
                _hex(pair[0], 32, f"additional_storage[{n}] key"),
                _hex(pair[1], 32, f"additional_storage[{n}] value"),
            )
        )
    balances = []
    for n, pair in enumerate(document.get("balances", [])):
        if not isinstance(pair, list) or len(pair) != 2:
            raise GenesisError(f"genesis.json: balances[{n}] must be [address, wei]")
        text = pair[1]
        try:
            if not isinstance(text, str) or not text.startswith("0x"):
                raise ValueError
            amount = int(text, 16)
        except ValueError:
            raise GenesisError(
                f"genesis.json: balances[{n}] amount must be a hex quantity"
            ) from None
        if amount >= 2**256:
            raise GenesisError(f"genesis.json: balances[{n}] amount does not fit 256 bits")
        balances.append((_hex(pair[0], 20, f"balances[{n}] address"), amount))
    version = document.get("execution_version")
    if not isinstance(version, int):
        raise GenesisError("genesis.json: execution_version must be an integer")
    root = document.get("genesis_root")
    return GenesisInput(
        tuple(contracts),
        tuple(storage),
        version,
        None if root is None else _hex(root, 32, "genesis_root"),
        tuple(balances),
    )


def load_genesis(path: str) -> GenesisInput:
    """Read and parse a ``genesis.json`` file."""
    try:
        with open(path, "rb") as f:
            document = json.load(f)
    except (OSError, ValueError) as e:
        raise GenesisError(f"cannot read genesis file {path}: {e}") from None
    return parse_genesis(document)


def genesis_header_rlp() -> bytes:
    """RLP of the server-defined genesis header (16 London fields)."""
    return rlp.encode(
        [
            bytes(32),  # parent_hash
            OMMERS_HASH_EMPTY,
            bytes(20),  # beneficiary
            bytes(32),  # state_root
            bytes(32),  # transactions_root
            bytes(32),  # receipts_root
            bytes(256),  # logs_bloom
            0,  # difficulty
            0,  # number
            GENESIS_GAS_LIMIT,
            0,  # gas_used
            0,  # timestamp
            b"",  # extra_data
            bytes(32),  # mix_hash
            bytes(8),  # nonce
            GENESIS_BASE_FEE,
        ]
    )


def genesis_writes(
    genesis: GenesisInput,
) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """``(storage writes sorted by key, preimages)`` of block 0."""
    entries: dict[bytes, bytes] = {}
    preimages: dict[bytes, bytes] = {}
    for address, code in genesis.initial_contracts:
        record, blob_hash, blob = deploy_code(EMPTY_ACCOUNT.with_changes(nonce=1), code)
        key = account_key(address)
        if key in entries:
            raise GenesisError(f"genesis.json: contract 0x{address.hex()} listed twice")
        entries[key] = record.hash()
        if blob:
            preimages[blob_hash] = blob
        preimages[entries[key]] = record.encode()
    for address, amount in genesis.balances:
        key = account_key(address)
        if key in entries:
            raise GenesisError(f"genesis.json: balance for 0x{address.hex()}, which is a contract")
        record = EMPTY_ACCOUNT.with_changes(balance=amount)
        entries[key] = record.hash()
        preimages[entries[key]] = record.encode()
    for key, value in genesis.additional_storage:
        if key in entries:
            raise GenesisError(f"genesis.json: storage key 0x{key.hex()} set twice")
        entries[key] = value
    return sorted(entries.items()), list(preimages.items())


def build_genesis(genesis: GenesisInput, tree: MerkleTree) -> tuple[Genesis, TreePatch]:
    """Apply block 0 to the empty ``tree``; return the genesis values and the tree patch."""
    writes, preimages = genesis_writes(genesis)
    patch = tree.apply(0, writes)
    header = genesis_header_rlp()
    block_hash = keccak256(header)
    commitment = state_commitment(patch.root, patch.leaf_count, 0, [block_hash], 0)
    result = Genesis(
        tuple(writes),
        tuple(preimages),
        patch.root,
        patch.leaf_count,
        block_hash,
        header,
        commitment,
        genesis.execution_version,
    )
    return result, patch


def check_genesis(genesis: GenesisInput, result: Genesis) -> None:
    """Raise ``GenesisMismatch`` (one line) unless the commitment equals ``genesis_root``."""
    if genesis.genesis_root is not None and genesis.genesis_root != result.state_commitment:
        raise GenesisMismatch(
            f"genesis state commitment 0x{result.state_commitment.hex()} differs from "
            f"genesis_root 0x{genesis.genesis_root.hex()} in genesis.json"
        )


def compute_genesis(genesis: GenesisInput) -> Genesis:
    """Genesis values on a throw-away in-memory tree (for tools and checks)."""
    from zkos_tw.testing.memory_tree_store import MemoryTreeStore

    result, _ = build_genesis(genesis, MerkleTree(MemoryTreeStore()))
    return result
