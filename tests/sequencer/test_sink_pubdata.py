"""``sink.pubdata_of`` with the initial values the state view knows gives the same bytes as
reading them from storage (the path it takes for a state output without them)."""

from __future__ import annotations

import dataclasses

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.batcher.test_chain_pubdata import deployment
from tests.sequencer.test_l1_blocks import deposit, upgrade
from tests.sequencer.test_replay import Node
from tests.sequencer.test_service import signed
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.sequencer.sink import pubdata_of


class ViewInitialValuesTests(SynchronousTestCase):
    def test_same_pubdata_as_from_storage(self):
        """Blocks with the upgrade, deposits, transfers (one to a new account) and a deployment
        with a constructor SSTORE: the stored pubdata (from the view's initial values) equals
        what storage gives, and the view's values equal storage's."""
        reactor = MemoryReactorClock()
        reactor.advance(1_700_000_000)
        reactor.running = True
        queue = L1TransactionQueue()
        node = Node(self, reactor, l1_queue=queue)
        queue.push(deposit(0))
        node.mempool.add(signed(0, value=5))
        node.mempool.add(signed(1, value=6))
        queue.set_upgrade(upgrade())
        reactor.advance(0.1)
        queue.push(deposit(1))
        node.mempool.add(deployment(2))
        reactor.advance(1.1)
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
