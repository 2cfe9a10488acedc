"""The JSON-RPC server: HTTP and WebSocket on one port, over an ``IRpcBackend``.

``create_rpc_service(config, backend, reactor, registry)`` is the entry point; ``docs/rpc.md``
lists the methods, limits and error strings.
"""

from zkos_tw.rpc.server import create_rpc_service

__all__ = ["create_rpc_service"]
