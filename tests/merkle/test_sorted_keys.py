"""``SortedKeys`` and ``KeyIndex`` (pure and compiled) against plain sorted lists."""

import importlib
from bisect import bisect_left

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from zkos_tw.merkle import sorted_keys

keys = st.one_of(
    st.binary(min_size=32, max_size=32),
    st.integers(0, 300).map(lambda n: n.to_bytes(32, "big")),
)


def _compiled():
    try:
        return importlib.import_module("zkos_tw._ext._merkle").KeyIndex
    except ImportError:
        return None


KEY_INDEXES = [c for c in (sorted_keys.KeyIndex, _compiled()) if c is not None]


class SortedKeysTests(SynchronousTestCase):
    """The pure ``SortedKeys``: membership, order and predecessors, across bucket growth."""

    @given(st.lists(keys, max_size=400), st.lists(keys, max_size=20))
    def test_matches_sorted_list(self, inserted, probes):
        """Built incrementally or at once, the set agrees with ``sorted(set(...))``."""
        reference = sorted(set(inserted))
        incremental = sorted_keys.SortedKeys()
        incremental.update(inserted)
        for s in (incremental, sorted_keys.SortedKeys(inserted)):
            self.assertEqual(list(s), reference)
            self.assertEqual(len(s), len(reference))
            for probe in probes + inserted[:5]:
                pos = bisect_left(reference, probe)
                self.assertEqual(s.lower(probe), reference[pos - 1] if pos else None)
                self.assertEqual(probe in s, probe in reference)


class KeyIndexTests(SynchronousTestCase):
    """``KeyIndex``, pure and (when built) compiled, against a dict and a sorted list."""

    @given(
        st.lists(st.tuples(keys, st.integers(0, 2**64 - 1)), max_size=300),
        st.lists(keys, max_size=20),
    )
    def test_matches_reference(self, pairs, probes):
        """Lookups, predecessors (with their index), order and length agree."""
        mapping = dict(pairs)
        reference = sorted(mapping)
        for cls in KEY_INDEXES:
            incremental = cls()
            for key, index in pairs:
                incremental.add(key, index)
            for ki in (incremental, cls(pairs)):
                self.assertEqual(list(ki), reference)
                self.assertEqual(list(ki.items()), [(k, mapping[k]) for k in reference])
                self.assertEqual(len(ki), len(reference))
                for probe in probes + [k for k, _ in pairs[:5]]:
                    self.assertEqual(ki.get(probe), mapping.get(probe))
                    self.assertEqual(probe in ki, probe in mapping)
                    pos = bisect_left(reference, probe)
                    expected = (reference[pos - 1], mapping[reference[pos - 1]]) if pos else None
                    self.assertEqual(ki.lower(probe), expected)

    def test_growth(self):
        """Thousands of keys regrow the buckets and stay ordered."""
        data = [(i * 2654435761 % 2**32).to_bytes(4, "big") * 8 for i in range(3000)]
        for cls in KEY_INDEXES:
            ki = cls()
            for n, key in enumerate(data):
                ki.add(key, n)
            self.assertEqual(list(ki), sorted(set(data)))
            self.assertEqual(ki.get(data[1234]), 1234)
            self.assertGreater(ki.memory_bytes(), 0)

    def test_compiled_arguments(self):
        """The compiled index accepts only 32-byte ``bytes`` keys and u64 indices."""
        cls = _compiled()
        if cls is None:
            raise SkipTest("zkos_tw._ext._merkle is not built")
        ki = cls()
        self.assertRaises(ValueError, ki.add, b"\x01" * 31, 0)
        self.assertRaises(ValueError, ki.add, b"\x01" * 32, -1)
        self.assertRaises(ValueError, ki.get, bytearray(32))
        self.assertFalse(b"\x01" * 31 in ki)
