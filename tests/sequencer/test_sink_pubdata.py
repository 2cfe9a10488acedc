"""``sink.pubdata_of`` with the initial values the state view knows gives the same bytes as
reading them from storage (the path it takes for a state output without them)."""

from __future__ import annotations

import dataclasses

from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.test_chain_pubdata import pubdata_chain
from tests.sequencer.test_service import signed
from zkos_tw.sequencer.sink import pubdata_of


class ViewInitialValuesTests(SynchronousTestCase):
    def test_same_pubdata_as_from_storage(self):
        """Blocks with the upgrade, deposits, transfers (one to a new account) and a deployment
        with a constructor SSTORE: the stored pubdata (from the view's initial values) equals
        what storage gives, and the view's values equal storage's."""
        reactor, queue, node = pubdata_chain(self)
        node.mempool.add(signed(3, value=7))
        reactor.advance(1.1)
        storage = node.chain.storage
        self.assertGreaterEqual(storage.last_block(), 3)
        for block in node.sealed:
            output = block.state_output
            self.assertEqual(len(output.initial_values), len(output.storage_writes))
            reader = storage.state_at(block.number - 1)
            for write, before in zip(output.storage_writes, output.initial_values, strict=True):
                self.assertEqual(before, reader.read(write.key) or bytes(32), block.number)
            bare = dataclasses.replace(
                block,
                state_output=dataclasses.replace(output, initial_values=(), initial_preimages=()),
            )
            extra = queue.upgrade_preimages if block.number == 1 else ()
            self.assertEqual(storage.block_pubdata(block.number), pubdata_of(bare, storage, extra))
            self.assertEqual(pubdata_of(block, storage, extra), pubdata_of(bare, storage, extra))
