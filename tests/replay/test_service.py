"""``create_replay_server``: the service the main node starts, from its sequencer config."""

from __future__ import annotations

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from zkos_tw.config import SequencerConfig
from zkos_tw.replay.client import create_replay_client
from zkos_tw.replay.server import ReplayServerFactory, create_replay_server

from .test_stream import Chain, Collector


class CreateReplayServerTests(TestCase):
    """The service listens on the configured endpoint and follows the sink."""

    timeout = 10

    def test_default_address(self):
        """Without configuration the server listens on tcp:3053, as the reference does."""
        from zkos_tw import config_values

        description = config_values.listen_address(SequencerConfig().block_replay_server_address)
        self.assertEqual(description, "tcp:3053:interface=0.0.0.0")

    @defer.inlineCallbacks
    def test_service_streams_and_follows_the_sink(self):
        """Started as a service, it serves the WAL, and the sink's notify wakes the stream."""
        chain = Chain()
        chain.add(2)
        config = SequencerConfig(block_replay_server_address="tcp:0:interface=127.0.0.1")
        service = create_replay_server(config, reactor, chain.storage, chain.sink)
        self.assertIsInstance(service.factory, ReplayServerFactory)
        service.startService()
        self.addCleanup(service.stopService)
        listening = defer.Deferred()
        service._waitingForPort.addCallback(lambda p: listening.callback(p) or p)
        port = yield listening
        address = f"tcp:host=127.0.0.1:port={port.getHost().port}"
        got = Collector()
        client = create_replay_client(
            SequencerConfig(block_replay_download_address=address), reactor, 0, got
        )
        client.startService()
        self.addCleanup(client.stopService)
        yield got.wait_for(2)
        chain.add(1)
        yield got.wait_for(3)
        self.assertEqual(got.numbers, [0, 1, 2])
        for session in list(service.factory.sessions):
            session.close()
