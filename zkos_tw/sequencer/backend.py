"""``NodeBackend``: the ``IRpcBackend`` of a main node, over storage, the mempool and the EVM.

Reads go through storage (LMDB readers need no lock), never through the sequencer's own state
view, so they can run while a block is being built. ``eth_call`` / ``eth_estimateGas`` run the
EVM reference on a throw-away ZKsync OS state view of the asked block, with that block's context
and base fee 0 (reference §3.5), in a worker thread.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from twisted.internet.threads import deferToThread
from zope.interface import implementer

from zkos_tw.execution.exceptions import InvalidTransaction, Revert
from zkos_tw.execution.forks import CANCUN
from zkos_tw.execution.interpreter import create_address, process_message_call
from zkos_tw.execution.l1_transactions import L1_TX_MINIMAL_GAS_LIMIT, PRIORITY_TX_TYPE
from zkos_tw.execution.message import BlockEnvironment, Message, TransactionEnvironment
from zkos_tw.execution.transactions import Transaction, intrinsic_gas
from zkos_tw.interfaces import IRpcBackend
from zkos_tw.rpc.errors import BackendError, BlockNotFound, ExecutionReverted
from zkos_tw.rpc.logfilter import log_matches
from zkos_tw.sequencer.batch_queries import BatchQueries
from zkos_tw.sequencer.blocks import DEFAULT_BASE_FEE, BlockHeader
from zkos_tw.sequencer.mempool_errors import PoolError
from zkos_tw.sequencer.receipts import StoredReceipt
from zkos_tw.sequencer.rpc_shapes import block_object as make_block_object
from zkos_tw.sequencer.rpc_shapes import (
    header_object,
    log_objects,
    receipt_object,
    stored_transaction,
    transaction_object,
)
from zkos_tw.sequencer.wal import ReplayRecord
from zkos_tw.state.view import FlatState
from zkos_tw.tracing.overrides import apply_overrides
from zkos_tw.tracing.run import traced_message_call
from zkos_tw.tracing.service import DEFAULT_MAX_CONCURRENT_TRACES, TraceService

CALL_GAS_FLOOR = 21_000
ZERO32 = bytes(32)


@dataclass(frozen=True)
class _SimContext:
    """Where a simulated call runs: the state after block ``state_number``, in the context of
    block ``number`` (``block_hashes``: the 256 before it, oldest first)."""

    state_number: int
    number: int
    block_hashes: tuple[bytes, ...]
    coinbase: bytes
    timestamp: int
    gas_limit: int

    def block_hash(self, number: int) -> bytes:
        distance = self.number - number
        if not 1 <= distance <= 256:
            return ZERO32
        return self.block_hashes[256 - distance]


@dataclass(frozen=True)
class _Located:
    tx_hash: bytes
    block_number: int
    index: int


#: Blocks whose decoded receipts the backend keeps (the newest ones asked for).
RECEIPT_CACHE_BLOCKS = 16


def _backend_error(failure):
    failure.trap(PoolError, InvalidTransaction)
    raise BackendError(str(failure.value))


@implementer(IRpcBackend)
class NodeBackend:
    """Answers the JSON-RPC server for a main node."""

    def __init__(
        self,
        *,
        chain,
        mempool,
        genesis_document: dict,
        chain_id: int,
        bridgehub_address: str,
        eth_call_gas: int,
        next_base_fee: int = DEFAULT_BASE_FEE,
        next_gas_limit: int = 100_000_000,
        admission=None,
        inclusion=None,
        now=time.time,
        max_concurrent_traces: int = DEFAULT_MAX_CONCURRENT_TRACES,
        forward_transactions=None,
        _in_thread=deferToThread,
    ):
        self._storage = chain.storage
        # The address index for the ``ots_`` methods (``zkos_tw.rpc.ots``): the block storage.
        self.address_index = chain.storage
        # An external node: ``forward_transactions(raw) -> Deferred[hash]`` sends every
        # eth_sendRawTransaction to the main node and answers what it answered.
        self._forward = forward_transactions
        self._mempool = mempool
        # ``Admission`` (signature recovery off the reactor) in the node; None: synchronous.
        self._admission = admission
        # ``InclusionWait`` (--dev): hold the send's answer until the tx's block is stored.
        self._inclusion = inclusion
        self._genesis_document = genesis_document
        self.chain_id = chain_id
        self.bridgehub_address = bridgehub_address
        self._eth_call_gas = eth_call_gas
        # The base fee of the blocks the sequencer produces (for the eth_call fee check at block 0).
        self.next_base_fee = next_base_fee
        # Block 0 (genesis, gas limit 5000) is no block a transaction ever runs in: calls "at
        # block 0" get the gas limit of the blocks the sequencer produces.
        self._next_gas_limit = next_gas_limit
        self._in_thread = _in_thread
        # The debug_trace* methods (``zkos_tw.rpc.debug``): same worker threads as eth_call.
        self.traces = TraceService(
            chain.storage,
            simulate=self.traced_call,
            max_concurrent=max_concurrent_traces,
            _in_thread=_in_thread,
        )
        # The clock the sequencer stamps blocks with (seconds), for the next block's context.
        self._now = now
        self._block_listeners: list = []
        self._batch_progress = None
        #: The ``SequencerGateway`` when RPC worker processes serve the API (``zkos_tw.node``).
        self.workers_gateway = None
        self._batch_store = None
        self._pending_listeners: list = []
        self._receipts_cache: OrderedDict = OrderedDict()
        mempool.add_pending_listener(self._pending)

    # -- blocks ---------------------------------------------------------------------------------

    def genesis(self):
        return self._genesis_document

    def latest_block_number(self) -> int:
        return self._storage.last_block() or 0

    def set_batch_progress(self, progress) -> None:
        """Answer ``safe`` / ``finalized`` from L1 (a ``zkos_tw.l1.batch_watcher.BatchProgress``):
        the last block of the last committed / executed batch. Without it (a node that does not
        follow L1 batches) both are the newest block."""
        self._batch_progress = progress

    def batch_progress(self):
        """The ``BatchProgress`` set with ``set_batch_progress``, or None."""
        return self._batch_progress

    def set_batch_store(self, store) -> None:
        """Answer the batch methods (``zks_getL1BatchNumber`` ...) from ``store`` (an
        ``IBatchStore``). Without it no block is in a batch yet."""
        self._batch_store = store

    def _batches(self) -> BatchQueries:
        return BatchQueries(self._storage, self._batch_store, self._batch_progress)

    def l1_batch_number(self) -> int:
        return self._batches().latest_batch_number()

    def l1_batch_block_range(self, number: int):
        return self._batches().block_range(number)

    def l1_batch_details(self, number: int):
        return self._batches().batch_details(number)

    def block_details(self, number: int):
        return self._batches().block_details(number)

    def l2_to_l1_log_proof(self, tx_hash: bytes, index: int):
        return self._batches().l2_to_l1_log_proof(tx_hash, index)

    def safe_block_number(self) -> int:
        if self._batch_progress is None:
            return self.latest_block_number()
        return min(self._batch_progress.last_committed_block, self.latest_block_number())

    def finalized_block_number(self) -> int:
        if self._batch_progress is None:
            return self.latest_block_number()
        return min(self._batch_progress.last_executed_block, self.latest_block_number())

    def block_number_by_hash(self, block_hash: bytes):
        return self._storage.block_number_by_hash(block_hash)

    def _header(self, number: int):
        stored = self._storage.block(number)
        if stored is None:
            return None, None
        return stored, BlockHeader.decode(stored.block_record)

    def block_by_number(self, number: int, full: bool):
        stored, header = self._header(number)
        if stored is None:
            return None
        transactions = None
        if full:
            transactions = [self._stored_transaction_object(h) for h in stored.tx_hashes]
            if any(t is None for t in transactions):
                raise BackendError("block not found")
        return make_block_object(stored.block_hash, header, stored.tx_hashes, transactions)

    # -- transactions ---------------------------------------------------------------------------

    def _pooled(self, tx_hash: bytes):
        return self._mempool.get(tx_hash)

    def transaction_by_hash(self, tx_hash: bytes):
        ptx = self._pooled(tx_hash)
        if ptx is not None:
            return transaction_object(ptx.tx, ptx.sender, ptx.hash)
        return self._stored_transaction_object(tx_hash)

    def _stored_transaction_object(self, tx_hash: bytes):
        """The RPC object of a transaction in a stored block, or None."""
        location = self._storage.tx_location(tx_hash)
        if location is None:
            return None
        raw = self._storage.transaction(tx_hash)
        receipt = StoredReceipt.decode(self._storage.receipt(tx_hash))
        stored, header = self._header(location.block_number)
        return transaction_object(
            stored_transaction(raw),
            receipt.sender,
            tx_hash,
            block_hash=stored.block_hash,
            block_number=location.block_number,
            index=location.index,
            base_fee=header.base_fee,
        )

    def raw_transaction_by_hash(self, tx_hash: bytes):
        ptx = self._pooled(tx_hash)
        if ptx is not None:
            return ptx.raw
        return self._storage.transaction(tx_hash)

    def transaction_by_sender_and_nonce(self, sender: bytes, nonce: int):
        ptx = self._mempool.by_sender_and_nonce(sender, nonce)
        if ptx is not None:
            return transaction_object(ptx.tx, ptx.sender, ptx.hash)
        return self._mined_by_sender_and_nonce(sender, nonce)

    def _mined_by_sender_and_nonce(self, sender: bytes, nonce: int):
        """The stored transaction of ``sender`` with ``nonce``, or None."""
        # A mined one: only a linear scan could find it without a sender index; walk back from
        # the tip while the sender's nonce at the block is above ``nonce``.
        number = self.latest_block_number()
        if nonce >= self.nonce(sender, number):
            return None
        lo, hi = 0, number
        while lo < hi:  # the first block after which the nonce exceeds ``nonce``
            mid = (lo + hi) // 2
            if self.nonce(sender, mid) > nonce:
                hi = mid
            else:
                lo = mid + 1
        stored = self._storage.block(lo)
        for tx_hash in stored.tx_hashes:
            tx = self._stored_transaction_object(tx_hash)
            if tx["from"] == "0x" + sender.hex() and int(tx["nonce"], 16) == nonce:
                return tx
        return None

    def _receipts_of(self, number: int):
        cached = self._receipts_cache.get(number)
        if cached is not None:
            self._receipts_cache.move_to_end(number)
            return cached
        stored, header = self._header(number)
        if stored is None:
            return None
        receipts = []
        first_log = 0
        for index, tx_hash in enumerate(stored.tx_hashes):
            receipt = StoredReceipt.decode(self._storage.receipt(tx_hash))
            receipts.append((tx_hash, index, receipt, first_log))
            first_log += len(receipt.logs)
        # A stored block never changes: keep the decoded receipts of the newest few blocks, so
        # clients polling each transaction's receipt do not decode the whole block every time.
        found = stored, header, receipts
        self._receipts_cache[number] = found
        while len(self._receipts_cache) > RECEIPT_CACHE_BLOCKS:
            self._receipts_cache.popitem(last=False)
        return found

    def receipt(self, tx_hash: bytes):
        location = self._storage.tx_location(tx_hash)
        if location is None:
            return None
        stored, header, receipts = self._receipts_of(location.block_number)
        h, index, receipt, first_log = receipts[location.index]
        return receipt_object(
            receipt,
            tx_hash=h,
            tx_index=index,
            block_hash=stored.block_hash,
            block_number=header.number,
            timestamp=header.timestamp,
            first_log_index=first_log,
        )

    def block_receipts(self, number: int):
        found = self._receipts_of(number)
        if found is None:
            return None
        stored, header, receipts = found
        return [
            receipt_object(
                r,
                tx_hash=h,
                tx_index=i,
                block_hash=stored.block_hash,
                block_number=header.number,
                timestamp=header.timestamp,
                first_log_index=first,
            )
            for h, i, r, first in receipts
        ]

    def _block_logs(self, number: int) -> list[dict]:
        found = self._receipts_of(number)
        if found is None:
            return []
        stored, header, receipts = found
        logs = []
        for h, i, r, first in receipts:
            logs += log_objects(
                r,
                block_hash=stored.block_hash,
                block_number=header.number,
                timestamp=header.timestamp,
                tx_hash=h,
                tx_index=i,
                first_log_index=first,
            )
        return logs

    def logs(self, from_block, to_block, addresses, topics, limit):
        found = []
        for number in range(from_block, to_block + 1):
            stored_logs = self._storage.logs(number)
            if not stored_logs:
                continue
            matching = [
                log for log in self._block_logs(number) if log_matches(log, addresses, topics)
            ]
            found += matching
            if limit is not None and len(found) > limit:
                break
        return found

    # -- state ----------------------------------------------------------------------------------

    def _view(self, number: int) -> FlatState:
        if number > self.latest_block_number():
            raise BlockNotFound(number)
        return FlatState(self._storage.state_at(number), self._storage.preimage_store())

    def balance(self, address: bytes, number: int) -> int:
        return self._view(number).get_balance(address)

    def nonce(self, address: bytes, number: int) -> int:
        return self._view(number).get_nonce(address)

    def code(self, address: bytes, number: int) -> bytes:
        return self._view(number).get_code(address)

    def storage_at(self, address: bytes, slot: int, number: int) -> int:
        return self._view(number).get_storage(address, slot)

    def pending_nonce(self, address: bytes):
        return self._mempool.pending_nonce(address)

    # -- simulation -----------------------------------------------------------------------------

    def _sim_context(self, number: int, next_block: bool) -> _SimContext:
        """(worker thread) The context a call on the state after ``number`` runs in: that
        block's own (an explicit block, reference §3.5), or the one the sequencer would give the
        next block now (``next_block``: number + 1, the time now, the hashes up to ``number``)."""
        stored, header = self._header(number)
        if stored is None:
            raise BlockNotFound(number)
        record = self._storage.wal_record(number) if number > 0 else None
        context = ReplayRecord.decode(record).context if record else None
        if not next_block:
            if context is not None:
                return _SimContext(
                    number,
                    number,
                    context.block_hashes,
                    context.coinbase,
                    context.timestamp,
                    self._gas_limit(header),
                )
            # Block 0 has no WAL record: no previous hashes.
            return _SimContext(
                number,
                number,
                (ZERO32,) * 256,
                header.coinbase,
                header.timestamp,
                self._gas_limit(header),
            )
        previous = context.block_hashes if context is not None else (ZERO32,) * 256
        coinbase = context.coinbase if context is not None else header.coinbase
        return _SimContext(
            number,
            number + 1,
            previous[1:] + (stored.block_hash,),
            coinbase,
            max(int(self._now()), header.timestamp),
            self._next_gas_limit,
        )

    def _simulate(self, request, ctx: _SimContext, gas: int, *, tracer=None, overrides=()):
        """(worker thread) Run ``request`` in ``ctx``; return (output, result, gas used).

        ``tracer`` (an ``ITracer``) sees the call; ``overrides`` (``tracing.overrides``) are
        written into the state view first (``debug_traceCall``)."""
        state = self._view(ctx.state_number)
        apply_overrides(state, overrides)
        env = BlockEnvironment(
            state,
            coinbase=ctx.coinbase,
            number=ctx.number,
            gas_limit=ctx.gas_limit,
            timestamp=ctx.timestamp,
            base_fee=0,
            chain_id=self.chain_id,
            block_hashes=ctx.block_hash,
        )
        l1 = request.transaction_type == PRIORITY_TX_TYPE
        sender = request.from_ or bytes(20)
        value = request.value or 0
        data = request.input or b""
        tx = Transaction(
            tx_type=2,
            chain_id=self.chain_id,
            nonce=0,
            gas_price=0,
            max_priority_fee_per_gas=0,
            max_fee_per_gas=0,
            gas=gas,
            to=request.to,
            value=value,
            data=data,
            access_list=tuple(request.access_list or ()),
        )
        intrinsic = intrinsic_gas(tx, CANCUN)
        if gas < intrinsic:
            raise BackendError(
                f"invalid transaction: intrinsic gas too low: have {gas}, need {intrinsic}"
            )
        if not l1 and value > state.get_balance(sender):
            raise BackendError("invalid transaction: insufficient funds for transfer")
        state.begin_transaction()
        try:
            nonce = state.get_nonce(sender)
            if l1:
                # A priority transaction mints its value to the sender and bumps no nonce.
                state.set_balance(sender, state.get_balance(sender) + value)
            else:
                state.set_nonce(sender, nonce + 1)
            accessed = set(env.precompile_addresses()) | {ctx.coinbase, sender}
            storage_keys = set()
            for address, keys in tx.access_list:
                accessed.add(address)
                storage_keys.update((address, k) for k in keys)
            if request.to is None:
                target, code, call_data, code_address = (
                    create_address(sender, nonce),
                    data,
                    b"",
                    None,
                )
            else:
                target, code, call_data = request.to, state.get_code(request.to), data
                code_address = request.to
            accessed.add(target)
            message = Message(
                caller=sender,
                target=request.to,
                current_target=target,
                code_address=code_address,
                code=code,
                data=call_data,
                value=value,
                gas=gas - intrinsic,
                depth=0,
                should_transfer_value=True,
                is_static=False,
                accessed_addresses=accessed,
                accessed_storage_keys=storage_keys,
            )
            tx_env = TransactionEnvironment(sender, 0)
            if tracer is None:
                output = process_message_call(message, env, tx_env)
            else:
                output = traced_message_call(env, message, tx_env, tracer, gas)
            result = output.output
            if request.to is None and output.error is None:
                result = state.get_code(target)
        finally:
            state.end_transaction()
        return output, result, gas - output.gas_left

    def _gas_limit(self, header: BlockHeader) -> int:
        return header.gas_limit if header.number > 0 else self._next_gas_limit

    def _call(self, request, number: int, next_block: bool) -> bytes:
        gas = request.gas if request.gas is not None else self._eth_call_gas
        output, result, _ = self._simulate(request, self._sim_context(number, next_block), gas)
        if isinstance(output.error, Revert):
            raise ExecutionReverted(output.output)
        if output.error is not None:
            raise BackendError(f"execution failed: {type(output.error).__name__}")
        return result

    def call(self, request, number: int, next_block: bool = False):
        return self._in_thread(self._call, request, number, next_block)

    def _estimate(self, request, number: int, next_block: bool) -> int:
        ctx = self._sim_context(number, next_block)
        estimate = self._estimate_in(request, ctx)
        if next_block:
            # The transaction may land a second later than "now" (a block already being built,
            # or the clock ticking on the way): the limit must hold there too (#18), or a
            # contract that does more once ``block.timestamp`` moved (Uniswap V2's price
            # accumulators) runs out of gas.
            later = replace(ctx, number=ctx.number + 1, timestamp=ctx.timestamp + 1)
            if not self._succeeds(request, later, estimate):
                estimate = max(estimate, self._estimate_in(request, later))
        return estimate

    def _succeeds(self, request, ctx: _SimContext, gas: int) -> bool:
        try:
            out, _, _ = self._simulate(request, ctx, gas)
        except BackendError:
            return False
        return out.error is None

    def _estimate_in(self, request, ctx: _SimContext) -> int:
        """The §3.5 search in one context: the smallest limit found to succeed (within 1.5 %)."""
        l1 = request.transaction_type == PRIORITY_TX_TYPE
        cap = min(request.gas or ctx.gas_limit, ctx.gas_limit)
        # A priority transaction's limit is never under what the L1 contracts accept.
        floor = L1_TX_MINIMAL_GAS_LIMIT if l1 else 0
        if l1:
            cap = max(cap, floor)
        output, _, used = self._simulate(request, ctx, cap)
        if isinstance(output.error, Revert):
            raise ExecutionReverted(output.output)
        if output.error is not None:
            raise BackendError(f"gas required exceeds allowance ({cap})")
        to = request.to
        if to is not None and not request.input and not self._view(ctx.state_number).get_code(to):
            # A plain transfer to an account without code costs exactly the intrinsic gas.
            return max(used, floor)
        lo = max(used - 1, CALL_GAS_FLOOR - 1, floor)
        hi = max(cap, floor)
        optimistic = (used + output.refund_counter + 2300) * 64 // 63
        if lo < optimistic < hi:
            if self._succeeds(request, ctx, optimistic):
                hi = optimistic
            else:
                lo = optimistic
        mid = min(3 * lo, (lo + hi) // 2)  # the first probe is biased low, as geth's
        while hi - lo > 1 and (hi - lo) / hi >= 0.015:
            if self._succeeds(request, ctx, mid):
                hi = mid
            else:
                lo = mid
            mid = (lo + hi) // 2
        return hi

    def estimate_gas(self, request, number: int, next_block: bool = False):
        return self._in_thread(self._estimate, request, number, next_block)

    def traced_call(self, request, number: int, tracer, overrides) -> None:
        """(worker thread, ``TraceService``) Run ``request`` on the state after block
        ``number``, in that block's context, with ``tracer`` attached."""
        gas = request.gas if request.gas is not None else self._eth_call_gas
        self._simulate(
            request, self._sim_context(number, False), gas, tracer=tracer, overrides=overrides
        )

    # -- submission and listeners -------------------------------------------------------------

    def send_raw_transaction(self, raw: bytes):
        if self._forward is not None:
            return self._forward(raw)
        if self._admission is None:
            try:
                tx_hash = self._mempool.add(raw)
            except (PoolError, InvalidTransaction) as e:
                raise BackendError(str(e)) from None
            return tx_hash if self._inclusion is None else self._inclusion.wait(tx_hash)
        admitted = self._admission.submit(raw).addErrback(_backend_error)
        if self._inclusion is not None:
            # Registered in the turn the pool took the tx: no block holding it is stored before.
            admitted.addCallback(self._inclusion.wait)
        return admitted

    def add_block_listener(self, listener):
        self._block_listeners.append(listener)
        return lambda: self._block_listeners.remove(listener)

    def add_pending_transaction_listener(self, listener):
        self._pending_listeners.append(listener)
        return lambda: self._pending_listeners.remove(listener)

    def _pending(self, ptx) -> None:
        if not self._pending_listeners:
            return
        obj = transaction_object(ptx.tx, ptx.sender, ptx.hash)
        for listener in list(self._pending_listeners):
            listener(obj)

    def block_stored(self, block) -> None:
        """The sink's listener: tell RPC listeners about a stored ``SealedBlock``."""
        if not self._block_listeners:
            return
        header = header_object(block.hash, block.header)
        logs = self._block_logs(block.number)
        for listener in list(self._block_listeners):
            listener(header, logs)
