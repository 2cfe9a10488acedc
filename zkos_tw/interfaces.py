"""The seams of zkos-tw: every pluggable part is a zope ``Interface`` with a written contract.

Implementations say ``@implementer(I...)``; tests check them with ``verifyObject``. In-memory
implementations of each live in ``zkos_tw.testing``.
"""

from zope.interface import Attribute, Interface


class IExecutionState(Interface):
    """The world state as the EVM reads and writes it while executing transactions.

    Addresses are 20-byte ``bytes``; storage keys and values are ``int`` in ``[0, 2**256)``.
    Reading an account that does not exist gives nonce 0, balance 0, empty code, zero storage.

    Journaling: ``begin()`` opens a checkpoint (one per call frame), ``commit()`` folds the newest
    checkpoint into its parent, ``rollback()`` undoes every change made since the newest
    ``begin()`` — accounts, code, storage and transient storage alike. Checkpoints nest.

    Transactions: ``begin_transaction()`` starts a transaction: from then on
    ``get_original_storage`` answers the value each slot had at that moment (EIP-2200/3529 gas),
    and transient storage (EIP-1153) starts empty. ``end_transaction()`` ends it; no checkpoint
    may be open across it.

    Two implementations: the Ethereum-style in-memory state (``zkos_tw.testing``), used by the
    conformance harness, and the ZKsync OS flat-storage state (``zkos_tw.state``).
    """

    def account_exists(address):
        """True if the account is present in the state (EIP-161 sense), even if empty."""

    def is_empty(address):
        """True if the account has nonce 0, balance 0 and no code (EIP-161 "empty")."""

    def account_has_storage(address):
        """True if any storage slot of the account is non-zero (EIP-7610 create collision)."""

    def get_nonce(address):
        """The account nonce (``int``)."""

    def set_nonce(address, nonce):
        """Set the nonce, creating the account if needed."""

    def get_balance(address):
        """The balance in wei (``int``)."""

    def set_balance(address, balance):
        """Set the balance, creating the account if needed."""

    def get_code(address):
        """The account's bytecode (``bytes``, empty for none)."""

    def get_code_hash(address):
        """keccak-256 of the account's code (``bytes`` of 32); the empty-code hash for none."""

    def set_code(address, code):
        """Set the bytecode, creating the account if needed."""

    def get_storage(address, key):
        """Current value of a storage slot."""

    def set_storage(address, key, value):
        """Write a storage slot (value 0 deletes it)."""

    def get_original_storage(address, key):
        """Value of the slot when the current transaction began."""

    def get_transient_storage(address, key):
        """Current value of a transient slot (EIP-1153); 0 outside a write in this transaction."""

    def set_transient_storage(address, key, value):
        """Write a transient slot; discarded at ``end_transaction()`` and by ``rollback()``."""

    def destroy_account(address):
        """Remove the account with its code and all storage (SELFDESTRUCT, EIP-161 cleanup)."""

    def begin():
        """Open a journal checkpoint (a call frame starts)."""

    def commit():
        """Keep the changes since the newest checkpoint; drop that checkpoint."""

    def rollback():
        """Undo every change since the newest checkpoint; drop that checkpoint."""

    def begin_transaction():
        """Start a transaction: snapshot original storage values, clear transient storage."""

    def end_transaction():
        """End the transaction started by ``begin_transaction()``."""


class IHealthSource(Interface):
    """Something the health endpoint asks about the node's progress."""

    role = Attribute("'main_node' or 'external_node'")

    def last_block():
        """``(number, unix_timestamp)`` of the newest block, or ``None`` before the first one."""

    def problems():
        """A list of short strings naming what is unhealthy now (empty when all is well)."""


class IStateAtBlock(Interface):
    """The flat ZKsync OS state as it was right after one block (``IBlockStorage.state_at``).

    Views that provide it also provide ``IStateReader`` (same ``read``).

    Keys and values are 32-byte ``bytes``. The view is fixed: later blocks never change what it
    reads, so it may be kept and read from while new blocks are written.
    """

    block_number = Attribute("The block whose post-state this view reads (``int``).")

    def read(key):
        """The value the newest block ``<= block_number`` wrote under ``key``, or ``None`` if no
        such block wrote it (absent means zero in ZKsync OS). A written zero is returned as 32
        zero bytes."""


class IBlockStorage(Interface):
    """Durable block storage: the WAL, the repositories, state history, preimages and tree nodes.

    Writing: ``write_block(block_write)`` persists a ``zkos_tw.storage.BlockWrite`` atomically —
    after it returns every part of the block is readable, and after a crash at any instant a
    block is either wholly there or not at all. Blocks are written in order: the first is any
    number (genesis is 0), then each is ``last_block() + 1``. Writing a block that is already
    stored with the same WAL record does nothing (replay is idempotent); with a different WAL
    record it raises ``StorageError``, as does a gap or a transaction hash stored by an earlier
    block. A failed write leaves storage exactly as it was.

    Reading: every read sees committed blocks only. Methods that look something up return
    ``None`` when it is absent; ``state_at`` raises ``BlockNotFound`` for a block not stored.
    """

    def write_block(block_write):
        """Persist one block in a single transaction (see the class docstring)."""

    def last_block():
        """The number of the newest stored block, or ``None`` when storage is empty."""

    def first_block():
        """The number of the oldest stored block, or ``None`` when storage is empty."""

    def state_at(block_number):
        """An ``IStateAtBlock`` reading the state right after ``block_number``."""

    def preimage(digest):
        """The preimage stored under the 32-byte hash ``digest``, or ``None``. Preimages are not
        versioned: one written by a later block is visible too."""

    def block(block_number):
        """The ``StoredBlock`` with that number, or ``None``."""

    def block_number_by_hash(block_hash):
        """The number of the block with that 32-byte hash, or ``None``."""

    def transaction(tx_hash):
        """The EIP-2718 bytes of the transaction, or ``None``."""

    def tx_location(tx_hash):
        """The ``TxLocation`` (block number, index) of the transaction, or ``None``."""

    def receipt(tx_hash):
        """The encoded receipt of the transaction, or ``None``."""

    def logs(block_number):
        """The block's logs as a tuple of ``LogWrite``, or ``None`` when the block is absent."""

    def block_pubdata(block_number):
        """The block's ZKsync OS pubdata (``zkos_tw.batcher.pubdata``), written in the same
        transaction as the block; ``None`` when the block is absent or was stored without it
        (written with an empty ``BlockWrite.pubdata``, or before storage kept pubdata)."""

    def wal_record(block_number):
        """The WAL (block replay) record of the block, or ``None``."""

    def replay_from_wal(start, fn):
        """Call ``fn(block_number, wal_record)`` for every stored block from ``start`` to the last,
        in order; return how many were replayed. Used at start-up to re-derive derived data."""

    def tree_node(node_key):
        """The tree node stored under ``node_key``, or ``None``."""

    def preimage_store():
        """The preimages as an ``IPreimages`` (for the state code)."""

    def tree_store():
        """The tree records as an ``ITreeStore`` (for ``zkos_tw.merkle.MerkleTree``); the tree's
        patches are written through ``BlockWrite.tree_patch``."""

    def address_history(address, block_number, *, descending, min_count):
        """The address index (``BlockWrite.address_index``, written in the block's transaction):
        ``(appearances, ends)``. ``appearances`` are the ``Appearance`` entries of the 20-byte
        ``address`` in blocks strictly before ``block_number``, newest first (``descending``), or
        strictly after it, oldest first; ``block_number=None`` starts at the newest / oldest block
        inclusive. At least ``min_count`` entries unless the history ends, completed to the end
        of the last block reached; ``ends`` says no further entry exists in that direction."""

    def tx_by_sender_and_nonce(sender, nonce):
        """The hash of the transaction ``sender`` sent with account nonce ``nonce``, or ``None``."""

    def contract_creation(contract):
        """The ``ContractCreation`` (tx hash, creator) of ``contract``, the latest indexed, or
        ``None``."""

    def close():
        """Release the storage; nothing may be called on it afterwards."""


class IStateReader(Interface):
    """The flat key/value state (ZKsync OS model) as of one block, read-only.

    Keys and values are 32-byte ``bytes``; a key is ``blake2s(pad32(address) || slot)``
    (``zkos_tw.state.keys``). The view is fixed at one block: later writes never show through.

    ``read(key)`` returns the stored 32-byte value, or ``None`` when the key has no leaf in the
    state tree at that block (it was never written). ``None`` and ``bytes(32)`` both read as zero
    in the EVM; the difference matters to the prover ("is new storage slot") and to tree inserts.

    Implementations: ``zkos_tw.testing.memory_flat_state.MemoryFlatState`` (in memory, all
    blocks) and the LMDB state history at a block number (``zkos_tw.storage``).
    """

    def read(key):
        """The 32-byte value of ``key`` at this block, or ``None`` if the key does not exist."""


class IPreimages(Interface):
    """Preimages by their 32-byte blake2s hash: bytecode blobs and 124-byte account records.

    ``get(hash)`` returns the bytes whose blake2s hash is ``hash``, or ``None`` when unknown.
    Preimages are not versioned: one known at a later block may be returned at an earlier one.
    A caller may rely on ``blake2s(get(h)) == h``.
    """

    def get(hash):
        """The preimage of ``hash`` (``bytes``), or ``None``."""


class ITreeStore(Interface):
    """Read access to the persisted records of the state Merkle tree.

    The record keys and values are defined by ``zkos_tw.merkle.codec`` (format version byte
    first in every value); the store treats them as opaque ordered ``bytes``. The tree never
    writes: ``MerkleTree.apply(version, writes)`` returns a patch, a list of ``(key, value)``
    records, which the caller stores in the block's single write transaction (or drops whole).

    *Versioned* records have keys ``prefix || u64be(version)``; for them
    ``get_versioned(prefix, version)`` answers the value of the record with the greatest
    ``version' <= version``, or ``None``. ``scan(prefix)`` yields every ``(key, value)`` whose key
    starts with ``prefix``, in ascending key order (bytewise).

    Implementations: ``zkos_tw.testing.memory_tree_store.MemoryTreeStore`` and the LMDB ``tree``
    database (``zkos_tw.storage``).
    """

    def get(key):
        """The value stored under ``key``, or ``None``."""

    def get_versioned(prefix, version):
        """The value of the newest record ``prefix || u64be(v)`` with ``v <= version``, or ``None``."""

    def scan(prefix):
        """Iterate ``(key, value)`` for keys starting with ``prefix``, ascending."""


class IRpcBackend(Interface):
    """What the JSON-RPC server (``zkos_tw.rpc``) asks the node; the sequencer implements it.

    The RPC layer does everything that is about the protocol: decoding params, resolving block
    tags (``latest``/``pending`` -> ``latest_block_number()``, ``safe`` -> ``safe_block_number()``,
    ``finalized`` -> ``finalized_block_number()``, ``earliest`` -> 0, a hash ->
    ``block_number_by_hash``), the ``eth_call`` fee checks, log range and result limits, filters,
    subscriptions, and hex encoding. The backend answers in Python values and JSON-ready dicts.

    Values: addresses and hashes are ``bytes`` (20 / 32); numbers are ``int``; block numbers are
    plain ``int`` already resolved (they may lie above the tip). Objects are returned as plain
    dicts already in their JSON-RPC shape (reference §3.7, hex strings, camelCase keys): a block
    (header fields with ``hash``, ``size``, ``transactions`` (hashes, or full transaction
    objects when asked), ``uncles``), a transaction, a receipt, a log (``address``, ``topics``,
    ``data``, ``blockHash``, ``blockNumber``, ``blockTimestamp``, ``transactionHash``,
    ``transactionIndex``, ``logIndex``, ``removed``).

    Any method may return its value directly or a ``Deferred`` firing with it (e.g. from
    ``deferToThread``); the RPC layer never blocks on it.

    Errors: raise ``zkos_tw.rpc.errors.BackendError(message)`` (JSON-RPC -32603, ``message`` is
    the reference's exact text, e.g. ``failed to decode signed transaction`` or the mempool's
    ``[0x<hash>]: <kind>``), its subclass ``BlockNotFound(n)`` (``block N not found``) for state
    reads above the tip, and ``ExecutionReverted(output)`` (code 3) when a call reverts.

    Listeners are called on the reactor thread, after the block is visible to every read
    method (for blocks) or after the transaction entered the pool (for pending transactions).
    """

    chain_id = Attribute("The L2 chain id (``int``).")
    bridgehub_address = Attribute("The L1 Bridgehub address (``0x`` string).")

    def genesis():
        """The ``GenesisInput`` JSON (``zks_getGenesis``): ``{"initial_contracts": [[address,
        code], ...], "additional_storage": [[key, value], ...], "execution_version": 3,
        "genesis_root": "0x..."}``."""

    def latest_block_number():
        """The newest block visible through RPC (``int``)."""

    def safe_block_number():
        """The last block committed on L1 (the newest block until L1 senders exist)."""

    def finalized_block_number():
        """The last block executed on L1 (the newest block until L1 senders exist)."""

    def l1_batch_number():
        """The newest sealed batch (``int``; 0, the genesis batch, before any is sealed)."""

    def l1_batch_block_range(number):
        """``(first, last)`` block numbers of sealed batch ``number``, or ``None``."""

    def l1_batch_details(number):
        """``zks_getL1BatchDetails``' object (Era's camelCase shape, docs/rpc.md), or ``None``."""

    def block_details(number):
        """``zks_getBlockDetails``' object (Era's shape with ``l1BatchNumber``), or ``None``."""

    def l2_to_l1_log_proof(tx_hash, index):
        """``zks_getL2ToL1LogProof``' object (zksync-os-server.md §3.4: ``batch_number``,
        ``proof``, ``id``, ``root``), ``None`` for an unknown transaction, or ``BackendError``
        with the reference's texts (not in a batch / not executed / index out of range)."""

    def block_number_by_hash(block_hash):
        """The number of the block with this 32-byte hash, or ``None``."""

    def block_by_number(number, full):
        """The RPC block object, or ``None`` if there is no such block. ``full``: transactions
        as full objects instead of hashes (raise ``BackendError("block not found")`` if one is
        missing)."""

    def transaction_by_hash(tx_hash):
        """The RPC transaction object, mempool first (then ``blockHash``, ``blockNumber`` and
        ``transactionIndex`` are null), then stored blocks; or ``None``."""

    def raw_transaction_by_hash(tx_hash):
        """The EIP-2718 bytes of the transaction (mempool first), or ``None``."""

    def transaction_by_sender_and_nonce(sender, nonce):
        """The RPC transaction object sent by ``sender`` with ``nonce`` (L1 txs: initiator and
        priority id), or ``None``."""

    def receipt(tx_hash):
        """The RPC receipt of a mined transaction, or ``None`` (unknown or still pending)."""

    def block_receipts(number):
        """The receipts of the block, in order, or ``None`` if there is no such block."""

    def logs(from_block, to_block, addresses, topics, limit):
        """Logs of blocks ``from_block..to_block`` (inclusive, both existing) that match, in
        block and log order. ``addresses``: tuple of 20-byte addresses, empty = any. ``topics``:
        one entry per position, ``None`` (any) or a tuple of 32-byte alternatives
        (``zkos_tw.rpc.logfilter.log_matches`` is the reference matcher). ``limit``: ``None``, or
        stop after the first block at which more than ``limit`` logs matched (the RPC layer then
        reports the range to retry with)."""

    def balance(address, number):
        """The balance in wei at the end of block ``number`` (0 for no account)."""

    def nonce(address, number):
        """The account nonce at the end of block ``number``."""

    def code(address, number):
        """The observable bytecode (``bytes``, empty for none) at the end of block ``number``."""

    def storage_at(address, slot, number):
        """The storage value (``int`` or 32 ``bytes``) of ``slot`` (``int``) after block
        ``number``; zero if absent."""

    def pending_nonce(address):
        """The highest consecutive pool nonce of ``address`` plus one, or ``None`` when it has no
        pending transactions (raise ``BackendError("nonce has max value")`` on overflow)."""

    def call(request, number, next_block=False):
        """Run a ``zkos_tw.rpc.codec.CallRequest`` on the state after block ``number``; return
        the output ``bytes`` (deployed code for a CREATE). The context (base fee 0) is that
        block's own, or with ``next_block`` the one the sequencer would give the next block now
        (number + 1, the current time, the hashes up to ``number``; ``latest``/``pending``).
        Raise ``ExecutionReverted(output)`` on revert, ``BackendError`` otherwise (``invalid
        transaction: ...``). Fee checks of §3.5 are done by the RPC layer beforehand."""

    def estimate_gas(request, number, next_block=False):
        """The gas estimate (``int``) for a ``CallRequest`` at block ``number`` (§3.5 algorithm;
        with ``next_block``, a limit that also holds a block and a second later); errors as for
        ``call``."""

    def send_raw_transaction(raw):
        """Decode, validate and add the EIP-2718 bytes to the pool; return the 32-byte hash.
        Errors: ``failed to decode signed transaction``, ``invalid transaction signature``,
        the pool's ``[0x<hash>]: <kind>`` texts (reference §3.6)."""

    def add_block_listener(listener):
        """Call ``listener(block, logs)`` for each new block: ``block`` is the RPC header (block
        object without ``transactions``), ``logs`` the block's RPC logs. Returns a no-argument
        callable that removes the listener."""

    def add_pending_transaction_listener(listener):
        """Call ``listener(transaction)`` with the RPC transaction object (block fields null) of
        each transaction added to the pool. Returns a callable that removes the listener."""


class IAccountReader(Interface):
    """Account nonces and balances at the newest block, as the mempool reads them.

    Addresses are 20-byte ``bytes``; an account that does not exist has nonce 0 and balance 0.
    Both answers come from the same block; calls are synchronous and cheap (the mempool makes
    two per ``eth_sendRawTransaction``, on the reactor thread).
    """

    def nonce_of(address):
        """The account nonce (``int``) at the newest block."""

    def balance_of(address):
        """The balance in wei (``int``) at the newest block."""


class IMempool(Interface):
    """The sequencer's transaction pool (``zkos_tw.sequencer.mempool.Mempool``).

    Transactions are ``PooledTransaction`` objects (``hash``, ``sender``, ``nonce``, ``raw``,
    ``tx`` the decoded transaction, ``pending``). A sender's *pending* transactions are the run of
    consecutive nonces from its account nonce that its balance covers; the rest are *queued*.
    Every method runs on the reactor thread and returns at once.
    """

    def add(raw):
        """Validate and add EIP-2718 bytes; return the 32-byte hash. Raises a
        ``zkos_tw.sequencer.mempool_errors.PoolError`` whose ``str()`` is the RPC message."""

    def get(tx_hash):
        """The pooled transaction with this hash, or ``None``."""

    def by_sender_and_nonce(address, nonce):
        """The pooled transaction of ``address`` with ``nonce``, or ``None``."""

    def pending_nonce(address):
        """One past the highest consecutive pooled nonce from the account nonce, or ``None``."""

    def pending_count():
        """How many transactions are pending."""

    def queued_count():
        """How many transactions are queued."""

    def best_transactions(base_fee):
        """An iterator of pending transactions for a block at ``base_fee``: best effective tip
        first, each sender in nonce order; it has ``skip(ptx)`` for the current block."""

    def mark_invalid(tx_hash, reason):
        """Drop a transaction the VM rejected; its sender's later transactions become queued."""

    def on_block_mined(mined, account_reader, changed_accounts=()):
        """Forget the ``(sender, nonce)`` pairs of a sealed block and stale transactions, and
        re-promote by the new account nonces and balances."""

    def add_pending_listener(listener):
        """Call ``listener(ptx)`` whenever a transaction becomes pending; returns a remover."""


class IPriorityTxSink(Interface):
    """Where the L1 watcher delivers L1 priority transactions (``L1Transaction``, type 0x7f).

    Transactions arrive in priority-id order without gaps, starting at the id the watcher was
    started with (the node's next expected priority id, restored from storage on restart).
    """

    next_priority_id = Attribute("The priority id the next ``put`` must carry (``int``).")

    def put(tx):
        """Accept ``tx``; return a Deferred firing once it is accepted (a full sink makes the
        watcher wait). Raise ``ValueError`` if ``tx.nonce`` is not ``next_priority_id``."""


class IPriorityTxSource(Interface):
    """What the sequencer takes L1 priority transactions from (in priority-id order)."""

    def take_ready(limit=None):
        """Up to ``limit`` transactions available now (oldest first), without waiting."""

    def peek():
        """The oldest available transaction, or ``None``."""

    def get():
        """A Deferred firing with the next transaction once there is one."""


class IPoster(Interface):
    """Sends HTTP POST bodies to one JSON-RPC endpoint over kept-open connections (the load
    generator's seam: ``zkos_tw.load.http.HttpPool``, ``TreqPoster``, the tests' fake chain)."""

    def post(body):
        """POST ``body`` (bytes); a Deferred firing with ``(status, response body)``, or failing
        with ``zkos_tw.load.http.HttpError`` (connection refused or lost, not HTTP)."""

    def close():
        """Close the connections; a Deferred that fires when they are gone."""


class IProofStorage(Interface):
    """Batch envelopes with their FRI proofs, by batch number (reference §5.5).

    The gapless committer stores each batch before it is committed on L1; restart, SNARK peek and
    block -> batch lookups read them back. ``put`` overwrites, is atomic (a reader sees the old
    envelope or the new one) and durable on return; it raises ``ValueError`` for an envelope
    without a FRI proof. ``stage_times`` are not stored. A stored envelope that cannot be read
    raises ``zkos_tw.batcher.proof_storage.ProofStorageError`` naming it. Implementations:
    ``zkos_tw.batcher.proof_storage.FileProofStorage`` and
    ``zkos_tw.testing.memory_proof_storage.MemoryProofStorage``.
    """

    def put(envelope):
        """Store ``envelope`` (a ``BatchEnvelope`` with ``fri_proof``) under its batch number."""

    def get(batch_number):
        """The stored ``BatchEnvelope`` of ``batch_number``, or ``None``."""

    def latest_batch():
        """The highest stored batch number, or ``None`` if none is stored."""

    def batch_for_block(block_number):
        """The stored batch whose ``first_block_number..=last_block_number`` holds
        ``block_number`` (binary search over stored batches), or ``None``."""


class IBatchStore(Interface):
    """Sealed batches by number: block range and ``BatchMetadata`` (docs/batcher.md).

    The batcher stores each batch before handing it downstream; after a restart it starts the
    next batch at ``last_batch().last_block_number + 1``. Batches are gapless: the first stored
    may have any number, then each is ``last + 1`` and starts right after the last one's last
    block, otherwise ``put`` raises ``zkos_tw.batcher.batch_store.BatchStoreError``; putting an
    identical batch again does nothing, a different one under a stored number raises. ``put`` is
    atomic and durable on return. A stored record that cannot be read raises ``BatchStoreError``
    naming it. Implementations: ``zkos_tw.batcher.batch_store.LMDBBatchStore`` and
    ``zkos_tw.testing.memory_batch_store.MemoryBatchStore``.
    """

    def put(meta):
        """Store the ``BatchMetadata`` ``meta`` under its batch number."""

    def batch(number):
        """The stored ``BatchMetadata`` of batch ``number``, or ``None``."""

    def last_batch():
        """The stored ``BatchMetadata`` with the highest number, or ``None`` if none is stored."""

    def batch_for_block(block_number):
        """The number of the stored batch whose block range holds ``block_number``, or ``None``."""

    def close():
        """Release the store; nothing may be called on it afterwards."""


class IFriProofVerifier(Interface):
    """Checks a submitted FRI proof of one batch before it goes downstream (reference §5.4).

    ``verify(batch, proof)`` gets the batch's ``BatchMetadata`` and the submitted proof bytes. It
    returns (or fires a Deferred) when the proof proves that batch. Otherwise it raises
    ``zkos_tw.prover_api.attestation.AttestationDecodeError`` if the bytes do not decode, which
    the API answers with 400 ``deserialization failed: …``. It raises ``ProofRejected`` if the
    bytes decode but prove something else, which the API answers with 400
    ``proof verification failed``. It must not change the batch.

    Implementations: ``zkos_tw.prover_api.attestation.AttestationVerifier`` (the V1 signed
    re-execution attestation) and ``zkos_tw.prover_api.fri_jobs.RefuseRealProofs``.
    """

    def verify(batch, proof):
        """Return if ``proof`` (bytes) proves ``batch``; raise as the contract says otherwise."""


class ITracer(Interface):
    """Receives the execution events of one traced transaction (``zkos_tw.tracing.hooks``).

    Events come in geth's order: ``on_tx_start``, then for every frame ``on_enter`` ... its
    logs (``on_log``), its children ... ``on_exit``, then ``on_tx_end``. ``kind`` is the opcode
    that opened the frame (CALL 0xf1, CREATE 0xf0, ...; the top frame: CALL or CREATE);
    ``error`` is geth's text or ``None``; ``reverted`` is true for REVERT only. ``on_step``
    (before each instruction) and ``on_step_done`` (after) come only when ``wants_steps`` is
    true, and then the frames run on the pure loop. Implementations: ``zkos_tw.tracing``.
    """

    wants_steps = Attribute("True when the tracer needs on_step / on_step_done")

    def on_tx_start(gas_limit, first_log_index=0):
        """The transaction starts with gas limit ``gas_limit``; its first log would have index
        ``first_log_index`` in the block."""

    def on_tx_context(state, sender, to, coinbase, creates):
        """Before ``on_tx_start``: the state view before the transaction, its sender, its
        recipient (the new contract's address when ``creates``) and the block's coinbase."""

    def on_enter(depth, kind, caller, to, data, gas, value):
        """A frame starts: ``data`` is the input (the initcode of a create), ``gas`` its gas."""

    def on_exit(depth, output, gas_used, error, reverted):
        """The frame of ``depth`` ends."""

    def on_log(log):
        """The innermost open frame emitted ``log`` (an ``execution.receipts.Log``)."""

    def on_selfdestruct(address, beneficiary, balance):
        """The innermost open frame (``address``) ran SELFDESTRUCT, sending ``balance`` (its
        balance before the instruction) to ``beneficiary``."""

    def on_step(evm, op, depth):
        """Instruction ``op`` is about to run on the ``Frame`` ``evm`` (``depth``: 1 on top)."""

    def on_step_done(evm):
        """The instruction of the last ``on_step`` ran (it raised: this is not called)."""

    def on_tx_end(gas_used):
        """The transaction ended using ``gas_used`` (after refunds, as its receipt)."""

    def result():
        """The JSON value of the trace."""
