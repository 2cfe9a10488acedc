"""In-memory implementations of the zkos-tw interfaces, for tests and for development."""

from zkos_tw.testing.memory_state import MemoryState

__all__ = ["MemoryState"]
