"""The transaction pool of the sequencer: reth's rules (reference §3.6, §14.1 item 10), in memory.

Each sender has a nonce queue. Its *pending* transactions are the run of consecutive nonces that
starts at the account nonce and that the balance covers cumulatively (each costs ``max_fee * gas +
value``); every other transaction of the sender is *queued*: behind a nonce gap, or not affordable
yet. Queued transactions are promoted when the gap fills, when a block moves the account nonce, or
when the balance grows; ``best_transactions(base_fee)`` yields only pending ones.

The pool does no I/O and never touches the reactor; the sequencer calls it on the reactor thread.
Account state comes from an ``IAccountReader`` (nonce and balance at the newest block). Costs:
``add`` is dominated by signature recovery; the pool's own bookkeeping is O(1) dict work plus
O(log n) heap operations, except that a replacement or a balance drop re-walks that one sender's
queue.

Limits (``None`` = unlimited) apply to the pending sub-pool as in reth's ``pending_limit``: after a
transaction goes in, while there are more than ``max_pending_txs`` pending transactions or their
encoded size exceeds ``max_pending_size``, the worst pending transaction that is the last of its
sender's run (lowest tip, newest first among equals) is removed from the pool. If that is the new
transaction it is refused with ``DiscardedOnInsert``. Queued transactions are bounded separately
(reth's defaults, 10,000 transactions / 20 MiB): a new transaction that would be queued beyond that
is refused with ``DiscardedOnInsert``.
"""

from __future__ import annotations

import heapq
import itertools
import weakref

from twisted.logger import Logger
from zope.interface import implementer

from zkos_tw.hashing import keccak256
from zkos_tw.interfaces import IMempool
from zkos_tw.sequencer import mempool_errors as errors
from zkos_tw.sequencer.mempool_best import BestTransactions
from zkos_tw.sequencer.mempool_validation import PooledTransaction, check_stateless, decode_pooled

log = Logger()

#: reth's ``MIN_PROTOCOL_BASE_FEE``: a fee cap below it is refused (reference §3.6).
MIN_PROTOCOL_BASE_FEE = 7
#: reth's replacement price bump, percent.
PRICE_BUMP = 10
#: reth's default limits of the queued sub-pool.
MAX_QUEUED_TXS = 10_000
MAX_QUEUED_SIZE = 20 * 1024 * 1024


class _Sender:
    """One sender's nonce queue: ``txs`` by nonce, pending ones are ``nonce <= n < pending_end``."""

    __slots__ = ("address", "nonce", "balance", "txs", "pending_end", "pending_cost")

    def __init__(self, address: bytes, nonce: int, balance: int) -> None:
        self.address = address
        self.nonce = nonce
        self.balance = balance
        self.txs: dict[int, PooledTransaction] = {}
        self.pending_end = nonce
        self.pending_cost = 0


@implementer(IMempool)
class Mempool:
    """Per-sender nonce queues with reth's admission, replacement, promotion and ordering rules.

    ``chain_id``: transactions signed for another chain are refused. ``block_gas_limit``: a
    transaction's gas limit may not exceed it. ``max_input_bytes``: the encoded size limit.
    ``min_fee_cap``: the lowest ``maxFeePerGas`` accepted (reth's 7 wei by default; transactions
    below the block base fee are accepted and wait, as in the reference).
    """

    def __init__(
        self,
        account_reader,
        *,
        chain_id: int,
        block_gas_limit: int,
        max_input_bytes: int = 128 * 1024 * 1024,
        max_pending_txs: int | None = None,
        max_pending_size: int | None = None,
        max_queued_txs: int | None = MAX_QUEUED_TXS,
        max_queued_size: int | None = MAX_QUEUED_SIZE,
        min_fee_cap: int = MIN_PROTOCOL_BASE_FEE,
    ) -> None:
        self._reader = account_reader
        self.chain_id = chain_id
        self.block_gas_limit = block_gas_limit
        self.max_input_bytes = max_input_bytes
        self.max_pending_txs = max_pending_txs
        self.max_pending_size = max_pending_size
        self.max_queued_txs = max_queued_txs
        self.max_queued_size = max_queued_size
        self.min_fee_cap = min_fee_cap
        self._limited = max_pending_txs is not None or max_pending_size is not None
        self._by_hash: dict[bytes, PooledTransaction] = {}
        self._senders: dict[bytes, _Sender] = {}
        self._seq = itertools.count()
        self._pending_count = 0
        self._pending_size = 0
        self._queued_count = 0
        self._queued_size = 0
        self._tails: list = []  # (tip, -seq, tx): candidates for eviction, checked when popped
        self._listeners: list = []
        self._iterators: weakref.WeakSet = weakref.WeakSet()

    # -- admission ------------------------------------------------------------------------------

    def add(self, raw: bytes) -> bytes:
        """Validate the EIP-2718 bytes and add them; return the 32-byte transaction hash.

        Raises a ``PoolError`` subclass whose ``str()`` is the reference's message.
        """
        if not raw:
            raise errors.TransactionDecodeError()
        tx_hash = keccak256(raw)
        if tx_hash in self._by_hash:
            raise errors.AlreadyImported(tx_hash)
        return self.insert(self.prepare(raw, tx_hash))

    def prepare(self, raw: bytes, tx_hash: bytes | None = None) -> PooledTransaction:
        """The stateless half of ``add``: hash, decode, recover the sender, check the fields.

        It reads no pool or chain state, so it may run in another thread (signature recovery
        releases the GIL); ``insert`` then does the rest on the reactor.
        """
        if not raw:
            raise errors.TransactionDecodeError()
        if tx_hash is None:
            tx_hash = keccak256(raw)
        ptx = decode_pooled(raw, tx_hash, 0)
        check_stateless(
            ptx,
            chain_id=self.chain_id,
            block_gas_limit=self.block_gas_limit,
            max_input_bytes=self.max_input_bytes,
        )
        return ptx

    def insert(self, ptx: PooledTransaction) -> bytes:
        """The stateful half of ``add``: duplicates, the account's nonce and balance, the
        queues and limits. Returns the hash or raises a ``PoolError``."""
        newly_pending: list = []
        try:
            return self._insert_one(ptx, newly_pending, None)
        finally:
            self._announce(newly_pending)

    def insert_batch(self, ptxs) -> list:
        """``insert`` of each of ``ptxs`` in order, as one call: per transaction its hash or the
        ``PoolError`` it raised. Each sender's account is read once for the whole batch (the
        newest block does not change within the call) and listeners and live iterators hear of
        the new pending transactions once, at the end."""
        newly_pending: list = []
        accounts: dict = {}
        results: list = []
        try:
            for ptx in ptxs:
                try:
                    results.append(self._insert_one(ptx, newly_pending, accounts))
                except errors.PoolError as e:
                    results.append(e)
        finally:
            self._announce(newly_pending)
        return results

    def _insert_one(self, ptx: PooledTransaction, newly_pending: list, accounts) -> bytes:
        tx_hash = ptx.hash
        if tx_hash in self._by_hash:
            raise errors.AlreadyImported(tx_hash)
        ptx.seq = next(self._seq)
        account = None if accounts is None else accounts.get(ptx.sender)
        if account is None:
            account = (self._reader.nonce_of(ptx.sender), self._reader.balance_of(ptx.sender))
            if accounts is not None:
                accounts[ptx.sender] = account
        nonce, balance = account
        if ptx.nonce < nonce:
            raise errors.NonceTooLow(tx_hash, nonce, ptx.nonce)
        if ptx.cost > balance:
            raise errors.InsufficientFunds(tx_hash, balance, ptx.cost)
        if ptx.max_fee < self.min_fee_cap:
            raise errors.FeeCapBelowMinimum(tx_hash, ptx.max_fee)
        sender = self._sender_at(ptx.sender, nonce, balance, newly_pending)
        existing = sender.txs.get(ptx.nonce)
        if existing is not None:
            if _is_underpriced(existing, ptx):
                raise errors.ReplacementUnderpriced(tx_hash)
            self._replace(sender, existing, ptx, newly_pending)
        else:
            self._insert(sender, ptx, newly_pending)
        if existing is None and not ptx.pending and self._queued_over_limit():
            self._remove(sender, ptx)
            raise errors.DiscardedOnInsert(tx_hash)
        if self._limited:
            self._evict_over_limit()
            if self._by_hash.get(tx_hash) is not ptx:
                raise errors.DiscardedOnInsert(tx_hash)
        return tx_hash

    def _sender_at(self, address: bytes, nonce: int, balance: int, newly: list) -> _Sender:
        """The sender's queue, brought to the account state just read."""
        sender = self._senders.get(address)
        if sender is None:
            sender = self._senders[address] = _Sender(address, nonce, balance)
        elif sender.nonce != nonce or sender.balance != balance:
            self._resync(sender, nonce, balance, newly)
        return sender

    def _insert(self, sender: _Sender, ptx: PooledTransaction, newly: list) -> None:
        sender.txs[ptx.nonce] = ptx
        self._by_hash[ptx.hash] = ptx
        self._queued_count += 1
        self._queued_size += ptx.size
        if ptx.nonce == sender.pending_end:
            self._extend(sender, newly)

    def _replace(self, sender, old: PooledTransaction, new: PooledTransaction, newly) -> None:
        """Put ``new`` in the place of ``old`` (same sender and nonce)."""
        sender.txs[new.nonce] = new
        del self._by_hash[old.hash]
        self._by_hash[new.hash] = new
        if not old.pending:
            self._queued_size += new.size - old.size
            if new.nonce == sender.pending_end:
                self._extend(sender, newly)
            return
        new.pending = True
        old.pending = False
        sender.pending_cost += new.cost - old.cost
        self._pending_size += new.size - old.size
        newly.append(new)
        if new.cost > old.cost:
            self._fit_balance(sender)
        else:
            self._extend(sender, newly)
        if self._limited:
            self._push_tail(sender)

    def _queued_over_limit(self) -> bool:
        return (self.max_queued_txs is not None and self._queued_count > self.max_queued_txs) or (
            self.max_queued_size is not None and self._queued_size > self.max_queued_size
        )

    # -- pending / queued bookkeeping -------------------------------------------------------------

    def _extend(self, sender: _Sender, newly: list) -> None:
        """Promote queued transactions that continue the sender's pending run and are affordable."""
        txs = sender.txs
        end = sender.pending_end
        cost = sender.pending_cost
        balance = sender.balance
        ptx = txs.get(end)
        while ptx is not None and cost + ptx.cost <= balance:
            cost += ptx.cost
            ptx.pending = True
            self._queued_count -= 1
            self._queued_size -= ptx.size
            self._pending_count += 1
            self._pending_size += ptx.size
            newly.append(ptx)
            end += 1
            ptx = txs.get(end)
        if end != sender.pending_end:
            sender.pending_end = end
            sender.pending_cost = cost
            if self._limited:
                self._push_tail(sender)

    def _truncate(self, sender: _Sender, nonce: int) -> None:
        """Demote the sender's pending transactions with nonces from ``nonce`` on to queued."""
        txs = sender.txs
        for n in range(max(nonce, sender.nonce), sender.pending_end):
            ptx = txs[n]
            ptx.pending = False
            sender.pending_cost -= ptx.cost
            self._pending_count -= 1
            self._pending_size -= ptx.size
            self._queued_count += 1
            self._queued_size += ptx.size
        if nonce < sender.pending_end:
            sender.pending_end = max(nonce, sender.nonce)
            if self._limited:
                self._push_tail(sender)

    def _remove_queued(self, sender: _Sender, ptx: PooledTransaction) -> None:
        """Drop a queued transaction from every index."""
        del sender.txs[ptx.nonce]
        del self._by_hash[ptx.hash]
        self._queued_count -= 1
        self._queued_size -= ptx.size

    def _remove(self, sender: _Sender, ptx: PooledTransaction) -> None:
        """Drop a transaction; the sender's later pending ones become queued (a gap opened)."""
        if ptx.pending:
            self._truncate(sender, ptx.nonce)
        self._remove_queued(sender, ptx)
        if not sender.txs:
            del self._senders[sender.address]

    def _resync(self, sender: _Sender, nonce: int, balance: int, newly: list) -> None:
        """Move the sender to a new account nonce and balance: drop transactions below the nonce,
        keep the pending run if the balance still covers it, promote what now fits."""
        txs = sender.txs
        if nonce > sender.nonce:
            stale = (
                [n for n in txs if n < nonce]
                if len(txs) < nonce - sender.nonce
                else [n for n in range(sender.nonce, nonce) if n in txs]
            )
            for n in stale:
                ptx = txs.pop(n)
                del self._by_hash[ptx.hash]
                if ptx.pending:
                    sender.pending_cost -= ptx.cost
                    self._pending_count -= 1
                    self._pending_size -= ptx.size
                else:
                    self._queued_count -= 1
                    self._queued_size -= ptx.size
            if sender.pending_end <= nonce:
                sender.pending_end = nonce
                sender.pending_cost = 0
            sender.nonce = nonce
        elif nonce < sender.nonce:  # the state went back (not expected): start the run again
            self._truncate(sender, sender.nonce)
            sender.nonce = sender.pending_end = nonce
        sender.balance = balance
        if sender.pending_cost > balance:
            self._fit_balance(sender)
        self._extend(sender, newly)

    def _fit_balance(self, sender: _Sender) -> None:
        """Demote the end of the pending run that the balance no longer covers."""
        if sender.pending_cost <= sender.balance:
            return
        cost = 0
        for n in range(sender.nonce, sender.pending_end):
            cost += sender.txs[n].cost
            if cost > sender.balance:
                self._truncate(sender, n)
                return

    # -- limits -----------------------------------------------------------------------------------

    def _push_tail(self, sender: _Sender) -> None:
        if sender.pending_end > sender.nonce:
            tail = sender.txs[sender.pending_end - 1]
            heapq.heappush(self._tails, (tail.tip, -tail.seq, tail))
            if len(self._tails) > 2 * self._pending_count + 64:
                self._rebuild_tails()

    def _rebuild_tails(self) -> None:
        self._tails = [
            (t.tip, -t.seq, t)
            for s in self._senders.values()
            if s.pending_end > s.nonce
            for t in (s.txs[s.pending_end - 1],)
        ]
        heapq.heapify(self._tails)

    def _pending_over_limit(self) -> bool:
        return (
            self.max_pending_txs is not None and self._pending_count > self.max_pending_txs
        ) or (self.max_pending_size is not None and self._pending_size > self.max_pending_size)

    def _evict_over_limit(self) -> None:
        """Remove the worst pending tails until the pending sub-pool fits its limits."""
        while self._pending_over_limit() and self._tails:
            _, _, ptx = heapq.heappop(self._tails)
            sender = self._senders.get(ptx.sender)
            if (
                sender is None
                or sender.txs.get(ptx.nonce) is not ptx
                or not ptx.pending
                or ptx.nonce != sender.pending_end - 1
            ):
                continue  # stale entry
            log.debug("pending pool full: evicting {tx}", tx=ptx)
            self._remove(sender, ptx)

    # -- block building ---------------------------------------------------------------------------

    def best_transactions(self, base_fee: int) -> BestTransactions:
        """An iterator over pending transactions for the next block, best effective tip first,
        each sender's in nonce order, skipping senders whose next fee cap is below ``base_fee``.

        It also yields transactions that become pending while it is in use.
        """
        heads = []
        for sender in self._senders.values():
            if sender.pending_end > sender.nonce:
                heads.append(sender.txs[sender.nonce])
        best = BestTransactions(self, base_fee, heads)
        self._iterators.add(best)
        return best

    def next_pending(self, ptx: PooledTransaction) -> PooledTransaction | None:
        """The pending transaction that follows ``ptx`` from the same sender, or ``None``."""
        sender = self._senders.get(ptx.sender)
        if sender is None or ptx.nonce + 1 >= sender.pending_end:
            return None
        return sender.txs.get(ptx.nonce + 1)

    def current(self, ptx: PooledTransaction) -> PooledTransaction | None:
        """The pending transaction now in the pool at ``ptx``'s sender and nonce, or ``None``."""
        sender = self._senders.get(ptx.sender)
        if sender is None or not sender.nonce <= ptx.nonce < sender.pending_end:
            return None
        return sender.txs.get(ptx.nonce)

    def account_nonce(self, address: bytes) -> int | None:
        """The account nonce the pool last read for a sender it holds transactions of."""
        sender = self._senders.get(address)
        return None if sender is None else sender.nonce

    def mark_invalid(self, tx_hash: bytes, reason: str = "") -> None:
        """Drop a transaction the VM rejected; the sender's later transactions become queued, and
        live ``best_transactions`` iterators skip the sender for the rest of their block."""
        ptx = self._by_hash.get(tx_hash)
        if ptx is None:
            return
        log.info("dropping {tx}: {reason}", tx=ptx, reason=reason)
        for best in list(self._iterators):
            best.skip_sender(ptx.sender)
        self._remove(self._senders[ptx.sender], ptx)

    def on_block_mined(self, mined, account_reader=None, changed_accounts=()) -> None:
        """After a block: ``mined`` lists ``(sender, nonce)`` of its transactions (any origin).

        Every sender named in ``mined`` or in ``changed_accounts`` (accounts whose balance the
        block changed) that has transactions here is re-read through ``account_reader`` (the
        pool's own reader if ``None``): transactions below the new nonce are dropped (mined or
        replaced by a mined one), the rest re-promoted or demoted by the new balance.
        """
        reader = self._reader if account_reader is None else account_reader
        touched = {sender for sender, _ in mined}
        touched.update(changed_accounts)
        newly: list = []
        for address in touched:
            sender = self._senders.get(address)
            if sender is None:
                continue
            self._resync(sender, reader.nonce_of(address), reader.balance_of(address), newly)
            if not sender.txs:
                del self._senders[address]
        if self._limited:
            self._evict_over_limit()
        self._announce(newly)

    # -- listeners --------------------------------------------------------------------------------

    def add_pending_listener(self, listener):
        """Call ``listener(ptx)`` with each ``PooledTransaction`` that becomes pending (added,
        promoted, or replaced); returns a no-argument callable that removes the listener."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _announce(self, newly: list) -> None:
        """Tell iterators and listeners about transactions that became pending (and still are)."""
        by_hash = self._by_hash
        newly = [t for t in newly if t.pending and by_hash.get(t.hash) is t]
        if not newly:
            return
        for best in list(self._iterators):
            for ptx in newly:
                best.offer(ptx)
        for listener in list(self._listeners):
            for ptx in newly:
                try:
                    listener(ptx)
                except Exception:
                    log.failure("pending transaction listener {listener} failed", listener=listener)

    # -- queries ----------------------------------------------------------------------------------

    def get(self, tx_hash: bytes) -> PooledTransaction | None:
        """The pooled transaction with this hash (pending or queued), or ``None``."""
        return self._by_hash.get(tx_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def __len__(self) -> int:
        return len(self._by_hash)

    def by_sender_and_nonce(self, address: bytes, nonce: int) -> PooledTransaction | None:
        """The pooled transaction of ``address`` with ``nonce``, or ``None``."""
        sender = self._senders.get(address)
        return None if sender is None else sender.txs.get(nonce)

    def pending_nonce(self, address: bytes) -> int | None:
        """One past the highest nonce of the consecutive run of pooled transactions that starts
        at the account nonce (reth's ``get_highest_consecutive_transaction_by_sender`` + 1), or
        ``None`` when the pool has no transaction of ``address`` at its account nonce."""
        sender = self._senders.get(address)
        if sender is None or sender.nonce not in sender.txs:
            return None
        end = sender.pending_end
        txs = sender.txs
        while end in txs:
            end += 1
        return end

    def pending_count(self) -> int:
        """The number of pending (executable) transactions."""
        return self._pending_count

    def queued_count(self) -> int:
        """The number of queued transactions (nonce gap or not affordable)."""
        return self._queued_count

    def pending_size(self) -> int:
        """The encoded size of the pending transactions, bytes."""
        return self._pending_size

    def senders(self):
        """The addresses with transactions in the pool."""
        return list(self._senders)

    def transactions_of(self, address: bytes) -> list[PooledTransaction]:
        """The pooled transactions of ``address`` in nonce order."""
        sender = self._senders.get(address)
        return [] if sender is None else [sender.txs[n] for n in sorted(sender.txs)]


def _is_underpriced(existing: PooledTransaction, new: PooledTransaction) -> bool:
    """reth's replacement rule: the fee cap must rise by more than ``PRICE_BUMP`` percent, and so
    must the tip when both transactions are EIP-1559 with non-zero tips."""
    if new.max_fee <= existing.max_fee * (100 + PRICE_BUMP) // 100:
        return True
    if existing.dynamic and new.dynamic and existing.tip and new.tip:
        return new.tip <= existing.tip * (100 + PRICE_BUMP) // 100
    return False
