"""The ``zks_`` namespace: the Bridgehub address and the genesis input (for external nodes).

``zks_getL2ToL1LogProof`` waits on batches and the L1 sender (issue 7 and later); until then it
is not registered, so it answers -32601.
"""

from __future__ import annotations

from zkos_tw.rpc.methods import resolve, rpc_method


class ZksNamespace:
    """Handlers of ``zks_getBridgehubContract`` and ``zks_getGenesis``."""

    def __init__(self, backend):
        self.backend = backend

    @rpc_method("zks_getBridgehubContract")
    def get_bridgehub_contract(self):
        return self.backend.bridgehub_address

    @rpc_method("zks_getGenesis")
    async def get_genesis(self):
        return await resolve(self.backend.genesis())
