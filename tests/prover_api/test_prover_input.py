"""The ``V1`` prover input: golden bytes, field offsets, round trip, refusals, the witness
check against the tree root and a read missing from the witness."""

import hashlib
import os
from dataclasses import replace

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.hashing import keccak256
from zkos_tw.merkle.tree import MerkleTree
from zkos_tw.prover_api import prover_input as pi
from zkos_tw.sequencer.blocks import BlockContext
from zkos_tw.testing.memory_tree_store import MemoryTreeStore

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "prover_input_v1.bin")
GOLDEN_SHA256 = "276b1dbfc762171aa3de3290237eb57b3d8902e57fd4498ec7f03f334af46218"
K1, K2, ABSENT = b"\x10" * 32, b"\x30" * 32, b"\x20" * 32


def sample() -> pi.ProverInput:
    """Batch 7: one block reading K1 (present) and ABSENT, with two txs and one preimage."""
    tree = MerkleTree(MemoryTreeStore())
    tree.apply(0, [(K1, b"\x11" * 32), (K2, b"\x22" * 32)])
    context = BlockContext(
        chain_id=270,
        number=1,
        block_hashes=tuple(bytes([i]) * 32 for i in range(256)),
        timestamp=1700000000,
        coinbase=b"\xfe" * 20,
    )
    block = pi.block_input_from_tree(
        tree,
        version=0,
        context=context,
        previous_block_timestamp=1699999999,
        transactions=[b"\x02\xf8\x01", b"\x01\x02\x03\x04"],
        read_keys=[ABSENT, K1, K1],
        preimages=[(keccak256(b"code!"), b"code!")],
    )
    return pi.ProverInput(7, (block,))


class ProverInputTests(SynchronousTestCase):
    def test_golden_bytes(self):
        """The encoding of ``sample()`` is the checked-in golden file, and decodes back."""
        data = pi.encode(sample())
        with open(GOLDEN, "rb") as f:
            golden = f.read()
        self.assertEqual(data, golden)
        self.assertEqual(pi.decode(golden), sample())
        # pinned so that regenerating the golden file shows up in review
        self.assertEqual(hashlib.sha256(golden).hexdigest(), GOLDEN_SHA256)

    def test_layout(self):
        """Field offsets as docs/proving.md gives them; a whole number of LE u32 words."""
        data = pi.encode(sample())
        self.assertEqual(data[:8], b"ZKPI\x01\0\0\0")
        self.assertEqual(int.from_bytes(data[8:16], "little"), 7)
        self.assertEqual(int.from_bytes(data[16:20], "little"), 1)
        self.assertEqual(int.from_bytes(data[20:28], "little"), 270)  # chain id
        ctx = 8 * 3 + 32 * 3 + 20 + 8 * 2 + 32 + 4 + 256 * 32
        hashes = 20 + ctx - 256 * 32
        self.assertEqual(data[hashes + 32 : hashes + 64], b"\x01" * 32)
        root = 20 + ctx
        self.assertEqual(data[root : root + 32], sample().blocks[0].tree_root)
        leaf = 8 + 32 + 32 + 8 + 64 * 32
        self.assertEqual(int.from_bytes(data[root + 48 : root + 56], "little"), 3)  # index 3
        txs = root + 48 + leaf
        self.assertEqual(int.from_bytes(data[txs : txs + 4], "little"), 2)
        self.assertEqual(data[txs + 4 : txs + 12], b"\x03\0\0\0\x02\xf8\x01\0")
        self.assertEqual(len(data) % 4, 0)
        self.assertEqual(len(pi.words(data)), len(data) // 4)

    def test_reads_sorted_and_deduplicated(self):
        block = sample().blocks[0]
        self.assertEqual([p.key for p in block.reads], [K1, ABSENT])
        self.assertIsNotNone(block.reads[0].leaf)
        self.assertIsNotNone(block.reads[1].prev)

    def test_witness_checks_against_root(self):
        block = sample().blocks[0]
        values = block.verify_witness()
        self.assertEqual(values, {K1: b"\x11" * 32, ABSENT: None})
        bad = replace(block, tree_root=b"\0" * 32)
        with self.assertRaisesRegex(pi.ProverInputError, "does not match the root"):
            bad.verify_witness()

    def test_rightmost_checked(self):
        block = sample().blocks[0]
        with self.assertRaisesRegex(pi.ProverInputError, "rightmost leaf is not last"):
            replace(block, rightmost=block.reads[0].leaf).verify_witness()

    def test_tampered_value_fails(self):
        """A witness whose proven value was changed no longer matches the root."""
        block = sample().blocks[0]
        leaf = replace(block.reads[0].leaf, value=b"\x99" * 32)
        reads = (replace(block.reads[0], leaf=leaf), block.reads[1])
        with self.assertRaises(pi.ProverInputError):
            replace(block, reads=reads).verify_witness()

    def test_read_missing_from_witness(self):
        """Reading a slot the witness lacks fails with a clear error."""
        block = sample().blocks[0]
        values = block.verify_witness()
        self.assertEqual(block.read(K1, values), b"\x11" * 32)
        with self.assertRaisesRegex(pi.MissingWitness, "reads key 0x3030.*not in the witness"):
            block.read(K2, values)

    def test_refusals(self):
        data = pi.encode(sample())
        cases = {
            b"XXXX" + data[4:]: "bad magic",
            data[:4] + b"\x02\0\0\0" + data[8:]: "unknown prover input version 2",
            data + b"\0\0\0\0": "4 trailing bytes",
            data[:-4]: "truncated",
        }
        for raw, message in cases.items():
            with self.assertRaisesRegex(pi.ProverInputError, message):
                pi.decode(raw)
