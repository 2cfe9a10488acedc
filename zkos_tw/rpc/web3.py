"""The ``web3_`` namespace: the client version and keccak-256."""

from __future__ import annotations

from eth_utils import keccak

from zkos_tw.rpc.codec import data
from zkos_tw.rpc.methods import rpc_method

# The reference answers "zksync-os/v0.8.0" (its crate version); we answer in that format with
# our name and version: "zkos-tw/v0.1.0".
CLIENT_NAME = "zkos-tw"


class Web3Namespace:
    """Handlers of ``web3_clientVersion`` and ``web3_sha3``."""

    def __init__(self, version: str):
        self.version = version

    @rpc_method("web3_clientVersion")
    def client_version(self):
        return f"{CLIENT_NAME}/v{self.version}"

    @rpc_method("web3_sha3", "data")
    def sha3(self, payload):
        return data(keccak(payload))
