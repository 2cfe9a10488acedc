"""Where workers listen (``rpc_address`` endpoints) and when the node runs them."""

from __future__ import annotations

import os
import socket

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.config import load_config
from zkos_tw.launcher import StartupError
from zkos_tw.node import rpc_workers_wanted
from zkos_tw.workers.supervisor import listening_socket, parse_tcp_endpoint


class EndpointTests(SynchronousTestCase):
    def test_tcp_endpoints(self):
        self.assertEqual(parse_tcp_endpoint("tcp:3050"), (socket.AF_INET, "0.0.0.0", 3050))
        self.assertEqual(
            parse_tcp_endpoint("tcp:3050:interface=127.0.0.1"),
            (socket.AF_INET, "127.0.0.1", 3050),
        )
        self.assertEqual(
            parse_tcp_endpoint("tcp6:port=3050:interface=\\:\\:1"), (socket.AF_INET6, "::1", 3050)
        )

    def test_other_endpoints_refused(self):
        with self.assertRaises(ValueError) as ctx:
            parse_tcp_endpoint("unix:/tmp/rpc.sock")
        self.assertIn("tcp rpc_address", str(ctx.exception))

    def test_listening_socket(self):
        sock = listening_socket("tcp:0:interface=127.0.0.1")
        self.addCleanup(sock.close)
        self.assertEqual(sock.getsockname()[0], "127.0.0.1")
        self.assertFalse(sock.getblocking())


class WantedTests(SynchronousTestCase):
    def test_defaults(self):
        """Unset: one per core but one (at least 1) on a main node, none with --dev."""
        self.assertEqual(load_config({}).rpc.worker_count(False), max(1, (os.cpu_count() or 1) - 1))
        self.assertEqual(load_config({}, dev_mode=True).rpc.worker_count(True), 0)
        self.assertEqual(load_config({"rpc_workers": "3"}, dev_mode=True).rpc.worker_count(True), 3)
        self.assertFalse(rpc_workers_wanted(load_config({"rpc_workers": "0"})))
        self.assertTrue(rpc_workers_wanted(load_config({"rpc_workers": "2"})))

    def test_non_tcp_address(self):
        """A UNIX rpc_address keeps the single process by default; asking for workers there
        is a one-line start-up failure."""
        config = load_config({"rpc_address": "unix:/tmp/zkos-rpc.sock"})
        self.assertFalse(rpc_workers_wanted(config))
        config = load_config({"rpc_address": "unix:/tmp/zkos-rpc.sock", "rpc_workers": "2"})
        with self.assertRaises(StartupError) as ctx:
            rpc_workers_wanted(config)
        self.assertIn("rpc_workers=2", str(ctx.exception))
