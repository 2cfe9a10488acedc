"""The ``zks_`` namespace: the Bridgehub address, the genesis input (for external nodes), and the
batch methods.

Batch methods (docs/rpc.md "Batches"): ``zks_getL1BatchNumber``, ``zks_getL1BatchBlockRange``,
``zks_getL1BatchDetails``, ``zks_getBlockDetails`` in ZKsync Era's shapes, and
``zks_getL2ToL1LogProof`` as the reference (zksync-os-server.md §3.4). The backend answers them
(``zkos_tw.sequencer.batch_queries``); this class only shapes numbers.
"""

from __future__ import annotations

from zkos_tw.rpc.codec import quantity
from zkos_tw.rpc.methods import resolve, rpc_method


class ZksNamespace:
    """Handlers of the ``zks_`` methods."""

    def __init__(self, backend):
        self.backend = backend

    @rpc_method("zks_getBridgehubContract")
    def get_bridgehub_contract(self):
        return self.backend.bridgehub_address

    @rpc_method("zks_getGenesis")
    async def get_genesis(self):
        return await resolve(self.backend.genesis())

    @rpc_method("zks_getL1BatchNumber")
    async def get_l1_batch_number(self):
        return quantity(await resolve(self.backend.l1_batch_number()))

    @rpc_method("zks_getL1BatchBlockRange", "u32")
    async def get_l1_batch_block_range(self, number):
        found = await resolve(self.backend.l1_batch_block_range(number))
        return None if found is None else [quantity(n) for n in found]

    @rpc_method("zks_getL1BatchDetails", "u32")
    async def get_l1_batch_details(self, number):
        return await resolve(self.backend.l1_batch_details(number))

    @rpc_method("zks_getBlockDetails", "u32")
    async def get_block_details(self, number):
        return await resolve(self.backend.block_details(number))

    @rpc_method("zks_getL2ToL1LogProof", "hash32", "u64", required=1)
    async def get_l2_to_l1_log_proof(self, tx_hash, index):
        return await resolve(self.backend.l2_to_l1_log_proof(tx_hash, index or 0))
