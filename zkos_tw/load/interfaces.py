"""The load generator's seam: what sends its HTTP bodies (``HttpPool``, ``TreqPoster``, and the
in-memory chain of the tests)."""

from zope.interface import Interface


class IPoster(Interface):
    """Sends HTTP POST bodies to one JSON-RPC endpoint over kept-open connections.

    (The load generator's seam; it belongs in ``zkos_tw/interfaces.py`` once the lead moves it.)
    """

    def post(body):
        """POST ``body`` (bytes); a Deferred firing with ``(status, response body)``, or failing
        with ``zkos_tw.load.http.HttpError`` (connection refused or lost, not HTTP)."""

    def close():
        """Close the connections; a Deferred that fires when they are gone."""
