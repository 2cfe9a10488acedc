"""The ``net_`` namespace (reference §3.4): ``net_version`` is the chain id as a hex quantity
(the reference's quirk, kept: ``"0x10e"``), the node listens and has no peers."""

from __future__ import annotations

from zkos_tw.rpc.codec import quantity
from zkos_tw.rpc.methods import rpc_method


class NetNamespace:
    """Handlers of ``net_version``, ``net_listening`` and ``net_peerCount``."""

    def __init__(self, backend):
        self.backend = backend

    @rpc_method("net_version")
    def version(self):
        return quantity(self.backend.chain_id)

    @rpc_method("net_listening")
    def listening(self):
        return True

    @rpc_method("net_peerCount")
    def peer_count(self):
        return quantity(0)
