"""``StorageBlockFacts`` over the in-memory block storage: counts, execution version, L2->L1 logs
of successful transactions only, injected pubdata size, and ``None`` past the last block."""

from dataclasses import replace

from twisted.trial.unittest import SynchronousTestCase

from tests.replay.test_codec import record
from zkos_tw.batcher.block_facts import StorageBlockFacts
from zkos_tw.batcher.service import BlockFacts
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.storage import BlockWrite, TxWrite
from zkos_tw.testing.memory_storage import MemoryStorage


def receipt(succeeded, l2_logs):
    log = (0, 1, 0, b"\x01" * 20, b"\x02" * 32, b"\x03" * 32)
    return StoredReceipt(
        0, succeeded, 21000, 21000, 1000, b"\x04" * 20, None, None, (), (log,) * l2_logs
    ).encode()


def write(storage, number, receipts, execution_version=3):
    wal = record(execution_version)
    wal = replace(wal, context=replace(wal.context, number=number))
    txs = tuple(
        TxWrite(bytes([number, i]) + bytes(30), b"\x02\xc0", r) for i, r in enumerate(receipts)
    )
    storage.write_block(BlockWrite(number, bytes([number]) * 32, wal.encode(), b"\xc0", txs))


class StorageBlockFactsTests(SynchronousTestCase):
    def test_facts(self):
        """Block 1: 3 txs, 2 + 1 logs of successful ones (the failed tx's 5 are not counted)."""
        storage = MemoryStorage()
        write(storage, 1, [receipt(True, 2), receipt(False, 5), receipt(True, 1)], 4)
        facts = StorageBlockFacts(storage, pubdata_size=lambda n: 100 * n)
        self.assertEqual(facts(1), BlockFacts(1, 100, 3, 3, 4, 0))
        self.assertIsNone(facts(2))
