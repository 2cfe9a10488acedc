"""Tests for ``zkos_tw.tap`` (the options of ``twistd zkos``) and ``zkos_tw.node``."""

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.testing import MemoryReactorClock
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.config import PARAMETERS, load_config
from zkos_tw.devnet.anvil import AnvilService
from zkos_tw.launcher import Launcher
from zkos_tw.metrics import create_registry
from zkos_tw.node import NodeService, create_node_from_config
from zkos_tw.tap import Options


class OptionsTests(SynchronousTestCase):
    """``twistd zkos`` options."""

    def test_help_lists_every_parameter(self):
        """--help documents every parameter with its variable name and default."""
        usage = str(Options(environ={}))
        for p in PARAMETERS.values():
            self.assertIn(f"--{p.option}=", usage)
            self.assertIn(p.name, usage)
        self.assertIn("--dev", usage)
        self.assertIn("--config=", usage)

    def test_options_override_environment(self):
        """An option wins over the environment; the result is a NodeConfig."""
        options = Options(environ={"sequencer_block_time": "1s", "rpc_max_connections": "9"})
        options.parseOptions(["--sequencer-block-time", "20ms", "--dev"])
        config = options["node_config"]
        self.assertEqual(config.sequencer.block_time, 0.02)
        self.assertEqual(config.rpc.max_connections, 9)
        self.assertTrue(config.dev_mode)

    def test_bad_environment_is_one_line(self):
        """A bad env value exits with one line naming the variable (not the usage text)."""
        options = Options(environ={"sequencer_block_time": "soon"})
        with self.assertRaises(SystemExit) as ctx:
            options.parseOptions([])
        message = str(ctx.exception.code)
        self.assertTrue(
            message.startswith("twistd zkos: environment variable sequencer_block_time")
        )
        self.assertNotIn("\n", message)

    def test_bad_option_is_one_line(self):
        """A bad option value exits with one line too."""
        with self.assertRaises(SystemExit) as ctx:
            Options(environ={}).parseOptions(["--rpc-address", "everywhere"])
        self.assertIn("--rpc-address", str(ctx.exception.code))

    def test_unknown_option(self):
        """An option that does not exist is a usage error."""
        self.assertRaises(UsageError, Options(environ={}).parseOptions, ["--turbo"])


class NodeTests(SynchronousTestCase):
    """``create_node_from_config`` wiring."""

    def test_services(self):
        """A node has the metrics and health servers and a launcher, and no anvil without --dev."""
        reactor = MemoryReactorClock()
        node = create_node_from_config(
            load_config({}), reactor, _registry=create_registry(with_process=False)
        )
        self.assertIsInstance(node, NodeService)
        children = list(node)
        servers = [s for s in children if isinstance(s, StreamServerEndpointService)]
        self.assertEqual(len(servers), 2)
        self.assertEqual(len([s for s in children if isinstance(s, Launcher)]), 1)
        self.assertEqual([s for s in children if isinstance(s, AnvilService)], [])
        node.startService()
        ports = sorted(port for port, *_ in reactor.tcpServers)
        self.assertEqual(ports, [3071, 3312])
        node.stopService()
        self.assertEqual(node.status.phase, "stopping")

    def test_dev_adds_anvil(self):
        """--dev adds an anvil service built by the (injectable) factory."""
        made = []

        def factory(config, reactor, http):
            service = AnvilService(reactor, "/bin/true", "127.0.0.1", 8545, None, http)
            made.append(service)
            return service

        node = create_node_from_config(
            load_config({}, dev_mode=True),
            MemoryReactorClock(),
            _registry=create_registry(with_process=False),
            _http_client=object(),
            _anvil_factory=factory,
        )
        self.assertEqual([s for s in node if isinstance(s, AnvilService)], made)

    def test_log_observer_component(self):
        """log_format=json puts a JSON observer on the twistd Application."""
        from twisted.application.service import Application
        from twisted.logger import ILogObserver

        node = create_node_from_config(
            load_config({"log_format": "json"}),
            MemoryReactorClock(),
            _registry=create_registry(with_process=False),
        )
        application = Application("zkos")
        node.setServiceParent(application)
        self.assertIsNotNone(application.getComponent(ILogObserver, None))
