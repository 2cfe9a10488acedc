"""Receipt record v1: ``StoredReceipt.encode`` (field by field) is pyrlp's encoding of the
record's list, and ``decode`` gives the receipt back."""

from __future__ import annotations

import dataclasses

import rlp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from zkos_tw.execution.receipts import Log
from zkos_tw.sequencer.receipts import StoredReceipt

addresses = st.binary(min_size=20, max_size=20)
words = st.binary(min_size=32, max_size=32)
uints = st.integers(min_value=0, max_value=2**256 - 1)
logs = st.builds(Log, addresses, st.lists(words, max_size=4).map(tuple), st.binary(max_size=100))
l2_logs = st.tuples(
    st.integers(0, 255), st.booleans().map(int), st.integers(0, 2**16), addresses, words, words
)
receipts = st.builds(
    StoredReceipt,
    tx_type=st.sampled_from([0, 1, 2, 0x7E, 0x7F]),
    succeeded=st.booleans(),
    cumulative_gas_used=uints,
    gas_used=uints,
    effective_gas_price=uints,
    sender=addresses,
    to=st.none() | addresses,
    contract_address=st.none() | addresses,
    logs=st.lists(logs, max_size=3).map(tuple),
    l2_to_l1_logs=st.lists(l2_logs, max_size=2).map(tuple),
)


def pyrlp_record(receipt: StoredReceipt) -> bytes:
    """The stored record of ``receipt`` encoded by pyrlp (the reference for the fast encoders)."""
    body = [
        receipt.tx_type,
        1 if receipt.succeeded else 0,
        receipt.cumulative_gas_used,
        receipt.gas_used,
        receipt.effective_gas_price,
        receipt.sender,
        receipt.to or b"",
        receipt.contract_address or b"",
        [[log.address, list(log.topics), log.data] for log in receipt.logs],
        [list(entry) for entry in receipt.l2_to_l1_logs],
    ]
    return b"\x01" + rlp.encode(body)


class ReceiptRecordTests(SynchronousTestCase):
    @settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(receipts)
    def test_same_bytes_as_pyrlp_and_round_trip(self, receipt):
        record = receipt.encode()
        self.assertEqual(record, pyrlp_record(receipt))
        decoded = StoredReceipt.decode(record)
        self.assertEqual(decoded.logs, receipt.logs)
        self.assertEqual(decoded.encode(), record)

    @settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(
        receipts.map(
            lambda r: dataclasses.replace(r, logs=(), l2_to_l1_logs=(), contract_address=None)
        )
    )
    def test_plain_fast_path(self, receipt):
        """A receipt without logs or a created contract (the fast path) encodes as pyrlp does."""
        self.assertEqual(receipt.encode(), pyrlp_record(receipt))
