"""``StorageAccountReader``: account nonces and balances at the newest stored block.

The mempool's ``IAccountReader``: reads go through a ZKsync OS state view over the storage's
newest block, never through the sequencer's own state view, which the worker thread owns while
it builds a block. A stored block's state never changes, so the view of the newest block is kept
until a newer block is stored: each sender's account is read from LMDB once per block, not twice
per transaction (node CPU per transaction under `zkosctl load` -15 to -25 %, docs/load.md).

The accounts the newest block changed are read from that block's own state output (its account
records are among its preimages) instead of LMDB: they are the block's senders, which the pool
re-reads right after the block (``Mempool.on_block_mined``) and whose next transactions are
admitted next (LMDB history lookups for them were ~4 % of the node's GIL time under load).
"""

from __future__ import annotations

from zope.interface import implementer

from zkos_tw.interfaces import IAccountReader
from zkos_tw.state.account import AccountProperties
from zkos_tw.state.keys import ACCOUNT_PROPERTIES_STORAGE_ADDRESS, ZERO32
from zkos_tw.state.view import FlatState


class _BlockAccounts:
    """The account records a block's state output wrote, decoded on first use."""

    def __init__(self, state_output) -> None:
        self._output = state_output
        self._encoded: dict[bytes, bytes | None] | None = None
        self._records: dict[bytes, AccountProperties | None] = {}

    def get(self, address: bytes) -> AccountProperties | None:
        """The record the block wrote for ``address``, or ``None`` if it wrote none."""
        if address in self._records:
            return self._records[address]
        if self._encoded is None:
            preimages = dict(self._output.preimages)
            self._encoded = {
                w.slot[12:]: (None if w.value == ZERO32 else preimages.get(w.value, b""))
                for w in self._output.storage_writes
                if w.address == ACCOUNT_PROPERTIES_STORAGE_ADDRESS
            }
        encoded = self._encoded.get(address)
        # Absent, deleted (zero) or without its preimage: read the view instead.
        record = AccountProperties.decode(encoded) if encoded else None
        self._records[address] = record
        return record


@implementer(IAccountReader)
class StorageAccountReader:
    """Reads accounts at ``storage.last_block()``."""

    def __init__(self, storage):
        self._storage = storage
        self._latest: tuple[int, FlatState] | None = None
        # Set once ``block_stored`` is wired to the block sink: then the newest view is only
        # replaced when a block is stored, without asking storage for its last block per read.
        self._follows_blocks = False
        self._block_accounts: _BlockAccounts | None = None

    def block_stored(self, block) -> None:
        """A block sink listener: ``block`` is now the newest stored block."""
        self._follows_blocks = True
        self._latest = None
        output = getattr(block, "state_output", None)
        self._block_accounts = None if output is None else _BlockAccounts(output)

    def view(self, block_number: int | None = None) -> FlatState:
        """A read-only state view at ``block_number`` (default: the newest block)."""
        if block_number is None:
            return self._newest()
        return FlatState(self._storage.state_at(block_number), self._storage.preimage_store())

    def _newest(self) -> FlatState:
        if self._follows_blocks and self._latest is not None:
            return self._latest[1]
        number = self._storage.last_block()
        if self._latest is None or self._latest[0] != number:
            view = FlatState(self._storage.state_at(number), self._storage.preimage_store())
            self._latest = (number, view)
        return self._latest[1]

    def _written(self, address: bytes) -> AccountProperties | None:
        """The newest block's record of ``address`` if that block wrote one."""
        if not self._follows_blocks or self._block_accounts is None:
            return None
        return self._block_accounts.get(address)

    def nonce_of(self, address: bytes) -> int:
        record = self._written(address)
        if record is not None:
            return record.nonce
        return self._newest().get_nonce(address)

    def balance_of(self, address: bytes) -> int:
        record = self._written(address)
        if record is not None:
            return record.balance
        return self._newest().get_balance(address)
