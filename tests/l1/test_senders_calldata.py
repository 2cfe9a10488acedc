"""The commit / prove / execute calldata (reference §7.2) against the contracts model
(``tests/contracts/model.py``, the calldata our Executor accepts on anvil) and golden bytes."""

from eth_abi import decode
from twisted.trial.unittest import SynchronousTestCase

from tests.contracts import model
from tests.l1.sender_fixtures import envelopes, model_batches
from zkos_tw.batcher.info import STORED_BATCH_INFO_ABI, Proof
from zkos_tw.hashing import keccak256
from zkos_tw.l1 import calldata
from zkos_tw.l1.client import selector
from zkos_tw.priority_tree import EMPTY_RANGE, PriorityTree
from zkos_tw.prover_api import attestation
from zkos_tw.prover_worker import snark

CHAIN = bytes.fromhex("000000000000000000000000000000000000d1a0")
L1_HASHES = [keccak256(b"deposit %d" % i) for i in range(3)]

# keccak256 of the full calldata (selector included) of the fixtures below; change only with
# the wire format (and the reference).
GOLDEN_COMMIT = "e03a49fd917b420f5c705b7da529ff8234666bbf2b1f27c62e5acd48bef22369"
GOLDEN_PROVE = "688ed33503661695583da260336fcfaef0c1365b0ff0bc8439b0a716e92020e5"
GOLDEN_EXECUTE = "ff9561e0873019bb110a4ee9ff275cc23832a97a9b70b10688bcefe3910e1db0"
GOLDEN_LENGTHS = [1156, 1604, 1188]


class SelectorTests(SynchronousTestCase):
    """The selectors of §7.2."""

    def test_selectors(self):
        """The three selectors are those of the signatures, as the reference lists them."""
        self.assertEqual(calldata.COMMIT_SELECTOR, selector(calldata.COMMIT_SIGNATURE))
        self.assertEqual(calldata.PROVE_SELECTOR, selector(calldata.PROVE_SIGNATURE))
        self.assertEqual(calldata.EXECUTE_SELECTOR, selector(calldata.EXECUTE_SIGNATURE))


class CalldataTests(SynchronousTestCase):
    """Each command's calldata equals the model's and the golden bytes."""

    def setUp(self):
        self.genesis, self.batches = model_batches(3, L1_HASHES)
        self.envelopes = envelopes(3, L1_HASHES, CHAIN)

    def test_commit_matches_model(self):
        """Commit: ``0x02 || abi.encode(prev, [info])`` wrapped in the timelock call."""
        command = calldata.CommitCommand(self.envelopes[0])
        data = model.commit_data(self.genesis, [self.batches[0]])
        expected = calldata.COMMIT_SELECTOR + _wrap(1, 1, data)
        self.assertEqual(command.calldata(CHAIN), expected)
        self.assertEqual(data[0], 0x02)
        self.assertEqual((command.first_batch, command.last_batch), (1, 1))

    def test_commit_second_batch_uses_previous(self):
        """Batch 2's commit carries batch 1's StoredBatchInfo as the previous batch."""
        command = calldata.CommitCommand(self.envelopes[1])
        data = model.commit_data(self.batches[0].stored(), [self.batches[1]])
        self.assertEqual(command.calldata(CHAIN), calldata.COMMIT_SELECTOR + _wrap(2, 2, data))

    def test_prove_matches_model(self):
        """Prove: fake proof ``[3, 0, 13, public input]`` over the group's StoredBatchInfos."""
        command = calldata.ProveCommand(tuple(self.envelopes), Proof.fake_proof())
        stored = [b.stored() for b in self.batches]
        proof = model.fake_proof(model.public_input(self.genesis, stored))
        data = model.prove_data(self.genesis, stored, proof)
        self.assertEqual(command.calldata(CHAIN), calldata.PROVE_SELECTOR + _wrap(1, 3, data))

    def test_public_input_single_batch(self):
        """One batch: the public input is ``shr32(H(prev_state || state || commitment))``."""
        stored = self.batches[0].stored()
        node = [e.batch.commit_batch_info.stored() for e in self.envelopes[:1]]
        expected = (
            int.from_bytes(
                keccak256(
                    self.genesis.state_commitment + stored.state_commitment + stored.commitment
                ),
                "big",
            )
            >> 32
        )
        previous = self.envelopes[0].batch.previous_stored_batch_info
        self.assertEqual(calldata.snark_public_input(previous, node), expected)

    def test_real_proof_words(self):
        """A real proof: ``[2 | (verifier_version << 8), 0, words...]``."""
        proof = Proof(False, b"\x00" * 31 + b"\x07" + b"\x01" * 32, proving_execution_version=3)
        words = calldata.proof_words(proof, 99)
        self.assertEqual(words[:3], [2 | (3 << 8), 0, 7])
        self.assertEqual(words[3], int.from_bytes(b"\x01" * 32, "big"))
        with self.assertRaises(ValueError):
            calldata.proof_words(Proof(False, b"\x01" * 33), 0)

    def test_prove_with_snark_aggregate(self):
        """A ``ProveCommand`` with a ``zkosctl prover --snark`` aggregate sends the reference's
        real form with the aggregate's four words, whose first is the public input L1 computes
        (the calldata our TestnetVerifier accepts: tests/contracts/test_snark_verifier.py)."""
        previous = self.envelopes[0].batch.previous_stored_batch_info
        stored = [e.batch.commit_batch_info.stored() for e in self.envelopes]
        fris, prev_state = [], previous.state_commitment
        for envelope, info in zip(self.envelopes, stored, strict=True):
            pi = keccak256(prev_state + info.state_commitment + info.commitment)
            fris.append(attestation.encode(attestation.sign(envelope.number, pi, b"\x51" * 32)))
            prev_state = info.state_commitment
        signed = snark.aggregate(1, 3, fris, b"\x51" * 32)
        command = calldata.ProveCommand(tuple(self.envelopes), Proof(False, signed.encode(), 3))
        data = command.calldata(CHAIN)
        _, first, last, payload = decode(["address", "uint256", "uint256", "bytes"], data[4:])
        self.assertEqual((first, last), (1, 3))
        *_, words = decode(
            [STORED_BATCH_INFO_ABI, STORED_BATCH_INFO_ABI + "[]", "uint256[]"], payload[1:]
        )
        public_input = calldata.snark_public_input(previous, stored)
        self.assertEqual(list(words[:3]), [2 | (3 << 8), 0, public_input])
        encoded = signed.encode()
        self.assertEqual(
            list(words[2:]), [int.from_bytes(encoded[i : i + 32], "big") for i in (0, 32, 64, 96)]
        )

    def test_execute_matches_model(self):
        """Execute: StoredBatchInfos, the priority-op range proofs and empty interop roots."""
        tree = PriorityTree()
        tree.extend(L1_HASHES)
        ops = (tree.range_proof(0, 3), EMPTY_RANGE)
        command = calldata.ExecuteCommand(tuple(self.envelopes[:2]), ops)
        mtree = model.PriorityTree()
        for h in L1_HASHES:
            mtree.push(h)
        stored = [b.stored() for b in self.batches[:2]]
        data = model.execute_data(stored, [mtree.range_proof(0, 3), ([], [], [])])
        self.assertEqual(command.calldata(CHAIN), calldata.EXECUTE_SELECTOR + _wrap(1, 2, data))

    def test_golden(self):
        """The calldata bytes do not change unnoticed (keccak of each, pinned)."""
        tree = PriorityTree()
        tree.extend(L1_HASHES)
        commit = calldata.CommitCommand(self.envelopes[0]).calldata(CHAIN)
        prove = calldata.ProveCommand(tuple(self.envelopes), Proof.fake_proof()).calldata(CHAIN)
        execute = calldata.ExecuteCommand((self.envelopes[0],), (tree.range_proof(0, 3),)).calldata(
            CHAIN
        )
        self.assertEqual(
            [len(commit), len(prove), len(execute)], GOLDEN_LENGTHS, "calldata lengths"
        )
        self.assertEqual(keccak256(commit).hex(), GOLDEN_COMMIT)
        self.assertEqual(keccak256(prove).hex(), GOLDEN_PROVE)
        self.assertEqual(keccak256(execute).hex(), GOLDEN_EXECUTE)
        # The head of the commit: selector, chain address, from, to, offset of data.
        self.assertEqual(
            commit[: 4 + 128].hex(),
            "0db9eb87"
            + CHAIN.rjust(32, b"\0").hex()
            + (1).to_bytes(32, "big").hex() * 2
            + (128).to_bytes(32, "big").hex(),
        )

    def test_commands_refuse_gaps(self):
        """A prove or execute group must be consecutive batches; execute needs one proof each."""
        with self.assertRaises(ValueError):
            calldata.ProveCommand((self.envelopes[0], self.envelopes[2]), Proof.fake_proof())
        with self.assertRaises(ValueError):
            calldata.ExecuteCommand(tuple(self.envelopes[:2]), (EMPTY_RANGE,))


def _wrap(first: int, last: int, data: bytes) -> bytes:
    from eth_abi import encode

    out = encode(
        ["address", "uint256", "uint256", "bytes"], ["0x" + CHAIN.hex(), first, last, data]
    )
    assert decode(["address", "uint256", "uint256", "bytes"], out)[3] == data
    return out
