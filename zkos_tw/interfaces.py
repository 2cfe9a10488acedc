"""The seams of zkos-tw: every pluggable part is a zope ``Interface`` with a written contract.

Implementations say ``@implementer(I...)``; tests check them with ``verifyObject``. In-memory
implementations of each live in ``zkos_tw.testing``.
"""

from zope.interface import Attribute, Interface


class IExecutionState(Interface):
    """The world state as the EVM reads and writes it while executing transactions.

    Addresses are 20-byte ``bytes``; storage keys and values are ``int`` in ``[0, 2**256)``.
    Reading an account that does not exist gives nonce 0, balance 0, empty code, zero storage.

    Journaling: ``begin()`` opens a checkpoint (one per call frame), ``commit()`` folds the newest
    checkpoint into its parent, ``rollback()`` undoes every change made since the newest
    ``begin()`` — accounts, code, storage and transient storage alike. Checkpoints nest.

    Transactions: ``begin_transaction()`` starts a transaction: from then on
    ``get_original_storage`` answers the value each slot had at that moment (EIP-2200/3529 gas),
    and transient storage (EIP-1153) starts empty. ``end_transaction()`` ends it; no checkpoint
    may be open across it.

    Two implementations: the Ethereum-style in-memory state (``zkos_tw.testing``), used by the
    conformance harness, and the ZKsync OS flat-storage state (``zkos_tw.state``).
    """

    def account_exists(address):
        """True if the account is present in the state (EIP-161 sense), even if empty."""

    def is_empty(address):
        """True if the account has nonce 0, balance 0 and no code (EIP-161 "empty")."""

    def account_has_storage(address):
        """True if any storage slot of the account is non-zero (EIP-7610 create collision)."""

    def get_nonce(address):
        """The account nonce (``int``)."""

    def set_nonce(address, nonce):
        """Set the nonce, creating the account if needed."""

    def get_balance(address):
        """The balance in wei (``int``)."""

    def set_balance(address, balance):
        """Set the balance, creating the account if needed."""

    def get_code(address):
        """The account's bytecode (``bytes``, empty for none)."""

    def get_code_hash(address):
        """keccak-256 of the account's code (``bytes`` of 32); the empty-code hash for none."""

    def set_code(address, code):
        """Set the bytecode, creating the account if needed."""

    def get_storage(address, key):
        """Current value of a storage slot."""

    def set_storage(address, key, value):
        """Write a storage slot (value 0 deletes it)."""

    def get_original_storage(address, key):
        """Value of the slot when the current transaction began."""

    def get_transient_storage(address, key):
        """Current value of a transient slot (EIP-1153); 0 outside a write in this transaction."""

    def set_transient_storage(address, key, value):
        """Write a transient slot; discarded at ``end_transaction()`` and by ``rollback()``."""

    def destroy_account(address):
        """Remove the account with its code and all storage (SELFDESTRUCT, EIP-161 cleanup)."""

    def begin():
        """Open a journal checkpoint (a call frame starts)."""

    def commit():
        """Keep the changes since the newest checkpoint; drop that checkpoint."""

    def rollback():
        """Undo every change since the newest checkpoint; drop that checkpoint."""

    def begin_transaction():
        """Start a transaction: snapshot original storage values, clear transient storage."""

    def end_transaction():
        """End the transaction started by ``begin_transaction()``."""


class IHealthSource(Interface):
    """Something the health endpoint asks about the node's progress."""

    role = Attribute("'main_node' or 'external_node'")

    def last_block():
        """``(number, unix_timestamp)`` of the newest block, or ``None`` before the first one."""

    def problems():
        """A list of short strings naming what is unhealthy now (empty when all is well)."""
