"""``zkos_tw.rlp_fast.encode`` gives pyrlp's bytes for every item the node's records hold."""

import rlp
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.rlp_fast import encode

items = st.recursive(
    st.one_of(st.binary(max_size=300), st.integers(min_value=0, max_value=2**256 - 1)),
    lambda children: st.lists(children, max_size=8),
    max_leaves=40,
)


class EncodeTests(SynchronousTestCase):
    @given(items)
    def test_same_bytes_as_pyrlp(self, item):
        self.assertEqual(encode(item), rlp.encode(item))

    def test_boundaries(self):
        for item in (0, 127, 128, 255, 256, b"", b"\x00", b"\x7f", b"\x80", b"x" * 55,
                     b"x" * 56, b"y" * 70_000, [b"z" * 60], [[]], (1, (2, b"")), 2**256 - 1):  # fmt: skip
            self.assertEqual(encode(item), rlp.encode(item), item)

    def test_refuses_what_records_never_hold(self):
        self.assertRaises(ValueError, encode, -1)
        self.assertRaises(TypeError, encode, "text")
        self.assertRaises(TypeError, encode, True)
        self.assertRaises(TypeError, encode, None)
