"""Tests for ``zkos_tw.config``: layers, names, errors, and the frozen result."""

import dataclasses
import os

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.config import (
    PARAMETERS,
    ConfigError,
    NodeConfig,
    load_config,
    looks_like_ours,
    validate,
)


class DefaultsTests(SynchronousTestCase):
    """Defaults are the reference's (§2.2)."""

    def test_reference_defaults(self):
        """A sample of the reference's defaults, across groups."""
        config = load_config(environ={})
        self.assertEqual(config.general.l1_rpc_url, "http://localhost:8545")
        self.assertEqual(config.general.prometheus_port, 3312)
        self.assertEqual(config.genesis.chain_id, 270)
        self.assertEqual(config.sequencer.block_time, 0.1)
        self.assertEqual(config.sequencer.max_transactions_in_block, 1000)
        self.assertEqual(config.sequencer.block_gas_limit, 100_000_000)
        self.assertEqual(config.rpc.address, "tcp:3050:interface=0.0.0.0")
        self.assertEqual(config.rpc.stale_filter_ttl, 900.0)
        self.assertEqual(config.status_server.address, "tcp:3071:interface=0.0.0.0")
        self.assertEqual(config.prover_api.address, "tcp:3124:interface=0.0.0.0")
        self.assertEqual(config.prover_api.fake_fri_provers_compute_time, 2.0)
        self.assertEqual(config.batcher.blocks_per_batch_limit, 10)
        self.assertEqual(config.l1_watcher.max_blocks_to_process, 100)
        self.assertIsNone(config.mempool.max_pending_txs)
        self.assertEqual(config.role, "main_node")

    def test_every_default_round_trips(self):
        """Each parameter's default, written as a user would, parses back to the default."""
        for p in PARAMETERS.values():
            if p.default is None:
                continue
            self.assertEqual(p.parser(p.default_text), p.default, p.name)
            self.assertTrue(p.help, f"{p.name} has no help text")
            self.assertTrue(p.expected, f"{p.name}'s parser has no docstring")

    def test_frozen(self):
        """The configuration objects are immutable."""
        config = load_config(environ={})
        with self.assertRaises(dataclasses.FrozenInstanceError):
            config.sequencer.block_time = 1.0
        with self.assertRaises(dataclasses.FrozenInstanceError):
            config.dev_mode = True


class EnvironmentTests(SynchronousTestCase):
    """The environment layer."""

    def test_either_case(self):
        """Lower- and upper-case names both work."""
        self.assertEqual(load_config({"sequencer_block_time": "250ms"}).sequencer.block_time, 0.25)
        self.assertEqual(load_config({"SEQUENCER_BLOCK_TIME": "2s"}).sequencer.block_time, 2.0)

    def test_alias(self):
        """l1_sender_operator_private_key sets the commit key."""
        key = "0x" + "11" * 32
        config = load_config({"l1_sender_operator_private_key": key})
        self.assertEqual(config.l1_sender.operator_commit_pk, key)

    def test_bad_value_names_the_variable(self):
        """A malformed value gives one line with the name, the value and what was expected."""
        with self.assertRaises(ConfigError) as ctx:
            load_config({"rpc_max_connections": "many"})
        message = str(ctx.exception)
        self.assertEqual(message.count("\n"), 0)
        self.assertIn("rpc_max_connections='many'", message)
        self.assertIn("expected a whole number", message)

    def test_unknown_ours_refused(self):
        """A variable in one of our namespaces that matches nothing stops start-up."""
        for name in ("sequencer_blocktime", "RPC_ADRESS", "zkos_turbo", "l1_sender_foo"):
            with self.assertRaises(ConfigError) as ctx:
                load_config({name: "1"})
            self.assertIn(name, str(ctx.exception))

    def test_foreign_ignored(self):
        """Variables outside our namespaces (PATH, HOME, ...) and our known ones are ignored."""
        config = load_config(
            {"PATH": "/bin", "HOME": "/root", "ZKOS_NO_EXTENSIONS": "1", "LOGNAME": "x"}
        )
        self.assertEqual(config, NodeConfig())

    def test_optional_empty_is_unset(self):
        """An empty value for an optional parameter means unset."""
        config = load_config({"sequencer_base_fee_override": ""})
        self.assertIsNone(config.sequencer.base_fee_override)

    def test_looks_like_ours(self):
        """Group prefixes and zkos_ are ours; other names are not."""
        self.assertTrue(looks_like_ours("prover_api_x"))
        self.assertTrue(looks_like_ours("ZKOS_X"))
        self.assertFalse(looks_like_ours("PYTHONPATH"))
        self.assertFalse(looks_like_ours("logname"))


class LayerTests(SynchronousTestCase):
    """Later layers override earlier ones: defaults, environment, file, options."""

    def write(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_file_flat_and_tables(self):
        """Both flat keys and [group] tables are read, with TOML types."""
        path = self.write(
            'sequencer_block_time = "300ms"\n'
            "[rpc]\nmax_connections = 7\n"
            "[prover_api]\nfake_fri_provers_enabled = false\n"
        )
        config = load_config({}, config_file=path)
        self.assertEqual(config.sequencer.block_time, 0.3)
        self.assertEqual(config.rpc.max_connections, 7)
        self.assertFalse(config.prover_api.fake_fri_provers_enabled)

    def test_precedence(self):
        """Options beat the file, the file beats the environment."""
        path = self.write('sequencer_block_time = "300ms"\nrpc_max_connections = 5\n')
        config = load_config(
            {
                "sequencer_block_time": "1s",
                "rpc_max_connections": "3",
                "batcher_batch_timeout": "2s",
            },
            config_file=path,
            options={"sequencer_block_time": "50ms", "rpc_max_connections": None},
        )
        self.assertEqual(config.sequencer.block_time, 0.05)
        self.assertEqual(config.rpc.max_connections, 5)
        self.assertEqual(config.batcher.batch_timeout, 2.0)

    def test_file_errors(self):
        """Unreadable, invalid, unknown-key and bad-value files each give one clear line."""
        cases = [
            (os.path.join(self.mktemp(), "missing.toml"), "cannot read it"),
            (self.write("this is = = not toml"), "not valid TOML"),
            (self.write("rpc_nope = 1\n"), "unknown setting rpc_nope"),
            (self.write("[nope]\nx = 1\n"), "unknown section [nope]"),
            (self.write('[rpc]\nmax_connections = "lots"\n'), "rpc_max_connections='lots'"),
        ]
        for path, expected in cases:
            with self.assertRaises(ConfigError) as ctx:
                load_config({}, config_file=path)
            self.assertIn(expected, str(ctx.exception))
            self.assertNotIn("\n", str(ctx.exception))

    def test_option_error(self):
        """A bad option value names the option."""
        with self.assertRaises(ConfigError) as ctx:
            load_config({}, options={"rpc_address": "nowhere"})
        self.assertIn("--rpc-address", str(ctx.exception))


class ValidateTests(SynchronousTestCase):
    """Checks across parameters."""

    def test_external_node_needs_main_node_url(self):
        """Setting a replay download address makes an EN, which needs the main node's RPC."""
        config = load_config({"sequencer_block_replay_download_address": "localhost:3053"})
        self.assertEqual(config.role, "external_node")
        self.assertRaises(ConfigError, validate, config)
        config = load_config(
            {
                "sequencer_block_replay_download_address": "localhost:3053",
                "general_main_node_rpc_url": "http://localhost:3050",
            }
        )
        self.assertIs(validate(config), config)

    def test_dev_needs_local_l1(self):
        """--dev starts anvil here, so the L1 URL must be local."""
        config = load_config({"general_l1_rpc_url": "http://10.1.2.3:8545"}, dev_mode=True)
        self.assertRaises(ConfigError, validate, config)
        self.assertIs(validate(load_config({}, dev_mode=True)).dev_mode, True)

    def test_zkstack_dir_refused(self):
        """The zkstack folder import is not supported and says so."""
        config = load_config({"general_zkstack_cli_config_dir": "/chains/era"})
        with self.assertRaises(ConfigError) as ctx:
            validate(config)
        self.assertIn("not supported", str(ctx.exception))


class DocsTests(SynchronousTestCase):
    """docs/configuration.md is generated from the parameters and must stay in sync."""

    def test_reference_table_in_sync(self):
        """The committed table equals `zkosctl config --markdown`."""
        from tests.fixtures import REPO_ROOT
        from zkos_tw.cli.config import markdown

        with open(os.path.join(REPO_ROOT, "docs", "configuration.md")) as f:
            committed = f.read()
        self.assertEqual(
            committed, markdown(), "run `zkosctl config --markdown > docs/configuration.md`"
        )
