"""Test doubles for the L1 side: a scripted JSON-RPC resource behind ``StubTreq`` and an
in-memory L1 chain (``FakeL1``) that answers the calls discovery and the watcher make.

No sockets, no real time: ``StubTreq`` serves requests in memory and ``Clock`` drives timeouts,
back-off and polling.
"""

from __future__ import annotations

import json

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from zkos_tw.l1 import events
from zkos_tw.l1.client import L1Client, selector


class ScriptedRpc(Resource):
    """Answers each POST with the next scripted item: ``(http_code, body_dict_or_bytes)``, or
    ``"hang"`` (never answers). Records the decoded requests."""

    isLeaf = True

    def __init__(self, script):
        super().__init__()
        self.script = list(script)
        self.requests = []

    def render_POST(self, request):
        self.requests.append(json.loads(request.content.read()))
        item = self.script.pop(0)
        if item == "hang":
            return NOT_DONE_YET
        code, body = item
        request.setResponseCode(code)
        if isinstance(body, dict):
            body = json.dumps({"jsonrpc": "2.0", "id": self.requests[-1]["id"], **body}).encode()
        return body


def scripted_client(script, **options):
    """``(client, resource, clock, stub)`` over a ``ScriptedRpc``."""
    resource = ScriptedRpc(script)
    clock = Clock()
    stub = StubTreq(resource)
    client = L1Client("http://l1.test/", reactor=clock, http_client=stub, **options)
    return client, resource, clock, stub


class FakeL1Resource(Resource):
    """A JSON-RPC resource answering from a ``FakeL1``."""

    isLeaf = True

    def __init__(self, chain: FakeL1):
        super().__init__()
        self.chain = chain

    def render_POST(self, request):
        body = json.loads(request.content.read())
        self.chain.calls.append(body["method"])
        if self.chain.down:
            request.setResponseCode(503)
            return b"down"
        try:
            result = self.chain.answer(body["method"], body["params"])
            answer = {"result": result}
        except FakeRpcError as e:
            answer = {"error": {"code": e.code, "message": str(e)}}
        return json.dumps({"jsonrpc": "2.0", "id": body["id"], **answer}).encode()


class FakeRpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _address_hex(address: bytes) -> str:
    return "0x" + address.hex()


class FakeL1:
    """An L1 with a Bridgehub, a CTM, a diamond proxy and a list of logs.

    ``history`` controls historical ``eth_call``: when ``False`` a call at a block number fails
    (as anvil after ``--load-state``), which exercises the start-block fallback.
    """

    BRIDGEHUB = bytes.fromhex("00000000000000000000000000000000000b41d6")
    DIAMOND = bytes.fromhex("000000000000000000000000000000000000d1a0")
    CTM = bytes.fromhex("00000000000000000000000000000000000000c7")
    TIMELOCK = bytes.fromhex("0000000000000000000000000000000000007117")

    def __init__(self, chain_ids=(270,), *, history: bool = True):
        self.chain_ids = list(chain_ids)
        self.height = 0
        self.history = history
        self.logs: list[dict] = []
        self.code_from_block = 0
        # priority counter value per block: list of (block, total) steps.
        self.priority_steps: list[tuple[int, int]] = []
        self.batches = (3, 2, 1)
        self.pricing_mode = 0
        self.calls: list[str] = []
        self.log_ranges: list[tuple[int, int]] = []
        self.down = False

    def client(self, clock=None, **options) -> tuple[L1Client, Clock]:
        clock = clock or Clock()
        stub = StubTreq(FakeL1Resource(self))
        client = L1Client("http://fake-l1/", reactor=clock, http_client=stub, **options)
        client._stub = stub
        return client, clock

    # -- chain building ------------------------------------------------------------------------

    def add_priority_tx(self, fields, block: int, *, priority_id=None, tx_hash=None, data=None):
        """Emit ``NewPriorityRequest`` for the canonical ``fields`` at ``block``."""
        priority_id = fields[8] if priority_id is None else priority_id
        if tx_hash is None:
            from zkos_tw.execution.l1_transactions import canonical_hash

            tx_hash = canonical_hash(fields)
        if data is None:
            data = abi_encode(
                ["uint256", "bytes32", "uint64", events.L2_CANONICAL_TRANSACTION_ABI, "bytes[]"],
                [priority_id, tx_hash, 2**40, tuple(fields), []],
            )
        self.height = max(self.height, block)
        self.logs.append(
            {
                "address": _address_hex(self.DIAMOND),
                "topics": ["0x" + events.NEW_PRIORITY_REQUEST_TOPIC.hex()],
                "data": "0x" + data.hex(),
                "blockNumber": hex(block),
                "logIndex": hex(len(self.logs)),
                "transactionHash": "0x" + bytes(32).hex(),
            }
        )
        total = (self.priority_steps[-1][1] if self.priority_steps else 0) + 1
        self.priority_steps.append((block, total))

    def add_genesis_upgrade(self, fields, block: int, protocol_version: int = 28, deps=()):
        """Emit ``GenesisUpgrade`` for the 0x7e ``fields`` at ``block``."""
        data = abi_encode(
            [events.L2_CANONICAL_TRANSACTION_ABI, "bytes[]"], [tuple(fields), list(deps)]
        )
        self.height = max(self.height, block)
        self.logs.append(
            {
                "address": _address_hex(self.DIAMOND),
                "topics": [
                    "0x" + events.GENESIS_UPGRADE_TOPIC.hex(),
                    "0x" + (b"\x00" * 12 + self.DIAMOND).hex(),
                    "0x" + protocol_version.to_bytes(32, "big").hex(),
                ],
                "data": "0x" + data.hex(),
                "blockNumber": hex(block),
                "logIndex": hex(len(self.logs)),
                "transactionHash": "0x" + bytes(32).hex(),
            }
        )

    def add_batch_event(self, topic: bytes, block: int, *indexed: int):
        """Emit a batch event (``BlockCommit``, ``BlocksVerification``, ``BlockExecution``)
        with the given indexed uint256 topics at ``block``."""
        self.height = max(self.height, block)
        self.logs.append(
            {
                "address": _address_hex(self.DIAMOND),
                "topics": ["0x" + topic.hex()]
                + ["0x" + i.to_bytes(32, "big").hex() for i in indexed],
                "data": "0x",
                "blockNumber": hex(block),
                "logIndex": hex(len(self.logs)),
                "transactionHash": "0x" + bytes(32).hex(),
            }
        )

    def total_priority_txs(self, block: int) -> int:
        total = 0
        for step_block, value in self.priority_steps:
            if step_block <= block:
                total = value
        return total

    # -- answering -----------------------------------------------------------------------------

    def _block(self, tag) -> int:
        if tag in ("latest", "safe", "finalized", "pending"):
            return self.height
        return int(tag, 16)

    def answer(self, method, params):
        if method == "eth_blockNumber":
            return hex(self.height)
        if method == "eth_chainId":
            return hex(31337)
        if method == "eth_getCode":
            address = bytes.fromhex(params[0][2:])
            block = self._block(params[1])
            if address == self.DIAMOND and block >= self.code_from_block:
                return "0x6001"
            return "0x"
        if method == "eth_call":
            return "0x" + self._call(params[0], params[1]).hex()
        if method == "eth_getLogs":
            flt = params[0]
            low, high = self._block(flt["fromBlock"]), self._block(flt["toBlock"])
            self.log_ranges.append((low, high))
            topic0 = flt["topics"][0]
            return [
                log
                for log in self.logs
                if low <= int(log["blockNumber"], 16) <= high
                and (topic0 is None or log["topics"][0] == topic0)
            ]
        raise FakeRpcError(-32601, f"method {method} not found")

    def _call(self, tx, tag) -> bytes:
        if tag != "latest" and not self.history:
            raise FakeRpcError(-32000, "historical state not available")
        to = bytes.fromhex(tx["to"][2:])
        data = bytes.fromhex(tx["data"][2:])
        sel, args = data[:4], data[4:]
        block = self._block(tag)
        if to == self.BRIDGEHUB:
            if sel == selector("getAllZKChainChainIDs()"):
                return abi_encode(["uint256[]"], [self.chain_ids])
            if sel == selector("getZKChain(uint256)"):
                (chain_id,) = abi_decode(["uint256"], args)
                address = self.DIAMOND if chain_id in self.chain_ids else bytes(20)
                return abi_encode(["address"], ["0x" + address.hex()])
            if sel == selector("chainTypeManager(uint256)"):
                return abi_encode(["address"], ["0x" + self.CTM.hex()])
        if to == self.CTM and sel == selector("validatorTimelockPostV29()"):
            return abi_encode(["address"], ["0x" + self.TIMELOCK.hex()])
        if to == self.DIAMOND:
            if block < self.code_from_block:
                return b""
            answers = {
                selector("getTotalBatchesCommitted()"): self.batches[0],
                selector("getTotalBatchesVerified()"): self.batches[1],
                selector("getTotalBatchesExecuted()"): self.batches[2],
                selector("getPubdataPricingMode()"): self.pricing_mode,
                selector("getTotalPriorityTxs()"): self.total_priority_txs(block),
            }
            if sel in answers:
                return abi_encode(["uint256"], [answers[sel]])
        raise FakeRpcError(3, "execution reverted")


def run(client_or_stub, d):
    """Flush a ``StubTreq`` and return the result of ``d`` (a Deferred or a coroutine), or
    raise its failure."""
    stub = getattr(client_or_stub, "_stub", client_or_stub)
    d = defer.ensureDeferred(d)
    results = []
    d.addBoth(results.append)
    for _ in range(10_000):
        if results:
            break
        stub.flush()
    if not results:
        raise AssertionError("the Deferred did not fire")
    result = results[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result
