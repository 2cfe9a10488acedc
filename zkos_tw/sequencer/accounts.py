"""``StorageAccountReader``: account nonces and balances at the newest stored block.

The mempool's ``IAccountReader``: reads go through a ZKsync OS state view over the storage's
newest block, never through the sequencer's own state view, which the worker thread owns while
it builds a block. A stored block's state never changes, so the view of the newest block is kept
until a newer block is stored: each sender's account is read from LMDB once per block, not twice
per transaction (node CPU per transaction under `zkosctl load` -15 to -25 %, docs/load.md).
"""

from __future__ import annotations

from zope.interface import implementer

from zkos_tw.interfaces import IAccountReader
from zkos_tw.state.view import FlatState


@implementer(IAccountReader)
class StorageAccountReader:
    """Reads accounts at ``storage.last_block()``."""

    def __init__(self, storage):
        self._storage = storage
        self._latest: tuple[int, FlatState] | None = None
        # Set once ``block_stored`` is wired to the block sink: then the newest view is only
        # replaced when a block is stored, without asking storage for its last block per read.
        self._follows_blocks = False

    def block_stored(self, block) -> None:
        """A block sink listener: ``block`` is now the newest stored block."""
        self._follows_blocks = True
        self._latest = None

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

    def nonce_of(self, address: bytes) -> int:
        return self._newest().get_nonce(address)

    def balance_of(self, address: bytes) -> int:
        return self._newest().get_balance(address)
