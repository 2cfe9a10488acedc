"""``L1Senders``: the node's three L1 senders (commit, prove, execute) and the queues between
them and the rest of the pipeline, built from config by ``create_l1_senders_from_config``.

Queues: ``commit_in`` (proved batches, in order, from the ``GaplessCommitter``) → commit sender
→ ``commit_out`` (to the SNARK prover) ... ``prove_in`` → prove sender → ``prove_out`` (to the
priority tree) ... ``execute_in`` → execute sender → ``execute_out`` (to the sink). Each sender's
output queue is bounded, so an L1 that mines slowly holds the pipeline back.

``prepare()`` is a launcher start-up step: every operator must have funds on L1 (else one
``L1SenderStartupError`` line). ``problems()`` (a ``NodeStatus`` problem source, like
``L1Health``): one entry per stopped stage, shown on ``/status/health``. The senders encode and
sign in one thread of their own (``PipelineThread``, the group's first child: it starts before
the senders and stops after them).
"""

from __future__ import annotations

from twisted.application.service import MultiService

from zkos_tw.batcher.offload import PipelineThread
from zkos_tw.l1.artifacts import load_artifact
from zkos_tw.l1.senders import COUNTERS, GWEI, L1Sender
from zkos_tw.pipeline import BoundedQueue

#: Capacity of each sender's input and output queue.
QUEUE_CAPACITY = 16


class L1Senders(MultiService):
    """The commit, prove and execute senders, in that order, as one service."""

    name = "l1_senders"

    def __init__(self, senders: dict[str, L1Sender], thread: PipelineThread | None = None):
        super().__init__()
        if thread is not None:
            thread.setServiceParent(self)
        self.senders = senders
        for sender in senders.values():
            sender.setServiceParent(self)

    def __getitem__(self, command: str) -> L1Sender:
        return self.senders[command]

    async def prepare(self) -> None:
        """Prepare every sender (chain id, funds, L1 counter); raises ``L1SenderStartupError``."""
        for sender in self.senders.values():
            await sender.prepare()

    def stages(self) -> dict:
        """The ``l1_senders`` section of ``/status/health``: per command its state
        (``starting``, ``running``, ``stopped``), operator, L1 counter and why it stopped."""
        report = {}
        for command, sender in self.senders.items():
            if sender.stopped_reason is not None:
                state = "stopped"
            elif sender.prepared and sender.running:
                state = "running"
            else:
                state = "starting"
            report[command] = {
                "state": state,
                "operator": sender.address,
                "l1_counter": sender.l1_counter,
                "stopped_reason": sender.stopped_reason,
            }
        return report

    def problems(self) -> list[str]:
        found = []
        for sender in self.senders.values():
            found.extend(sender.problems())
        return found

    def stopService(self):
        for sender in self.senders.values():
            sender.inbound.close()
        return super().stopService()


def create_l1_senders_from_config(
    config,
    reactor,
    l1_client,
    l1_state,
    *,
    metrics=None,
    queue_capacity=QUEUE_CAPACITY,
    _in_thread=None,
) -> L1Senders:
    """The three senders of ``config.l1_sender`` for the chain ``l1_state`` discovery found.
    ``_in_thread(f, *args) -> Deferred`` encodes and signs (default: the group's own thread)."""
    sender_config = config.l1_sender
    thread = None
    if _in_thread is None:
        thread = _in_thread = PipelineThread(reactor, "l1-senders")
    error_abis = _revert_abis()
    senders = {}
    for command in COUNTERS:
        senders[command] = L1Sender(
            command,
            private_key=getattr(sender_config, f"operator_{command}_pk"),
            l1_client=l1_client,
            clock=reactor,
            diamond_proxy=l1_state.diamond_proxy,
            validator_timelock=l1_state.validator_timelock,
            inbound=BoundedQueue(queue_capacity, f"{command} in"),
            outbound=BoundedQueue(queue_capacity, f"{command} out"),
            max_fee_per_gas=sender_config.max_fee_per_gas_gwei * GWEI,
            max_priority_fee_per_gas=sender_config.max_priority_fee_per_gas_gwei * GWEI,
            command_limit=sender_config.command_limit,
            poll_interval=sender_config.poll_interval,
            metrics=metrics,
            error_abis=error_abis,
            in_thread=_in_thread,
        )
    return L1Senders(senders, thread)


def _revert_abis() -> tuple:
    """The ABIs whose custom errors a failed L1 transaction can carry (the validator timelock,
    the chain's diamond and the verifier it calls on prove), so a revert reason reads
    ``MultisigRequired(…)`` or ``UnknownSnarkSigner(…)`` rather than raw bytes; the batch
    verification step recognises the first."""
    names = ("ValidatorTimelock", "ZKChain", "TestnetVerifier")
    return tuple(load_artifact(name).abi for name in names)
