"""The node's side of the prover input: a batch's ``V1`` input built from storage (issue #12
item 2; reference server.md §6.5).

For each block of the batch: the WAL record is executed again over the state *before* the
block (``storage.state_at(n - 1)``) through ``RecordingReader`` / ``RecordingPreimages``; the
block's pubdata is recomputed the same way (so every written key's old value and every
preimage pubdata needs is recorded too) and checked against the stored pubdata; then
``block_input_from_tree`` proves the read set against tree version ``n - 1``.

The proofs come from a ``MerkleTree`` of this module's own, opened on the stored tree records:
the sequencer's live tree is updated by its worker thread and must not be read here. The copy
is reopened when the batch needs a version newer than it holds; older versions are read from
the stored records.

``create_prover_inputs(storage, reactor=…)`` gives the ``StoredProverInputs`` that is
``create_prover_api``'s ``prover_input``: it answers ``None`` (job not
ready) and starts the build in a thread the first time a batch is asked for, and the bytes once
built. Inputs are cached per batch (the newest ``cache_size``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from twisted.internet import threads
from twisted.logger import Logger

from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.prover_api import prover_input as pi
from zkos_tw.prover_api.reexecute import block_pubdata_of, execute_block
from zkos_tw.prover_api.witness import RecordingPreimages, RecordingReader
from zkos_tw.sequencer.commands import ReplayDivergence
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.state.view import FlatState

log = Logger()


class ProverInputBuilder:
    """Builds prover inputs from an opened ``LMDBStorage`` (thread-safe: one build at a time)."""

    def __init__(self, storage):
        self._storage = storage
        self._tree: MerkleTree | None = None
        self._lock = threading.Lock()

    def _tree_at_least(self, version: int) -> MerkleTree:
        tree = self._tree
        if tree is None or tree.latest_version is None or tree.latest_version < version:
            tree = self._tree = MerkleTree(self._storage.tree_store())
        if tree.latest_version is None or tree.latest_version < version:
            raise pi.ProverInputError(f"the stored tree has no version {version}")
        return tree

    def block_input(self, number: int) -> pi.BlockInput:
        """Block ``number``'s input with its witness (the tree must hold ``number - 1``)."""
        storage = self._storage
        raw = storage.wal_record(number)
        if raw is None:
            raise pi.ProverInputError(f"block {number} has no WAL record")
        record = ReplayRecord.decode(raw)
        reader = RecordingReader(storage.state_at(number - 1))
        preimages = RecordingPreimages(storage.preimage_store())
        block = execute_block(record.context, record.transactions, FlatState(reader, preimages))
        if block.output_hash() != record.block_output_hash:
            raise ReplayDivergence(f"block {number}: re-execution differs from the WAL record")
        pubdata = block_pubdata_of(block, reader.read, preimages.get)
        stored = storage.block_pubdata(number)
        if stored is not None and stored != pubdata:
            raise ReplayDivergence(f"block {number}: re-executed pubdata differs from stored")
        return pi.block_input_from_tree(
            self._tree_at_least(number - 1),
            version=number - 1,
            context=record.context,
            previous_block_timestamp=record.previous_block_timestamp,
            transactions=record.transactions,
            read_keys=reader.keys,
            preimages=preimages.found.items(),
        )

    def build(self, batch_number: int, first_block: int, last_block: int) -> bytes:
        """The encoded ``V1`` input of batch ``batch_number`` = blocks ``first..=last``."""
        with self._lock:
            blocks = tuple(self.block_input(n) for n in range(first_block, last_block + 1))
        return pi.encode(pi.ProverInput(batch_number, blocks))


class StoredProverInputs:
    """``prover_input(envelope)``: ``None`` until the batch's input is built (in a thread)."""

    def __init__(
        self, builder: ProverInputBuilder, *, reactor, cache_size: int = 16, _in_thread=None
    ):
        self._builder = builder
        self._reactor = reactor
        self._in_thread = _in_thread or self._default_in_thread
        self._cache_size = cache_size
        self._done: OrderedDict[int, bytes] = OrderedDict()
        self._running: set[int] = set()
        self.failures = 0

    def _default_in_thread(self, f, *args):
        return threads.deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)

    def __call__(self, envelope) -> bytes | None:
        number = envelope.number
        found = self._done.get(number)
        if found is not None:
            return found
        if number not in self._running:
            self._running.add(number)
            batch = envelope.batch
            started = time.perf_counter()
            d = self._in_thread(
                self._builder.build, number, batch.first_block_number, batch.last_block_number
            )
            d.addCallbacks(self._built, self._failed, (number, started), None, (number,))
        return None

    def _built(self, data: bytes, number: int, started: float) -> None:
        self._running.discard(number)
        self._done[number] = data
        while len(self._done) > self._cache_size:
            self._done.popitem(last=False)
        log.info(
            "prover input of batch {n}: {size} bytes in {ms:.0f} ms",
            n=number,
            size=len(data),
            ms=1000 * (time.perf_counter() - started),
        )

    def _failed(self, failure, number: int) -> None:
        self._running.discard(number)
        self.failures += 1
        log.failure("building the prover input of batch {n} failed", failure, n=number)


def create_prover_inputs(
    storage, *, reactor, cache_size: int = 16, in_thread=None
) -> StoredProverInputs:
    """The prover inputs of the batches in ``storage`` (an opened ``LMDBStorage``), built when a
    real prover first asks for one: through ``in_thread`` (the pipeline's bounded prover-input
    thread) or, without it, in the reactor's thread pool."""
    return StoredProverInputs(
        ProverInputBuilder(storage), reactor=reactor, cache_size=cache_size, _in_thread=in_thread
    )
