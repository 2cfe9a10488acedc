"""``BatchSigner`` on a real chain (LMDB, dev genesis, the real sequencer with a fake clock):
it signs the commit the main node would send for its own blocks and refuses anything else,
naming the first differing field; ``SignerProtocol`` answers over the wire."""

from __future__ import annotations

from dataclasses import replace

from nacl.signing import SigningKey
from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from tests.sequencer.test_l1_blocks import deposit, upgrade
from tests.sequencer.test_replay import Node
from tests.sequencer.test_service import signed
from zkos_tw.batch_verification import protocol as p
from zkos_tw.batch_verification.collector import SignatureCollector
from zkos_tw.batch_verification.digest import SigningDomain, commit_digest, recover
from zkos_tw.batch_verification.policy import SigningPolicy
from zkos_tw.batch_verification.signer import BatchSigner, SignerProtocol
from zkos_tw.batcher.commitment import StoredTreeVersions, build_commit_batch_info
from zkos_tw.batcher.info import BatchEnvelope, BatchMetadata, StoredBatchInfo
from zkos_tw.l1.calldata import commit_data
from zkos_tw.sequencer.l1_queue import L1TransactionQueue
from zkos_tw.transports.nacl import NaclFactory

CHAIN = b"\xd1" * 20
KEY = b"\x11" * 32
DOMAIN = SigningDomain(31337, b"\x77" * 20)


class ChainCase(SynchronousTestCase):
    """Blocks 1 (upgrade, deposit, transfer) and 2 (transfer) on a real chain, and a signer."""

    def setUp(self):
        self.reactor = reactor = MemoryReactorClock()
        reactor.advance(1_700_000_000)
        reactor.running = True
        queue = L1TransactionQueue()
        node = Node(self, reactor, l1_queue=queue)
        queue.push(deposit(0))
        node.mempool.add(signed(0, value=5))
        queue.set_upgrade(upgrade())
        reactor.advance(0.1)
        node.mempool.add(signed(1, value=6))
        reactor.advance(1.1)
        self.storage = node.chain.storage
        self.genesis = node.chain.genesis.state_commitment
        self.assertEqual(self.storage.last_block(), 2)
        self.signer = BatchSigner(
            storage=self.storage,
            clock=reactor,
            signing_key=KEY,
            domain=DOMAIN,
            chain_id=270,
            chain_address=CHAIN,
            genesis_state_commitment=self.genesis,
            wait_timeout=0.5,
        )

    def info(self, number, block):
        return build_commit_batch_info(
            self.storage, StoredTreeVersions(self.storage.tree_store()), batch_number=number,
            first_block=block, last_block=block, chain_id=270, chain_address=CHAIN,
        )  # fmt: skip

    def request(self, number=2, block=2, info=None, previous=None, **changes):
        """What the main node sends for batch ``number`` = block ``block``."""
        if previous is None:
            previous = (
                StoredBatchInfo.genesis(self.genesis) if number == 1 else self.info(1, 1).stored()
            )
        info = info or self.info(number, block)
        meta = BatchMetadata(previous, info, block, block, 1)
        data = commit_data(previous, BatchEnvelope(meta))
        fields = dict(
            request_id=9, batch_number=number, process_from=number, process_to=number,
            first_block=block, last_block=block, chain_address=CHAIN, batch_data=data,
        )  # fmt: skip
        fields.update(changes)
        return p.Request(**fields)


class SignerTests(ChainCase):
    def answer(self, request):
        d = defer.ensureDeferred(self.signer.answer(request))
        self.reactor.advance(1)
        return self.successResultOf(d)

    def test_signs_agreeing_batches(self):
        """Batches 1 and 2 as the main node builds them are signed; the signature recovers to
        the signing key's address over the request's digest."""
        for number in (1, 2):
            request = self.request(number, number)
            answer = self.answer(request)
            self.assertIsInstance(answer, p.Signed, answer)
            digest = commit_digest(DOMAIN, CHAIN, number, number, request.batch_data)
            self.assertEqual(recover(digest, answer.signature), self.signer.address)
        self.assertEqual(self.signer.metrics.answers.labels(result="signed")._value.get(), 2)

    def test_refuses_a_different_state_commitment(self):
        """A batch whose new_state_commitment differs is refused with that field's name."""
        info = replace(self.info(2, 2), new_state_commitment=b"\x01" * 32)
        answer = self.answer(self.request(info=info))
        self.assertIsInstance(answer, p.Refused)
        self.assertTrue(
            answer.reason.startswith("batch 2: new_state_commitment differs: main node 0x0101"),
            answer.reason,
        )
        self.assertEqual(self.signer.metrics.answers.labels(result="refused")._value.get(), 1)

    def test_refuses_other_fields_first_one_named(self):
        """Two fields differ: the first in ABI order is named."""
        info = replace(self.info(2, 2), last_block_timestamp=1, chain_id=271)
        reason = self.answer(self.request(info=info)).reason
        self.assertIn("batch 2: last_block_timestamp differs: main node 1, ours ", reason)

    def test_refuses_a_wrong_previous_batch(self):
        """The previous StoredBatchInfo must be batch n-1 with our state after block n-1."""
        previous = replace(self.info(1, 1).stored(), state_commitment=b"\x02" * 32)
        reason = self.answer(self.request(previous=previous)).reason
        self.assertIn("previous state_commitment differs", reason)
        previous = replace(self.info(1, 1).stored(), batch_number=5)
        self.assertIn(
            "previous batch_number differs", self.answer(self.request(previous=previous)).reason
        )

    def test_refuses_other_chain_and_ranges(self):
        """Another chain address, from != to, garbage batch data."""
        self.assertIn(
            "chain_address differs", self.answer(self.request(chain_address=b"\x01" * 20)).reason
        )
        self.assertIn("processBatchFrom..To 2..3", self.answer(self.request(process_to=3)).reason)
        self.assertIn(
            "not a version 2 commit", self.answer(self.request(batch_data=b"\x01")).reason
        )
        self.assertIn("does not decode", self.answer(self.request(batch_data=b"\x02\x00")).reason)

    def test_missing_block_times_out(self):
        """Blocks we do not have (yet): waited for up to wait_timeout, then refused, counted."""
        request = self.request(3, 3, info=replace(self.info(2, 2), batch_number=3))
        d = defer.ensureDeferred(self.signer.answer(request))
        self.reactor.advance(0.2)
        self.assertNoResult(d)
        for _ in range(20):
            self.reactor.advance(0.05)
        answer = self.successResultOf(d)
        self.assertIn("batch 3: not in our data after", answer.reason)
        self.assertEqual(self.signer.metrics.timeouts._value.get(), 1)

    def test_protocol_answers_requests(self):
        """Over the wire: hello on connect, the server's version, a request, a Signed frame."""
        transport = StringTransport()
        protocol = SignerProtocol(self.signer)
        protocol.makeConnection(transport)
        self.assertEqual(transport.value(), p.encode_hello())
        transport.clear()
        protocol.dataReceived(p.encode_version() + p.encode_frame(self.request(1, 1)))
        self.reactor.advance(1)
        (answer,) = p.FrameParser().feed(transport.value())
        self.assertIsInstance(answer, p.Signed)
        self.assertEqual(answer.request_id, 9)

    def test_protocol_closes_on_bad_version(self):
        """A main node speaking another version is disconnected."""
        transport = StringTransport()
        protocol = SignerProtocol(self.signer)
        protocol.makeConnection(transport)
        protocol.dataReceived(p.encode_version(3))
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.signer.metrics.protocol_errors._value.get(), 1)


class NaclTransportTests(ChainCase):
    """The collector and the signer through ``nacl:`` (iosim): the EN's transports work here."""

    def test_signature_over_nacl(self):
        """A 1-of-1 policy: the signer's signature arrives through the encrypted channel."""
        server_key, client_key = SigningKey(b"\x01" * 32), SigningKey(b"\x02" * 32)
        collector = SignatureCollector(
            endpoint=None, policy=SigningPolicy(1, frozenset([self.signer.address]), True),
            domain=DOMAIN, clock=self.reactor, request_timeout=5, retry_delay=1,
            total_timeout=30,
        )  # fmt: skip
        server = NaclFactory(
            collector.factory, server_key, is_client=False,
            allowed=frozenset([bytes(client_key.verify_key)]), clock=self.reactor,
        )  # fmt: skip
        client = NaclFactory(
            Factory.forProtocol(lambda: SignerProtocol(self.signer)), client_key, is_client=True,
            server_key=bytes(server_key.verify_key), clock=self.reactor,
        )  # fmt: skip
        _, _, pump = connectedServerAndClient(
            lambda: server.buildProtocol(None), lambda: client.buildProtocol(None)
        )
        pump.flush()
        self.assertEqual(len(collector.signers), 1)
        previous = StoredBatchInfo.genesis(self.genesis)
        info = build_commit_batch_info(
            self.storage, StoredTreeVersions(self.storage.tree_store()), batch_number=1,
            first_block=1, last_block=1, chain_id=270, chain_address=CHAIN,
        )  # fmt: skip
        data = commit_data(previous, BatchEnvelope(BatchMetadata(previous, info, 1, 1, 1)))
        d = defer.ensureDeferred(collector.collect(1, 1, 1, CHAIN, data))
        pump.flush()
        signers, signatures = self.successResultOf(d)
        self.assertEqual(signers, [self.signer.address])
        digest = commit_digest(DOMAIN, CHAIN, 1, 1, data)
        self.assertEqual(recover(digest, signatures[0]), self.signer.address)
