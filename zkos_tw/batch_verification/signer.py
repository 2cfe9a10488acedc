"""The external node's side of batch verification: ``BatchSigner`` and its connection.

With ``batch_verification_client_enabled`` the EN connects to the main node's
``batch_verification_address`` (reconnecting every ``RECONNECT_DELAY`` seconds, as the
reference's EN) and answers each ``Request``:

1. the request must be for our chain (``chain_address`` = our diamond proxy) with
   ``process_from = process_to = batch_number``;
2. our own blocks ``first_block..last_block`` must be stored (the EN may lag the main node a
   little: it waits up to ``wait_timeout`` for them, then refuses and counts a timeout);
3. ``batch_data`` must be a v2 commit of one batch whose previous ``StoredBatchInfo`` is batch
   ``n - 1`` with our state commitment after block ``first_block - 1``;
4. the ``CommitBatchInfo`` it carries must equal the one we build from our own blocks and tree
   (``build_commit_batch_info``), field by field.

Then it signs the EIP-712 digest (``digest.py``) with ``batch_verification_signing_key`` and
answers ``Signed``; otherwise ``Refused`` naming the first differing field, e.g.
``batch 3: new_state_commitment differs: main node 0x…, ours 0x…``. Refusals and timeouts are
logged and counted (``batch_verification_signer_*``).
"""

from __future__ import annotations

from eth_abi import decode, encode
from twisted.application.internet import ClientService
from twisted.internet import defer
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.logger import Logger

from zkos_tw.batch_verification.digest import SigningDomain, address_of_key, commit_digest
from zkos_tw.batch_verification.digest import sign_digest as _sign
from zkos_tw.batch_verification.metrics import SignerMetrics
from zkos_tw.batch_verification.protocol import (
    ClientHandshake,
    FrameParser,
    ProtocolError,
    Refused,
    Request,
    Signed,
    encode_frame,
    encode_hello,
)
from zkos_tw.batcher.commitment import (
    BatchDataMissing,
    StoredTreeVersions,
    build_commit_batch_info,
    state_commitment,
)
from zkos_tw.batcher.info import COMMIT_BATCH_INFO_ABI, STORED_BATCH_INFO_ABI
from zkos_tw.l1.calldata import COMMIT_DATA_VERSION
from zkos_tw.sequencer.wal import ReplayRecord

log = Logger()

#: Seconds between connection attempts to the main node (reference §8.2).
RECONNECT_DELAY = 5.0
#: Seconds between looks at our storage while waiting for the batch's blocks.
POLL_INTERVAL = 0.05
#: ``CommitBatchInfoZKsyncOS`` fields in ABI order (the names of ``CommitBatchInfo``).
COMMIT_FIELDS = (
    "batch_number",
    "new_state_commitment",
    "number_of_layer1_txs",
    "priority_operations_hash",
    "dependency_roots_rolling_hash",
    "l2_to_l1_logs_root_hash",
    "l2_da_validator",
    "da_commitment",
    "first_block_timestamp",
    "last_block_timestamp",
    "chain_id",
    "operator_da_input",
)


class Refusal(Exception):
    """Internal: the request cannot be signed; ``str()`` is the reason."""


def _show(value) -> str:
    if isinstance(value, bytes):
        text = "0x" + value.hex()
        return text if len(text) <= 70 else f"{text[:66]}… ({len(value)} bytes)"
    return str(value).lower() if isinstance(value, str) else str(value)


class BatchSigner:
    """Checks requests against our own chain data and signs the agreeing ones."""

    def __init__(
        self,
        *,
        storage,
        clock,
        signing_key: bytes,
        domain: SigningDomain,
        chain_id: int,
        chain_address: bytes,
        genesis_state_commitment: bytes,
        pubdata_mode: str = "Rollup",
        wait_timeout: float = 5.0,
        metrics: SignerMetrics | None = None,
    ):
        self._storage = storage
        self._tree = StoredTreeVersions(storage.tree_store())
        self._clock = clock
        self._key = signing_key
        self.address = address_of_key(signing_key)
        self.domain = domain
        self._chain_id = chain_id
        self._chain = bytes(chain_address)
        self._genesis = genesis_state_commitment
        self._pubdata_mode = pubdata_mode
        self.wait_timeout = wait_timeout
        self.metrics = metrics or SignerMetrics()
        self.last_refusal: str | None = None

    async def answer(self, request: Request) -> Signed | Refused:
        """``Signed`` when our data agrees with the request, else ``Refused(reason)``."""
        try:
            await self._check(request)
        except Refusal as e:
            reason = f"batch {request.batch_number}: {e}"
            self.last_refusal = reason
            self.metrics.answers.labels(result="refused").inc()
            log.warn("batch verification: refusing to sign {reason}", reason=reason)
            return Refused(request.request_id, request.batch_number, reason)
        digest = commit_digest(
            self.domain, self._chain, request.process_from, request.process_to, request.batch_data
        )
        self.metrics.answers.labels(result="signed").inc()
        log.info("batch verification: signed batch {batch}", batch=request.batch_number)
        return Signed(request.request_id, request.batch_number, _sign(digest, self._key))

    async def _check(self, request: Request) -> None:
        n = request.batch_number
        if request.chain_address != self._chain:
            raise Refusal(
                f"chain_address differs: main node {_show(request.chain_address)}, ours "
                f"{_show(self._chain)}"
            )
        if not (request.process_from == request.process_to == n):
            raise Refusal(f"processBatchFrom..To {request.process_from}..{request.process_to}")
        if request.first_block < 1 or request.first_block > request.last_block:
            raise Refusal(f"block range {request.first_block}..{request.last_block}")
        ours = await self._build(request)
        previous, theirs = self._decode(request.batch_data)
        if previous[0] != n - 1:
            raise Refusal(f"previous batch_number differs: main node {previous[0]}, ours {n - 1}")
        our_previous = self._commitment_after(request.first_block - 1)
        if previous[1] != our_previous:
            raise Refusal(
                f"previous state_commitment differs: main node {_show(previous[1])}, ours "
                f"{_show(our_previous)} (after block {request.first_block - 1})"
            )
        (mine,) = decode([COMMIT_BATCH_INFO_ABI], encode([COMMIT_BATCH_INFO_ABI], [ours]))
        for name, a, b in zip(COMMIT_FIELDS, theirs, mine, strict=True):
            if a != b:
                raise Refusal(f"{name} differs: main node {_show(a)}, ours {_show(b)}")

    async def _build(self, request: Request):
        waited = 0.0
        while True:
            try:
                return build_commit_batch_info(
                    self._storage,
                    self._tree,
                    batch_number=request.batch_number,
                    first_block=request.first_block,
                    last_block=request.last_block,
                    chain_id=self._chain_id,
                    chain_address=self._chain,
                    pubdata_mode=self._pubdata_mode,
                ).abi_tuple()
            except BatchDataMissing as e:
                if waited >= self.wait_timeout:
                    self.metrics.timeouts.inc()
                    raise Refusal(f"not in our data after {waited:g} s: {e}") from None
            except ValueError as e:
                raise Refusal(str(e)) from None
            await deferLater(self._clock, POLL_INTERVAL, lambda: None)
            waited += POLL_INTERVAL

    def _decode(self, batch_data: bytes):
        if not batch_data or batch_data[0] != COMMIT_DATA_VERSION:
            raise Refusal(f"batch_data is not a version {COMMIT_DATA_VERSION} commit")
        try:
            previous, infos = decode(
                [STORED_BATCH_INFO_ABI, COMMIT_BATCH_INFO_ABI + "[]"], batch_data[1:]
            )
        except Exception as e:  # eth_abi raises several unrelated types
            raise Refusal(f"batch_data does not decode: {e}") from None
        if len(infos) != 1:
            raise Refusal(f"batch_data commits {len(infos)} batches, expected 1")
        return previous, infos[0]

    def _commitment_after(self, block: int) -> bytes:
        if block == 0:
            return self._genesis
        raw = self._storage.wal_record(block)
        stored = self._storage.block(block)
        if raw is None or stored is None:
            raise Refusal(f"block {block} is not in our data")
        context = ReplayRecord.decode(raw).context
        return state_commitment(
            self._tree.root(block),
            self._tree.leaf_count(block),
            block,
            context.next_hashes(stored.block_hash),
            context.timestamp,
        )


class SignerProtocol(Protocol):
    """The EN's connection: hello, the server's version, then requests → answers."""

    def __init__(self, signer: BatchSigner, on_connected=None):
        self._signer = signer
        self._handshake: ClientHandshake | None = ClientHandshake()
        self._frames = FrameParser()
        self._on_connected = on_connected
        self.connected_to: str | None = None

    def connectionMade(self) -> None:
        self.transport.write(encode_hello())

    def dataReceived(self, data: bytes) -> None:
        try:
            if self._handshake is not None:
                rest = self._handshake.feed(data)
                if rest is None:
                    return
                self._handshake = None
                self.connected_to = str(self.transport.getPeer())
                self._signer.metrics.connected.set(1)
                log.info("batch verification: signing for {peer}", peer=self.connected_to)
                data = rest
            for message in self._frames.feed(data):
                if not isinstance(message, Request):
                    raise ProtocolError("the main node sent an answer")
                defer.ensureDeferred(self._answer(message)).addErrback(
                    lambda f: log.failure("batch verification: answering failed", f)
                )
        except ProtocolError as e:
            self._signer.metrics.protocol_errors.inc()
            log.warn("batch verification: closing the connection: {error}", error=str(e))
            self._handshake = ClientHandshake()
            self.transport.loseConnection()

    async def _answer(self, request: Request) -> None:
        answer = await self._signer.answer(request)
        if self.transport is not None and self.connected_to is not None:
            self.transport.write(encode_frame(answer))

    def connectionLost(self, reason=None) -> None:
        if self.connected_to is not None:
            self._signer.metrics.connected.set(0)
            log.info("batch verification: disconnected from {peer}", peer=self.connected_to)
        self.connected_to = None


def create_signer_client(config, reactor, signer: BatchSigner, *, _endpoint=None):
    """A ``ClientService`` keeping the EN connected to ``config.connect_endpoint``."""
    endpoint = _endpoint or clientFromString(reactor, config.connect_endpoint)
    factory = Factory.forProtocol(lambda: SignerProtocol(signer))
    service = ClientService(
        endpoint, factory, retryPolicy=lambda attempt: RECONNECT_DELAY, clock=reactor
    )
    service.setName("batch_verification_signer")
    return service
