"""An in-memory ``IRpcBackend`` for tests and development: blocks, transactions, receipts, logs
and account state that a test adds by hand.

``add_block(transactions)`` seals a block of transactions made by ``make_transaction`` (with
their logs), computes hashes, receipts, the ``logsBloom`` and block-global log indexes, and calls
the block listeners. ``send_raw_transaction`` puts the bytes' keccak hash in the pool and calls
the pending listeners (empty bytes or a 0x7e/0x7f first byte fail to decode, as in the
reference); ``send_error`` makes the next sends fail with that ``BackendError`` text.
``call_handler`` / ``estimate_handler`` answer ``eth_call`` / ``eth_estimateGas``.
It seals no batches (``zks_getL1BatchNumber`` is 0). State is not historical: any block up to the tip reads the current values; a block above the
tip raises ``BlockNotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak
from zope.interface import implementer

from zkos_tw.interfaces import IRpcBackend
from zkos_tw.rpc.errors import BackendError, BlockNotFound
from zkos_tw.rpc.logfilter import bloom_may_match, log_matches, logs_bloom

ZERO32 = "0x" + "00" * 32
FEE_COLLECTOR = "0x36615cf349d7f6344891b1e7ca7c72883f5dc049"


def hx(value: bytes) -> str:
    return "0x" + bytes(value).hex()


@dataclass
class Account:
    """One account's state."""

    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict = field(default_factory=dict)


def make_transaction(
    sender: bytes,
    nonce: int,
    to: bytes | None = None,
    value: int = 0,
    input: bytes = b"",
    logs=(),
    status: int = 1,
    gas_used: int = 21000,
) -> dict:
    """A transaction for ``add_block``; ``logs`` are ``(address, [topics], data)`` tuples."""
    raw = b"\x02" + keccak(sender + nonce.to_bytes(8, "big") + (to or b"") + input)
    return {
        "raw": raw,
        "hash": keccak(raw),
        "from": sender,
        "nonce": nonce,
        "to": to,
        "value": value,
        "input": input,
        "logs": list(logs),
        "status": status,
        "gas_used": gas_used,
    }


@implementer(IRpcBackend)
class FakeRpcBackend:
    """A hand-fed backend; see the module docstring."""

    def __init__(
        self,
        chain_id: int = 270,
        bridgehub_address: str = "0x8bd76a67b984e8f0b902a82220a90fc45d9738a9",
    ):
        self.chain_id = chain_id
        self.bridgehub_address = bridgehub_address
        self.blocks: list[dict] = []  # full blocks (transactions as objects)
        self.block_logs: list[list] = []
        self.receipts: dict[bytes, dict] = {}
        self.transactions: dict[bytes, dict] = {}
        self.raw: dict[bytes, bytes] = {}
        self.by_sender: dict[tuple, bytes] = {}
        self.pool: dict[bytes, dict] = {}
        self.accounts: dict[bytes, Account] = {}
        self.safe: int | None = None
        self.finalized: int | None = None
        self.send_error: str | None = None
        self.call_handler = lambda request, number: b""
        self.estimate_handler = lambda request, number: 21000
        self.calls: list = []
        self.next_block_flags: list = []
        self._block_listeners: list = []
        self._pending_listeners: list = []
        self.genesis_input = {
            "initial_contracts": [],
            "additional_storage": [],
            "execution_version": 3,
            "genesis_root": ZERO32,
        }
        self.add_block([], timestamp=0)

    # -- feeding ----------------------------------------------------------------------------

    def account(self, address: bytes) -> Account:
        """The (mutable) account at ``address``, created empty if needed."""
        return self.accounts.setdefault(address, Account())

    def add_block(self, transactions=(), timestamp: int | None = None) -> dict:
        """Seal a block of ``make_transaction`` dicts; return its RPC block (hashes)."""
        number = len(self.blocks)
        parent = self.blocks[-1]["hash"] if self.blocks else ZERO32
        block_hash = keccak(number.to_bytes(8, "big") + bytes.fromhex(parent[2:]))
        timestamp = number if timestamp is None else timestamp
        tx_objects, logs, gas = [], [], 0
        for index, tx in enumerate(transactions):
            gas += tx["gas_used"]
            obj = self._tx_object(tx, block_hash, number, index)
            tx_logs = []
            for address, topics, payload in tx["logs"]:
                tx_logs.append(
                    {
                        "address": hx(address),
                        "topics": [hx(t) for t in topics],
                        "data": hx(payload),
                        "blockHash": hx(block_hash),
                        "blockNumber": hex(number),
                        "blockTimestamp": hex(timestamp),
                        "transactionHash": hx(tx["hash"]),
                        "transactionIndex": hex(index),
                        "logIndex": hex(len(logs) + len(tx_logs)),
                        "removed": False,
                    }
                )
            logs.extend(tx_logs)
            self.receipts[tx["hash"]] = {
                "type": "0x2",
                "status": hex(tx["status"]),
                "cumulativeGasUsed": hex(gas),
                "logs": tx_logs,
                "logsBloom": logs_bloom(tx_logs),
                "l2ToL1Logs": [],
                "transactionHash": hx(tx["hash"]),
                "transactionIndex": hex(index),
                "blockHash": hx(block_hash),
                "blockNumber": hex(number),
                "gasUsed": hex(tx["gas_used"]),
                "effectiveGasPrice": hex(1000),
                "from": hx(tx["from"]),
                "to": hx(tx["to"]) if tx["to"] else None,
                "contractAddress": None,
            }
            self.transactions[tx["hash"]] = obj
            self.raw[tx["hash"]] = tx["raw"]
            self.by_sender[(tx["from"], tx["nonce"])] = tx["hash"]
            self.pool.pop(tx["hash"], None)
            tx_objects.append(obj)
        block = {
            "hash": hx(block_hash),
            "parentHash": parent,
            "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
            "miner": FEE_COLLECTOR,
            "stateRoot": ZERO32,
            "transactionsRoot": ZERO32,
            "receiptsRoot": ZERO32,
            "logsBloom": logs_bloom(logs),
            "difficulty": "0x0",
            "number": hex(number),
            "gasLimit": hex(100_000_000 if number else 5000),
            "gasUsed": hex(gas),
            "timestamp": hex(timestamp),
            "extraData": "0x",
            "mixHash": ZERO32,
            "nonce": "0x0000000000000000",
            "baseFeePerGas": hex(1000 if number else 1_000_000_000),
            "size": hex(500 + 32 * len(tx_objects)),
            "uncles": [],
            "transactions": tx_objects,
        }
        self.blocks.append(block)
        self.block_logs.append(logs)
        header = {k: v for k, v in block.items() if k not in ("transactions", "uncles")}
        for listener in list(self._block_listeners):
            listener(header, list(logs))
        return self._shape(block, False)

    def _tx_object(self, tx, block_hash, number, index) -> dict:
        return {
            "type": "0x2",
            "hash": hx(tx["hash"]),
            "from": hx(tx["from"]),
            "to": hx(tx["to"]) if tx["to"] else None,
            "nonce": hex(tx["nonce"]),
            "value": hex(tx["value"]),
            "input": hx(tx["input"]),
            "gas": hex(tx["gas_used"]),
            "maxFeePerGas": hex(1000),
            "maxPriorityFeePerGas": "0x0",
            "gasPrice": hex(1000),
            "chainId": hex(self.chain_id),
            "accessList": [],
            "v": "0x0",
            "r": "0x1",
            "s": "0x1",
            "yParity": "0x0",
            "blockHash": hx(block_hash) if block_hash else None,
            "blockNumber": hex(number) if number is not None else None,
            "transactionIndex": hex(index) if index is not None else None,
        }

    @staticmethod
    def _shape(block: dict, full: bool) -> dict:
        if full:
            return dict(block)
        return {**block, "transactions": [t["hash"] for t in block["transactions"]]}

    # -- IRpcBackend ------------------------------------------------------------------------

    def genesis(self):
        return self.genesis_input

    def latest_block_number(self):
        return len(self.blocks) - 1

    def safe_block_number(self):
        return self.latest_block_number() if self.safe is None else self.safe

    def finalized_block_number(self):
        return self.latest_block_number() if self.finalized is None else self.finalized

    # No batches: the fake seals none, so every block but genesis is "not in a batch yet"
    # (tests of the batch methods use ``NodeBackend`` over a ``MemoryBatchStore``).

    def l1_batch_number(self):
        return 0

    def l1_batch_block_range(self, number):
        return (0, 0) if number == 0 else None

    def l1_batch_details(self, number):
        return None

    def block_details(self, number):
        return None

    def l2_to_l1_log_proof(self, tx_hash, index):
        if tx_hash not in self.transactions:
            return None
        raise BackendError("transaction has not been included in an L1 batch yet")

    def block_number_by_hash(self, block_hash):
        for block in self.blocks:
            if block["hash"] == hx(block_hash):
                return int(block["number"], 16)
        return None

    def block_by_number(self, number, full):
        if number >= len(self.blocks):
            return None
        return self._shape(self.blocks[number], full)

    def transaction_by_hash(self, tx_hash):
        return self.pool.get(tx_hash) or self.transactions.get(tx_hash)

    def raw_transaction_by_hash(self, tx_hash):
        return self.raw.get(tx_hash)

    def transaction_by_sender_and_nonce(self, sender, nonce):
        tx_hash = self.by_sender.get((sender, nonce))
        return None if tx_hash is None else self.transaction_by_hash(tx_hash)

    def receipt(self, tx_hash):
        return self.receipts.get(tx_hash)

    def block_receipts(self, number):
        if number >= len(self.blocks):
            return None
        return [
            self.receipts[bytes.fromhex(t["hash"][2:])] for t in self.blocks[number]["transactions"]
        ]

    def logs(self, from_block, to_block, addresses, topics, limit):
        found = []
        for number in range(from_block, min(to_block, self.latest_block_number()) + 1):
            if not bloom_may_match(self.blocks[number]["logsBloom"], addresses, topics):
                continue
            found.extend(
                log for log in self.block_logs[number] if log_matches(log, addresses, topics)
            )
            if limit is not None and len(found) > limit:
                break
        return found

    def _check(self, number):
        if number > self.latest_block_number():
            raise BlockNotFound(number)

    def balance(self, address, number):
        self._check(number)
        return self.account(address).balance

    def nonce(self, address, number):
        self._check(number)
        return self.account(address).nonce

    def code(self, address, number):
        self._check(number)
        return self.account(address).code

    def storage_at(self, address, slot, number):
        self._check(number)
        return self.account(address).storage.get(slot, 0)

    def pending_nonce(self, address):
        nonces = sorted(int(t["nonce"], 16) for t in self.pool.values() if t["from"] == hx(address))
        if not nonces:
            return None
        expected = self.account(address).nonce
        for n in nonces:
            if n == expected:
                expected += 1
        return expected

    def call(self, request, number, next_block=False):
        self.calls.append(("call", request, number))
        self.next_block_flags.append(next_block)
        return self.call_handler(request, number)

    def estimate_gas(self, request, number, next_block=False):
        self.calls.append(("estimate", request, number))
        self.next_block_flags.append(next_block)
        return self.estimate_handler(request, number)

    def send_raw_transaction(self, raw):
        if not raw or raw[0] in (0x7E, 0x7F):
            raise BackendError("failed to decode signed transaction")
        tx_hash = keccak(raw)
        if self.send_error is not None:
            raise BackendError(f"[{hx(tx_hash)}]: {self.send_error}")
        if tx_hash in self.pool:
            raise BackendError(f"[{hx(tx_hash)}]: already imported")
        sender = keccak(raw)[:20]
        obj = self._tx_object(
            {
                "hash": tx_hash,
                "from": sender,
                "to": None,
                "nonce": 0,
                "value": 0,
                "input": b"",
                "gas_used": 21000,
            },
            None,
            None,
            None,
        )
        self.pool[tx_hash] = obj
        self.raw[tx_hash] = raw
        for listener in list(self._pending_listeners):
            listener(obj)
        return tx_hash

    def add_block_listener(self, listener):
        self._block_listeners.append(listener)
        return lambda: self._block_listeners.remove(listener)

    def add_pending_transaction_listener(self, listener):
        self._pending_listeners.append(listener)
        return lambda: self._pending_listeners.remove(listener)
