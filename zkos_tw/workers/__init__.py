"""RPC worker processes (``rpc_workers``, docs/rpc-workers.md): the JSON-RPC API served by
several processes over the same LMDB environment, the sequencer process only admitting,
executing and storing (ARCHITECTURE §1).

``create_rpc_workers_from_config`` builds the two halves in the node process: the
``SequencerGateway`` (the pool's and the blocks' end of the links) and the ``RpcWorkers``
service that owns the listening socket and the processes.
"""

from __future__ import annotations

from zkos_tw.workers.frames import Head
from zkos_tw.workers.gateway import SequencerGateway
from zkos_tw.workers.supervisor import RpcWorkers


def worker_settings(config, count: int) -> dict:
    """What a worker process needs of the node's configuration (JSON)."""
    rpc = config.rpc
    external = config.role == "external_node"
    return {
        "data_dir": config.general.rocks_db_path,
        "genesis_input_path": config.genesis.genesis_input_path,
        "chain_id": config.genesis.chain_id,
        "bridgehub_address": config.genesis.bridgehub_address,
        "block_gas_limit": config.sequencer.block_gas_limit,
        "max_input_bytes": config.tx_validator.max_input_bytes,
        "next_base_fee": config.sequencer.base_fee_override or _default_base_fee(),
        "next_gas_limit": config.sequencer.block_gas_limit,
        # An external node's workers forward eth_sendRawTransaction to the main node, and it
        # keeps no batch store (no batcher).
        "main_node_rpc_url": config.general.main_node_rpc_url if external else None,
        "batch_store": not external,
        # The connection limit is the node's: each worker takes its share.
        "max_connections": max(1, rpc.max_connections // count),
        "rpc": {
            "address": rpc.address,
            "eth_call_gas": rpc.eth_call_gas,
            "max_connections": rpc.max_connections,
            "max_request_size": rpc.max_request_size,
            "max_response_size": rpc.max_response_size,
            "max_blocks_per_filter": rpc.max_blocks_per_filter,
            "max_logs_per_response": rpc.max_logs_per_response,
            "max_concurrent_traces": rpc.max_concurrent_traces,
            "stale_filter_ttl": rpc.stale_filter_ttl,
            "send_raw_transaction_wait_timeout": rpc.send_raw_transaction_wait_timeout,
            "workers": rpc.workers,
        },
    }


def _default_base_fee() -> int:
    from zkos_tw.sequencer.blocks import DEFAULT_BASE_FEE

    return DEFAULT_BASE_FEE


def create_rpc_workers_from_config(
    config, reactor, *, mempool, backend, inclusion=None, _python=None
) -> tuple[RpcWorkers, SequencerGateway]:
    """The worker service (``config.rpc.worker_count`` processes on ``rpc_address``) and the
    gateway they link to; add ``gateway.block_stored`` as a sink (and batch progress)
    listener."""
    count = config.rpc.worker_count(config.dev_mode)

    def heads() -> Head:
        progress = backend.batch_progress()
        return Head(
            backend.latest_block_number(),
            backend.safe_block_number(),
            backend.finalized_block_number(),
            None if progress is None else progress.last_committed_batch,
            None if progress is None else progress.last_executed_batch,
        )

    gateway = SequencerGateway(mempool, heads, inclusion=inclusion)
    kwargs = {} if _python is None else {"python": _python}
    service = RpcWorkers(
        reactor, count, config.rpc.address, worker_settings(config, count), gateway, **kwargs
    )
    return service, gateway


__all__ = ["RpcWorkers", "SequencerGateway", "create_rpc_workers_from_config"]
