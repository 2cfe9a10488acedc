"""The errors storage raises: one base class, so callers can catch every storage failure at once.

Messages name the data directory and the numbers involved, because an operator reads them as the
one line a node prints before it refuses to start.
"""


class StorageError(Exception):
    """Storage cannot do what was asked: bad schema, corruption, a conflicting or out-of-order write."""


class BlockNotFound(StorageError):
    """A block (or the state at a block) was asked for that storage does not hold."""
