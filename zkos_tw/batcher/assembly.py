"""``create_rollup_pipeline``: the main node's batches from stored blocks to executed on L1.

Stages and the bounded queues between them (reference §5.6)::

    BlockSink ─► Batcher ─sealed─► FRI jobs (prover API on 3124, fake provers) ─proved─► GaplessCommitter ─ordered─► CommitFeeder (or SigningCommitFeeder)
      ─► commit sender ─committed─► SNARK prover ─groups─► ProveFeeder ─► prove sender
      ─proved─► ExecuteFeeder (priority tree) ─► execute sender ─executed─► PipelineSink

Restart (killed at any instant): the batch store and proof storage are written before anything
is passed on, and every sender reads its L1 counter before sending. The stages' storage and
hashing steps run in the pipeline's own thread (``PipelineThread``, ``offload.py``), not on
the reactor. The pipeline is re-fed from
the last batch *executed* on L1: the GaplessCommitter re-emits the stored proved batches above
it, each sender passes on without resending what L1 already has, the ``ProveFeeder`` splits a
SNARK group at L1's verified counter, and the priority tree is rebuilt from storage up to the
executed batch. So nothing is sent twice and nothing is skipped.
"""

from __future__ import annotations

import os

from twisted.application.service import MultiService
from twisted.logger import Logger

from zkos_tw.batch_verification.commit_step import SigningCommitFeeder
from zkos_tw.batcher.batch_store import LMDBBatchStore
from zkos_tw.batcher.block_facts import BlockMemory, StorageBlockFacts
from zkos_tw.batcher.commitment import StoredTreeVersions, build_commit_batch_info
from zkos_tw.batcher.gapless import GaplessCommitter
from zkos_tw.batcher.info import StoredBatchInfo
from zkos_tw.batcher.l1_stages import (
    CommitFeeder,
    ExecuteFeeder,
    PipelineSink,
    ProveFeeder,
    SnapshotFile,
)
from zkos_tw.batcher.offload import PipelineThread
from zkos_tw.batcher.proof_storage import FileProofStorage
from zkos_tw.batcher.service import create_batcher
from zkos_tw.launcher import StartupError
from zkos_tw.pipeline import BoundedQueue
from zkos_tw.prover_api.attestation import create_fri_verifier
from zkos_tw.prover_api.generation import create_prover_inputs
from zkos_tw.prover_api.service import create_prover_api

log = Logger()

#: The priority tree's snapshot, in the chain data directory.
PRIORITY_TREE_SNAPSHOT = "priority_tree.snapshot"
#: Capacity of the queues inside the pipeline (the senders' own queues are theirs).
QUEUE_CAPACITY = 16


class RollupPipeline(MultiService):
    """Every stage of the pipeline as one service; ``problems()`` lists stopped stages."""

    name = "rollup_pipeline"

    def __init__(self, batch_store, proof_storage):
        super().__init__()
        self.batch_store = batch_store
        self.proof_storage = proof_storage
        self.executed: list[int] = []  # batches the sink saw executed (this run)

    def problems(self) -> list[str]:
        return _problems(self)

    def stopService(self):
        d = super().stopService()
        self.batch_store.close()
        return d


def _problems(parent) -> list[str]:
    found = []
    for stage in parent:
        if hasattr(stage, "problems"):
            found.extend(stage.problems())
        elif isinstance(stage, MultiService):
            found.extend(_problems(stage))
        elif getattr(stage, "failure", None) is not None:
            failure = stage.failure
            message = failure.getErrorMessage() if hasattr(failure, "getErrorMessage") else failure
            found.append(f"{stage.name} stopped: {message}")
    return found


def open_batch_store(config) -> LMDBBatchStore:
    """The batch store in the chain data directory (``batches.lmdb``)."""
    return LMDBBatchStore(config.general.rocks_db_path)


def create_rollup_pipeline(
    config,
    reactor,
    *,
    chain,
    sink,
    senders,
    l1_state,
    batch_store,
    metrics=None,
    registry=None,
    prover_api_endpoint=None,
    collector=None,
    policy_reader=None,
    _in_thread=None,
) -> RollupPipeline:
    """The pipeline over the opened ``chain`` feeding the prepared ``senders`` (``L1Senders``).

    With a ``collector`` (``SignatureCollector``, batch verification) the proved batches are
    signed before the commit sender gets them (``SigningCommitFeeder``), which re-reads the
    policy with ``policy_reader`` (``L1PolicyReader``) and re-signs a plain commit the commit
    sender saw revert with ``MultisigRequired``.

    Raises ``StartupError`` when L1 knows batches this node's data does not have.
    ``_in_thread(f, *args) -> Deferred`` runs the stages' storage steps (default: the
    pipeline's own ``PipelineThread``).
    """
    storage = chain.storage
    proof_storage = FileProofStorage(config.prover_api.object_store_file_backed_base_path)
    last = batch_store.last_batch()
    last_stored = last.number if last is not None else 0
    committed = senders["commit"].l1_counter
    verified = senders["prove"].l1_counter
    executed = senders["execute"].l1_counter
    if committed > last_stored:
        raise StartupError(
            f"L1 has {committed} batches committed but this node's batch store ends at batch "
            f"{last_stored} ({getattr(batch_store, 'path', 'in memory')}): the chain data belongs to another L1 or lost "
            "batches"
        )
    latest_proof = proof_storage.latest_batch() or 0
    if committed > latest_proof:
        raise StartupError(
            f"L1 has {committed} batches committed but proof storage "
            f"({config.prover_api.object_store_file_backed_base_path}) ends at batch "
            f"{latest_proof}: point prover_api_object_store_file_backed_base_path at this "
            "chain's proof storage"
        )
    if latest_proof:
        _check_same_batch(batch_store, proof_storage, latest_proof, config)
    pipeline = RollupPipeline(batch_store, proof_storage)
    prover_inputs_thread = None
    if _in_thread is None:
        # First children: they start before the stages and stop after them. Prover inputs
        # (a whole batch re-executed, seconds) get a thread of their own so that building one
        # never holds up sealing and storing the next batches.
        _in_thread = PipelineThread(reactor)
        _in_thread.setServiceParent(pipeline)
        prover_inputs_thread = PipelineThread(reactor, "prover-inputs")
        prover_inputs_thread.setServiceParent(pipeline)
    genesis = StoredBatchInfo.genesis(chain.genesis.state_commitment)
    tree_versions = StoredTreeVersions(storage.tree_store())
    # The blocks just stored, as the sink gave them: facts and commit infos without reading
    # every receipt back (a listener before the batcher's, so a block is there when it wakes).
    memory = BlockMemory()
    sink.add_listener(memory.block_stored)

    def build_info(batch_number: int, first_block: int, last_block: int):
        info = build_commit_batch_info(
            storage,
            tree_versions,
            batch_number=batch_number,
            first_block=first_block,
            last_block=last_block,
            chain_id=config.genesis.chain_id,
            chain_address=l1_state.diamond_proxy,
            pubdata_mode=l1_state.da_mode,
            summaries=memory.summary,
        )
        memory.forget_through(last_block)
        return info

    def queue(name):
        return BoundedQueue(QUEUE_CAPACITY, name)

    sealed, proved, ordered = queue("sealed"), queue("fri proved"), queue("ordered")
    snark_groups = queue("snark groups")
    commit, prove, execute = senders["commit"], senders["prove"], senders["execute"]

    block_facts = StorageBlockFacts(
        storage, lambda n: len(storage.block_pubdata(n) or b""), memory=memory
    )
    batcher = create_batcher(
        config.batcher,
        storage=storage,
        batch_store=batch_store,
        proof_storage=proof_storage,
        build_info=build_info,
        block_facts=block_facts,
        output=sealed,
        reactor=reactor,
        genesis_batch=genesis,
        registry=registry,
        in_thread=_in_thread,
    )
    sink.add_listener(batcher.block_stored)
    stages = [
        batcher,
        create_prover_api(
            config.prover_api,
            reactor=reactor,
            fri_input=sealed,
            fri_output=proved,
            snark_input=commit.outbound,
            snark_output=snark_groups,
            proof_storage=proof_storage,
            verifier=create_fri_verifier(config.prover_api),
            prover_input=create_prover_inputs(
                storage, reactor=reactor, in_thread=prover_inputs_thread
            ),
            registry=registry,
            _endpoint=prover_api_endpoint,
        ),
        GaplessCommitter(
            input=proved,
            output=ordered,
            proof_storage=proof_storage,
            reactor=reactor,
            last_committed=executed,
            in_thread=_in_thread,
        ),
        CommitFeeder(ordered, commit.inbound)
        if collector is None
        else (
            signing := SigningCommitFeeder(
                ordered,
                commit.inbound,
                collector,
                chain_address=l1_state.diamond_proxy,
                l1_committed=lambda: commit.l1_counter,
                policy_reader=policy_reader,
                clock=reactor,
            )
        ),
        ProveFeeder(snark_groups, prove.inbound, prove.outbound, lambda: verified),
        feeder := ExecuteFeeder(
            prove.outbound,
            execute.inbound,
            storage=storage,
            batch_store=batch_store,
            last_executed=executed,
            snapshots=SnapshotFile(
                os.path.join(config.general.rocks_db_path, PRIORITY_TREE_SNAPSHOT)
            ),
            in_thread=_in_thread,
        ),
        PipelineSink(
            execute.outbound, lambda envelope: _executed(pipeline, feeder, envelope, metrics)
        ),
    ]
    for stage in stages:
        stage.setServiceParent(pipeline)
    if collector is not None:
        commit.revert_recovery = signing.after_revert
    log.info(
        "rollup pipeline: batch store at batch {stored}, proof storage at {proved}; L1 "
        "committed {committed}, verified {verified}, executed {executed}",
        stored=last_stored,
        proved=latest_proof,
        committed=committed,
        verified=verified,
        executed=executed,
    )
    return pipeline


def _check_same_batch(batch_store, proof_storage, number: int, config) -> None:
    """Proof storage (``./db/shared`` by default) must hold this chain's batches: a data
    directory started afresh next to an old proof storage would re-send stale batches."""
    stored = batch_store.batch(number)
    proved = proof_storage.get(number)
    same = (
        stored is not None
        and proved is not None
        and proved.batch.commit_batch_info.stored().hash()
        == stored.commit_batch_info.stored().hash()
    )
    if not same:
        raise StartupError(
            f"proof storage ({config.prover_api.object_store_file_backed_base_path}) holds a "
            f"batch {number} that is not this chain's (batch store {getattr(batch_store, 'path', 'in memory')}): remove "
            "it or set prover_api_object_store_file_backed_base_path to this chain's"
        )


def _executed(pipeline: RollupPipeline, feeder, envelope, metrics):
    saved = feeder.executed(envelope.number)
    pipeline.executed.append(envelope.number)
    del pipeline.executed[:-100]
    if metrics is None:
        return saved
    sealed = envelope.stage_times.get("BatchSealed")
    if sealed is None:
        return saved  # sealed before this run
    for stage, when in envelope.stage_times.items():
        if stage != "BatchSealed":
            metrics.stage_seconds.labels(stage=stage).observe(max(0.0, when - sealed))
    metrics.last_batch.labels(stage="Executed").set(envelope.number)
    return saved
