"""``FlatState``: the ZKsync OS flat-storage state as the EVM sees it (``IExecutionState``).

A view reads a fixed pre-block state through an ``IStateReader`` (flat key -> value) and an
``IPreimages`` (hash -> account record / bytecode blob), keeps every change in memory with a
journal (``begin`` / ``commit`` / ``rollback`` per call frame), and at the end of the block
``finish_block()`` returns the net writes in ZKsync OS's canonical order plus the new
preimages -- the input of ``MerkleTree.apply`` and of the preimage store.

Semantics (reference ``zksync-os-state.md`` §1-3; the ordering rule is in ``docs/state.md``):

* storage slot ``(address, n)`` is flat key ``blake2s(pad32(address) || u256be(n))``;
* an account is one record under 0x8003; a missing key or a zero value reads as the all-zero
  record, and an account *exists* iff its current record is not all-zero;
* only net changes are written: a slot whose final value equals its block-start value is left
  out (so a never-written slot set to 0 creates no leaf); a changed account is written as
  ``blake2s(record)``, even when the record became all-zero;
* ``account_has_storage`` is always ``False``: flat keys cannot be enumerated and ZKsync OS
  deploys over existing storage (§7.4); ``destroy_account`` clears the record and every slot of
  the account this view has touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

from zope.interface import implementer

from zkos_tw.hashing import blake2s256
from zkos_tw.interfaces import IExecutionState
from zkos_tw.state.account import EMPTY_ACCOUNT, AccountProperties
from zkos_tw.state.bytecode import EMPTY_CODE_KECCAK, deploy_code
from zkos_tw.state.keys import (
    ACCOUNT_PROPERTIES_STORAGE_ADDRESS,
    ZERO32,
    account_key,
    flat_key,
    pad32,
    warm_key_order,
)

_MISSING = object()
_U64 = 2**64
_U256 = 2**256


class StateError(RuntimeError):
    """Misuse of the journal (unbalanced checkpoints, transaction boundaries)."""


class StateCorrupt(RuntimeError):
    """A preimage the state refers to is missing or does not decode."""


@dataclass(frozen=True, slots=True)
class StorageWrite:
    """One net write of a block: flat ``key`` and ``value``, and the ``(address, slot)`` behind it."""

    key: bytes
    value: bytes
    address: bytes
    slot: bytes


@dataclass(frozen=True, slots=True)
class BlockStateOutput:
    """What a block did to the state: ordered net writes and the preimages they need.

    ``initial_values`` (when a ``FlatState`` made it) are the 32-byte values of the written
    keys before the block, aligned with ``storage_writes`` (zero for an absent key), and
    ``initial_preimages`` the encoded account records those values hash to: what the block's
    pubdata needs, known to the view without reading storage again (``sink.pubdata_of``).
    ``records`` are the decoded ``AccountProperties`` behind the account values of
    ``preimages`` and ``initial_preimages`` (hash -> record), so the pubdata need not decode
    them again.
    """

    storage_writes: tuple[StorageWrite, ...]
    preimages: tuple[tuple[bytes, bytes], ...]
    initial_values: tuple[bytes, ...] = ()
    initial_preimages: tuple[tuple[bytes, bytes], ...] = ()
    records: tuple[tuple[bytes, AccountProperties], ...] = ()

    def tree_writes(self) -> list[tuple[bytes, bytes]]:
        """``(key, value)`` pairs in tree order, for ``MerkleTree.apply``."""
        return [(w.key, w.value) for w in self.storage_writes]


_first = itemgetter(0)
_new_write = object.__new__
_write_fields = [
    getattr(StorageWrite, name).__set__ for name in ("key", "value", "address", "slot")
]
_WK, _WV, _WA, _WS = _write_fields


def _storage_write(key: bytes, value: bytes, address: bytes, slot: bytes) -> StorageWrite:
    """``StorageWrite(key, value, address, slot)`` filled through the slot descriptors (the
    frozen ``__init__`` sets each field with ``object.__setattr__``; see ``_copy_with``)."""
    write = _new_write(StorageWrite)
    _WK(write, key)
    _WV(write, value)
    _WA(write, address)
    _WS(write, slot)
    return write


@implementer(IExecutionState)
class FlatState:
    """The journaled execution state over a pre-block ``IStateReader`` and ``IPreimages``."""

    def __init__(self, reader, preimages) -> None:
        self._reader = reader
        self._preimages = preimages
        # (address, slot int) -> value at block start / now
        self._slot_initial: dict[tuple[bytes, int], int] = {}
        self._slots: dict[tuple[bytes, int], int] = {}
        # address -> record at block start / now
        self._account_initial: dict[bytes, AccountProperties] = {}
        # address -> the 32-byte value under its account key at block start (ZERO32: none)
        self._account_stored: dict[bytes, bytes] = {}
        # address -> the encoding of its block-start record, when known (read or written)
        self._account_encoded: dict[bytes, bytes] = {}
        # address -> its account key (a blake2s each; every block writes the same accounts)
        self._account_keys: dict[bytes, bytes] = {}
        self._accounts: dict[bytes, AccountProperties] = {}
        self._blobs: dict[bytes, bytes] = {}  # blobs deployed through this view
        self._code_cache: dict[bytes, bytes] = {}  # blob hash -> observable code
        self._transient: dict[tuple[bytes, int], int] = {}
        self._tx_original: dict[tuple[bytes, int], int] = {}
        self._journal: list[tuple[dict, object, object]] = []
        self._checkpoints: list[int] = []
        self._in_transaction = False
        # Keys written since the last finish_block: the block output looks at these only, so
        # its cost follows the block's writes, not everything the view has cached.
        self._dirty_slots: set[tuple[bytes, int]] = set()
        self._dirty_accounts: set[bytes] = set()

    # -- loading ---------------------------------------------------------------------------

    def _account(self, address: bytes) -> AccountProperties:
        record = self._accounts.get(address)
        if record is None:
            record = self._load_account(address)
            self._account_initial[address] = record
            self._accounts[address] = record
        return record

    def _load_account(self, address: bytes) -> AccountProperties:
        if len(address) != 20:
            raise ValueError(f"an address is 20 bytes, got {len(address)}")
        key = self._account_keys[address] = account_key(address)
        value = self._reader.read(key)
        if value is None or value == ZERO32:
            self._account_stored[address] = ZERO32
            return EMPTY_ACCOUNT
        self._account_stored[address] = value
        encoded = self._preimages.get(value)
        if encoded is None:
            raise StateCorrupt(f"account record 0x{value.hex()} of 0x{address.hex()} is not stored")
        self._account_encoded[address] = encoded
        return AccountProperties.decode(encoded)

    def _slot(self, address: bytes, key: int) -> int:
        k = (address, key)
        value = self._slots.get(k)
        if value is None:
            raw = self._reader.read(flat_key(address, key.to_bytes(32, "big")))
            value = 0 if raw is None else int.from_bytes(raw, "big")
            self._slot_initial[k] = value
            self._slots[k] = value
        return value

    # -- journal ---------------------------------------------------------------------------

    def _set(self, table: dict, key, value) -> None:
        if self._checkpoints:
            self._journal.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def _set_account(self, address: bytes, record: AccountProperties) -> None:
        self._account(address)
        self._dirty_accounts.add(address)
        self._set(self._accounts, address, record)

    def begin(self) -> None:
        """Open a journal checkpoint (a call frame starts)."""
        self._checkpoints.append(len(self._journal))

    def commit(self) -> None:
        """Keep the changes since the newest checkpoint; drop that checkpoint."""
        if not self._checkpoints:
            raise StateError("commit() without begin()")
        self._checkpoints.pop()
        if not self._checkpoints:
            self._journal.clear()

    def rollback(self) -> None:
        """Undo every change since the newest checkpoint; drop that checkpoint."""
        if not self._checkpoints:
            raise StateError("rollback() without begin()")
        mark = self._checkpoints.pop()
        journal = self._journal
        while len(journal) > mark:
            table, key, old = journal.pop()
            if old is _MISSING:
                del table[key]
            else:
                table[key] = old

    def begin_transaction(self) -> None:
        """Start a transaction: original values are snapshotted, transient storage is empty."""
        if self._checkpoints:
            raise StateError("begin_transaction() with a checkpoint open")
        self._transient.clear()
        self._tx_original.clear()
        self._in_transaction = True

    def end_transaction(self) -> None:
        """End the transaction: transient storage and original values are dropped."""
        if self._checkpoints:
            raise StateError("end_transaction() with a checkpoint open")
        self._transient.clear()
        self._tx_original.clear()
        self._journal.clear()
        self._in_transaction = False

    # -- accounts --------------------------------------------------------------------------

    def account_exists(self, address: bytes) -> bool:
        """True when the account's record is not the all-zero record."""
        return self._account(address) != EMPTY_ACCOUNT

    def is_empty(self, address: bytes) -> bool:
        """True for nonce 0, balance 0 and no code."""
        record = self._account(address)
        return record.nonce == 0 and record.balance == 0 and not record.has_code

    def account_has_storage(self, address: bytes) -> bool:
        """Always ``False``: ZKsync OS deploys over existing storage (see module docstring)."""
        return False

    def get_nonce(self, address: bytes) -> int:
        """The account nonce."""
        return self._account(address).nonce

    def set_nonce(self, address: bytes, nonce: int) -> None:
        """Set the nonce (a u64 in ZKsync OS)."""
        if not 0 <= nonce < _U64:
            raise ValueError(f"nonce {nonce} does not fit in a u64")
        self._set_account(address, self._account(address).with_nonce(nonce))

    def get_balance(self, address: bytes) -> int:
        """The balance in wei."""
        return self._account(address).balance

    def set_balance(self, address: bytes, balance: int) -> None:
        """Set the balance."""
        if not 0 <= balance < _U256:
            raise ValueError("balance out of range")
        self._set_account(address, self._account(address).with_balance(balance))

    def get_account(self, address: bytes) -> AccountProperties:
        """The full current record (not part of ``IExecutionState``)."""
        return self._account(address)

    def get_code(self, address: bytes) -> bytes:
        """The observable bytecode (empty for none)."""
        return self.record_code(self._account(address))

    def record_code(self, record: AccountProperties) -> bytes:
        """The observable bytecode of an account record (empty for none)."""
        if not record.has_code:
            return b""
        code = self._code_cache.get(record.bytecode_hash)
        if code is None:
            blob = self._blobs.get(record.bytecode_hash) or self._preimages.get(
                record.bytecode_hash
            )
            if blob is None:
                raise StateCorrupt(f"bytecode 0x{record.bytecode_hash.hex()} is not stored")
            code = bytes(blob[: record.unpadded_code_len])
            self._code_cache[record.bytecode_hash] = code
        return code

    def get_code_hash(self, address: bytes) -> bytes:
        """keccak-256 of the code; the empty-code hash for none."""
        record = self._account(address)
        if not record.has_code:
            return EMPTY_CODE_KECCAK
        return record.observable_bytecode_hash

    def set_code(self, address: bytes, code: bytes) -> None:
        """Deploy ``code`` (padded blob with JUMPDEST artifacts, deployed EVM versioning)."""
        record, blob_hash, blob = deploy_code(self._account(address), bytes(code))
        if blob:
            self._blobs[blob_hash] = blob
            self._code_cache[blob_hash] = bytes(code)
        self._set_account(address, record)

    def destroy_account(self, address: bytes) -> None:
        """Clear the record and zero every slot of ``address`` this view has touched."""
        self._set_account(address, EMPTY_ACCOUNT)
        for k, value in list(self._slots.items()):
            if k[0] == address and value:
                self._dirty_slots.add(k)
                self._set(self._slots, k, 0)

    # -- storage ---------------------------------------------------------------------------

    def get_storage(self, address: bytes, key: int) -> int:
        """Current value of a storage slot."""
        return self._slot(address, key)

    def set_storage(self, address: bytes, key: int, value: int) -> None:
        """Write a slot (0 stays a written zero in the flat model)."""
        if not 0 <= value < _U256 or not 0 <= key < _U256:
            raise ValueError("storage keys and values are 256-bit")
        if address == ACCOUNT_PROPERTIES_STORAGE_ADDRESS:
            raise ValueError("storage of 0x8003 holds account records; use the account setters")
        current = self._slot(address, key)
        k = (address, key)
        if k not in self._tx_original:
            self._tx_original[k] = current
        self._dirty_slots.add(k)
        self._set(self._slots, k, value)

    def get_original_storage(self, address: bytes, key: int) -> int:
        """Value of the slot when the current transaction began."""
        k = (address, key)
        if k in self._tx_original:
            return self._tx_original[k]
        return self._slot(address, key)

    def get_transient_storage(self, address: bytes, key: int) -> int:
        """Current value of a transient slot."""
        return self._transient.get((address, key), 0)

    def set_transient_storage(self, address: bytes, key: int, value: int) -> None:
        """Write a transient slot (journaled; cleared at transaction boundaries)."""
        if not 0 <= value < _U256:
            raise ValueError("transient values are 256-bit")
        self._set(self._transient, (address, key), value)

    # -- what one transaction changed (trace_replayTransaction's stateDiff) ------------------

    def write_mark(self) -> tuple[dict, dict]:
        """The values now of every key written so far in the block: ``writes_since`` compares
        against it (a key written later was, before that, at its block-start value)."""
        accounts = {a: self._accounts[a] for a in self._dirty_accounts}
        slots = {k: self._slots[k] for k in self._dirty_slots}
        return accounts, slots

    def writes_since(self, mark) -> tuple[dict, dict]:
        """What changed since ``write_mark()`` returned ``mark``: ``({address: (record before,
        record now)}, {(address, slot): (before, now)})``, only keys whose value differs."""
        marked_accounts, marked_slots = mark
        accounts = {}
        for address in self._dirty_accounts:
            before = marked_accounts.get(address, self._account_initial[address])
            now = self._accounts[address]
            if before != now:
                accounts[address] = (before, now)
        slots = {}
        for k in self._dirty_slots:
            before = marked_slots.get(k, self._slot_initial[k])
            now = self._slots[k]
            if before != now:
                slots[k] = (before, now)
        return accounts, slots

    # -- block output ----------------------------------------------------------------------

    def pending_output(self) -> BlockStateOutput:
        """The net writes and new preimages so far, in canonical order (state unchanged)."""
        writes: list[tuple[tuple, StorageWrite, bytes]] = []
        slots = self._slots
        for address, key in self._dirty_slots:
            value = slots[(address, key)]
            before = self._slot_initial[(address, key)]
            if value != before:
                slot = key.to_bytes(32, "big")
                write = _storage_write(
                    flat_key(address, slot), value.to_bytes(32, "big"), address, slot
                )
                writes.append((warm_key_order(address, slot), write, before.to_bytes(32, "big")))
        preimages: dict[bytes, bytes] = {}
        initial_preimages: dict[bytes, bytes] = {}
        records: dict[bytes, AccountProperties] = {}
        accounts, initials = self._accounts, self._account_initial
        keys, stored_values, encodings = (
            self._account_keys,
            self._account_stored,
            self._account_encoded,
        )
        blobs = self._blobs
        for address in self._dirty_accounts:
            record = accounts[address]
            initial = initials[address]
            if record is initial or record == initial:
                continue
            encoded = record.encode()
            value = blake2s256(encoded)  # record.hash()
            slot = pad32(address)
            key = keys.get(address)
            if key is None:
                key = keys[address] = account_key(address)
            write = _storage_write(key, value, ACCOUNT_PROPERTIES_STORAGE_ADDRESS, slot)
            stored = stored_values.get(address)
            if stored is None:  # not loaded through _load_account: pubdata reads storage
                stored = b""
            elif stored != ZERO32:
                before = encodings.get(address)
                initial_preimages[stored] = initial.encode() if before is None else before
                records[stored] = initial
            order = warm_key_order(ACCOUNT_PROPERTIES_STORAGE_ADDRESS, slot)
            writes.append((order, write, stored))
            if blobs:
                blob = blobs.get(record.bytecode_hash)
                if blob is not None:
                    preimages[record.bytecode_hash] = blob
            preimages[value] = encoded
            records[value] = record
        writes.sort(key=_first)
        initial_values = tuple(before for _, _, before in writes)
        if b"" in initial_values:
            initial_values, initial_preimages = (), {}
        return BlockStateOutput(
            tuple(w for _, w, _ in writes),
            tuple(preimages.items()),
            initial_values,
            tuple(initial_preimages.items()),
            tuple(records.items()),
        )

    def finish_block(self) -> BlockStateOutput:
        """End the block: return its output, then read on as the post-block state.

        After this call the next block's output is relative to this block's end state, so one
        view can serve consecutive blocks while the reader stays at the first block's pre-state.
        """
        if self._checkpoints or self._in_transaction:
            raise StateError("finish_block() inside a transaction or with a checkpoint open")
        output = self.pending_output()
        for k in self._dirty_slots:
            self._slot_initial[k] = self._slots[k]
        for address in self._dirty_accounts:
            self._account_initial[address] = self._accounts[address]
        encoded = dict(output.preimages)
        for write in output.storage_writes:
            if write.address == ACCOUNT_PROPERTIES_STORAGE_ADDRESS:
                address = write.slot[12:]
                self._account_stored[address] = write.value
                self._account_encoded[address] = encoded[write.value]
        self._dirty_slots.clear()
        self._dirty_accounts.clear()
        return output
