"""One load run against a JSON-RPC endpoint: set-up, timed submission, waiting, result.

1. Read the chain id, the newest base fee and the rich account's balance and pending nonce.
2. Derive the senders from the seed and fund them from the rich account in one go (plus the
   token deployment and token transfers for ``erc20``); wait for every funding receipt.
3. Pre-sign and pre-encode every transaction of the run (timed apart, as ``sign_seconds``).
4. The clock starts: ``connections`` workers send the batches (optionally paced to ``rate``
   transactions/s, held back while ``max_pending`` of ours are waiting for a block, stopped
   after ``duration`` seconds), while the inclusion watcher and the ``eth_blockNumber`` sampler
   run on their own connections.
5. Wait until every accepted transaction was seen in a block, or ``timeout`` seconds passed
   after the last submission; return the ``RunRecord``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from twisted.internet.defer import DeferredList, ensureDeferred
from twisted.internet.task import deferLater

from zkos_tw.load.client import JsonRpcClient, RpcError, make_client, split_answers
from zkos_tw.load.plan import Batch, Funding, LoadPlan, fees_for, make_batches, split_counts
from zkos_tw.load.signing import Signer, derive_signers
from zkos_tw.load.stats import RunRecord
from zkos_tw.load.watch import BlockNumberSampler, InclusionWatcher, StateReader

RICH_KEY = "0x7726827caac94a7f9e1b160f7ea819f172f7b6f9d2a97f992c38edeab82d4110"
#: the JSON-RPC servers we meet refuse batches above 1000 requests
MAX_BATCH = 1000


class LoadError(Exception):
    """A run that cannot go on; ``str()`` is the one line the CLI prints."""


@dataclass(frozen=True)
class LoadConfig:
    rpc_url: str = "http://127.0.0.1:3050"
    private_key: str = RICH_KEY
    senders: int = 100
    txs: int = 10_000
    duration: float | None = None
    rate: float | None = None
    batch_size: int = 100
    kind: str = "transfer"
    timeout: float = 60.0
    connections: int = 4
    client: str = "raw"
    max_pending: int | None = None
    priority_fee: int = 0
    seed: bytes | None = None
    poll_interval: float = 0.02
    sample_interval: float = 0.05
    #: state reads per second during the load (``StateReader``: eth_getBalance, and eth_call
    #: of the token's balanceOf for the token kinds); None: no readers
    read_rate: float | None = None


def _sleep(clock, seconds: float):
    return deferLater(clock, seconds, lambda: None)


class LoadRun:
    """A load run; ``_client_factory(url, connections)`` is the test seam."""

    def __init__(
        self, config: LoadConfig, reactor, *, progress=None, _client_factory=None, _cpu_time=None
    ):
        if config.senders < 1 or config.txs < 1:
            raise LoadError("--senders and --txs must be at least 1")
        if not 1 <= config.batch_size <= MAX_BATCH:
            raise LoadError(f"--batch-size must be between 1 and {MAX_BATCH}")
        if config.connections < 1:
            raise LoadError("--connections must be at least 1")
        self.config = config
        self.reactor = reactor
        #: A ``zkos_tw.cli.progress.Progress``: transactions finished (included or refused)
        #: of those planned, redrawn at each inclusion poll.
        self.progress = progress
        self._client_factory = _client_factory or (
            lambda url, size: make_client(reactor, url, config.client, size)
        )
        self._cpu_time = _cpu_time or time.process_time
        try:
            self.rich = Signer.from_hex(config.private_key)
        except ValueError as e:
            raise LoadError(str(e)) from None
        self.seed = config.seed if config.seed is not None else os.urandom(8)
        self.record = RunRecord(
            kind=config.kind,
            batch_size=config.batch_size,
            connections=config.connections,
            client=config.client,
        )

    async def run(self) -> RunRecord:
        """Set up, load, wait; the record of what happened."""
        try:
            control = self._client_factory(self.config.rpc_url, 1)
            submit = self._client_factory(self.config.rpc_url, self.config.connections)
            sample = self._client_factory(self.config.rpc_url, 1)
        except ValueError as e:
            raise LoadError(str(e)) from None
        try:
            return await self._run(control, submit, sample)
        finally:
            await DeferredList([control.close(), submit.close(), sample.close()])

    async def _run(self, control, submit, sample) -> RunRecord:
        config, record = self.config, self.record
        started = self.reactor.seconds()
        try:
            chain_id = int(await control.call("eth_chainId"), 16)
            latest = await control.call("eth_getBlockByNumber", ["latest", False])
            balance = int(await control.call("eth_getBalance", [self.rich.address, "latest"]), 16)
            rich_nonce = int(
                await control.call("eth_getTransactionCount", [self.rich.address, "pending"]), 16
            )
        except RpcError as e:
            raise LoadError(f"cannot read the chain at {config.rpc_url}: {e}") from None
        record.chain_id = chain_id
        fees = fees_for(int(latest.get("baseFeePerGas") or "0x0", 16), config.priority_fee)
        senders = derive_signers(self.seed, min(config.senders, config.txs))
        record.senders = len(senders)
        record.planned = config.txs
        if self.progress is not None:
            self.progress.set_total(config.txs)
        counts = split_counts(config.txs, len(senders))
        funding = Funding(self.rich, rich_nonce, senders, counts, config.kind, fees, chain_id)
        if funding.total_cost > balance:
            raise LoadError(
                f"the key's account {self.rich.address} has {balance} wei; "
                f"this run needs {funding.total_cost} wei"
            )
        record.funding_blocks = await self._fund(control, funding)
        self._read_owners = [s.address for s in senders]
        self._token = None if funding.token_address is None else "0x" + funding.token_address.hex()
        nonces = await self._nonces(control, senders)
        signing = time.perf_counter()
        plan = LoadPlan(
            senders, nonces, config.txs, config.kind, fees, chain_id, self.seed,
            funding.token_address,
        )  # fmt: skip
        batches = plan.batches(config.batch_size)
        record.sign_seconds = time.perf_counter() - signing
        record.setup_seconds = self.reactor.seconds() - started
        tip = int(await control.call("eth_blockNumber"), 16)
        await self._load(control, submit, sample, batches, tip)
        return record

    async def _fund(self, control: JsonRpcClient, funding: Funding) -> int:
        """Send the funding transactions and wait for their receipts; the blocks they took."""
        hashes = []
        for batch in make_batches(funding.transactions, min(self.config.batch_size, MAX_BATCH)):
            answers = await control.post_json(batch.body)
            results = split_answers(answers, 1, len(batch.tx_hashes))
            for tx_hash, answer in zip(batch.tx_hashes, results, strict=True):
                if isinstance(answer, RpcError):
                    raise LoadError(f"funding transaction {tx_hash} refused: {answer}")
                hashes.append(tx_hash)
        deadline = self.reactor.seconds() + self.config.timeout
        receipts: dict[str, dict] = {}
        while len(receipts) < len(hashes):
            missing = [h for h in hashes if h not in receipts]
            for start in range(0, len(missing), MAX_BATCH):
                chunk = missing[start : start + MAX_BATCH]
                answers = await control.batch([("eth_getTransactionReceipt", [h]) for h in chunk])
                for tx_hash, receipt in zip(chunk, answers, strict=True):
                    if isinstance(receipt, dict):
                        receipts[tx_hash] = receipt
            if len(receipts) < len(hashes):
                if self.reactor.seconds() > deadline:
                    raise LoadError(
                        f"{len(hashes) - len(receipts)} funding transactions not mined after "
                        f"{self.config.timeout:g} s"
                    )
                await _sleep(self.reactor, 0.05)
        failed = [h for h, r in receipts.items() if int(r.get("status", "0x0"), 16) != 1]
        if failed:
            raise LoadError(f"funding transaction {failed[0]} failed (status 0)")
        return len({r["blockNumber"] for r in receipts.values()})

    async def _nonces(self, control: JsonRpcClient, senders: list[Signer]) -> list[int]:
        nonces = []
        for start in range(0, len(senders), MAX_BATCH):
            chunk = senders[start : start + MAX_BATCH]
            answers = await control.batch(
                [("eth_getTransactionCount", [s.address, "pending"]) for s in chunk]
            )
            for answer in answers:
                if isinstance(answer, RpcError):
                    raise LoadError(f"cannot read a sender's nonce: {answer}")
                nonces.append(int(answer, 16))
        return nonces

    async def _load(self, control, submit, sample, batches: list[Batch], tip: int) -> None:
        config, record, clock = self.config, self.record, self.reactor
        watcher = InclusionWatcher(control, clock, record, tip, config.poll_interval)
        sampler = BlockNumberSampler(sample, clock, record, config.sample_interval)
        queue = iter(enumerate(batches))
        state = {"submitting": config.connections}
        cpu_start = self._cpu_time()
        record.submit_started = clock.seconds()
        start = record.submit_started

        async def worker():
            try:
                for index, batch in queue:
                    if config.rate:
                        wait = start + index * config.batch_size / config.rate - clock.seconds()
                        if wait > 0:  # one reading of the clock: never a negative delay
                            await _sleep(clock, wait)
                    if config.duration is not None and clock.seconds() - start >= config.duration:
                        return
                    while config.max_pending and len(watcher.in_flight) >= config.max_pending:
                        await _sleep(clock, config.poll_interval)
                    await self._send(submit, watcher, batch)
            finally:
                state["submitting"] -= 1
                if state["submitting"] == 0:
                    record.submit_finished = clock.seconds()

        def finished() -> bool:
            self._show_progress()
            if state["submitting"] > 0:
                return False
            if not watcher.in_flight:
                return True
            if clock.seconds() - record.submit_finished > config.timeout:
                record.timed_out = True
                return True
            return False

        watching = ensureDeferred(watcher.run(finished))
        sampling = ensureDeferred(sampler.run())
        reader = reading = read_client = None
        if config.read_rate:
            read_client = self._client_factory(config.rpc_url, 4)
            reader = StateReader(
                read_client, clock, record, config.read_rate, self._read_owners, self._token
            )
            reading = ensureDeferred(reader.run())
        workers = [ensureDeferred(worker()) for _ in range(config.connections)]
        try:
            results = await DeferredList(workers, consumeErrors=True)
            for ok, failure in results:
                if not ok:  # a bug in a worker: stop watching and show it
                    failure.raiseException()
            await watching
        finally:
            watcher.stop()
            sampler.stop()
            await sampling
            if reader is not None:
                reader.stop()
                await reading
                await read_client.close()
        record.client_cpu_seconds = self._cpu_time() - cpu_start

    def _show_progress(self) -> None:
        if self.progress is not None:
            record = self.record
            done = len(record.inclusion_latencies) + sum(record.errors.values())
            if done > self.progress.done:
                self.progress.advance(done - self.progress.done)

    async def _send(self, submit: JsonRpcClient, watcher: InclusionWatcher, batch: Batch) -> None:
        record = self.record
        watcher.sent(batch.tx_hashes, self.reactor.seconds())
        try:
            answers = split_answers(await submit.post_json(batch.body), 1, len(batch.tx_hashes))
        except RpcError as e:
            answers = [e] * len(batch.tx_hashes)
        for tx_hash, answer in zip(batch.tx_hashes, answers, strict=True):
            if isinstance(answer, RpcError):
                watcher.refused(tx_hash)
                record.record_error(answer.message)
            else:
                record.accepted += 1
