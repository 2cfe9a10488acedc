"""The 88-byte chain state commitment and the last-256-hashes digest (reference §5.3)."""

from hashlib import blake2s

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.merkle import last_256_hash, state_commitment


def _h(data):
    return blake2s(data).digest()


class CommitmentTests(SynchronousTestCase):
    """Layout of the commitment preimage and the window of block hashes."""

    def test_window(self):
        """Fewer than 256 hashes are left-padded with zeros; more keep only the newest 256."""
        hashes = [n.to_bytes(32, "big") for n in range(1, 301)]
        self.assertEqual(last_256_hash(hashes), _h(b"".join(hashes[-256:])))
        self.assertEqual(last_256_hash(hashes[:3]), _h(bytes(32) * 253 + b"".join(hashes[:3])))
        self.assertRaises(ValueError, last_256_hash, [b"\x01"])

    def test_preimage(self):
        """``blake2s(root || u64be count || u64be block || H256 || u64be timestamp)``."""
        root, hashes = b"\x07" * 32, [b"\x09" * 32]
        expected = _h(
            root
            + (5).to_bytes(8, "big")
            + (3).to_bytes(8, "big")
            + last_256_hash(hashes)
            + (1700000000).to_bytes(8, "big")
        )
        self.assertEqual(state_commitment(root, 5, 3, hashes, 1700000000), expected)
        self.assertRaises(ValueError, state_commitment, b"\x07", 5, 3, hashes, 0)
