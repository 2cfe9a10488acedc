"""Batches for the sender tests, built as ``tests/contracts/model.py`` builds them, as the
node's ``BatchEnvelope``\\ s (``zkos_tw.batcher.info``), and ``FakeSenderL1``, the in-memory L1 of
the sender tests."""

from __future__ import annotations

from eth_abi import decode as abi_decode
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from twisted.internet import defer

from tests.contracts import model
from zkos_tw.batcher.info import BatchEnvelope, BatchMetadata, CommitBatchInfo, StoredBatchInfo
from zkos_tw.hashing import keccak256
from zkos_tw.l1 import senders
from zkos_tw.l1.client import L1RpcError

ZERO20 = bytes(20)


def stored_from_model(batch: model.StoredBatch) -> StoredBatchInfo:
    """The node's ``StoredBatchInfo`` of a model batch."""
    return StoredBatchInfo(
        batch.number,
        batch.state_commitment,
        batch.l1_tx_count,
        batch.priority_ops_hash,
        batch.dependency_roots_hash,
        batch.l2_logs_root,
        batch.commitment,
    )


def commit_info_from_model(batch: model.CommitBatch, chain_address: bytes) -> CommitBatchInfo:
    """The node's ``CommitBatchInfo`` of a model batch (same fields, same hashes)."""
    da_commitment, da_input = batch.da()
    upgrade = batch.upgrade_tx_hash if batch.upgrade_tx_hash != bytes(32) else None
    return CommitBatchInfo(
        batch_number=batch.number,
        new_state_commitment=batch.state_commitment,
        number_of_layer1_txs=batch.l1_tx_count,
        priority_operations_hash=batch.priority_ops_hash,
        dependency_roots_rolling_hash=bytes(32),
        l2_to_l1_logs_root_hash=batch.l2_logs_root,
        l2_da_validator=ZERO20,
        da_commitment=da_commitment,
        first_block_timestamp=batch.first_ts,
        last_block_timestamp=batch.last_ts,
        chain_id=batch.chain_id,
        chain_address=chain_address,
        operator_da_input=da_input,
        upgrade_tx_hash=upgrade,
    )


def envelope(
    previous: model.StoredBatch, batch: model.CommitBatch, chain_address: bytes = ZERO20
) -> BatchEnvelope:
    """A ``BatchEnvelope`` of ``batch`` committed after ``previous``."""
    meta = BatchMetadata(
        previous_stored_batch_info=stored_from_model(previous),
        commit_batch_info=commit_info_from_model(batch, chain_address),
        first_block_number=10 * batch.number - 9,
        last_block_number=10 * batch.number,
        tx_count=3,
    )
    return BatchEnvelope(meta)


def model_batches(count: int, l1_hashes=(), chain_id: int = 270, genesis_root=b"\x11" * 32):
    """``(genesis, [model.CommitBatch])``: ``count`` batches, the first carrying ``l1_hashes``."""
    genesis = model.genesis_batch(genesis_root)
    batches = []
    for n in range(1, count + 1):
        batches.append(
            model.CommitBatch(
                number=n,
                state_commitment=bytes([n]) * 32,
                l1_tx_hashes=tuple(l1_hashes) if n == 1 else (),
                chain_id=chain_id,
                first_ts=1_800_000_000 + 10 * n,
                last_ts=1_800_000_005 + 10 * n,
                pubdata=b"pubdata of batch %d" % n,
            )
        )
    return genesis, batches


def envelopes(count: int, l1_hashes=(), chain_address: bytes = ZERO20, **options):
    """``count`` consecutive envelopes after genesis (each after the one before)."""
    genesis, batches = model_batches(count, l1_hashes, **options)
    out, previous = [], genesis
    for batch in batches:
        out.append(envelope(previous, batch, chain_address))
        previous = batch.stored()
    return out


KEY = "0x" + "42" * 32
DIAMOND = bytes.fromhex("000000000000000000000000000000000000d1a0")
TIMELOCK = bytes.fromhex("000000000000000000000000000000000000717e")
GWEI = 10**9


class FakeSenderL1:
    """The ``L1Client`` methods a sender calls, over an in-memory chain of one operator.

    Sent transactions wait in ``pool`` (by nonce) until ``mine()``; a mined transaction of the
    stage advances ``counter`` to its last batch unless its nonce is in ``fail_nonces``. A
    replacement must raise both fee caps by at least 10%, as geth and anvil require."""

    def __init__(self, balance=10**18, chain_id=31337, command="commit"):
        self.command = command
        self.balance = balance
        self.chain = chain_id
        self.counter = 0
        self.head = 100
        self.nonce = 0  # the operator's ``latest`` nonce
        self.pool: dict[int, dict] = {}  # nonce -> decoded pending transaction
        self.receipts: dict[bytes, dict] = {}
        self.sent: list[dict] = []  # every accepted transaction, in order
        self.fail_nonces: set[int] = set()
        self.refuse: str | None = None  # the error every send gets, when set

    # -- L1Client ------------------------------------------------------------------------------

    def chain_id(self):
        return defer.succeed(self.chain)

    def block_number(self):
        return defer.succeed(self.head)

    def call_function(self, to, signature, args=(), returns=(), block="latest"):
        assert to == DIAMOND and signature == senders.COUNTERS[self.command], signature
        return defer.succeed((self.counter,))

    def get_transaction_receipt(self, tx_hash):
        return defer.succeed(self.receipts.get(bytes(tx_hash)))

    def send_raw_transaction(self, raw):
        tx = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        tx["hash"] = keccak256(bytes(raw))
        nonce = tx["nonce"]
        if self.refuse is not None:
            return defer.fail(_rpc(self.refuse))
        if nonce < self.nonce:
            return defer.fail(_rpc("nonce too low"))
        old = self.pool.get(nonce)
        if old is not None:
            if old["hash"] == tx["hash"]:
                return defer.fail(_rpc("already known"))
            if (
                tx["maxFeePerGas"] * 10 < old["maxFeePerGas"] * 11
                or tx["maxPriorityFeePerGas"] * 10 < old["maxPriorityFeePerGas"] * 11
            ):
                return defer.fail(_rpc("replacement transaction underpriced"))
        self.pool[nonce] = tx
        self.sent.append(tx)
        return defer.succeed(tx["hash"])

    def request(self, method, params):
        if method == "eth_getBalance":
            return defer.succeed(hex(self.balance))
        if method == "eth_getTransactionCount":
            pending = self.nonce
            while pending in self.pool:
                pending += 1
            return defer.succeed(hex(self.nonce if params[1] == "latest" else pending))
        if method == "eth_call":
            return defer.succeed("0x")  # the replay of a failed call reverts without a reason
        raise AssertionError(f"unexpected request {method}")

    # -- test controls -------------------------------------------------------------------------

    def mine(self):
        """Mine every pending transaction in nonce order into a new block."""
        self.head += 1
        block_hash = keccak256(b"block %d" % self.head)
        while self.nonce in self.pool:
            tx = self.pool.pop(self.nonce)
            ok = self.nonce not in self.fail_nonces
            if ok:
                _, _, last, _ = abi_decode(
                    ["address", "uint256", "uint256", "bytes"], bytes(tx["data"])[4:]
                )
                self.counter = last
            self.receipts[tx["hash"]] = {
                "status": "0x1" if ok else "0x0",
                "blockNumber": hex(self.head),
                "blockHash": "0x" + block_hash.hex(),
                "gasUsed": "0x5208",
                "effectiveGasPrice": hex(GWEI),
            }
            self.nonce += 1

    def pending_nonces(self):
        return sorted(self.pool)


def _rpc(message):
    return L1RpcError("eth_sendRawTransaction", -32000, message)
