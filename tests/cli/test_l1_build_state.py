"""``zkosctl l1 build-state``: reproducible output, the committed zkos-l1-state.json is current and
works when anvil loads it, and bad input gets one clear line (real anvil, real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from eth_abi import decode
from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from tests.integration.node_process import require_anvil
from zkos_tw.config import GenesisConfig
from zkos_tw.genesis import load_genesis
from zkos_tw.hashing import keccak256
from zkos_tw.l1.deploy import RICH_ADDRESS, AnvilProcess, eth_call, free_port, load_artifacts

STATE = os.path.join(REPO_ROOT, "zkos-l1-state.json")
NEW_PRIORITY_REQUEST = "0x4531cd5795773d7101c17bdeb9f5ab7f47d7056017506f937083be5d6e77a382"
GENESIS_UPGRADE = "0xc5902263211386c797097c5eef7ce20567f0e13359623233314cfa01a55341da"


def zkosctl(*args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        ZKOS_TOOLS_DIR=os.environ.get("ZKOS_TOOLS_DIR") or os.path.join(REPO_ROOT, ".tools"),
    )
    # The installed zkosctl (next to the interpreter): run from the checkout, ``python -m``
    # would import the source tree, whose compiled extensions a fresh clone does not have.
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "zkosctl"), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=300,
    )


class BuildStateTests(TestCase):
    """Two builds, compared with each other and with the committed file."""

    def test_reproducible_and_current(self):
        require_anvil()
        outputs = []
        for _ in range(2):
            path = os.path.abspath(self.mktemp())
            done = zkosctl("l1", "build-state", "--output", path, "--json")
            self.assertEqual(done.returncode, 0, done.stderr)
            deployment = json.loads(done.stdout)
            with open(path, "rb") as f:
                outputs.append((f.read(), deployment))
        (first, d1), (second, d2) = outputs
        self.assertEqual(first, second, "two builds differ")
        self.assertEqual(d1, d2)
        with open(STATE, "rb") as f:
            self.assertEqual(
                f.read(), first, "zkos-l1-state.json is stale: run `zkosctl l1 build-state`"
            )
        self.assertEqual(d1["addresses"]["bridgehub"].lower(), GenesisConfig().bridgehub_address)
        self.assertEqual(d1["l2_chain_id"], 270)
        self.assertGreaterEqual(d1["deposit"]["l2_value"], 10_000 * 10**18)

    def test_text_output_prints_addresses(self):
        require_anvil()
        path = os.path.abspath(self.mktemp())
        done = zkosctl("l1", "build-state", "--output", path)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"bridgehub: {GenesisConfig().bridgehub_address}", done.stdout.lower())
        self.assertIn("zk chain (diamond proxy): 0x", done.stdout)


class BadInputTests(TestCase):
    """Each bad input: an exit code and one line naming the problem (plus a usage line for 2)."""

    def check(self, code: int, text: str, *args: str):
        done = zkosctl("l1", *args)
        self.assertEqual(done.returncode, code, done.stderr)
        lines = done.stderr.strip().splitlines()
        # A usage error (exit 2) adds the usage line.
        self.assertEqual(len(lines), 2 if code == 2 else 1, done.stderr)
        self.assertIn(text, lines[0])
        if code == 2:
            self.assertTrue(lines[1].startswith("Usage: zkosctl l1"), done.stderr)

    def test_missing_genesis(self):
        self.check(
            1, "nope.json", "build-state", "--genesis", "nope.json", "--output", self.mktemp()
        )

    def test_missing_genesis_absolute_path(self):
        """A genesis path in a missing folder: exit 1, one line naming it, no traceback."""
        self.check(
            1,
            "cannot read genesis file /missing/file",
            "build-state",
            "--genesis",
            "/missing/file",
            "--output",
            self.mktemp(),
        )

    def test_bad_anvil(self):
        self.check(
            1,
            "/nonexistent/anvil",
            "build-state",
            "--anvil",
            "/nonexistent/anvil",
            "--output",
            self.mktemp(),
        )

    def test_anvil_fails_to_start(self):
        """anvil exits at start: the line gives its exit code and last output line."""
        fake = os.path.abspath(self.mktemp())
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'Error: address already in use' >&2\nexit 3\n")
        os.chmod(fake, 0o755)
        output = os.path.abspath(self.mktemp())
        self.check(
            1,
            "anvil exited with code 3: Error: address already in use",
            "build-state",
            "--anvil",
            fake,
            "--output",
            output,
        )
        self.assertFalse(os.path.exists(output))

    def test_output_directory_missing(self):
        self.check(1, "no directory", "build-state", "--output", "/nonexistent/dir/state.json")

    def test_usage(self):
        self.check(2, "--deposit-eth must be positive", "build-state", "--deposit-eth", "0")
        self.check(
            2,
            "missing subcommand",
        )
        self.check(2, "--chain-id must be positive", "build-state", "--chain-id", "-1")
        self.check(
            2, "--snark-signers: not an address: 0x12", "build-state", "--snark-signers", "0x12"
        )


class SnarkSignersTests(TestCase):
    """``--snark-signers`` are registered with the TestnetVerifier in the built state; the
    committed state registers none."""

    def test_registered_in_state(self):
        require_anvil()
        signers = ["0x" + "51" * 20, "0x" + "a2" * 20]
        path = os.path.abspath(self.mktemp())
        done = zkosctl(
            "l1", "build-state", "--output", path, "--json", "--snark-signers", ",".join(signers)
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        deployment = json.loads(done.stdout)
        self.assertEqual([s.lower() for s in deployment["snark_signers"]], signers)
        arts = load_artifacts(os.path.join(REPO_ROOT, "contracts", "l1", "build"))
        verifier = deployment["addresses"]["verifier"]
        for state, registered in ((path, True), (STATE, False)):
            anvil = AnvilProcess(
                require_anvil(), free_port(), load_path=state, extra_args=("--silent",)
            )
            try:
                anvil.ready()
                for signer in signers:
                    self.assertEqual(
                        eth_call(anvil.rpc, arts["TestnetVerifier"], verifier, "isSnarkSigner",
                                 signer),
                        registered,
                        (state, signer),
                    )  # fmt: skip
                owner = eth_call(anvil.rpc, arts["TestnetVerifier"], verifier, "owner")
                self.assertEqual(owner.lower(), RICH_ADDRESS.lower())
            finally:
                anvil.stop()


class CommittedStateTests(TestCase):
    """anvil --load-state zkos-l1-state.json serves what the node and the quickstart need."""

    def setUp(self):
        self.anvil = AnvilProcess(
            require_anvil(), free_port(), load_path=STATE, extra_args=("--silent",)
        )
        self.addCleanup(self.anvil.stop)
        self.anvil.ready()
        self.rpc = self.anvil.rpc
        self.arts = load_artifacts(os.path.join(REPO_ROOT, "contracts", "l1", "build"))

    def test_discovery_and_logs(self):
        bridgehub = GenesisConfig().bridgehub_address
        arts, rpc = self.arts, self.rpc
        self.assertEqual(
            eth_call(rpc, arts["Bridgehub"], bridgehub, "getAllZKChainChainIDs"), (270,)
        )
        chain = eth_call(rpc, arts["Bridgehub"], bridgehub, "getZKChain", 270)
        ctm = eth_call(rpc, arts["Bridgehub"], bridgehub, "chainTypeManager", 270)
        timelock = eth_call(rpc, arts["ChainTypeManager"], ctm, "validatorTimelockPostV29")
        self.assertNotEqual(int(timelock, 16), 0)
        self.assertEqual(eth_call(rpc, arts["ZKChain"], chain, "getTotalPriorityTxs"), 1)
        self.assertEqual(eth_call(rpc, arts["ZKChain"], chain, "getTotalBatchesCommitted"), 0)
        genesis = load_genesis(os.path.join(REPO_ROOT, "genesis.json"))
        info = eth_call(rpc, arts["ZKChain"], chain, "genesisBatchInfo", genesis.genesis_root)
        from eth_abi import encode

        stored = keccak256(
            encode(
                ["(uint64,bytes32,uint64,uint256,bytes32,bytes32,bytes32,uint256,bytes32)"], [info]
            )
        )
        self.assertEqual(eth_call(rpc, arts["ZKChain"], chain, "storedBatchHash", 0), stored)

        logs = rpc.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": chain})
        topics = [log["topics"][0] for log in logs]
        self.assertEqual(topics.count(GENESIS_UPGRADE), 1)
        (deposit,) = [log for log in logs if log["topics"][0] == NEW_PRIORITY_REQUEST]
        tx_id, tx_hash = decode(["uint256", "bytes32"], bytes.fromhex(deposit["data"][2 : 66 + 64]))
        self.assertEqual(tx_id, 0)
        self.assertEqual(eth_call(rpc, arts["ZKChain"], chain, "getPriorityTxHash", 0), tx_hash)

    def test_operators_funded(self):
        from zkos_tw.l1.deploy import operator_addresses

        for role, address in operator_addresses().items():
            balance = int(self.rpc.call("eth_getBalance", address, "latest"), 16)
            self.assertEqual(balance, 100 * 10**18, role)
        rich = int(self.rpc.call("eth_getBalance", RICH_ADDRESS, "latest"), 16)
        self.assertGreater(rich, 80_000 * 10**18)


class BuildStateProgressTests(TestCase):
    """The progress line (transactions done / total) on a terminal stderr, none with --json."""

    def run_with_tty_stderr(self, *argv):
        import io

        from tests.cli.test_progress import TTY
        from zkos_tw.cli import main as cli_main

        require_anvil()
        out, err = io.StringIO(), TTY()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        output = os.path.abspath(self.mktemp())
        self.assertEqual(cli_main.main(["l1", "build-state", "--output", output, *argv]), 0)
        return out.getvalue(), err.getvalue()

    def test_progress_on_terminal(self):
        """All 15 transactions are counted, the line is erased before each printed line and at
        the end, and stdout never carries it."""
        from zkos_tw.cli.progress import ERASE
        from zkos_tw.l1.deploy import DEPLOY_TXS

        out, err = self.run_with_tty_stderr()
        self.assertIn(f"{DEPLOY_TXS}/{DEPLOY_TXS} txs", err)
        self.assertIn("txs/s", err)
        self.assertTrue(err.endswith(ERASE))
        self.assertNotIn("txs/s", out)
        self.assertIn("bridgehub: 0x", out)

    def test_quiet_with_json(self):
        out, err = self.run_with_tty_stderr("--json")
        self.assertEqual(err, "")
        self.assertIn("bridgehub", json.loads(out)["addresses"])
