"""Builds the node's service tree from one frozen ``NodeConfig``.

``create_node_from_config`` is the only place that knows which components a node has and how
they are wired; the underscore keyword arguments are the test seams (STYLE rule 4).
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.endpoints import serverFromString
from twisted.logger import ILogObserver, Logger
from twisted.web.server import Site

from zkos_tw import logs
from zkos_tw.chain import open_chain
from zkos_tw.config import NodeConfig
from zkos_tw.devnet.anvil import AnvilError, AnvilService, find_anvil
from zkos_tw.launcher import Launcher, StartupError
from zkos_tw.metrics import MetricsPage, NodeMetrics, create_registry
from zkos_tw.rpc import create_rpc_service
from zkos_tw.sequencer.accounts import StorageAccountReader
from zkos_tw.sequencer.backend import NodeBackend
from zkos_tw.sequencer.blocks import DEFAULT_BASE_FEE, BlockHeader
from zkos_tw.sequencer.mempool import Mempool
from zkos_tw.sequencer.service import Sequencer
from zkos_tw.sequencer.sink import BlockSink
from zkos_tw.status.node_status import NodeStatus
from zkos_tw.status.server import StatusServer

log = Logger()


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


def start_main_node(config: NodeConfig, reactor, node, chain, status, registry):
    """Add the mempool, the sequencer and the JSON-RPC server over the opened ``chain``."""
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
    backend = NodeBackend(
        chain=chain,
        mempool=mempool,
        genesis_document=genesis_document,
        chain_id=config.genesis.chain_id,
        bridgehub_address=config.genesis.bridgehub_address,
        eth_call_gas=config.rpc.eth_call_gas,
        next_base_fee=config.sequencer.base_fee_override or DEFAULT_BASE_FEE,
        next_gas_limit=config.sequencer.block_gas_limit,
    )
    sink = BlockSink(chain.storage, chain.tree)
    sink.add_listener(backend.block_stored)
    sequencer = Sequencer(
        reactor,
        config.sequencer,
        config.genesis.chain_id,
        chain,
        mempool,
        sink,
        on_sealed=lambda block: status.block_sealed(block.number, block.header.timestamp),
    )
    sequencer.setServiceParent(node)
    create_rpc_service(config.rpc, backend, reactor, registry).setServiceParent(node)
    return sequencer, backend


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
    parts = urlsplit(config.general.l1_rpc_url)
    state = config.dev.l1_state_path
    if not os.path.exists(state):
        log.warn("{state} not found: anvil starts with an empty L1 state", state=state)
        state = None
    return AnvilService(
        reactor,
        find_anvil(config.dev.anvil_path),
        # anvil takes an IP address only.
        {"localhost": "127.0.0.1"}.get(parts.hostname or "", parts.hostname or "127.0.0.1"),
        parts.port or 8545,
        state,
        http_client,
    )


def create_node_from_config(
    config: NodeConfig,
    reactor,
    *,
    _registry: CollectorRegistry | None = None,
    _http_client=None,
    _anvil_factory=None,
    _open_chain=None,
) -> NodeService:
    """The node's ``MultiService``: metrics and health servers, the dev L1, the launcher."""
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

    async def start_sequencer_and_rpc() -> None:
        if config.role != "main_node":
            # External nodes run Sequencer.replay_block on records from the main node's block
            # stream; the stream (port 3053) is the issue that follows the L1 issue (#7).
            raise StartupError("external nodes are not supported yet; run a main node")
        start_main_node(config, reactor, node, chain_service.chain, status, registry)

    launcher.add_step("sequencer and JSON-RPC", start_sequencer_and_rpc)
    # TODO(#7): L1 discovery and the priority-transaction watcher, as launcher steps.
    launcher.setServiceParent(node)
    return node
