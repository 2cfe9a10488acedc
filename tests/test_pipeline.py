"""Tests for ``zkos_tw.pipeline.BoundedQueue``."""

from twisted.trial.unittest import TestCase

from zkos_tw.pipeline import BoundedQueue, QueueClosed


class BoundedQueueTests(TestCase):
    def test_put_then_get_in_order(self):
        """Items come out in the order they went in."""
        q = BoundedQueue(3)
        for i in range(3):
            self.assertIsNone(self.successResultOf(q.put(i)))
        self.assertEqual([self.successResultOf(q.get()) for _ in range(3)], [0, 1, 2])

    def test_full_queue_holds_the_putter_back(self):
        """A put into a full queue waits until a get makes room, then the item is queued."""
        q = BoundedQueue(1)
        q.put("a")
        waiting = q.put("b")
        self.assertNoResult(waiting)
        self.assertEqual(len(q), 1)
        self.assertEqual(self.successResultOf(q.get()), "a")
        self.successResultOf(waiting)
        self.assertEqual(self.successResultOf(q.get()), "b")

    def test_waiting_get_receives_the_next_put(self):
        """A get on an empty queue fires with the next item put."""
        q = BoundedQueue(1)
        d = q.get()
        self.assertNoResult(d)
        q.put(7)
        self.assertEqual(self.successResultOf(d), 7)
        self.assertEqual(len(q), 0)

    def test_close_fails_waiters(self):
        """Closing fails waiting gets and puts, and later puts."""
        empty = BoundedQueue(1)
        g = empty.get()
        empty.close()
        self.failureResultOf(g, QueueClosed)
        q = BoundedQueue(1)
        q.put(1)
        p = q.put(2)
        q.close()
        self.failureResultOf(p, QueueClosed)
        self.failureResultOf(q.put(3), QueueClosed)
        self.assertEqual(self.successResultOf(q.get()), 1)
        self.failureResultOf(q.get(), QueueClosed)

    def test_cancelled_put_leaves_the_queue(self):
        """A cancelled waiting put never enters the queue."""
        q = BoundedQueue(1)
        q.put(1)
        p = q.put(2)
        p.cancel()
        self.failureResultOf(p)
        self.assertEqual(self.successResultOf(q.get()), 1)
        self.assertNoResult(q.get())

    def test_capacity_must_be_positive(self):
        """A capacity under one is refused."""
        self.assertRaises(ValueError, BoundedQueue, 0)
