"""An in-memory JSON-RPC chain for the load generator's unit tests: a poster (``post(body)``)
that answers the few methods a load run uses, mines pooled transactions when told to, and
decodes every raw transaction it is sent with the node's own decoder."""

from __future__ import annotations

import json

from twisted.internet.defer import fail, succeed
from zope.interface import implementer

from zkos_tw.execution.transactions import decode_transaction, recover_sender
from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IPoster
from zkos_tw.load.http import HttpError


@implementer(IPoster)
class FakeChain:
    """Balances, nonces, a pool and blocks; ``mine()`` puts up to ``block_size`` pooled
    transactions in a new block. ``refuse`` maps a tx hash to an error message."""

    def __init__(self, chain_id=270, base_fee=1000, rich=None, rich_balance=10**22):
        self.chain_id = chain_id
        self.base_fee = base_fee
        self.balances = {} if rich is None else {rich.lower(): rich_balance}
        self.nonces: dict[str, int] = {}
        self.pool: list[tuple[str, object]] = []
        self.blocks: list[list[str]] = [[]]
        self.receipts: dict[str, dict] = {}
        self.sent: list = []
        self.refuse: dict[str, str] = {}
        self.block_size = 1000
        self.calls: list[str] = []
        self.fail_http = False

    # the poster interface of zkos_tw.load.client
    def post(self, body: bytes):
        if self.fail_http:
            return fail(HttpError("connection refused"))
        request = json.loads(body)
        if isinstance(request, list):
            answer = [self._answer(r) for r in request]
        else:
            answer = self._answer(request)
        return succeed((200, json.dumps(answer).encode()))

    def close(self):
        return succeed(None)

    def _answer(self, request: dict) -> dict:
        method, params = request["method"], request.get("params", [])
        self.calls.append(method)
        try:
            result = getattr(self, method)(*params)
        except ValueError as e:
            return {
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32603, "message": str(e)},
            }
        return {"jsonrpc": "2.0", "id": request["id"], "result": result}

    def mine(self) -> list[str]:
        taken, self.pool = self.pool[: self.block_size], self.pool[self.block_size :]
        number = len(self.blocks)
        hashes = []
        for tx_hash, tx in taken:
            sender = "0x" + recover_sender(tx).hex()
            self.nonces[sender] = tx.nonce + 1
            cost = tx.value + tx.gas * tx.max_fee_per_gas
            self.balances[sender] = self.balances.get(sender, 0) - cost
            if tx.to is not None:
                to = "0x" + tx.to.hex()
                self.balances[to] = self.balances.get(to, 0) + tx.value
            self.receipts[tx_hash] = {"status": "0x1", "blockNumber": hex(number)}
            hashes.append(tx_hash)
        self.blocks.append(hashes)
        return hashes

    # JSON-RPC methods
    def eth_chainId(self):
        return hex(self.chain_id)

    def eth_blockNumber(self):
        return hex(len(self.blocks) - 1)

    def eth_getBlockByNumber(self, tag, full):
        number = len(self.blocks) - 1 if tag == "latest" else int(tag, 16)
        if number >= len(self.blocks):
            return None
        return {
            "number": hex(number),
            "baseFeePerGas": hex(self.base_fee),
            "transactions": list(self.blocks[number]),
        }

    def eth_getBalance(self, address, tag):
        return hex(self.balances.get(address.lower(), 0))

    def eth_getTransactionCount(self, address, tag):
        address = address.lower()
        nonce = self.nonces.get(address, 0)
        if tag == "pending":
            for _, tx in self.pool:
                if "0x" + recover_sender(tx).hex() == address:
                    nonce = max(nonce, tx.nonce + 1)
        return hex(nonce)

    def eth_sendRawTransaction(self, raw_hex):
        raw = bytes.fromhex(raw_hex[2:])
        tx_hash = "0x" + keccak256(raw).hex()
        if tx_hash in self.refuse:
            raise ValueError(self.refuse[tx_hash])
        tx = decode_transaction(raw)
        if tx.chain_id != self.chain_id:
            raise ValueError(f"[{tx_hash}]: transaction's chain ID does not match")
        self.sent.append(tx)
        self.pool.append((tx_hash, tx))
        return tx_hash

    def eth_getTransactionReceipt(self, tx_hash):
        return self.receipts.get(tx_hash)
