"""Builds the node's service tree from one frozen ``NodeConfig``.

``create_node_from_config`` is the only place that knows which components a node has and how
they are wired; the underscore keyword arguments are the test seams (STYLE rule 4).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.endpoints import serverFromString
from twisted.logger import ILogObserver, Logger
from twisted.python.threadpool import ThreadPool
from twisted.web.server import Site

from zkos_tw import logs
from zkos_tw.batch_verification.collector import create_signature_collector
from zkos_tw.batch_verification.digest import SigningDomain
from zkos_tw.batch_verification.metrics import SignerMetrics
from zkos_tw.batch_verification.policy import (
    L1PolicyReader,
    effective_policy,
    read_l1_policy,
)
from zkos_tw.batch_verification.signer import BatchSigner, create_signer_client
from zkos_tw.batcher.assembly import create_rollup_pipeline, open_batch_store
from zkos_tw.chain import open_chain
from zkos_tw.config import NodeConfig
from zkos_tw.devnet.anvil import AnvilError, AnvilService, find_anvil
from zkos_tw.l1.batch_watcher import BatchProgress, BatchProgressWatcher
from zkos_tw.l1.client import L1Error, create_l1_client
from zkos_tw.l1.discovery import L1DiscoveryError, L1State, discover_l1_state
from zkos_tw.l1.health import L1Health
from zkos_tw.l1.sender_group import create_l1_senders_from_config
from zkos_tw.l1.watcher import L1WatcherError, PriorityTxWatcher, fetch_genesis_upgrade
from zkos_tw.launcher import Launcher, StartupError
from zkos_tw.metrics import MetricsPage, NodeMetrics, create_registry
from zkos_tw.metrics_chain import ExecutionMetrics, L1WatcherMetrics, MempoolMetrics, StorageMetrics
from zkos_tw.metrics_l1 import BatchProgressMetrics, L1SenderMetrics
from zkos_tw.replay.catch_up import CatchUpMonitor
from zkos_tw.replay.client import create_replay_client
from zkos_tw.replay.external_node import ExternalNodeFollower
from zkos_tw.replay.main_node_rpc import MainNodeRpc
from zkos_tw.replay.server import create_replay_server
from zkos_tw.rpc import create_rpc_service
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.admission import Admission, ThreadPoolService
from zkos_tw.sequencer.backend import NodeBackend
from zkos_tw.sequencer.blocks import DEFAULT_BASE_FEE, BlockHeader
from zkos_tw.sequencer.inclusion import InclusionWait
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.service import Sequencer
from zkos_tw.sequencer.sink import BlockSink
from zkos_tw.sequencer.tip import ChainTip
from zkos_tw.status.node_status import NodeStatus
from zkos_tw.status.server import StatusServer
from zkos_tw.workers import create_rpc_workers_from_config
from zkos_tw.workers.metrics import WorkerMetricsCollector
from zkos_tw.workers.supervisor import parse_tcp_endpoint

log = Logger()

#: The dev L1's state file inside the chain data directory (``--dev``).
DEV_L1_STATE_FILE = "l1-state.json"


class ChainService(Service):
    """Owns the opened chain data (storage, tree) for the node's lifetime; closes it on stop."""

    name = "chain"

    def __init__(self, config: NodeConfig, status: NodeStatus, opener):
        self._config = config
        self._status = status
        self._opener = opener
        self.chain = None

    async def open(self) -> None:
        """The start-up step: open storage, write or check block 0, report the last block."""
        self.chain = self._opener(self._config)
        last = self.chain.last_block
        stored = self.chain.storage.block(last)
        self._status.block_sealed(last, block_timestamp(stored.block_record) if stored else 0)

    def stopService(self):
        super().stopService()
        if self.chain is not None:
            self.chain.close()
            self.chain = None


#: Young-generation threshold while the node runs (CPython's default is 700).
GC_THRESHOLD = (50_000, 20, 100)


def tune_gc() -> None:
    """Move what start-up allocated out of the collector's way and collect less often.

    A node keeps many long-lived objects (the pool, state caches, decoded blocks); with the
    default thresholds the cyclic collector keeps walking them. Under `zkosctl load`, node CPU per
    transfer went from 290-374 us to 228-328 us, and eth_blockNumber p99 from 50-93 ms to 27-38
    ms (three alternating runs each, docs/load.md).
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def start_main_node(
    config: NodeConfig,
    reactor,
    node,
    chain,
    status,
    registry,
    l1_queue=None,
    *,
    producing: bool = True,
    forward_transactions=None,
):
    """Add the mempool, the sequencer, the replay server and the JSON-RPC server over the
    opened ``chain``. An external node passes ``producing=False`` (blocks come from replay
    only) and ``forward_transactions`` (eth_sendRawTransaction goes to the main node)."""
    # Admission's own thread: decoding and signature recovery never queue behind a block
    # being built in the reactor's pool (inclusion p99 under load ~1.0 s -> ~0.6 s).
    tune_gc()
    admission_threads = ThreadPool(1, 1, "admission")
    ThreadPoolService(admission_threads).setServiceParent(node)
    reader = StorageAccountReader(chain.storage)
    mempool = Mempool(
        reader,
        chain_id=config.genesis.chain_id,
        block_gas_limit=config.sequencer.block_gas_limit,
        max_input_bytes=config.tx_validator.max_input_bytes,
        max_pending_txs=config.mempool.max_pending_txs,
        max_pending_size=config.mempool.max_pending_size,
    )
    with open(config.genesis.genesis_input_path, "rb") as f:
        genesis_document = json.load(f)
    wait = config.rpc.inclusion_wait(config.dev_mode)
    inclusion = InclusionWait(reactor, wait) if wait > 0 else None
    backend = NodeBackend(
        chain=chain,
        mempool=mempool,
        genesis_document=genesis_document,
        chain_id=config.genesis.chain_id,
        bridgehub_address=config.genesis.bridgehub_address,
        eth_call_gas=config.rpc.eth_call_gas,
        max_concurrent_traces=config.rpc.max_concurrent_traces,
        next_base_fee=config.sequencer.base_fee_override or DEFAULT_BASE_FEE,
        next_gas_limit=config.sequencer.block_gas_limit,
        admission=Admission(reactor, mempool, admission_threads),
        inclusion=inclusion,
        now=reactor.seconds,
        forward_transactions=forward_transactions,
    )
    MempoolMetrics(registry, mempool)
    sink = BlockSink(chain.storage, chain.tree, StorageMetrics(registry))
    sink.add_listener(reader.block_stored)
    sink.add_listener(backend.block_stored)
    if inclusion is not None:
        sink.add_listener(inclusion.block_stored)
    sequencer = Sequencer(
        reactor,
        config.sequencer,
        config.genesis.chain_id,
        chain,
        mempool,
        sink,
        on_sealed=lambda block: status.block_sealed(block.number, block.header.timestamp),
        l1_queue=l1_queue,
        metrics=ExecutionMetrics(registry),
        producing=producing,
    )
    sequencer.setServiceParent(node)
    create_replay_server(
        config.sequencer, reactor, chain.storage, sink, registry=registry
    ).setServiceParent(node)
    if rpc_workers_wanted(config):
        # An external node's workers forward eth_sendRawTransaction to the main node
        # themselves (``worker_settings``); its pool stays empty, as in one process.
        workers, gateway = create_rpc_workers_from_config(
            config, reactor, mempool=mempool, backend=backend, inclusion=inclusion
        )
        sink.add_listener(gateway.block_stored)
        backend.workers_gateway = gateway
        registry.register(WorkerMetricsCollector(gateway))
        workers.setServiceParent(node)
    else:
        create_rpc_service(config.rpc, backend, reactor, registry).setServiceParent(node)
    return sequencer, backend, sink


def rpc_workers_wanted(config: NodeConfig) -> bool:
    """Whether RPC worker processes serve ``rpc_address`` (docs/rpc-workers.md). Workers need
    a TCP address: with another endpoint type the default (unset) keeps the single process,
    and an explicit ``rpc_workers`` is a one-line start-up failure."""
    if config.rpc.worker_count(config.dev_mode) == 0:
        return False
    try:
        parse_tcp_endpoint(config.rpc.address)
    except ValueError as e:
        if config.rpc.workers is None:
            return False
        raise StartupError(f"rpc_workers={config.rpc.workers}: {e}") from None
    return True


def start_external_node(config, reactor, node, chain, status, registry, l1, http_client):
    """The external node (reference §1.3): the sequencer replays the main node's stream from
    our own tip + 1 (§4.5) after the checks of ``ExternalNodeFollower``; RPC over our storage
    forwards eth_sendRawTransaction to the main node; our replay server serves ENs behind us;
    ``safe`` / ``finalized`` follow L1. No L1 senders, no batcher."""
    main_rpc = MainNodeRpc(http_client, config.general.main_node_rpc_url)
    sequencer, backend, _ = start_main_node(
        config,
        reactor,
        node,
        chain,
        status,
        registry,
        l1_queue=l1.queue,
        producing=False,
        forward_transactions=main_rpc.send_raw_transaction,
    )
    follower = ExternalNodeFollower(
        reactor, sequencer, l1.queue, status, config.sequencer.block_dump_path
    )
    follower.setServiceParent(node)
    start = ChainTip.load(chain.storage).number + 1
    log.info(
        "external node: following {address} from block {start}",
        address=config.sequencer.block_replay_download_address,
        start=start,
    )
    client = create_replay_client(config.sequencer, reactor, start, follower.on_record)
    client.failed.addErrback(follower.stream_failed)
    client.setServiceParent(node)
    CatchUpMonitor(
        reactor, follower, main_rpc.block_number, status, config.en.stall_timeout
    ).setServiceParent(node)
    l1.follow_batches(node, backend)
    return follower, client


async def start_signature_collector(config, reactor, node, l1, status, registry):
    """Batch verification on the main node (``docs/batch_verification.md``): the effective
    policy from L1 (or the config) and the ``SignatureCollector`` on
    ``batch_verification_address``. With a threshold of 0 it listens all the same: the signing
    step re-reads the policy from L1, so a validator set configured later is followed."""
    settings = config.batch_verification
    try:
        l1_threshold, validators = await read_l1_policy(
            l1.client, l1.state.validator_timelock, l1.state.diamond_proxy
        )
        chain_id = await l1.client.chain_id()
    except L1Error as e:
        raise StartupError(f"batch verification policy from L1: {e}") from None
    policy = effective_policy(settings, l1_threshold, validators)
    log.info("batch verification policy: {policy}", policy=json.dumps(policy.as_json()))
    if policy.threshold == 0:
        log.info("batch verification: threshold 0, commits are not signed until L1 has a policy")
    if len(policy.signers) < policy.threshold:
        raise StartupError(
            f"batch verification threshold {policy.threshold} but only "
            f"{len(policy.signers)} signers ({policy.source}): set "
            "batch_verification_accepted_signers or a validator set on L1"
        )
    collector = create_signature_collector(
        settings,
        reactor,
        policy=policy,
        domain=SigningDomain(chain_id, l1.state.validator_timelock),
        registry=registry,
    )
    collector.setServiceParent(node)
    status.add_problem_source(collector)
    status.add_section("batch_verification", collector.report)
    return collector


async def start_batch_signer(config, reactor, node, chain, l1, status, registry):
    """Batch verification on an external node: sign the main node's batches that agree with
    our own blocks (``zkos_tw.batch_verification.signer``), connected to
    ``batch_verification_address``."""
    settings = config.batch_verification
    if settings.signing_key is None:
        raise StartupError("batch_verification_client_enabled needs batch_verification_signing_key")
    try:
        l1_chain_id = await l1.client.chain_id()
    except L1Error as e:
        raise StartupError(f"batch verification: L1 chain id: {e}") from None
    signer = BatchSigner(
        storage=chain.storage,
        clock=reactor,
        signing_key=bytes.fromhex(settings.signing_key[2:]),
        domain=SigningDomain(l1_chain_id, l1.state.validator_timelock),
        chain_id=config.genesis.chain_id,
        chain_address=l1.state.diamond_proxy,
        genesis_state_commitment=chain.genesis.state_commitment,
        pubdata_mode=l1.state.da_mode,
        wait_timeout=settings.request_timeout,
        metrics=SignerMetrics(registry),
    )
    log.info(
        "batch verification: signing as 0x{address} for {main}",
        address=signer.address.hex(),
        main=settings.connect_endpoint,
    )
    client = create_signer_client(settings, reactor, signer)
    client.setServiceParent(node)
    status.add_section(
        "batch_verification_signer",
        lambda: {"signer": "0x" + signer.address.hex(), "last_refusal": signer.last_refusal},
    )
    return signer


def start_rollup_pipeline(
    config, reactor, node, chain, sink, l1, backend, status, registry, collector=None
):
    """Batches to L1 (``zkos_tw.batcher.assembly``): the batcher after the sink, the provers,
    the signature collector (if any) and the prepared L1 senders; the batch store answers the
    ``zks_`` batch methods."""
    batch_store = open_batch_store(config)
    try:
        pipeline = create_rollup_pipeline(
            config,
            reactor,
            chain=chain,
            sink=sink,
            senders=l1.senders,
            l1_state=l1.state,
            batch_store=batch_store,
            metrics=l1.pipeline_metrics,
            registry=registry,
            collector=collector,
            policy_reader=None
            if collector is None
            else L1PolicyReader(
                config.batch_verification,
                l1.client,
                l1.state.validator_timelock,
                l1.state.diamond_proxy,
            ),
        )
    except Exception:
        batch_store.close()
        raise
    status.add_problem_source(pipeline)
    backend.set_batch_store(batch_store)
    pipeline.setServiceParent(node)
    return pipeline


def batch_last_block(batch_store):
    """``last_block_of_batch`` over the batch store: batch 0 is the genesis block."""

    known: dict[int, int] = {0: 0}  # a stored batch's range never changes

    def last_block_of_batch(number: int) -> int | None:
        block = known.get(number)
        if block is None:
            meta = batch_store.batch(number)
            if meta is None:
                return None
            block = known[number] = meta.last_block_number
            if len(known) > 1024:
                del known[next(k for k in known if k)]
        return block

    return last_block_of_batch


def block_timestamp(block_record: bytes) -> int:
    """The timestamp of a stored block record."""
    return BlockHeader.decode(block_record).timestamp


class QuietSite(Site):
    """A ``Site`` that does not log every request (health and metrics are polled constantly)."""

    def log(self, request):
        pass


class NodeService(MultiService):
    """The root of a node's services; carries the log observer chosen by ``log_format``."""

    def __init__(
        self, config: NodeConfig, status: NodeStatus, registry: CollectorRegistry, log_observer=None
    ):
        super().__init__()
        self.config = config
        self.status = status
        self.registry = registry
        self._log_observer = log_observer

    def setServiceParent(self, parent):
        # twistd passes the Application here; an ILogObserver component on it replaces twistd's
        # default text observer (twisted.application.app.AppLogger.start).
        if self._log_observer is not None and hasattr(parent, "setComponent"):
            parent.setComponent(ILogObserver, self._log_observer)
        return super().setServiceParent(parent)

    def stopService(self):
        if self.status.phase != "failed":
            self.status.set_phase("stopping")
        return super().stopService()


def metrics_site(registry: CollectorRegistry) -> Site:
    """The Prometheus site: ``/metrics`` (any path, in fact) in the text exposition format."""
    return QuietSite(MetricsPage(registry))


def status_site(status: NodeStatus, reactor) -> Site:
    """The health site: ``/status/health``."""
    return QuietSite(StatusServer(status, reactor).app.resource())


def _anvil_from_config(config: NodeConfig, reactor, http_client) -> AnvilService:
    """anvil for ``--dev``, keeping its L1 state next to the chain data.

    The first start copies ``dev_l1_state_path`` (our ``zkos-l1-state.json``) to
    ``<rocks_db_path>/l1-state.json``; anvil loads that file and dumps into it every 5 s and on
    exit (``--state``), so a restarted dev node finds the L1 it left — a deposit made in one run
    is not forgotten by L1 while L2 remembers its priority id.
    """
    parts = urlsplit(config.general.l1_rpc_url)
    seed = config.dev.l1_state_path
    state = os.path.join(config.general.rocks_db_path, DEV_L1_STATE_FILE)
    if not os.path.exists(state):
        os.makedirs(config.general.rocks_db_path, exist_ok=True)
        if os.path.exists(seed):
            shutil.copyfile(seed, state)
        else:
            log.warn("{seed} not found: anvil starts with an empty L1 state", seed=seed)
    return AnvilService(
        reactor,
        find_anvil(config.dev.anvil_path),
        # anvil takes an IP address only.
        {"localhost": "127.0.0.1"}.get(parts.hostname or "", parts.hostname or "127.0.0.1"),
        parts.port or 8545,
        None,
        http_client,
        extra_args=("--state", state, "--state-interval", "5"),
    )


def no_batch_store(batch_number: int) -> int | None:
    """``last_block_of_batch`` until the batch store exists: only batch 0 maps (to block 0).

    TODO(#11): replace with the batch store's lookup (``zkos_tw/batcher/batch_store.py``, being
    written). Until then no batch maps to a block, so ``safe`` and ``finalized`` stay at the
    genesis block 0: nothing this node produced is known to be on L1 (``docs/rpc.md``).
    """
    return 0 if batch_number == 0 else None


class L1Side(Service):
    """The main node's L1: the client, what discovery found, the priority-tx watcher, the L1
    senders and the batch watcher.

    Start-up steps: ``discover`` (reference §7.1; an unreachable L1 or an unregistered chain is
    a one-line start-up failure), ``prepare_senders`` (§7.2; an operator without funds is a
    one-line start-up failure), then ``follow`` (the genesis upgrade transaction for block 1,
    §7.6, and the watcher from the chain's next priority id, §7.3) and ``follow_batches``
    (§7.5: ``safe`` / ``finalized`` from the L1 batch events). Afterwards L1 trouble only shows
    on the health endpoint — an unreachable L1, a stopped sender stage; a malformed event or a
    gap in priority ids stops the node.
    """

    name = "l1"

    def __init__(
        self, config: NodeConfig, reactor, status: NodeStatus, client_factory=None, registry=None
    ):
        self._config = config
        registry = registry or CollectorRegistry()
        self._watcher_metrics = L1WatcherMetrics(registry)
        #: The pipeline's stage metrics (§5.6) and the senders'; the batcher and provers share it.
        self.pipeline_metrics = L1SenderMetrics(registry)
        self._progress_metrics = BatchProgressMetrics(registry)
        self._reactor = reactor
        self._status = status
        self.health = L1Health(reactor)
        status.add_problem_source(self.health)
        factory = client_factory or create_l1_client
        self.client = factory(config.general.l1_rpc_url, reactor, health=self.health)
        self.state: L1State | None = None
        self.queue: L1TransactionQueue | None = None
        self.senders = None
        self.batch_progress: BatchProgress | None = None

    async def discover(self) -> None:
        config = self._config
        bridgehub = bytes.fromhex(config.genesis.bridgehub_address[2:])
        try:
            self.state = await discover_l1_state(self.client, bridgehub, config.genesis.chain_id)
        except (L1Error, L1DiscoveryError) as e:
            raise StartupError(f"L1 at {config.general.l1_rpc_url}: {e}") from None
        log.info("L1: {state}", state=json.dumps(self.state.as_json()))

    async def follow(self, node, chain) -> None:
        """Make the queue the sequencer takes L1 transactions from, and start the watcher."""
        tip = ChainTip.load(chain.storage)
        self.queue = L1TransactionQueue(next_priority_id=tip.next_priority_id)
        upgrade = None
        if tip.number == 0:
            try:
                upgrade = await fetch_genesis_upgrade(self.client, self.state.diamond_proxy)
            except (L1Error, L1WatcherError) as e:
                raise StartupError(f"genesis upgrade transaction from L1: {e}") from None
        watcher = PriorityTxWatcher(
            self.client,
            self.state.diamond_proxy,
            self.queue,
            clock=self._reactor,
            poll_interval=self._config.l1_watcher.poll_interval,
            max_blocks=self._config.l1_watcher.max_blocks_to_process,
            on_fatal=self._fatal,
            metrics=self._watcher_metrics,
        )
        watcher.setServiceParent(node)
        if upgrade is not None:
            # Block 1 waits for the upgrade transaction; hand it over once the watcher has read
            # every priority transaction already on L1, so the deposits of the L1 state land
            # in block 1 with it.
            watcher.when_caught_up().addCallback(
                lambda _: self.queue.set_upgrade(upgrade.tx, upgrade.preimages())
            )

    async def prepare_senders(self, node) -> None:
        """Create the commit / prove / execute senders, check their operators (funds, chain id,
        L1 counters) and start them; ``/status/health`` shows a stopped stage."""
        senders = create_l1_senders_from_config(
            self._config, self._reactor, self.client, self.state, metrics=self.pipeline_metrics
        )
        await senders.prepare()
        for sender in senders.senders.values():
            log.info(
                "L1 {command} operator {address} ready (L1 counter {counter})",
                command=sender.command,
                address=sender.address,
                counter=sender.l1_counter,
            )
        self.senders = senders
        self._status.add_problem_source(senders)
        self._status.add_section("l1_senders", senders.stages)
        senders.setServiceParent(node)

    def follow_batches(self, node, backend, last_block_of_batch=None) -> None:
        """Start the batch watcher from the counters discovery read; ``safe`` / ``finalized``
        of ``backend`` follow it through ``last_block_of_batch`` (the batch store)."""
        state = self.state
        progress = BatchProgress(
            state.last_committed_batch,
            state.last_verified_batch,
            state.last_executed_batch,
            last_block_of_batch=last_block_of_batch or no_batch_store,
        )
        progress.add_listener(self._progress_metrics.update)
        self._progress_metrics.update(progress)
        BatchProgressWatcher(
            self.client,
            state.diamond_proxy,
            progress,
            clock=self._reactor,
            poll_interval=self._config.l1_watcher.poll_interval,
            max_blocks=self._config.l1_watcher.max_blocks_to_process,
        ).setServiceParent(node)
        backend.set_batch_progress(progress)
        gateway = getattr(backend, "workers_gateway", None)
        if gateway is not None:
            # safe / finalized moved: the workers answer them from HEAD pushes.
            progress.add_listener(gateway.block_stored)
            gateway.block_stored(None)  # the workers follow L1 batches from now on
        self.batch_progress = progress
        self._status.add_section("l1_batches", progress.as_json)

    def stopService(self):
        super().stopService()
        return self.client.close()

    def _fatal(self, error: Exception) -> None:
        log.critical("stopping: the L1 watcher cannot go on: {error}", error=str(error))
        if self._reactor.running:
            self._reactor.stop()


def create_node_from_config(
    config: NodeConfig,
    reactor,
    *,
    _registry: CollectorRegistry | None = None,
    _http_client=None,
    _anvil_factory=None,
    _open_chain=None,
    _l1_client_factory=None,
    _last_block_of_batch=None,
) -> NodeService:
    """The node's ``MultiService``: metrics and health servers, the dev L1, the launcher.

    ``_last_block_of_batch(n) -> int | None`` maps L1 batches to blocks for ``safe`` /
    ``finalized`` (default: ``no_batch_store``)."""
    registry = create_registry() if _registry is None else _registry
    status = NodeStatus(config.role)
    node = NodeService(
        config, status, registry, logs.observer_for(config.log.format, config.log.use_color)
    )
    metrics = NodeMetrics(
        registry, config.role, config.genesis.chain_id, config.sequencer.fee_collector_address
    )

    metrics_endpoint = serverFromString(reactor, f"tcp:{config.general.prometheus_port}")
    StreamServerEndpointService(metrics_endpoint, metrics_site(registry)).setServiceParent(node)
    status_endpoint = serverFromString(reactor, config.status_server.address)
    StreamServerEndpointService(status_endpoint, status_site(status, reactor)).setServiceParent(
        node
    )

    launcher = Launcher(
        reactor,
        status,
        [],
        known_errors=(StartupError, AnvilError),
        on_started=lambda seconds: metrics.startup_time.labels(stage="total").set(seconds),
    )
    if config.dev_mode:
        if _http_client is None:
            import treq

            _http_client = treq
        factory = _anvil_factory or _anvil_from_config
        try:
            anvil = factory(config, reactor, _http_client)
        except AnvilError as e:
            raise StartupError(str(e)) from None
        anvil.setServiceParent(node)
        launcher.add_step("L1 (anvil) answers", anvil.ready)
    chain_service = ChainService(config, status, _open_chain or open_chain)
    chain_service.setServiceParent(node)
    launcher.add_step("chain data and genesis", chain_service.open)
    l1 = L1Side(config, reactor, status, _l1_client_factory, registry)
    l1.setServiceParent(node)
    launcher.add_step("L1 discovery", l1.discover)
    if config.role == "external_node":
        if _http_client is None:
            import treq

            _http_client = treq

        async def start_follower() -> None:
            await l1.follow(node, chain_service.chain)
            start_external_node(
                config, reactor, node, chain_service.chain, status, registry, l1, _http_client
            )
            if config.batch_verification.client_enabled:
                await start_batch_signer(
                    config, reactor, node, chain_service.chain, l1, status, registry
                )

        launcher.add_step("L1 watcher, replay from the main node and JSON-RPC", start_follower)
        launcher.setServiceParent(node)
        return node
    if config.l1_sender.enabled:
        launcher.add_step("L1 senders (operators funded)", lambda: l1.prepare_senders(node))

    async def start_sequencer_and_rpc() -> None:
        await l1.follow(node, chain_service.chain)
        _, backend, sink = start_main_node(
            config, reactor, node, chain_service.chain, status, registry, l1_queue=l1.queue
        )
        last_block_of_batch = _last_block_of_batch
        if l1.senders is not None:
            collector = None
            if config.batch_verification.server_enabled:
                collector = await start_signature_collector(
                    config, reactor, node, l1, status, registry
                )
            pipeline = start_rollup_pipeline(
                config,
                reactor,
                node,
                chain_service.chain,
                sink,
                l1,
                backend,
                status,
                registry,
                collector,
            )
            last_block_of_batch = last_block_of_batch or batch_last_block(pipeline.batch_store)
        l1.follow_batches(node, backend, last_block_of_batch)

    launcher.add_step("L1 watcher, sequencer and JSON-RPC", start_sequencer_and_rpc)
    launcher.setServiceParent(node)
    return node
