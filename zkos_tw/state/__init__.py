"""The ZKsync OS state model: flat keys, account records, bytecode blobs, the execution view.

Typical use by the block builder::

    state = FlatState(storage.state_at(n - 1), preimages)   # IStateReader + IPreimages
    ... execute the block's transactions against ``state`` (IExecutionState) ...
    output = state.finish_block()              # ordered net writes + new preimages
    patch = tree.apply(n, output.tree_writes())
"""

from zkos_tw.state.account import EMPTY_ACCOUNT, AccountProperties
from zkos_tw.state.bytecode import extended_blob, jumpdest_bitmap
from zkos_tw.state.keys import account_key, flat_key, warm_key_order
from zkos_tw.state.view import BlockStateOutput, FlatState, StateCorrupt, StateError, StorageWrite

__all__ = [
    "EMPTY_ACCOUNT",
    "AccountProperties",
    "BlockStateOutput",
    "FlatState",
    "StateCorrupt",
    "StateError",
    "StorageWrite",
    "account_key",
    "extended_blob",
    "flat_key",
    "jumpdest_bitmap",
    "warm_key_order",
]
