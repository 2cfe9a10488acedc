"""Golden bytes of the tree's on-disk format version 1 (STYLE rule 13)."""

from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.merkle import MerkleTree, codec
from zkos_tw.merkle.codec import TreeFormatError
from zkos_tw.testing.memory_tree_store import MemoryTreeStore


class GoldenTests(SynchronousTestCase):
    """Every record kind encodes to fixed bytes and decodes back."""

    def test_keys(self):
        """Record keys: prefix letter then big-endian integers."""
        self.assertEqual(codec.version_key(7), bytes.fromhex("560000000000000007"))
        self.assertEqual(codec.leaf_key(2, 7), bytes.fromhex("4c00000000000000020000000000000007"))
        self.assertEqual(
            codec.node_key(4, 3, 7), bytes.fromhex("4e0400000000000000030000000000000007")
        )
        self.assertEqual(codec.key_index_key(b"\xab" * 32), b"K" + b"\xab" * 32)
        self.assertEqual(codec.leaf_prefix(2), codec.leaf_key(2, 0)[:-8])
        self.assertEqual(codec.node_prefix(4, 3), codec.node_key(4, 3, 0)[:-8])

    def test_values(self):
        """Record values: format byte 0x01 first."""
        self.assertEqual(codec.encode_manifest(), bytes.fromhex("014004"))
        self.assertEqual(codec.encode_head(258), bytes.fromhex("010000000000000102"))
        self.assertEqual(
            codec.encode_version(b"\x11" * 32, 5),
            b"\x01" + b"\x11" * 32 + bytes.fromhex("0000000000000005"),
        )
        self.assertEqual(codec.encode_key_index(3), bytes.fromhex("010000000000000003"))
        self.assertEqual(codec.encode_node(b"\x22" * 32), b"\x01" + b"\x22" * 32)
        leaf = b"\x33" * 32 + b"\x44" * 32 + (9).to_bytes(8, "little")
        self.assertEqual(codec.encode_leaf(leaf), b"\x01" + leaf)
        self.assertEqual(codec.decode_leaf(codec.encode_leaf(leaf)), leaf)
        self.assertEqual(
            codec.decode_version(codec.encode_version(b"\x11" * 32, 5)), (b"\x11" * 32, 5)
        )
        self.assertEqual(codec.decode_head(codec.encode_head(258)), 258)
        self.assertEqual(codec.decode_key_index(codec.encode_key_index(3)), 3)
        self.assertEqual(codec.decode_manifest(codec.encode_manifest()), (64, 4))

    def test_unknown_format(self):
        """A value with another format byte or length is refused."""
        self.assertRaises(TreeFormatError, codec.decode_head, b"\x02" + bytes(8))
        self.assertRaises(TreeFormatError, codec.decode_node, b"\x01" + bytes(31))
        self.assertRaises(TreeFormatError, codec.decode_leaf, b"")

    def test_genesis_patch(self):
        """The patch of an empty genesis: manifest, two guard leaves, node records, version, head."""
        patch = MerkleTree(MemoryTreeStore()).apply(0, [])
        records = dict(patch.records)
        self.assertEqual(records[b"M"], bytes.fromhex("014004"))
        self.assertEqual(
            records[codec.leaf_key(0, 0)], b"\x01" + bytes(64) + (1).to_bytes(8, "little")
        )
        self.assertEqual(
            records[codec.leaf_key(1, 0)],
            b"\x01" + b"\xff" * 32 + bytes(32) + (1).to_bytes(8, "little"),
        )
        self.assertEqual(records[b"H"], b"\x01" + bytes(8))
        self.assertEqual(
            records[codec.version_key(0)], b"\x01" + patch.root + (2).to_bytes(8, "big")
        )
        nodes = sorted(k for k in records if k[:1] == b"N")
        self.assertEqual([k[1] for k in nodes], list(range(4, 64, 4)))
