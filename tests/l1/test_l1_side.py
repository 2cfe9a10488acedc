"""The node's L1 wiring (``zkos_tw.node.L1Side``): the senders built from config and prepared
as a start-up step, their stopped stages on the status's problems, and the batch watcher that
moves ``safe`` / ``finalized`` — against an in-memory L1 (``FakeSenderL1`` with the three stage
counters and the diamond proxy's logs) and a ``Clock``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.l1.sender_fixtures import DIAMOND, TIMELOCK, FakeSenderL1
from zkos_tw.config import load_config
from zkos_tw.l1.batch_watcher import BLOCK_COMMIT_TOPIC, BLOCK_EXECUTION_TOPIC
from zkos_tw.l1.discovery import L1State
from zkos_tw.l1.sender_group import L1Senders
from zkos_tw.l1.senders import COUNTERS, L1SenderStartupError
from zkos_tw.node import L1Side, no_batch_store
from zkos_tw.status.node_status import NodeStatus


class WiringL1(FakeSenderL1):
    """``FakeSenderL1`` answering every stage counter, with diamond-proxy logs."""

    def __init__(self, **options):
        super().__init__(**options)
        self.counters = {signature: 0 for signature in COUNTERS.values()}
        self.logs: list[dict] = []

    def call_function(self, to, signature, args=(), returns=(), block="latest"):
        assert to == DIAMOND, to
        return defer.succeed((self.counters[signature],))

    def get_logs(self, address, topics, from_block, to_block):
        found = [log for log in self.logs if from_block <= int(log["blockNumber"], 16) <= to_block]
        return defer.succeed(found)

    def close(self):
        return defer.succeed(None)

    def add_event(self, topic: bytes, batch: int) -> None:
        self.head += 1
        self.logs.append(
            {
                "topics": ["0x" + topic.hex(), "0x" + batch.to_bytes(32, "big").hex()],
                "blockNumber": hex(self.head),
            }
        )


class FakeBackend:
    def __init__(self):
        self.progress = None

    def set_batch_progress(self, progress):
        self.progress = progress


def l1_state(committed=0, verified=0, executed=0) -> L1State:
    return L1State(
        chain_id=270,
        bridgehub=bytes(20),
        diamond_proxy=DIAMOND,
        chain_type_manager=bytes(20),
        validator_timelock=TIMELOCK,
        last_committed_batch=committed,
        last_verified_batch=verified,
        last_executed_batch=executed,
        pubdata_pricing_mode=0,
    )


class L1SideTestCase(SynchronousTestCase):
    def setUp(self):
        self.l1 = WiringL1()
        self.clock = Clock()
        self.status = NodeStatus("main_node")
        self.registry = CollectorRegistry()
        self.side = L1Side(
            load_config({}),
            self.clock,
            self.status,
            client_factory=lambda url, reactor, health: self.l1,
            registry=self.registry,
        )
        self.side.state = l1_state()
        self.node = MultiService()
        self.node.startService()
        self.addCleanup(self.node.stopService)

    def sample(self, name, **labels):
        return self.registry.get_sample_value(name, labels)


class SendersStepTests(L1SideTestCase):
    """``prepare_senders``: the launcher step that makes and starts the three senders."""

    def test_three_funded_senders_start(self):
        """Commit, prove and execute senders with the config's three operator keys are prepared
        and running; their balance, nonce and address are on the metrics; no problems."""
        self.successResultOf(defer.Deferred.fromCoroutine(self.side.prepare_senders(self.node)))
        senders = self.side.senders
        self.assertIsInstance(senders, L1Senders)
        self.assertEqual(senders.problems(), [])
        self.assertEqual(list(senders.senders), ["commit", "prove", "execute"])
        self.assertEqual(len({s.address for s in senders.senders.values()}), 3)
        for command, sender in senders.senders.items():
            self.assertTrue(sender.prepared and sender.running)
            self.assertEqual(self.sample("l1_sender_balance", command=command), 1.0)
            self.assertEqual(self.sample("l1_sender_nonce", command=command), 0)
            self.assertEqual(self.sample("l1_sender_stopped", command=command), 0)
            self.assertEqual(
                self.sample(
                    "l1_state_l1_operator_address",
                    operation=command,
                    operator_address=sender.address,
                ),
                1,
            )
        self.assertEqual(self.status.problems(), [])

    def test_unfunded_operator_is_a_startup_error(self):
        """An operator with no funds fails the step with ``L1SenderStartupError`` (one line,
        naming the key setting); no sender is started."""
        self.l1.balance = 0
        failure = self.failureResultOf(
            defer.Deferred.fromCoroutine(self.side.prepare_senders(self.node)),
            L1SenderStartupError,
        )
        self.assertIn("l1_sender_operator_commit_pk", str(failure.value))
        self.assertNotIn("\n", str(failure.value))
        self.assertIsNone(self.side.senders)
        self.assertEqual(list(self.node), [])

    def test_stopped_stage_shows_on_status(self):
        """A sender whose stage stopped puts one problem on the node status."""
        self.successResultOf(defer.Deferred.fromCoroutine(self.side.prepare_senders(self.node)))
        self.side.senders["execute"]._stop_stage("L1 reorg: the L1 head went back from 9 to 8")
        self.assertEqual(
            self.status.problems(),
            ["L1 execute sender stopped: L1 reorg: the L1 head went back from 9 to 8"],
        )
        self.assertEqual(self.sample("l1_sender_stopped", command="execute"), 1)
        stages = self.status.sections()["l1_senders"]
        self.assertEqual(
            {command: stage["state"] for command, stage in stages.items()},
            {"commit": "running", "prove": "running", "execute": "stopped"},
        )
        self.assertIn("L1 reorg", stages["execute"]["stopped_reason"])


class BatchWatcherWiringTests(L1SideTestCase):
    """``follow_batches``: the batch watcher drives the backend's ``safe`` / ``finalized``."""

    def test_without_batch_store_safe_and_finalized_stay_at_genesis(self):
        """The placeholder maps no batch but 0: committed batches move the batch gauges, the
        blocks stay at 0."""
        backend = FakeBackend()
        self.side.follow_batches(self.node, backend)
        self.l1.add_event(BLOCK_COMMIT_TOPIC, 1)
        self.clock.advance(0.1)
        progress = backend.progress
        self.assertEqual(progress.last_committed_batch, 1)
        self.assertEqual((progress.last_committed_block, progress.last_executed_block), (0, 0))
        self.assertEqual(self.sample("l1_state_batch_number", status="committed"), 1)
        self.assertEqual(self.sample("l1_state_block_number", status="committed"), 0)
        self.assertEqual((no_batch_store(0), no_batch_store(1)), (0, None))

    def test_batch_store_maps_batches_to_blocks(self):
        """With a batch → block lookup, the counters read on start and later L1 events move
        ``last_committed_block`` / ``last_executed_block`` and their gauges."""
        self.side.state = l1_state(2, 1, 1)
        self.l1.counters["getTotalBatchesCommitted()"] = 2
        self.l1.counters["getTotalBatchesExecuted()"] = 1
        backend = FakeBackend()
        self.side.follow_batches(self.node, backend, lambda n: 5 * n)
        progress = backend.progress
        self.assertEqual((progress.last_committed_block, progress.last_executed_block), (10, 5))
        self.l1.add_event(BLOCK_COMMIT_TOPIC, 3)
        self.l1.add_event(BLOCK_EXECUTION_TOPIC, 2)
        self.clock.advance(0.1)
        self.assertEqual((progress.last_committed_block, progress.last_executed_block), (15, 10))
        self.assertEqual(self.sample("l1_state_block_number", status="executed"), 10)
        self.assertEqual(self.sample("l1_state_batch_number", status="executed"), 2)
        section = self.status.sections()["l1_batches"]
        self.assertEqual((section["lastCommittedBlock"], section["lastExecutedBatch"]), (15, 2))
