"""``nacl:`` endpoints and their endpoint-string parsers (registered in ``twisted/plugins``).

Server: ``nacl:<wrapped server endpoint>:key=<key file>:peers=<allowed-keys file>`` or
``...:allow=<hex>,<hex>``; client: ``nacl:<wrapped client endpoint>:key=<key file>:server=<hex>``.
The wrapped endpoint is itself an endpoint string with its colons escaped (``tcp\\:3053``,
``tcp\\:host\\:3053``, ``unix\\:/run/zkos.sock``). Optional ``timeout=<seconds>`` bounds the
handshake (default 10).
"""

from __future__ import annotations

from twisted.internet import endpoints, interfaces
from twisted.plugin import IPlugin
from zope.interface import implementer

from zkos_tw.transports import keys
from zkos_tw.transports.nacl import HANDSHAKE_TIMEOUT, NaclFactory


@implementer(interfaces.IStreamServerEndpoint)
class NaclServerEndpoint:
    """Listens on ``wrapped``; every accepted connection runs the ``nacl:`` handshake first."""

    def __init__(self, wrapped, key, allowed, *, clock=None, handshake_timeout=HANDSHAKE_TIMEOUT):
        self._wrapped = wrapped
        self._key = key
        self._allowed = frozenset(allowed)
        self._clock = clock
        self._timeout = handshake_timeout

    def listen(self, protocolFactory):
        """Listen with ``protocolFactory`` wrapped in a server-side ``NaclFactory``."""
        factory = NaclFactory(
            protocolFactory,
            self._key,
            is_client=False,
            allowed=self._allowed,
            clock=self._clock,
            handshake_timeout=self._timeout,
        )
        return self._wrapped.listen(factory)


@implementer(interfaces.IStreamClientEndpoint)
class NaclClientEndpoint:
    """Connects through ``wrapped``; ``connect`` fires with the inner protocol once the
    handshake has succeeded, or fails with ``NaclHandshakeError``."""

    def __init__(
        self, wrapped, key, server_key, *, clock=None, handshake_timeout=HANDSHAKE_TIMEOUT
    ):
        self._wrapped = wrapped
        self._key = key
        self._server_key = server_key
        self._clock = clock
        self._timeout = handshake_timeout

    def connect(self, protocolFactory):
        """Connect, handshake, and fire with the protocol ``protocolFactory`` built."""
        factory = NaclFactory(
            protocolFactory,
            self._key,
            is_client=True,
            server_key=self._server_key,
            clock=self._clock,
            handshake_timeout=self._timeout,
        )
        return self._wrapped.connect(factory).addCallback(lambda wrapper: wrapper.handshake)


def _one(args, kwargs, prefix):
    if len(args) != 1:
        raise ValueError(
            f"{prefix}: expected one wrapped endpoint string, e.g. nacl:tcp\\:3053:..., "
            f"got {len(args)} positional arguments"
        )
    if "key" not in kwargs:
        raise ValueError(f"{prefix}: key=<key file> is required")
    timeout = float(kwargs.pop("timeout", HANDSHAKE_TIMEOUT))
    return args[0], timeout


@implementer(IPlugin, interfaces.IStreamServerEndpointStringParser)
class NaclServerParser:
    """``nacl:<wrapped>:key=PATH:peers=PATH`` or ``:allow=HEX,HEX``."""

    prefix = "nacl"

    def parseStreamServer(self, reactor, *args, **kwargs):
        """Build a ``NaclServerEndpoint``; a bad key file or key raises ``ValueError``."""
        wrapped, timeout = _one(args, kwargs, "nacl server")
        allowed: set[bytes] = set()
        if "peers" in kwargs:
            allowed |= keys.read_allowed_keys(kwargs.pop("peers"))
        if "allow" in kwargs:
            allowed |= keys.parse_allowed_keys(kwargs.pop("allow").replace(",", "\n"), "allow=")
        key = keys.read_key_file(kwargs.pop("key"))
        if kwargs:
            raise ValueError(f"nacl server: unknown options {sorted(kwargs)}")
        if not allowed:
            raise ValueError("nacl server: no allowed client keys (give peers=PATH or allow=HEX)")
        return NaclServerEndpoint(
            endpoints.serverFromString(reactor, wrapped),
            key,
            allowed,
            clock=reactor,
            handshake_timeout=timeout,
        )


@implementer(IPlugin, interfaces.IStreamClientEndpointStringParserWithReactor)
class NaclClientParser:
    """``nacl:<wrapped>:key=PATH:server=HEX``."""

    prefix = "nacl"

    def parseStreamClient(self, reactor, *args, **kwargs):
        """Build a ``NaclClientEndpoint``; a bad key file or key raises ``ValueError``."""
        wrapped, timeout = _one(args, kwargs, "nacl client")
        if "server" not in kwargs:
            raise ValueError("nacl client: server=<server public key hex> is required")
        server_key = keys.parse_public_key(kwargs.pop("server"), "server=")
        key = keys.read_key_file(kwargs.pop("key"))
        if kwargs:
            raise ValueError(f"nacl client: unknown options {sorted(kwargs)}")
        return NaclClientEndpoint(
            endpoints.clientFromString(reactor, wrapped),
            key,
            server_key,
            clock=reactor,
            handshake_timeout=timeout,
        )
