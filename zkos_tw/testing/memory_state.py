"""``MemoryState``: the Ethereum-style world state in dicts, journaled per call frame.

It implements ``IExecutionState`` for the conformance harness and the unit tests, and also lets
the harness walk every account and storage slot (``accounts()``, ``storage_items()``) to compute
the Ethereum state root.

The journal is a list of undo records; ``begin()`` remembers its length and ``rollback()`` undoes
back to it. Original storage values (EIP-2200) are captured on the first write of a slot in the
transaction, so reading them costs nothing for slots never written.
"""

from __future__ import annotations

from zope.interface import implementer

from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IExecutionState

EMPTY_CODE_HASH = keccak256(b"")

_NONCE, _BALANCE, _CODE, _CODE_HASH = 0, 1, 2, 3
_ACCOUNT_FIELD, _ACCOUNT_CREATED, _STORAGE, _TRANSIENT, _DESTROYED = range(5)


@implementer(IExecutionState)
class MemoryState:
    """A journaled world state held in memory."""

    def __init__(self):
        # address -> [nonce, balance, code, code_hash]
        self._accounts: dict[bytes, list] = {}
        # address -> {key: value}, no zero values stored
        self._storage: dict[bytes, dict[int, int]] = {}
        self._transient: dict[tuple[bytes, int], int] = {}
        self._original: dict[tuple[bytes, int], int] = {}
        self._journal: list[tuple] = []
        self._checkpoints: list[int] = []

    # -- set-up and inspection (not part of IExecutionState) ---------------------------------

    def set_account(self, address: bytes, *, nonce=0, balance=0, code=b"", storage=None) -> None:
        """Create or replace an account outright (genesis, test pre-state); not journaled."""
        self._accounts[address] = [nonce, balance, bytes(code), keccak256(bytes(code))]
        self._storage[address] = {k: v for k, v in (storage or {}).items() if v}

    def accounts(self):
        """Iterate ``(address, nonce, balance, code)`` over every existing account."""
        for address, account in self._accounts.items():
            yield address, account[_NONCE], account[_BALANCE], account[_CODE]

    def storage_items(self, address: bytes) -> dict[int, int]:
        """The non-zero storage slots of an account (a copy)."""
        return dict(self._storage.get(address, {}))

    # -- accounts -------------------------------------------------------------------------

    def account_exists(self, address):
        return address in self._accounts

    def is_empty(self, address):
        account = self._accounts.get(address)
        if account is None:
            return True
        return account[_NONCE] == 0 and account[_BALANCE] == 0 and not account[_CODE]

    def account_has_storage(self, address):
        return bool(self._storage.get(address))

    def get_nonce(self, address):
        account = self._accounts.get(address)
        return 0 if account is None else account[_NONCE]

    def get_balance(self, address):
        account = self._accounts.get(address)
        return 0 if account is None else account[_BALANCE]

    def get_code(self, address):
        account = self._accounts.get(address)
        return b"" if account is None else account[_CODE]

    def get_code_hash(self, address):
        account = self._accounts.get(address)
        return EMPTY_CODE_HASH if account is None else account[_CODE_HASH]

    def _account_for_write(self, address: bytes) -> list:
        account = self._accounts.get(address)
        if account is None:
            account = self._accounts[address] = [0, 0, b"", EMPTY_CODE_HASH]
            self._journal.append((_ACCOUNT_CREATED, address))
        return account

    def set_nonce(self, address, nonce):
        account = self._account_for_write(address)
        self._journal.append((_ACCOUNT_FIELD, address, _NONCE, account[_NONCE]))
        account[_NONCE] = nonce

    def set_balance(self, address, balance):
        account = self._account_for_write(address)
        self._journal.append((_ACCOUNT_FIELD, address, _BALANCE, account[_BALANCE]))
        account[_BALANCE] = balance

    def set_code(self, address, code):
        account = self._account_for_write(address)
        self._journal.append((_ACCOUNT_FIELD, address, _CODE, account[_CODE]))
        self._journal.append((_ACCOUNT_FIELD, address, _CODE_HASH, account[_CODE_HASH]))
        account[_CODE] = bytes(code)
        account[_CODE_HASH] = keccak256(account[_CODE])

    def destroy_account(self, address):
        account = self._accounts.pop(address, None)
        storage = self._storage.pop(address, None)
        if account is not None or storage is not None:
            self._journal.append((_DESTROYED, address, account, storage))

    # -- storage --------------------------------------------------------------------------

    def get_storage(self, address, key):
        slots = self._storage.get(address)
        return 0 if slots is None else slots.get(key, 0)

    def set_storage(self, address, key, value):
        slots = self._storage.get(address)
        if slots is None:
            slots = self._storage[address] = {}
        if address not in self._accounts:
            self._account_for_write(address)
        previous = slots.get(key, 0)
        slot = (address, key)
        if slot not in self._original:
            self._original[slot] = previous
        self._journal.append((_STORAGE, address, key, previous))
        if value:
            slots[key] = value
        else:
            slots.pop(key, None)

    def get_original_storage(self, address, key):
        original = self._original.get((address, key))
        return self.get_storage(address, key) if original is None else original

    def get_transient_storage(self, address, key):
        return self._transient.get((address, key), 0)

    def set_transient_storage(self, address, key, value):
        slot = (address, key)
        self._journal.append((_TRANSIENT, slot, self._transient.get(slot, 0)))
        if value:
            self._transient[slot] = value
        else:
            self._transient.pop(slot, None)

    # -- journal --------------------------------------------------------------------------

    def begin(self):
        self._checkpoints.append(len(self._journal))

    def commit(self):
        self._checkpoints.pop()
        if not self._checkpoints and not self._in_transaction:
            self._journal.clear()

    def rollback(self):
        mark = self._checkpoints.pop()
        journal = self._journal
        accounts = self._accounts
        while len(journal) > mark:
            record = journal.pop()
            kind = record[0]
            if kind == _ACCOUNT_FIELD:
                accounts[record[1]][record[2]] = record[3]
            elif kind == _STORAGE:
                _, address, key, previous = record
                slots = self._storage.setdefault(address, {})
                if previous:
                    slots[key] = previous
                else:
                    slots.pop(key, None)
            elif kind == _TRANSIENT:
                if record[2]:
                    self._transient[record[1]] = record[2]
                else:
                    self._transient.pop(record[1], None)
            elif kind == _ACCOUNT_CREATED:
                del accounts[record[1]]
            else:  # _DESTROYED
                _, address, account, storage = record
                if account is not None:
                    accounts[address] = account
                if storage is not None:
                    self._storage[address] = storage

    _in_transaction = False

    def begin_transaction(self):
        if self._checkpoints:
            raise RuntimeError("begin_transaction() with a checkpoint open")
        self._in_transaction = True
        self._original.clear()
        self._transient.clear()
        self._journal.clear()

    def end_transaction(self):
        if self._checkpoints:
            raise RuntimeError("end_transaction() with a checkpoint open")
        self._in_transaction = False
        self._original.clear()
        self._transient.clear()
        self._journal.clear()
