"""The compiled level hashing (``ext/_merkle.pyx``) against its pure twin, and the dispatcher."""

import importlib
import os

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from zkos_tw import extensions
from zkos_tw.merkle import _pure_merkle, tree


def _compiled():
    try:
        return importlib.import_module("zkos_tw._ext._merkle")
    except ImportError:
        raise SkipTest("zkos_tw._ext._merkle is not built") from None


class DispatchTests(SynchronousTestCase):
    """The tree uses the compiled helpers exactly when they load."""

    def test_loaded_when_required(self):
        """With ZKOS_REQUIRE_EXTENSIONS the compiled module is in use."""
        if not extensions.REQUIRE_EXTENSIONS:
            raise SkipTest("ZKOS_REQUIRE_EXTENSIONS is not set")
        self.assertTrue(extensions.LOADED["_merkle"])
        self.assertEqual(tree.hash_level.__module__, "zkos_tw._ext._merkle")

    def test_pure_when_disabled(self):
        """With ZKOS_NO_EXTENSIONS the pure twin is in use."""
        if os.environ.get("ZKOS_NO_EXTENSIONS", "") in ("", "0"):
            raise SkipTest("ZKOS_NO_EXTENSIONS is not set")
        self.assertIs(tree.hash_level, _pure_merkle.hash_level)


class DifferentialTests(SynchronousTestCase):
    """Both implementations write the same hashes and return the same parents."""

    @given(st.integers(1, 40), st.data())
    def test_same_results(self, count, data):
        """Random leaves and touched sets give identical levels."""
        compiled = _compiled()
        leaves = bytearray(data.draw(st.binary(min_size=72 * count, max_size=72 * count)))
        touched = sorted(data.draw(st.sets(st.integers(0, count - 1), min_size=1)))
        n0 = count + (count & 1)
        n1 = (n0 // 2) + ((n0 // 2) & 1)
        results = []
        for impl in (_pure_merkle, compiled):
            level0, level1 = bytearray(32 * n0), bytearray(32 * n1)
            impl.hash_leaves(leaves, level0, touched)
            parents = impl.hash_level(level0, level1, touched)
            results.append((bytes(level0), bytes(level1), parents))
        self.assertEqual(results[0], results[1])

    @given(st.integers(1, 20), st.integers(0, 2**40), st.data())
    def test_same_records(self, count, version, data):
        """Leaf and node records are byte-identical."""
        compiled = _compiled()
        leaves = bytearray(data.draw(st.binary(min_size=72 * count, max_size=72 * count)))
        level = bytearray(data.draw(st.binary(min_size=32 * count, max_size=32 * count)))
        touched = sorted(data.draw(st.sets(st.integers(0, count - 1))))
        for impl in (_pure_merkle,):
            self.assertEqual(
                impl.leaf_records(leaves, touched, version),
                compiled.leaf_records(leaves, touched, version),
            )
            self.assertEqual(
                impl.node_records(level, 8, touched, version),
                compiled.node_records(level, 8, touched, version),
            )

    @given(
        st.lists(st.binary(min_size=32, max_size=32), max_size=30, unique=True),
        st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=30, unique=True),
    )
    def test_same_links(self, old, new):
        """``link_new_keys`` rewrites the same ``next`` fields and reports the same leaves."""
        compiled = _compiled()
        guards = [bytes(32), b"\xff" * 32]
        old = [k for k in old if k not in guards and k not in new]
        new = [k for k in new if k not in guards]
        everything = [*guards, *old, *new]
        first = 2 + len(old)
        results = []
        for impl in (_pure_merkle, compiled):
            leaves = bytearray(
                b"".join(
                    k + bytes(32) + (i % 7).to_bytes(8, "little") for i, k in enumerate(everything)
                )
            )
            keys = impl.KeyIndex((k, i) for i, k in enumerate(guards + old))
            changed = impl.link_new_keys(keys, leaves, first, new) if new else []
            results.append(
                (bytes(leaves), changed, list(keys.items()), impl.key_index_records(first, new))
            )
        self.assertEqual(results[0], results[1])

    @given(
        st.lists(st.binary(min_size=32, max_size=32), max_size=10, unique=True),
        st.lists(
            st.tuples(st.binary(min_size=31, max_size=33), st.binary(min_size=32, max_size=32)),
            max_size=10,
        ),
    )
    def test_same_staging(self, old, writes):
        """``stage_writes`` accepts and refuses the same batches and writes the same leaves."""
        compiled = _compiled()
        writes += [(k, b"\x05" * 32) for k in old[:2]]
        results = []
        for impl in (_pure_merkle, compiled):
            keys = impl.KeyIndex((k, i) for i, k in enumerate(old))
            leaves = bytearray(b"".join(k + bytes(40) for k in old))
            try:
                outcome = impl.stage_writes(leaves, keys, list(writes))
            except ValueError as e:
                outcome = str(e)
            results.append((outcome, bytes(leaves), list(keys.items())))
        self.assertEqual(results[0], results[1])

    def test_bounds(self):
        """The compiled helpers refuse out-of-range indices instead of writing past the end."""
        compiled = _compiled()
        self.assertRaises(IndexError, compiled.hash_leaves, bytearray(72), bytearray(64), [1])
        self.assertRaises(IndexError, compiled.hash_level, bytearray(64), bytearray(32), [2])
