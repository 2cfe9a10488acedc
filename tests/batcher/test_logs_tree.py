"""Tests for the L2->L1 logs mini Merkle tree (zksync-os-server.md §6.3)."""

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.batcher import logs_tree
from zkos_tw.hashing import keccak256

EMPTY_BATCH_ROOT = bytes.fromhex("692f35c99f9c698852289ffecf07f6dd45770904521149d79aa85aae598fa375")


def _log(n: int) -> bytes:
    return logs_tree.encode_log(
        0, True, n, bytes([n % 256]) * 20, n.to_bytes(32, "big"), b"\1" * 32
    )


class LogsTreeTests(SynchronousTestCase):
    def test_empty_batch_golden(self):
        """An empty batch's root hash is the reference's 0x692f35…a375."""
        self.assertEqual(logs_tree.logs_root_hash([]), EMPTY_BATCH_ROOT)

    def test_empty_local_root_prefix(self):
        """The empty local root starts with the reference's 0x375a5bf9 and ends with 9d2d."""
        root = logs_tree.local_root([])
        self.assertEqual((root[:4].hex(), root[-2:].hex()), ("375a5bf9", "9d2d"))

    def test_leaf_encoding(self):
        """A log leaf is 88 bytes: shard, is_service, tx number BE, sender, key, value."""
        leaf = logs_tree.encode_log(0, True, 0x0102, b"\xaa" * 20, b"\xbb" * 32, b"\xcc" * 32)
        self.assertEqual(len(leaf), 88)
        self.assertEqual(leaf[:4], b"\x00\x01\x01\x02")
        self.assertEqual(leaf[4:24], b"\xaa" * 20)

    def test_single_log_root(self):
        """One log: the path up is the leaf hashed with the empty subtrees."""
        log = _log(7)
        node = keccak256(log)
        empty = logs_tree.EMPTY_LEAF_HASH
        for _ in range(14):
            node = keccak256(node + empty)
            empty = keccak256(empty + empty)
        self.assertEqual(logs_tree.local_root([log]), node)

    def test_proof_recomputes_root(self):
        """Every leaf's proof path, 14 hashes long, leads back to the local root."""
        logs = [_log(n) for n in range(5)]
        root = logs_tree.local_root(logs)
        for i, log in enumerate(logs):
            path = logs_tree.proof(logs, i)
            self.assertEqual(len(path), 14)
            self.assertEqual(logs_tree.root_from_proof(log, i, path), root)
        self.assertNotEqual(logs_tree.root_from_proof(logs[0], 1, logs_tree.proof(logs, 0)), root)

    def test_limits(self):
        """More logs than the tree holds, or a proof for a missing leaf, raise."""
        self.assertRaises(ValueError, logs_tree.local_root, [b"\0" * 88] * 16_385)
        self.assertRaises(IndexError, logs_tree.proof, [_log(1)], 1)
        self.assertRaises(ValueError, logs_tree.encode_log, 0, False, 0, b"", b"", b"")
