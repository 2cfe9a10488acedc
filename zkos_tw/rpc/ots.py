"""The ``ots_`` namespace: Otterscan's API level 8 (docs/tracing.md).

Shapes are Erigon's, as anvil gives them; the reference's stubs (``[]`` / ``null``) are replaced
by real answers. The searches and ``ots_getTransactionBySenderAndNonce`` /
``ots_getContractCreator`` read the address index storage writes with each block
(``IBlockStorage.address_history``); the trace methods (``ots_traceTransaction``,
``ots_getInternalOperations``, ``ots_getTransactionError``, internal creations) re-execute the
transaction with the ``callTracer`` of ``zkos_tw.tracing`` (worker threads, the trace limits).
"""

from __future__ import annotations

from zkos_tw.rpc.blocks import block_number, header_of
from zkos_tw.rpc.codec import BlockId
from zkos_tw.rpc.errors import BackendError, InvalidParams, JsonRpcError
from zkos_tw.rpc.methods import resolve, rpc_method
from zkos_tw.storage import ROLE_CALLED, ROLE_CREATED
from zkos_tw.tracing.errors import TraceError

API_LEVEL = 8
SERVER_ERROR = -32000
#: The largest page of a search or of ``ots_getBlockTransactions``.
MAX_PAGE_SIZE = 1000
#: Transactions of a contract's early history ``ots_getContractCreator`` traces, at most, to
#: find an internal CREATE (the creating transaction is normally the first of them).
CREATOR_TRACE_LIMIT = 8
#: ``ots_getInternalOperations`` types (Erigon's).
OP_TRANSFER, OP_SELF_DESTRUCT, OP_CREATE, OP_CREATE2 = 0, 1, 2, 3
_CALL_TRACER = {"tracer": "callTracer"}
_ZERO_ISSUANCE = {"blockReward": "0x0", "uncleReward": "0x0", "issuance": "0x0"}


def _page_size(value: int) -> int:
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidParams(f"page size must be in [1, {MAX_PAGE_SIZE}], not {value}")
    return value


def flatten_calls(frame: dict, depth: int = 0):
    """``(depth, frame)`` for ``frame`` and every frame below it, in call order."""
    yield depth, frame
    for child in frame.get("calls", ()):
        yield from flatten_calls(child, depth + 1)


def trace_entries(root: dict) -> list[dict]:
    """``ots_traceTransaction`` of a ``callTracer`` result: every frame, flat, in call order."""
    return [
        {
            "type": frame["type"],
            "depth": depth,
            "from": frame["from"],
            "to": frame.get("to"),
            "value": frame.get("value", "0x0"),
            "input": frame.get("input", "0x"),
            "output": frame.get("output", "0x"),
        }
        for depth, frame in flatten_calls(root)
    ]


def internal_operations(root: dict) -> list[dict]:
    """``ots_getInternalOperations`` of a ``callTracer`` result: the value transfers, creations
    and self-destructs below the top frame."""
    operations = []
    for depth, frame in flatten_calls(root):
        if depth == 0:
            continue
        kind = frame["type"]
        value = frame.get("value", "0x0")
        if kind == "CREATE":
            op = OP_CREATE
        elif kind == "CREATE2":
            op = OP_CREATE2
        elif kind == "SELFDESTRUCT":
            op = OP_SELF_DESTRUCT
        elif kind == "CALL" and int(value, 16):
            op = OP_TRANSFER
        else:
            continue
        operations.append(
            {"type": op, "from": frame["from"], "to": frame.get("to"), "value": value}
        )
    return operations


class OtsNamespace:
    """Handlers of the ``ots_`` methods over the backend, the trace service and the index."""

    def __init__(self, backend, traces, index):
        self.backend = backend
        self.traces = traces
        self.index = index

    async def _call_trace(self, tx_hash: bytes) -> dict:
        try:
            return await resolve(self.traces.trace_transaction(tx_hash, _CALL_TRACER))
        except TraceError as e:
            raise JsonRpcError(str(e), code=SERVER_ERROR) from None

    # -- plain --------------------------------------------------------------------------------

    @rpc_method("ots_getApiLevel")
    def get_api_level(self):
        return API_LEVEL

    @rpc_method("ots_hasCode", "address", "block_id", required=1)
    async def has_code(self, address, block):
        number = await block_number(self.backend, block)
        if number is None or number > await resolve(self.backend.latest_block_number()):
            raise BackendError("block not found")
        return bool(await resolve(self.backend.code(address, number)))

    @rpc_method("ots_getHeaderByNumber", "u64")
    @rpc_method("erigon_getHeaderByNumber", "u64")
    async def get_header_by_number(self, number):
        block = await resolve(self.backend.block_by_number(number, False))
        return None if block is None else header_of(block)

    # -- traces -------------------------------------------------------------------------------

    @rpc_method("ots_traceTransaction", "hash32")
    async def trace_transaction(self, tx_hash):
        if await resolve(self.backend.receipt(tx_hash)) is None:
            return []
        return trace_entries(await self._call_trace(tx_hash))

    @rpc_method("ots_getInternalOperations", "hash32")
    async def get_internal_operations(self, tx_hash):
        return internal_operations(await self._call_trace(tx_hash))

    @rpc_method("ots_getTransactionError", "hash32")
    async def get_transaction_error(self, tx_hash):
        receipt = await resolve(self.backend.receipt(tx_hash))
        if receipt is None or receipt["status"] == "0x1":
            return "0x"
        return (await self._call_trace(tx_hash)).get("output", "0x")

    # -- blocks -------------------------------------------------------------------------------

    async def _block_details(self, number: int | None) -> dict:
        block = None
        if number is not None:
            block = await resolve(self.backend.block_by_number(number, False))
        if block is None:
            raise BackendError("block not found")
        receipts = await resolve(self.backend.block_receipts(number)) or []
        fees = sum(int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16) for r in receipts)
        details = {k: v for k, v in block.items() if k != "transactions"}
        details["uncles"] = []
        details["transactionCount"] = len(block["transactions"])
        return {"block": details, "issuance": dict(_ZERO_ISSUANCE), "totalFees": hex(fees)}

    @rpc_method("ots_getBlockDetails", "u64")
    async def get_block_details(self, number):
        return await self._block_details(number)

    @rpc_method("ots_getBlockDetailsByHash", "hash32")
    async def get_block_details_by_hash(self, block_hash):
        return await self._block_details(await block_number(self.backend, BlockId(hash=block_hash)))

    @rpc_method("ots_getBlockTransactions", "u64", "u64", "u64")
    async def get_block_transactions(self, number, page, page_size):
        """One page of a block's transactions with their receipts (without logs and bloom, with
        the block's timestamp); page 0 holds the block's last ``page_size`` transactions."""
        page_size = _page_size(page_size)
        block = await resolve(self.backend.block_by_number(number, True))
        if block is None:
            raise BackendError("block not found")
        receipts = await resolve(self.backend.block_receipts(number))
        count = len(block["transactions"])
        end = max(count - page * page_size, 0)
        start = max(end - page_size, 0)
        full = dict(block)
        full["transactions"] = block["transactions"][start:end]
        full["transactionCount"] = count
        page_receipts = []
        for receipt in receipts[start:end]:
            receipt = dict(receipt, logs=None, logsBloom=None, timestamp=block["timestamp"])
            page_receipts.append(receipt)
        return {"fullblock": full, "receipts": page_receipts}

    # -- the address index --------------------------------------------------------------------

    async def _located(self, appearances) -> tuple[list, list]:
        txs, receipts = [], []
        blocks: dict[int, tuple] = {}
        for entry in appearances:
            found = blocks.get(entry.block_number)
            if found is None:
                stored = self.index.block(entry.block_number)
                header = await resolve(self.backend.block_by_number(entry.block_number, False))
                found = blocks[entry.block_number] = (stored.tx_hashes, header["timestamp"])
            tx_hashes, timestamp = found
            tx_hash = tx_hashes[entry.tx_index]
            txs.append(await resolve(self.backend.transaction_by_hash(tx_hash)))
            receipt = await resolve(self.backend.receipt(tx_hash))
            receipts.append(dict(receipt, timestamp=timestamp))
        return txs, receipts

    @rpc_method("ots_searchTransactionsBefore", "address", "u64", "u64")
    async def search_transactions_before(self, address, number, page_size):
        """The transactions of ``address`` in blocks before ``number`` (0: the newest block
        too), newest first, at least ``page_size`` of them unless the history ends; blocks are
        never split."""
        found, ends = self.index.address_history(
            address, number or None, descending=True, min_count=_page_size(page_size)
        )
        txs, receipts = await self._located(found)
        return {"txs": txs, "receipts": receipts, "firstPage": number == 0, "lastPage": ends}

    @rpc_method("ots_searchTransactionsAfter", "address", "u64", "u64")
    async def search_transactions_after(self, address, number, page_size):
        """The transactions of ``address`` in blocks after ``number`` (0: from the first block),
        the oldest ``page_size`` or more, answered newest first like every page."""
        found, ends = self.index.address_history(
            address, number or None, descending=False, min_count=_page_size(page_size)
        )
        txs, receipts = await self._located(tuple(reversed(found)))
        return {"txs": txs, "receipts": receipts, "firstPage": ends, "lastPage": number == 0}

    @rpc_method("ots_getTransactionBySenderAndNonce", "address", "u64")
    async def get_transaction_by_sender_and_nonce(self, sender, nonce):
        tx_hash = self.index.tx_by_sender_and_nonce(sender, nonce)
        if tx_hash is not None:
            return "0x" + tx_hash.hex()
        # Blocks stored before the index existed: the backend's search over nonce history.
        latest = await resolve(self.backend.latest_block_number())
        if nonce >= await resolve(self.backend.nonce(sender, latest)):
            return None
        tx = await resolve(self.backend.transaction_by_sender_and_nonce(sender, nonce))
        return None if tx is None else tx["hash"]

    @rpc_method("ots_getContractCreator", "address")
    async def get_contract_creator(self, contract):
        latest = await resolve(self.backend.latest_block_number())
        if not await resolve(self.backend.code(contract, latest)):
            return None
        creation = self.index.contract_creation(contract)
        if creation is not None:
            return {"hash": "0x" + creation.tx_hash.hex(), "creator": "0x" + creation.creator.hex()}
        # Made by an internal CREATE: the first transactions that touched it, traced.
        found, _ = self.index.address_history(
            contract, None, descending=False, min_count=CREATOR_TRACE_LIMIT
        )
        wanted = "0x" + contract.hex()
        for entry in found[:CREATOR_TRACE_LIMIT]:
            if not entry.roles & (ROLE_CALLED | ROLE_CREATED):
                continue
            tx_hash = self.index.block(entry.block_number).tx_hashes[entry.tx_index]
            root = await self._call_trace(tx_hash)
            for _, frame in flatten_calls(root):
                if frame["type"] in ("CREATE", "CREATE2") and frame.get("to") == wanted:
                    return {"hash": "0x" + tx_hash.hex(), "creator": frame["from"]}
        return None
