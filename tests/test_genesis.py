"""Genesis: the shared ``genesis.json`` reproduces its vectors; ours reproduces its root."""

import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import REPO_ROOT, fixture_path
from zkos_tw.cli import genesis as genesis_cli
from zkos_tw.cli.main import reorder
from zkos_tw.genesis import (
    GenesisError,
    GenesisMismatch,
    build_genesis,
    check_genesis,
    compute_genesis,
    genesis_header_rlp,
    load_genesis,
    parse_genesis,
)
from zkos_tw.merkle import MerkleTree, verify_key_proof
from zkos_tw.state import FlatState, account_key
from zkos_tw.testing.memory_flat_state import MemoryFlatState, MemoryPreimages
from zkos_tw.testing.memory_tree_store import MemoryTreeStore

OUR_GENESIS = os.path.join(REPO_ROOT, "genesis.json")


def _shared():
    return fixture_path("zksync-os", "genesis.json")


def _vectors():
    with open(fixture_path("zksync-os", "vectors.json")) as f:
        return json.load(f)["genesis"]


def _cli(*argv):
    options = genesis_cli.Options()
    options.parseOptions(reorder(options, list(argv)))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = genesis_cli.run(options)
    return code, out.getvalue(), err.getvalue()


class SharedGenesisTests(SynchronousTestCase):
    """The reference chain's genesis (reference §6)."""

    def test_vectors(self):
        """Tree root, leaf count, block hash and state commitment match ``vectors.json``."""
        v = _vectors()
        genesis = load_genesis(_shared())
        result = compute_genesis(genesis)
        self.assertEqual("0x" + result.tree_root.hex(), v["tree_root"])
        self.assertEqual(result.leaf_count, v["tree_leaf_count"])
        self.assertEqual("0x" + result.block_hash.hex(), v["genesis_block_hash"])
        self.assertEqual("0x" + result.state_commitment.hex(), v["state_commitment_genesis_root"])
        self.assertEqual(genesis.genesis_root, result.state_commitment)
        check_genesis(genesis, result)

    def test_header(self):
        """The genesis header RLP is 503 bytes (gas limit 5000, base fee 1 gwei)."""
        self.assertEqual(len(genesis_header_rlp()), 503)

    def test_state_readable(self):
        """The genesis writes and preimages serve the contracts' code and nonce to the EVM view."""
        genesis = load_genesis(_shared())
        tree = MerkleTree(MemoryTreeStore())
        result, patch = build_genesis(genesis, tree)
        flat = MemoryFlatState()
        flat.write_block(0, result.storage_writes)
        state = FlatState(flat.at(0), MemoryPreimages(result.preimages))
        for address, code in genesis.initial_contracts:
            self.assertEqual((state.get_code(address), state.get_nonce(address)), (code, 1))
            proof = tree.prove(account_key(address))
            self.assertEqual(verify_key_proof(patch.root, proof), flat.read(account_key(address)))

    def test_mismatch(self):
        """A wrong ``genesis_root`` raises ``GenesisMismatch`` with one line naming both values."""
        with open(_shared()) as f:
            document = json.load(f)
        document["genesis_root"] = "0x" + "00" * 32
        genesis = parse_genesis(document)
        result = compute_genesis(genesis)
        e = self.assertRaises(GenesisMismatch, check_genesis, genesis, result)
        self.assertNotIn("\n", str(e))
        self.assertIn(result.state_commitment.hex(), str(e))

    def test_cli(self):
        """``zkosctl genesis FILE --json`` prints the four values and exits 0."""
        code, out, err = _cli(_shared(), "--json")
        self.assertEqual((code, err), (0, ""))
        info = json.loads(out)
        self.assertEqual(info["state_commitment"], _vectors()["state_commitment_genesis_root"])
        self.assertEqual(info["leaf_count"], 5)
        code, out, _ = _cli(_shared())
        self.assertIn("tree_root: 0x3254b131", out)

    def test_cli_mismatch(self):
        """The CLI exits 1 with one line on stderr when the commitment differs."""
        with open(_shared()) as f:
            document = json.load(f)
        document["genesis_root"] = "0x" + "11" * 32
        path = self.mktemp()
        with open(path, "w") as f:
            json.dump(document, f)
        code, _, err = _cli(path)
        self.assertEqual(code, 1)
        self.assertEqual(err.count("\n"), 1)


class MalformedGenesisTests(SynchronousTestCase):
    """Bad files fail with ``GenesisError``."""

    def test_malformed(self):
        """Wrong shapes, bad hex, wrong lengths and duplicates are refused."""
        good = {"initial_contracts": [], "additional_storage": [], "execution_version": 3}
        bad = [
            [],
            {**good, "execution_version": "3"},
            {**good, "initial_contracts": [["0x01", "0x00"]]},
            {**good, "initial_contracts": [["0x" + "00" * 20]]},
            {**good, "additional_storage": [["0x" + "00" * 32, "0xzz"]]},
            {**good, "genesis_root": "12"},
        ]
        for document in bad:
            self.assertRaises(GenesisError, parse_genesis, document)
        dup = parse_genesis(
            {**good, "additional_storage": [["0x" + "01" * 32, "0x" + "00" * 32]] * 2}
        )
        self.assertRaises(GenesisError, compute_genesis, dup)
        self.assertRaises(GenesisError, load_genesis, self.mktemp())

    def test_no_root(self):
        """Without ``genesis_root`` the values are computed and nothing is checked."""
        genesis = parse_genesis(
            {"initial_contracts": [], "additional_storage": [], "execution_version": 3}
        )
        result = compute_genesis(genesis)
        check_genesis(genesis, result)
        self.assertEqual(result.leaf_count, 2)


class OurGenesisTests(SynchronousTestCase):
    """The repository's own ``genesis.json``."""

    def test_reproduces_root(self):
        """Its ``genesis_root`` equals the computed state commitment."""
        genesis = load_genesis(OUR_GENESIS)
        self.assertIsNot(genesis.genesis_root, None)
        check_genesis(genesis, compute_genesis(genesis))
