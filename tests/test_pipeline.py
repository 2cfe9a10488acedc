"""Tests for ``zkos_tw.pipeline.BoundedQueue``."""

from twisted.trial.unittest import SynchronousTestCase, TestCase

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


class PeekAndWatchTests(SynchronousTestCase):
    """``peek_many`` and ``when_nonempty`` take nothing from the queue."""

    def test_peek_many(self):
        q = BoundedQueue(5)
        for i in range(4):
            q.put(i)
        self.assertEqual(q.peek_many(3), [0, 1, 2])
        self.assertEqual(q.peek_many(10), [0, 1, 2, 3])
        self.assertEqual(len(q), 4)

    def test_when_nonempty(self):
        q = BoundedQueue(2)
        d = q.when_nonempty()
        self.assertNoResult(d)
        q.put("a")
        self.successResultOf(d)
        self.successResultOf(q.when_nonempty())
        self.assertEqual(len(q), 1)

    def test_when_nonempty_cancel(self):
        q = BoundedQueue(2)
        d = q.when_nonempty()
        d.cancel()
        self.failureResultOf(d)
        q.put("a")  # no error from a cancelled watcher
        self.assertEqual(len(q), 1)

    def test_direct_handover_does_not_wake(self):
        """An item handed straight to a waiting ``get`` never sits in the queue."""
        q = BoundedQueue(2)
        got = q.get()
        d = q.when_nonempty()
        q.put("a")
        self.assertEqual(self.successResultOf(got), "a")
        self.assertNoResult(d)
        d.cancel()
        self.failureResultOf(d)
