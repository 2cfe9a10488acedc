"""Filters across RPC workers: a filter installed through one worker answers through any.

A worker's filters live in that worker (``FilterRegistry``: the pending transactions and the
last block a filter reported are its own). ``WorkerFilterRegistry`` puts the worker's index in
the low 16 bits of every id it hands out (``0x`` + hex of a random 112-bit number and the
index), so any worker can tell a filter's owner from its id: a poll (``eth_getFilterChanges``,
``eth_getFilterLogs``) or ``eth_uninstallFilter`` of another worker's filter goes to that worker
over the node (``FILTER_CALL`` / ``FILTER_RESULT`` frames, ``zkos_tw.workers.frames``) and
answers what the owner answered — ``filter not found`` when it has no such filter, or no longer
runs (a restarted worker starts with no filters, as a restarted node does).
"""

from __future__ import annotations

import secrets

from zkos_tw.rpc.filters import FilterRegistry
from zkos_tw.workers import frames as f

INDEX_BITS = 16
MAX_WORKERS = 1 << INDEX_BITS


def worker_filter_id(index: int) -> str:
    """A new filter id of worker ``index``: ``0x`` + lowercase hex, no padding."""
    return hex((secrets.randbits(128 - INDEX_BITS) << INDEX_BITS) | index)


def filter_owner(filter_id: str) -> int | None:
    """The index of the worker that handed out ``filter_id``, or ``None`` for no id of ours."""
    try:
        value = int(filter_id, 16)
    except ValueError:
        return None
    return value & (MAX_WORKERS - 1) if value >= 0 else None


class WorkerFilterRegistry(FilterRegistry):
    """Worker ``index``'s filters; the other workers' are reached through ``link`` (a
    ``SequencerLink``, whose ``FILTER_CALL`` handler ``serve`` is)."""

    def __init__(self, backend, clock, *, index: int, link, **kwargs):
        if not 0 <= index < MAX_WORKERS:
            raise ValueError(f"worker index {index} out of range")
        super().__init__(backend, clock, make_id=lambda: worker_filter_id(index), **kwargs)
        self.index = index
        self._link = link
        link.on_filter_call = self.serve

    def _owner_elsewhere(self, filter_id: str) -> int | None:
        owner = filter_owner(filter_id)
        return None if owner is None or owner == self.index else owner

    async def changes(self, filter_id: str) -> list:
        owner = self._owner_elsewhere(filter_id)
        if owner is None:
            return await super().changes(filter_id)
        return await self._link.filter_call(owner, f.FILTER_CHANGES, filter_id)

    async def logs(self, filter_id: str) -> list:
        owner = self._owner_elsewhere(filter_id)
        if owner is None:
            return await super().logs(filter_id)
        return await self._link.filter_call(owner, f.FILTER_LOGS, filter_id)

    def uninstall(self, filter_id: str):
        owner = self._owner_elsewhere(filter_id)
        if owner is None:
            return super().uninstall(filter_id)
        return self._link.filter_call(owner, f.FILTER_UNINSTALL, filter_id)

    def serve(self, call: int, filter_id: str):
        """Another worker's call on one of our filters (relayed by the node)."""
        if call == f.FILTER_CHANGES:
            return super().changes(filter_id)
        if call == f.FILTER_LOGS:
            return super().logs(filter_id)
        if call == f.FILTER_UNINSTALL:
            return super().uninstall(filter_id)
        raise f.FrameError(f"unknown filter call {call}")
