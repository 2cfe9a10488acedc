"""``StorageAccountReader``: account nonces and balances at the newest stored block.

The mempool's ``IAccountReader``: each call reads through a fresh ZKsync OS state view over the
storage's newest block (LMDB reads are cheap and need no lock), never through the sequencer's
own state view, which the worker thread owns while it builds a block.
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

    def view(self, block_number: int | None = None) -> FlatState:
        """A read-only state view at ``block_number`` (default: the newest block)."""
        number = self._storage.last_block() if block_number is None else block_number
        return FlatState(self._storage.state_at(number), self._storage.preimage_store())

    def nonce_of(self, address: bytes) -> int:
        return self.view().get_nonce(address)

    def balance_of(self, address: bytes) -> int:
        return self.view().get_balance(address)
