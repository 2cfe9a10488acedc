"""Unit tests for ``zkos_tw.devnet.anvil`` with a fake process and StubTreq (no real anvil)."""

import json
import os
import stat

from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource

from zkos_tw.devnet.anvil import AnvilError, AnvilService, find_anvil


class FakeProcessTransport:
    """Records signals; ``end()`` reports the process gone."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.signals = []

    def signalProcess(self, name):
        self.signals.append(name)

    def end(self, code=0):
        reason = ProcessDone(0) if code == 0 else ProcessTerminated(code)
        self.protocol.processEnded(Failure(reason))


class ProcessReactor(MemoryReactorClock):
    """A memory reactor with spawnProcess."""

    def __init__(self):
        super().__init__()
        self.spawned = []

    def spawnProcess(self, protocol, executable, args, env=None, **kwargs):
        transport = FakeProcessTransport(protocol)
        protocol.makeConnection(transport)
        self.spawned.append((executable, args, env, transport))
        return transport


class ChainId(Resource):
    """A JSON-RPC endpoint that answers eth_chainId once ``ready`` is set."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.ready = False

    def render_POST(self, request):
        request_id = json.loads(request.content.read())["id"]
        if not self.ready:
            return json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {"code": -32000, "message": "starting"},
                }
            ).encode()
        return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": "0x7a69"}).encode()


class AnvilServiceTests(TestCase):
    """Start, readiness, and stop of the anvil child."""

    def setUp(self):
        self.reactor = ProcessReactor()
        self.rpc = ChainId()
        self.service = AnvilService(
            self.reactor,
            "/opt/anvil",
            "127.0.0.1",
            18545,
            "/state.json",
            StubTreq(self.rpc),
            startup_timeout=5,
        )

    def test_command(self):
        """anvil runs through the die-with-parent wrapper with host, port and state."""
        argv = self.service.command()
        self.assertEqual(argv[1:3], ["-m", "zkos_tw.devnet.child"])
        self.assertEqual(
            argv[3:],
            ["/opt/anvil", "--host", "127.0.0.1", "--port", "18545", "--load-state", "/state.json"],
        )

    def test_ready_when_it_answers(self):
        """ready() polls until eth_chainId answers."""
        self.service.startService()
        d = defer.ensureDeferred(self.service.ready())
        self.reactor.advance(0.1)
        self.assertNoResult(d)
        self.rpc.ready = True
        self.reactor.advance(0.1)
        self.successResultOf(d)

    def test_exit_during_start(self):
        """If anvil exits while starting, ready() fails with its exit code and last line."""
        self.service.startService()
        d = defer.ensureDeferred(self.service.ready())
        transport = self.reactor.spawned[0][3]
        transport.protocol.errReceived(b"Error: address already in use\n")
        transport.end(1)
        self.reactor.advance(0.1)
        failure = self.failureResultOf(d, AnvilError)
        self.assertIn("code 1", str(failure.value))
        self.assertIn("address already in use", str(failure.value))

    def test_timeout(self):
        """A silent anvil fails ready() after the start-up timeout."""
        self.service.startService()
        d = defer.ensureDeferred(self.service.ready())
        for _ in range(60):
            self.reactor.advance(0.1)
        self.assertIn("did not answer", str(self.failureResultOf(d, AnvilError).value))

    def test_stop_terms_then_kills(self):
        """stopService sends TERM, KILL after the grace period, and waits for the exit."""
        self.service.startService()
        transport = self.reactor.spawned[0][3]
        d = self.service.stopService()
        self.assertEqual(transport.signals, ["TERM"])
        self.assertNoResult(d)
        self.reactor.advance(5)
        self.assertEqual(transport.signals, ["TERM", "KILL"])
        transport.end(-9)
        self.successResultOf(d)

    def test_stop_after_exit(self):
        """Stopping an anvil that already exited is immediate."""
        self.service.startService()
        self.reactor.spawned[0][3].end(0)
        self.successResultOf(self.service.stopService())


class FindAnvilTests(TestCase):
    """Locating the anvil binary."""

    def make_tools(self):
        tools = self.mktemp()
        binary = os.path.join(tools, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin")
        os.makedirs(binary)
        path = os.path.join(binary, "anvil")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return tools, path

    def test_tools_dir_platform_binary(self):
        """$ZKOS_TOOLS_DIR's platform binary is used, not the node wrapper."""
        tools, path = self.make_tools()
        self.assertEqual(find_anvil(None, {"ZKOS_TOOLS_DIR": tools}), os.path.abspath(path))

    def test_configured_path(self):
        """A configured path must be executable."""
        _, path = self.make_tools()
        self.assertEqual(find_anvil(path, {}), os.path.abspath(path))
        self.assertRaises(AnvilError, find_anvil, "/nonexistent/anvil", {})

    def test_not_found(self):
        """Nothing found: the error says how to install it."""
        empty = os.path.abspath(self.mktemp())
        self.patch(os, "getcwd", lambda: empty)
        self.patch(__import__("shutil"), "which", lambda name: None)
        with self.assertRaises(AnvilError) as ctx:
            find_anvil(None, {})
        self.assertIn("make tools", str(ctx.exception))


class FromConfigTests(TestCase):
    """The anvil service a --dev node builds from its configuration."""

    def test_localhost_becomes_an_ip(self):
        """anvil takes only an IP for --host, so localhost in the L1 URL becomes 127.0.0.1."""
        from zkos_tw.config import load_config
        from zkos_tw.node import _anvil_from_config

        _, path = FindAnvilTests.make_tools(self)
        config = load_config(
            {"dev_anvil_path": path, "general_l1_rpc_url": "http://localhost:9545"}, dev_mode=True
        )
        service = _anvil_from_config(config, ProcessReactor(), object())
        self.assertEqual(service.url, "http://127.0.0.1:9545")
        self.assertEqual(service.command()[4:8], ["--host", "127.0.0.1", "--port", "9545"])
