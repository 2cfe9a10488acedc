"""The L1 senders (reference ``zksync-os-server.md`` §7.2): one Twisted service per operation
(commit, prove, execute), each with its own operator key, sending the §7.2 calldata to the
validator timelock.

A sender takes commands (``zkos_tw.l1.calldata``) from its input ``BoundedQueue``, up to
``command_limit`` at a time, sends them back-to-back with sequential nonces, fixed EIP-1559 caps
(``l1_sender_max_fee_per_gas_gwei``, ``l1_sender_max_priority_fee_per_gas_gwei``) and gas
15,000,000, polls every ``poll_interval`` until every one is mined with ``status = 1``, and puts
each command's ``BatchEnvelope``\\ s, in order, into its output queue.

Where it improves on the reference (``docs/l1_senders.md``):

* **Restart.** Before each round it reads the L1 counter of its stage (``getTotalBatchesCommitted``
  / ``Verified`` / ``Executed``) and skips, without resending, every command already on L1. When
  the operator's ``pending`` nonce is above its ``latest`` one, transactions of a previous run are
  in flight: it waits up to ``stuck_tx_timeout`` for them to be mined before deciding what to
  send; what is still pending after that is replaced (same nonce, fees bumped).
* **Fee bumping.** A transaction not mined ``stuck_tx_timeout`` seconds after it was sent is
  replaced with the same nonce and calldata and both fee caps raised by 12.5% (at most
  ``MAX_FEE_BUMPS`` times); any of its versions being mined counts.
* **Failures.** A failed receipt, an L1 reorg (the L1 head going back, a receipt vanishing or
  moving to another block) or a rejected send stops *this stage*: one log line, a ``problems()``
  entry for ``/status/health``; the process keeps running.
* **Outages.** An L1 that cannot be reached mid-round is waited for (retried every
  ``L1_RETRY_DELAY``), not a stopped stage; ``/status/health`` shows the L1 problem meanwhile.
* **Funds.** An operator with a zero balance is a start-up error (``L1SenderStartupError``).

Encoding a command's calldata and signing its transaction (eth_account: ~3.5 ms each on this
machine, three per batch) run through the injected ``in_thread`` (the senders' own thread,
``L1Senders``), awaited, so they do not hold the reactor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import partial

from eth_account import Account
from eth_utils import to_checksum_address
from twisted.application import service
from twisted.internet import defer
from twisted.internet.task import deferLater
from twisted.logger import Logger

from zkos_tw.batcher.offload import run_here
from zkos_tw.l1.calldata import SENDER_GAS_LIMIT
from zkos_tw.l1.client import L1Error, L1RpcError
from zkos_tw.launcher import StartupError
from zkos_tw.pipeline import QueueClosed

log = Logger()

GWEI = 10**9
ETHER = 10**18
#: The L1 counter each stage advances (§7.1).
COUNTERS = {
    "commit": "getTotalBatchesCommitted()",
    "prove": "getTotalBatchesVerified()",
    "execute": "getTotalBatchesExecuted()",
}
#: §5.6 stage names: (sent, mined) per command.
STAGES = {
    "commit": ("CommitL1TxSent", "CommitL1TxMined"),
    "prove": ("ProveL1TxSent", "ProveL1TxMined"),
    "execute": ("ExecuteL1TxSent", "ExecuteL1TxMined"),
}
#: A replacement raises both fee caps by this fraction (nodes require at least 10%).
FEE_BUMP = 0.125
MAX_FEE_BUMPS = 10
#: Seconds between attempts while the L1 cannot be reached.
L1_RETRY_DELAY = 1.0
#: Default seconds before an unmined transaction is replaced with higher fees.
DEFAULT_STUCK_TX_TIMEOUT = 60.0


class L1SenderStartupError(StartupError):
    """A sender cannot start (an operator without funds, L1 unreachable); one line."""


class StageStopped(Exception):
    """Internal: the stage stopped; ``str()`` is the reason."""


class Reverted(StageStopped):
    """Internal: a transaction of the round was mined with ``status = 0``; ``reason`` is the
    decoded revert reason (``reverted: MultisigRequired(...)``)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def bump(value: int) -> int:
    """``value`` raised by ``FEE_BUMP`` (at least by one wei)."""
    return max(value + 1, math.ceil(value * (1 + FEE_BUMP)))


@dataclass
class InFlight:
    """One command's transaction: its nonce, fees, every hash sent for it, and the receipt."""

    command: object
    nonce: int
    calldata: bytes
    max_fee: int
    tip: int
    sent_at: float
    hashes: list[bytes] = field(default_factory=list)
    bumps: int = 0
    receipt: dict | None = None
    mined_hash: bytes | None = None


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def _int(value) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


class L1Sender(service.Service):
    """The sender of one ``command`` (``"commit"``, ``"prove"`` or ``"execute"``)."""

    def __init__(
        self,
        command: str,
        *,
        private_key: str,
        l1_client,
        clock,
        diamond_proxy: bytes,
        validator_timelock: bytes,
        inbound,
        outbound,
        max_fee_per_gas: int,
        max_priority_fee_per_gas: int,
        command_limit: int = 16,
        poll_interval: float = 0.1,
        stuck_tx_timeout: float = DEFAULT_STUCK_TX_TIMEOUT,
        chain_id: int | None = None,
        metrics=None,
        error_abis=(),
        in_thread=None,
    ):
        if command not in COUNTERS:
            raise ValueError(f"unknown L1 sender command {command!r}")
        self.command = command
        self.name = f"l1_sender_{command}"
        self._account = Account.from_key(private_key)
        self.address = self._account.address
        self._client = l1_client
        self._clock = clock
        self._diamond = diamond_proxy
        self._timelock = validator_timelock
        self.inbound = inbound
        self.outbound = outbound
        self.max_fee_per_gas = max_fee_per_gas
        self.max_priority_fee_per_gas = max_priority_fee_per_gas
        self.command_limit = command_limit
        self.poll_interval = poll_interval
        self.stuck_tx_timeout = stuck_tx_timeout
        self.chain_id = chain_id
        self.metrics = metrics
        self._error_abis = tuple(error_abis)
        self._in_thread = in_thread or run_here
        self.prepared = False
        #: Why the stage stopped (``None`` while it runs).
        self.stopped_reason: str | None = None
        self.l1_counter: int | None = None
        self.sent: list[InFlight] = []  # every transaction sent (tests read it)
        self.skipped: list[int] = []  # last batch of each command found already on L1
        self._loop: defer.Deferred | None = None
        self._head: int | None = None
        self._latest_nonce: int | None = None
        #: ``async (commands, reason) -> commands | None``: called when a transaction of a
        #: round reverts, with the round's commands L1 does not have yet; replacement commands
        #: are sent in a new round, ``None`` stops the stage (batch verification re-signs a
        #: plain commit that reverted with ``MultisigRequired``).
        self.revert_recovery = None

    # -- start-up ------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Check the operator (chain id, funds) and read the stage's L1 counter; an operator
        with no funds raises ``L1SenderStartupError``."""
        try:
            if self.chain_id is None:
                self.chain_id = await self._client.chain_id()
            balance = await self._balance()
            self.l1_counter = await self._counter()
            nonce = (await self._nonces_or_raise())[0] if self.metrics is not None else 0
        except L1Error as e:
            raise L1SenderStartupError(f"L1 {self.command} sender: {e}") from None
        if balance == 0:
            raise L1SenderStartupError(
                f"L1 {self.command} operator {self.address} has no funds on L1 "
                f"(balance 0): fund it or set l1_sender_operator_{self.command}_pk"
            )
        if self.metrics is not None:
            self.metrics.operator(self.command, self.address, balance / ETHER, nonce)
            self.metrics.stopped.labels(command=self.command).set(0)
        self.prepared = True

    def startService(self):
        super().startService()
        self._loop = defer.Deferred.fromCoroutine(self._run())
        self._loop.addErrback(self._crashed)

    def stopService(self):
        super().stopService()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.cancel()
        return defer.succeed(None)

    def problems(self) -> list[str]:
        """``IHealthSource.problems`` shape: one entry once the stage stopped."""
        if self.stopped_reason is None:
            return []
        return [f"L1 {self.command} sender stopped: {self.stopped_reason}"]

    def _crashed(self, failure):
        if failure.check(defer.CancelledError, QueueClosed):
            return None
        self._stop_stage(f"unexpected error: {failure.getErrorMessage()}")
        log.failure("L1 {command} sender", failure, command=self.command)
        return None

    def _stop_stage(self, reason: str) -> None:
        if self.stopped_reason is None:
            self.stopped_reason = reason
            if self.metrics is not None:
                self.metrics.stopped.labels(command=self.command).set(1)
            log.error("L1 {command} sender stopped: {reason}", command=self.command, reason=reason)

    # -- the loop ------------------------------------------------------------------------------

    async def _run(self):
        try:
            if not self.prepared:
                await self.prepare()
            while self.running:
                commands = [await self.inbound.get()]
                while len(commands) < self.command_limit and len(self.inbound):
                    commands.append(await self.inbound.get())
                await self.round(commands)
        except StageStopped as e:
            self._stop_stage(str(e))
        except L1SenderStartupError as e:
            self._stop_stage(str(e))

    async def round(self, commands: list) -> None:
        """Send ``commands`` (skipping those already on L1), wait until all are mined, and pass
        their envelopes on in order. Raises ``StageStopped``."""
        latest, pending = await self._nonces()
        if pending > latest:
            latest, pending = await self._await_previous_run(latest, pending)
        counter = await self._checked(self._counter)
        self.l1_counter = counter
        to_send = []
        for command in commands:
            if command.last_batch <= counter:
                log.info(
                    "L1 {command} of batches {first}..{last} is already on L1; not resent",
                    command=self.command,
                    first=command.first_batch,
                    last=command.last_batch,
                )
                self.skipped.append(command.last_batch)
                await self._pass_on(command, mined=False)
                continue
            expected = counter + 1 + sum(c.last_batch - c.first_batch + 1 for c in to_send)
            if command.first_batch != expected:
                raise StageStopped(
                    f"next {self.command} is of batches {command.first_batch}..{command.last_batch}"
                    f" but L1 expects batch {expected} next"
                )
            to_send.append(command)
        if not to_send:
            return
        flights = []
        for offset, command in enumerate(to_send):
            nonce = latest + offset
            replacing = nonce < pending
            flight = InFlight(
                command,
                nonce,
                await self._in_thread(command.calldata, self._diamond),
                bump(self.max_fee_per_gas) if replacing else self.max_fee_per_gas,
                bump(self.max_priority_fee_per_gas) if replacing else self.max_priority_fee_per_gas,
                self._clock.seconds(),
            )
            # Replacing a previous run's transaction: its fees may already be higher than
            # ours, so "underpriced" only means waiting (and bumping) like any replacement.
            await self._send(flight, replacement=replacing)
            self._stamp(command, 0)
            flights.append(flight)
        if self.metrics is not None:
            self.metrics.parallel_transactions.labels(command=self.command).set(len(flights))
        try:
            await self._await_mined(flights)
        except Reverted as e:
            replacement = await self._recover(to_send, e)
            if replacement is None:
                raise
            await self.round(replacement)
            return
        after = await self._checked(self._counter)
        if after < to_send[-1].last_batch:
            raise StageStopped(
                f"transactions mined but L1 {COUNTERS[self.command][:-2]} is {after}, "
                f"expected {to_send[-1].last_batch} (L1 reorg?)"
            )
        self.l1_counter = after
        await self._report(flights)
        for flight in flights:
            await self._pass_on(flight.command, mined=True)

    async def _recover(self, commands: list, revert: Reverted) -> list | None:
        """The commands of a new round after ``revert`` (``revert_recovery``), or ``None``."""
        if self.revert_recovery is None:
            return None
        counter = await self._checked(self._counter)
        done = [c for c in commands if c.last_batch <= counter]
        todo = [c for c in commands if c.last_batch > counter]
        replacement = await self.revert_recovery(todo, revert.reason)
        if replacement is None:
            return None
        log.warn(
            "L1 {command} transaction reverted ({reason}); sending batches {first}..{last} again",
            command=self.command,
            reason=revert.reason,
            first=todo[0].first_batch if todo else counter,
            last=todo[-1].last_batch if todo else counter,
        )
        return done + list(replacement)

    async def _await_previous_run(self, latest: int, pending: int):
        """Transactions of a previous run are in flight: wait up to ``stuck_tx_timeout`` for
        them to be mined; the nonces after the wait."""
        log.info(
            "L1 {command} operator has {n} transaction(s) in flight from before (nonces "
            "{latest}..{last}); waiting for them instead of resending",
            command=self.command,
            n=pending - latest,
            latest=latest,
            last=pending - 1,
        )
        deadline = self._clock.seconds() + self.stuck_tx_timeout
        while latest < pending and self._clock.seconds() < deadline:
            await deferLater(self._clock, self.poll_interval, lambda: None)
            latest, pending = await self._nonces()
        return latest, pending

    async def _pass_on(self, command, mined: bool) -> None:
        if mined:
            self._stamp(command, 1)
        for envelope in command.envelopes:
            await self.outbound.put(envelope)
        if self.metrics is not None:
            self.metrics.last_batch.labels(stage=STAGES[self.command][1]).set(command.last_batch)

    def _stamp(self, command, which: int) -> None:
        now = self._clock.seconds()
        stage = STAGES[self.command][which]
        for envelope in command.envelopes:
            if self.metrics is not None:
                self.metrics.stage_reached(envelope, stage, now)
            else:
                envelope.stage_times[stage] = now

    # -- sending -------------------------------------------------------------------------------

    def _sign(self, flight: InFlight):
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": flight.nonce,
            "gas": SENDER_GAS_LIMIT,
            "maxFeePerGas": flight.max_fee,
            "maxPriorityFeePerGas": flight.tip,
            "to": to_checksum_address(self._timelock),  # eth_account refuses other spellings
            "value": 0,
            "data": flight.calldata,
        }
        signed = self._account.sign_transaction(tx)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    async def _send(self, flight: InFlight, replacement: bool = False) -> None:
        raw, tx_hash = await self._in_thread(self._sign, flight)
        command = flight.command
        warned = False
        while True:
            try:
                await self._client.send_raw_transaction(raw)
            except L1RpcError as e:
                text = (e.rpc_message or "").lower()
                if "already known" in text:
                    pass  # the L1 has exactly this transaction
                elif "nonce too low" in text or (replacement and "underpriced" in text):
                    # Another transaction of ours took the nonce (a bumped version, or one from a
                    # previous run): the receipts and the L1 counter decide what happened.
                    log.info(
                        "L1 {command} transaction of nonce {nonce} refused ({msg}); still waiting",
                        command=self.command,
                        nonce=flight.nonce,
                        msg=e.rpc_message,
                    )
                    return
                else:
                    raise StageStopped(
                        f"L1 refused the {self.command} transaction of batches "
                        f"{command.first_batch}..{command.last_batch} (nonce {flight.nonce}): "
                        f"{e.rpc_message}"
                    ) from None
            except L1Error as e:
                # Unreachable (the client retried): resending the same signed transaction is
                # safe ("already known", or "nonce too low" once it was mined).
                if not warned:
                    log.warn(
                        "L1 {command} send waits for L1: {error}", command=self.command, error=e
                    )
                    warned = True
                await deferLater(self._clock, L1_RETRY_DELAY, lambda: None)
                continue
            break
        flight.hashes.append(tx_hash)
        self.sent.append(flight)
        log.info(
            "L1 {command} of batches {first}..{last} sent: {hash} (nonce {nonce}, max fee "
            "{fee} wei, tip {tip} wei)",
            command=self.command,
            first=command.first_batch,
            last=command.last_batch,
            hash=_hex(tx_hash),
            nonce=flight.nonce,
            fee=flight.max_fee,
            tip=flight.tip,
        )

    async def _await_mined(self, flights: list[InFlight]) -> None:
        while True:
            await self._check_head()
            self._latest_nonce = None
            for flight in flights:
                await self._check_flight(flight)
            if all(f.receipt is not None for f in flights):
                return
            await deferLater(self._clock, self.poll_interval, lambda: None)

    async def _check_head(self) -> None:
        head = await self._checked(self._client.block_number)
        if self._head is not None and head < self._head:
            raise StageStopped(f"L1 reorg: the L1 head went back from {self._head} to {head}")
        self._head = head

    async def _check_flight(self, flight: InFlight) -> None:
        if flight.receipt is not None:
            if flight.mined_hash is None:
                return  # the nonce went to a transaction not sent by this run
            receipt = await self._checked(
                lambda: self._client.get_transaction_receipt(flight.mined_hash)
            )
            if receipt is None or receipt.get("blockHash") != flight.receipt.get("blockHash"):
                raise StageStopped(
                    f"L1 reorg: {self.command} transaction {_hex(flight.mined_hash)} "
                    f"left block {_int(flight.receipt['blockNumber'])}"
                )
            return
        for tx_hash in flight.hashes:
            receipt = await self._checked(partial(self._client.get_transaction_receipt, tx_hash))
            if receipt is None:
                continue
            if _int(receipt.get("status", "0x0")) != 1:
                reason = await self._revert_reason(flight, receipt)
                command = flight.command
                raise Reverted(
                    f"{self.command} transaction {_hex(tx_hash)} of batches "
                    f"{command.first_batch}..{command.last_batch} failed in L1 block "
                    f"{_int(receipt['blockNumber'])}: {reason}",
                    reason,
                )
            flight.receipt, flight.mined_hash = receipt, tx_hash
            return
        if self._latest_nonce is None:
            self._latest_nonce = (await self._nonces())[0]
        if self._latest_nonce > flight.nonce:
            # Mined, but under no hash this run sent: a previous run's transaction of that
            # nonce. The L1 counter, checked after the round, says whether it did our work.
            log.info(
                "L1 {command} nonce {nonce} was used by a transaction of a previous run",
                command=self.command,
                nonce=flight.nonce,
            )
            flight.receipt = {}
            return
        waited = self._clock.seconds() - flight.sent_at
        if waited >= self.stuck_tx_timeout and flight.bumps < MAX_FEE_BUMPS:
            await self._bump(flight, waited)

    async def _bump(self, flight: InFlight, waited: float) -> None:
        log.info(
            "L1 {command} nonce {nonce} not mined after {waited:.0f} s: replacing it with "
            "higher fees",
            command=self.command,
            nonce=flight.nonce,
            waited=waited,
        )
        new = replace(
            flight, max_fee=bump(flight.max_fee), tip=bump(flight.tip), hashes=list(flight.hashes)
        )
        await self._send(new, replacement=True)
        # The fees climb even when the replacement was refused as underpriced (it competes
        # with a previous run's version of higher fees), so the next bump can outbid it.
        flight.hashes, flight.max_fee, flight.tip = new.hashes, new.max_fee, new.tip
        flight.bumps += 1
        flight.sent_at = self._clock.seconds()

    async def _revert_reason(self, flight: InFlight, receipt: dict) -> str:
        """Why a mined transaction failed: its call replayed on the state before its block."""
        block = _int(receipt["blockNumber"]) - 1
        call = {
            "from": self.address,
            "to": _hex(self._timelock),
            "data": _hex(flight.calldata),
            "gas": hex(SENDER_GAS_LIMIT),
        }
        try:
            await self._client.request("eth_call", [call, hex(block)])
        except L1RpcError as e:
            data = e.data
            if isinstance(data, str) and data.startswith("0x"):
                from zkos_tw.l1.artifacts import decode_error

                return "reverted: " + decode_error(bytes.fromhex(data[2:]), *self._error_abis)
            return f"reverted: {e.rpc_message}"
        except L1Error as e:
            return f"reverted (replay failed: {e.cause})"
        return "reverted (no reason when replayed; out of gas?)"

    # -- L1 reads ------------------------------------------------------------------------------

    async def _checked(self, make):
        """``await make()``; an L1 that cannot be reached (the client already retried) is waited
        for, every ``L1_RETRY_DELAY`` s, since ``/status/health`` reports it; an L1 that answers
        with an error stops the stage."""
        warned = False
        while True:
            try:
                return await make()
            except L1RpcError as e:
                raise StageStopped(str(e)) from None
            except L1Error as e:
                if not warned:
                    log.warn(
                        "L1 {command} sender waits for L1: {error}", command=self.command, error=e
                    )
                    warned = True
            await deferLater(self._clock, L1_RETRY_DELAY, lambda: None)

    async def _counter(self) -> int:
        (value,) = await self._client.call_function(
            self._diamond, COUNTERS[self.command], returns=["uint256"]
        )
        return value

    async def _balance(self) -> int:
        return _int(await self._client.request("eth_getBalance", [self.address, "latest"]))

    async def _nonces_or_raise(self) -> tuple[int, int]:
        """``(latest, pending)`` nonces of the operator; raises ``L1Error``."""

        async def count(tag):
            return _int(await self._client.request("eth_getTransactionCount", [self.address, tag]))

        return await count("latest"), await count("pending")

    async def _nonces(self) -> tuple[int, int]:
        return await self._checked(self._nonces_or_raise)

    async def _report(self, flights: list[InFlight]) -> None:
        if self.metrics is None:
            return
        labels = {"command": self.command}
        try:
            balance = await self._balance()
            nonce = _int(
                await self._client.request("eth_getTransactionCount", [self.address, "latest"])
            )
        except L1Error:
            return  # metrics only; the next round retries
        self.metrics.balance.labels(**labels).set(balance / ETHER)
        self.metrics.nonce.labels(**labels).set(nonce)
        for flight in flights:
            if flight.mined_hash is None:
                continue
            gas = _int(flight.receipt.get("gasUsed", "0x0"))
            price = _int(flight.receipt.get("effectiveGasPrice", "0x0"))
            txs = sum(e.batch.tx_count for e in flight.command.envelopes) or 1
            self.metrics.gas_used.labels(**labels).observe(gas)
            self.metrics.gas_used_per_l2_tx.labels(**labels).observe(gas / txs)
            self.metrics.fee_ether.labels(**labels).observe(gas * price / ETHER)
            self.metrics.fee_per_l2_tx_ether.labels(**labels).observe(gas * price / ETHER / txs)
