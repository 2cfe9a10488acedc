"""An RPC worker process: ``python -m zkos_tw.rpc.worker SETTINGS_JSON``.

Started by the node (``zkos_tw.workers.supervisor``), never by hand. It inherits two file
descriptors: ``LISTEN_FD`` (3), the node's listening socket on ``rpc_address``, shared by every
worker (the kernel hands each new connection to one of them), and ``LINK_FD`` (4), its end of a
socketpair to the sequencer process. It serves the whole JSON-RPC API (HTTP and WebSocket) over
storage opened read-only and a ``WorkerBackend``; when the link closes (the node stopped or
died) it stops. Log lines go to stdout, which the node relays into its own log.
"""

from __future__ import annotations

import gc
import json
import socket
import sys

from prometheus_client import CollectorRegistry
from twisted.internet.protocol import Factory
from twisted.logger import Logger, formatEvent, globalLogBeginner

LISTEN_FD = 3
LINK_FD = 4
#: The HTTP answer header naming the worker that answered (its index).
WORKER_HEADER = b"x-zkos-rpc-worker"

log = Logger()


def _stdout_observer(event) -> None:
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text += "\n" + failure.getTraceback()
    level = event.get("log_level")
    sys.stdout.write(f"{level.name if level else 'info'}: {text}\n")
    sys.stdout.flush()


class _OneProtocol(Factory):
    """A factory handing out one ready-made protocol (the adopted link)."""

    def __init__(self, protocol):
        self.protocol_instance = protocol

    def buildProtocol(self, addr):
        return self.protocol_instance


def run(settings: dict, reactor) -> None:
    """Build the worker over ``reactor`` from the supervisor's ``settings`` and run it."""
    import lmdb

    from zkos_tw.batcher.batch_store import LMDBBatchStore
    from zkos_tw.config import RpcConfig
    from zkos_tw.rpc.server import ConnectionLimit, build_rpc
    from zkos_tw.storage import LMDBStorage
    from zkos_tw.workers.backend import WorkerBackend
    from zkos_tw.workers.filters import WorkerFilterRegistry
    from zkos_tw.workers.link import SequencerLink
    from zkos_tw.workers.metrics import PUSH_INTERVAL, MetricsPush

    rpc_config = RpcConfig(**settings["rpc"])
    storage = LMDBStorage(settings["data_dir"], readonly=True)

    def link_lost() -> None:
        log.info("the link to the sequencer closed: stopping")
        if reactor.running:
            reactor.stop()

    link = SequencerLink(reactor, on_lost=link_lost)
    reactor.adoptStreamConnection(LINK_FD, socket.AF_UNIX, _OneProtocol(link))
    batch_store = []

    def open_batch_store():
        try:
            batch_store.append(LMDBBatchStore(settings["data_dir"], readonly=True))
        except lmdb.Error as e:
            log.debug("no batch store to read yet ({error})", error=str(e))
            return None
        return batch_store[0]

    with open(settings["genesis_input_path"], "rb") as f:
        genesis_document = json.load(f)
    forward = None
    if settings.get("main_node_rpc_url"):
        # An external node: eth_sendRawTransaction goes to the main node from here.
        forward = _main_node_rpc(reactor, settings["main_node_rpc_url"]).send_raw_transaction
    backend = WorkerBackend(
        storage=storage,
        link=link,
        block_gas_limit=settings["block_gas_limit"],
        max_input_bytes=settings["max_input_bytes"],
        genesis_document=genesis_document,
        chain_id=settings["chain_id"],
        bridgehub_address=settings["bridgehub_address"],
        eth_call_gas=rpc_config.eth_call_gas,
        max_concurrent_traces=rpc_config.max_concurrent_traces,
        next_base_fee=settings["next_base_fee"],
        next_gas_limit=settings["next_gas_limit"],
        now=reactor.seconds,
        open_batch_store=open_batch_store if settings.get("batch_store", True) else None,
        forward_transactions=forward,
    )
    # The RPC metrics go to the node (METRICS frames), which exports them with a worker label.
    registry = CollectorRegistry(auto_describe=True)
    index = settings["index"]
    site, filters, _ = build_rpc(
        rpc_config,
        backend,
        reactor,
        registry,
        extra_headers={WORKER_HEADER: str(index).encode()},
        filter_registry=lambda *a, **kw: WorkerFilterRegistry(*a, index=index, link=link, **kw),
    )
    factory = ConnectionLimit(site, settings["max_connections"])
    filters.start()
    metrics = MetricsPush(registry, link, reactor, settings.get("metrics_interval", PUSH_INTERVAL))
    metrics.start()
    reactor.addSystemEventTrigger("before", "shutdown", metrics.stop)
    reactor.adoptStreamPort(LISTEN_FD, settings["family"], factory)
    reactor.addSystemEventTrigger("before", "shutdown", filters.stop)
    reactor.addSystemEventTrigger("after", "shutdown", storage.close)
    reactor.addSystemEventTrigger(
        "after", "shutdown", lambda: [store.close() for store in batch_store]
    )
    log.info("RPC worker {index} serving", index=settings["index"])
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    reactor.run()


def _main_node_rpc(reactor, url: str):
    """The external node's client of the main node's JSON-RPC (persistent connections)."""
    from treq.client import HTTPClient
    from twisted.web.client import Agent, HTTPConnectionPool

    from zkos_tw.l1.client import _QuietClientFactory
    from zkos_tw.replay.main_node_rpc import MainNodeRpc

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 16
    pool._factory = _QuietClientFactory  # no "Starting factory" line per connection
    return MainNodeRpc(HTTPClient(Agent(reactor, pool=pool)), url)


def main(argv: list[str]) -> int:
    globalLogBeginner.beginLoggingTo([_stdout_observer], redirectStandardIO=False)
    settings = json.loads(argv[1])
    from twisted.internet import reactor

    run(settings, reactor)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
