"""Node-to-node transports: endpoint-string plugins that carry any Twisted protocol.

``nacl:`` (``nacl.py`` for the wire format and state machine, ``endpoints.py`` for the endpoints
and their string parsers, ``keys.py`` for key files) is an authenticated, encrypted transport
keyed by Ed25519 node keys. See ``docs/transports.md``.
"""
