"""The test model itself against the reference's known values (no anvil)."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from tests.contracts import model
from zkos_tw.hashing import keccak256


class ModelTests(TestCase):
    def test_reference_genesis_batch_hash(self):
        """zksync-os-server.md §6.4: the default genesis StoredBatchInfo hashes to 0x492e189b…."""
        root = bytes.fromhex("c346a158cce093e99ab65a95c884a26629d0e4f8d00ae20bbca4bfc4b204eec2")
        self.assertEqual(
            model.genesis_batch(root).hash().hex(),
            "492e189b00c1e79ab2da8e9475e345cbc4ad91b89650d086d956f2dd58ce2d89",
        )

    def test_rolling_hash(self):
        self.assertEqual(model.rolling_hash([]), model.EMPTY_KECCAK)
        a, b = b"\1" * 32, b"\2" * 32
        self.assertEqual(
            model.rolling_hash([a, b]), keccak256(keccak256(model.EMPTY_KECCAK + a) + b)
        )

    def test_da_commitment(self):
        """state.md §5.5: header = 0^32 || keccak(pubdata) || 0x01 || 0^32, 0x00, pubdata, 0^32."""
        commitment, data = model.operator_da_input(b"abc")
        self.assertEqual(len(data), 97 + 1 + 3 + 32)
        self.assertEqual(commitment, keccak256(data[:97]))
        self.assertEqual(data[32:64], keccak256(b"abc"))

    def test_priority_tree_proofs(self):
        """Every range proof of trees of 1..9 leaves recomputes the root from its paths."""
        for size in range(1, 10):
            tree = model.PriorityTree()
            for i in range(size):
                tree.push(bytes([i + 1]) * 32)
            for start in range(size):
                for count in range(1, size - start + 1):
                    left, right, items = tree.range_proof(start, count)
                    self.assertEqual(_root_from_paths(left, right, start, items), tree.root())

    def test_public_input_shifts(self):
        """Each batch's input and the accumulator keep 224 bits."""
        genesis = model.genesis_batch(b"\0" * 32)
        batches = [
            model.StoredBatch(i, bytes([i]) * 32, 0, model.EMPTY_KECCAK, b"\0" * 32, rb"\9" * 32)
            for i in (1, 2)
        ]
        one = model.public_input(genesis, batches[:1])
        self.assertEqual(
            one, int.from_bytes(keccak256(b"\0" * 32 + b"\1" * 32 + rb"\9" * 32), "big") >> 32
        )
        two = model.public_input(genesis, batches)
        self.assertLess(two, 2**224)
        self.assertNotEqual(one, two)


def _root_from_paths(left, right, start, items):
    """Merkle.calculateRootPaths of the contracts, in Python."""
    level = list(items)
    for h in range(len(left)):
        parity = start % 2
        length = len(level)
        next_len = length // 2 + (parity | (length % 2))
        nxt = []
        for i in range(next_len):
            lhs = left[h] if i == 0 and parity == 1 else level[2 * i - parity]
            rhs = (
                right[h]
                if i == next_len - 1 and (start + length) % 2 == 1
                else level[2 * i + 1 - parity]
            )
            nxt.append(keccak256(lhs + rhs))
        level = nxt
        start //= 2
    return level[0]
