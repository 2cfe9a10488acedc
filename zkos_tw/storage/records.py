"""What a block write carries into storage, and what block reads give back.

``BlockWrite`` is everything the block sink persists for one block: the WAL record, the repository
records, the state diff, new preimages and the tree patch. Storage writes all of it in one
transaction. The records are validated when built, so a malformed write fails before any
transaction starts.

Byte strings that storage does not interpret (the WAL record, the block record, raw transactions,
receipts, tree nodes) are versioned by whoever produces them; storage stores them verbatim inside
its own versioned envelope (see ``zkos_tw.storage.codecs``).
"""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.storage.errors import StorageError

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1


def _check_bytes(what: str, value: object, length: int | None = None) -> None:
    if not isinstance(value, bytes):
        raise StorageError(f"{what} must be bytes, not {type(value).__name__}")
    if length is not None and len(value) != length:
        raise StorageError(f"{what} must be {length} bytes, not {len(value)}")


def _check_int(what: str, value: object, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise StorageError(f"{what} must be an int in [0, {maximum}], not {value!r}")


_MAKERS: dict[type, object] = {}


def unchecked_maker(cls):
    """A function taking every field of ``cls`` (``TxWrite``, ``LogWrite``,
    ``AddressIndexWrite`` or ``BlockWrite``) in order and building the record *without*
    ``__post_init__``'s checks.

    For the block sink, which builds these records from a sealed block whose types it knows, one
    per transaction on the hot path; everything else builds them through the constructor. A
    ``BlockWrite`` made this way still gets the checks storage relies on
    (``BlockWrite.check_unique``) from ``write_block``. The records are frozen, not slotted,
    dataclasses: the maker fills the instance dict directly (a third of the constructor's time).
    """
    maker = _MAKERS.get(cls)
    if maker is None:
        names = tuple(cls.__dataclass_fields__)
        args = ", ".join(f"a{i}" for i in range(len(names)))
        fills = "".join(f"    d[{name!r}] = a{i}\n" for i, name in enumerate(names))
        source = f"def make({args}):\n    r = _new(cls)\n    d = r.__dict__\n{fills}    return r\n"
        scope = {"_new": object.__new__, "cls": cls}
        exec(source, scope)  # noqa: S102 -- the source is built from the dataclass's field names
        maker = _MAKERS[cls] = scope["make"]
    return maker


def unchecked(cls, *values):
    """``unchecked_maker(cls)(*values)``: one record of ``cls`` without the checks."""
    return unchecked_maker(cls)(*values)


@dataclass(frozen=True)
class TxWrite:
    """One transaction of a block: its hash, its EIP-2718 bytes and its encoded receipt."""

    tx_hash: bytes
    raw: bytes
    receipt: bytes

    def __post_init__(self) -> None:
        _check_bytes("tx_hash", self.tx_hash, 32)
        _check_bytes("raw transaction", self.raw)
        _check_bytes("receipt", self.receipt)


@dataclass(frozen=True)
class LogWrite:
    """One log of a block, as ``eth_getLogs`` needs it (block-level index, for filtering by block)."""

    tx_index: int
    log_index: int
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes

    def __post_init__(self) -> None:
        _check_int("tx_index", self.tx_index, U32_MAX)
        _check_int("log_index", self.log_index, U32_MAX)
        _check_bytes("log address", self.address, 20)
        if not isinstance(self.topics, tuple) or len(self.topics) > 4:
            raise StorageError("log topics must be a tuple of at most 4 topics")
        for topic in self.topics:
            _check_bytes("log topic", topic, 32)
        _check_bytes("log data", self.data)


#: Roles of an address in a transaction (``AddressIndexWrite.appearances``); a bit set per role.
ROLE_SENDER = 1
ROLE_TO = 2
ROLE_CREATED = 4
ROLE_LOG = 8
ROLE_CALLED = 16
ROLE_ALL = ROLE_SENDER | ROLE_TO | ROLE_CREATED | ROLE_LOG | ROLE_CALLED


@dataclass(frozen=True)
class AddressIndexWrite:
    """What the address index records for one transaction of a block (docs/tracing.md).

    ``appearances`` are ``(address, roles)`` pairs (roles: the ``ROLE_*`` bits), one per address;
    ``sender_nonce`` is ``(sender, nonce)`` for a transaction with an account nonce (``None`` for
    L1 and upgrade transactions); ``creations`` are ``(contract, creator)`` pairs for the
    contracts the transaction made that the block's execution reports.
    """

    tx_index: int
    tx_hash: bytes
    appearances: tuple[tuple[bytes, int], ...] = ()
    sender_nonce: tuple[bytes, int] | None = None
    creations: tuple[tuple[bytes, bytes], ...] = ()

    def __post_init__(self) -> None:
        _check_int("tx_index", self.tx_index, U32_MAX)
        _check_bytes("tx_hash", self.tx_hash, 32)
        if not isinstance(self.appearances, tuple) or not isinstance(self.creations, tuple):
            raise StorageError("appearances and creations must be tuples")
        seen: set[bytes] = set()
        for address, roles in self.appearances:
            _check_bytes("appearance address", address, 20)
            if not isinstance(roles, int) or not 0 < roles <= ROLE_ALL:
                raise StorageError(f"appearance roles must be in [1, {ROLE_ALL}], not {roles!r}")
            if address in seen:
                raise StorageError(f"address 0x{address.hex()} appears twice in one transaction")
            seen.add(address)
        if self.sender_nonce is not None:
            sender, nonce = self.sender_nonce
            _check_bytes("sender", sender, 20)
            _check_int("nonce", nonce, U64_MAX)
        for contract, creator in self.creations:
            _check_bytes("created contract", contract, 20)
            _check_bytes("creator", creator, 20)


@dataclass(frozen=True)
class Appearance:
    """One entry of an address's history: the block, the transaction's index in it, its roles."""

    block_number: int
    tx_index: int
    roles: int


@dataclass(frozen=True)
class ContractCreation:
    """Who made a contract: the creating transaction's hash and the creator's address."""

    tx_hash: bytes
    creator: bytes


@dataclass(frozen=True)
class BlockWrite:
    """Everything persisted for one block, written in a single transaction (all or nothing).

    ``state_writes`` are ``(flat_key32, value32)`` pairs (a deletion is an explicit zero value);
    ``preimages`` are ``(hash32, bytes)``; ``tree_patch`` is ``(node_key, node_bytes)`` as the tree
    produces it. ``transactions`` are in block order; ``logs`` are the block's logs in order.
    ``pubdata`` is the block's ZKsync OS pubdata (``zkos_tw.batcher.pubdata``); empty = none.
    ``address_index`` is the address index of the block's transactions (``AddressIndexWrite``),
    at most one per transaction, naming a transaction of the block.
    """

    number: int
    block_hash: bytes
    wal_record: bytes
    block_record: bytes
    transactions: tuple[TxWrite, ...] = ()
    logs: tuple[LogWrite, ...] = ()
    state_writes: tuple[tuple[bytes, bytes], ...] = ()
    preimages: tuple[tuple[bytes, bytes], ...] = ()
    tree_patch: tuple[tuple[bytes, bytes], ...] = ()
    pubdata: bytes = b""
    address_index: tuple[AddressIndexWrite, ...] = ()

    def __post_init__(self) -> None:
        _check_int("block number", self.number, U64_MAX)
        _check_bytes("block_hash", self.block_hash, 32)
        _check_bytes("wal_record", self.wal_record)
        _check_bytes("block_record", self.block_record)
        _check_bytes("pubdata", self.pubdata)
        names = ("transactions", "logs", "state_writes", "preimages", "tree_patch", "address_index")
        for name in names:
            if not isinstance(getattr(self, name), tuple):
                raise StorageError(f"BlockWrite.{name} must be a tuple")
        for tx in self.transactions:
            if not isinstance(tx, TxWrite):
                raise StorageError("BlockWrite.transactions must hold TxWrite records")
        if len({tx.tx_hash for tx in self.transactions}) != len(self.transactions):
            raise StorageError(f"block {self.number} lists the same transaction twice")
        for log in self.logs:
            if not isinstance(log, LogWrite):
                raise StorageError("BlockWrite.logs must hold LogWrite records")
        indexed: set[int] = set()
        for entry in self.address_index:
            if not isinstance(entry, AddressIndexWrite):
                raise StorageError("BlockWrite.address_index must hold AddressIndexWrite records")
            if entry.tx_index >= len(self.transactions) or entry.tx_index in indexed:
                raise StorageError(
                    f"block {self.number}: address index entry for transaction {entry.tx_index} "
                    "names no transaction of the block, or one already indexed"
                )
            if self.transactions[entry.tx_index].tx_hash != entry.tx_hash:
                raise StorageError(
                    f"block {self.number}: address index entry {entry.tx_index} has another hash"
                )
            indexed.add(entry.tx_index)
        for pair in self.state_writes:
            key, value = pair
            _check_bytes("state key", key, 32)
            _check_bytes("state value", value, 32)
        self.check_unique()
        for digest, preimage in self.preimages:
            _check_bytes("preimage hash", digest, 32)
            _check_bytes("preimage", preimage)
        for node_key, node in self.tree_patch:
            _check_bytes("tree node key", node_key)
            if not 0 < len(node_key) <= 256:
                raise StorageError("tree node keys must be 1 to 256 bytes")
            _check_bytes("tree node", node)

    def check_unique(self) -> None:
        """No transaction listed twice and no state key written twice (``StorageError``): the
        checks that a write built with ``unchecked`` gets too, from ``write_block``."""
        if len({tx.tx_hash for tx in self.transactions}) != len(self.transactions):
            raise StorageError(f"block {self.number} lists the same transaction twice")
        if len({key for key, _ in self.state_writes}) != len(self.state_writes):
            seen: set[bytes] = set()
            for key, _ in self.state_writes:
                if key in seen:
                    raise StorageError(f"block {self.number} writes state key 0x{key.hex()} twice")
                seen.add(key)


@dataclass(frozen=True)
class StoredBlock:
    """A block as storage holds it: number, hash, transaction hashes in order, and the block record."""

    number: int
    block_hash: bytes
    tx_hashes: tuple[bytes, ...]
    block_record: bytes


@dataclass(frozen=True)
class TxLocation:
    """Where a transaction is: its block number and its index in that block."""

    block_number: int
    index: int
