"""``IPriorityTxSink`` conformance, bound to every implementation (the watcher's contract):
strict id order from ``next_priority_id``, a Deferred from ``put``, and the id moving on."""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.l1.test_watcher import priority_tx
from zkos_tw.interfaces import IPriorityTxSink
from zkos_tw.l1.queue import PriorityTxQueue
from zkos_tw.sequencer.l1_queue import L1TransactionQueue


class PriorityTxSinkMixin:
    """Subclasses set ``make_sink(next_priority_id)``; the sink has room for 3 transactions."""

    def make_sink(self, next_priority_id: int):
        raise NotImplementedError

    def test_provides_interface(self):
        """The sink provides the interface."""
        self.assertTrue(verifyObject(IPriorityTxSink, self.make_sink(0)))

    def test_starts_at_the_given_id(self):
        """Only the id it was made with is accepted first; refusals change nothing."""
        sink = self.make_sink(7)
        self.assertEqual(sink.next_priority_id, 7)
        self.assertRaises(ValueError, sink.put, priority_tx(6))
        self.assertRaises(ValueError, sink.put, priority_tx(8))
        self.assertEqual(sink.next_priority_id, 7)

    def test_put_in_order(self):
        """Consecutive ids are accepted with a fired Deferred each while there is room."""
        sink = self.make_sink(0)
        for i in range(3):
            d = sink.put(priority_tx(i))
            self.assertIsInstance(d, defer.Deferred)
            self.successResultOf(d)
        self.assertEqual(sink.next_priority_id, 3)

    def test_repeat_refused(self):
        """An id already accepted is refused."""
        sink = self.make_sink(0)
        self.successResultOf(sink.put(priority_tx(0)))
        self.assertRaises(ValueError, sink.put, priority_tx(0))


class PriorityTxQueueConformance(PriorityTxSinkMixin, SynchronousTestCase):
    def make_sink(self, next_priority_id):
        return PriorityTxQueue(next_priority_id, capacity=3)


class L1TransactionQueueConformance(PriorityTxSinkMixin, SynchronousTestCase):
    def make_sink(self, next_priority_id):
        return L1TransactionQueue(next_priority_id=next_priority_id, capacity=4)
