"""What a load run sends: the funding transactions and the pre-signed, pre-encoded batches.

Everything here is computed before the clock starts, so submission only writes bytes:

* ``Funding``: from the rich key, one transaction per sender (ETH for the run's fees and values),
  and for ``erc20`` first the token deployment and then one token ``transfer`` per sender. All
  are sent at once with consecutive nonces, so they land in as few blocks as the chain allows.
* ``LoadPlan.transactions``: transaction ``i`` is sender ``i % N``'s next nonce, so consecutive
  transactions (and the batches cut from them) rotate over the senders, each sender's in order.
* ``LoadPlan.batches``: ``eth_sendRawTransaction`` batches of ``batch_size`` as JSON bodies,
  with the hashes they carry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from zkos_tw.hashing import keccak256
from zkos_tw.load import token
from zkos_tw.load.signing import SignedTx, Signer, create_address

TRANSFER_GAS = 21_000
TRANSFER_VALUE = 1
#: token units each sender receives for an ``erc20`` run (far more than its transfers move)
TOKENS_PER_SENDER = 10**24
TOKEN_AMOUNT = 1
KINDS = ("transfer", "erc20", "mixed")
#: kinds that deploy ``TestToken`` and give every sender tokens
TOKEN_KINDS = ("erc20", "mixed")


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fee fields used for every transaction of a run."""

    max_fee: int
    max_priority_fee: int = 0


def fees_for(base_fee: int, priority_fee: int = 0) -> Fees:
    """Twice the newest block's base fee plus the tip: room for the base fee to rise."""
    return Fees(max_fee=2 * base_fee + priority_fee, max_priority_fee=priority_fee)


@dataclass(frozen=True)
class Batch:
    """One JSON-RPC batch body and the hashes of the transactions in it (request ids 1..n)."""

    body: bytes
    tx_hashes: tuple[str, ...]


def split_counts(total: int, senders: int) -> list[int]:
    """How many of ``total`` transactions each of ``senders`` sends (round-robin)."""
    if senders < 1:
        raise ValueError("at least one sender")
    return [total // senders + (1 if i < total % senders else 0) for i in range(senders)]


def sender_cost(count: int, kind: str, fees: Fees) -> int:
    """Wei a sender needs for ``count`` transactions of ``kind`` at ``fees`` (worst case)."""
    gas = TRANSFER_GAS if kind == "transfer" else token.TRANSFER_GAS
    value = TRANSFER_VALUE if kind != "erc20" else 0  # mixed: the worst of both
    return count * (gas * fees.max_fee + value)


class Funding:
    """The rich account's transactions that prepare a run."""

    def __init__(
        self,
        rich: Signer,
        rich_nonce: int,
        senders: list[Signer],
        counts: list[int],
        kind: str,
        fees: Fees,
        chain_id: int,
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} ({' or '.join(KINDS)})")
        self.kind = kind
        self.token_address: bytes | None = None
        self.transactions: list[SignedTx] = []
        nonce = rich_nonce
        common = dict(chain_id=chain_id, max_priority_fee=fees.max_priority_fee)
        self.amounts = [sender_cost(c, kind, fees) * 11 // 10 + 1 for c in counts]
        if kind in TOKEN_KINDS:
            self.token_address = create_address(rich.address_bytes, nonce)
            supply = TOKENS_PER_SENDER * len(senders)
            self.transactions.append(
                rich.sign_1559(
                    nonce=nonce,
                    max_fee=fees.max_fee,
                    gas=token.DEPLOY_GAS,
                    to=None,
                    data=token.deploy_data(supply),
                    **common,
                )
            )
            nonce += 1
        for sender, amount in zip(senders, self.amounts, strict=True):
            self.transactions.append(
                rich.sign_1559(
                    nonce=nonce,
                    max_fee=fees.max_fee,
                    gas=TRANSFER_GAS,
                    to=sender.address_bytes,
                    value=amount,
                    **common,
                )
            )
            nonce += 1
        if kind in TOKEN_KINDS:
            for sender in senders:
                self.transactions.append(
                    rich.sign_1559(
                        nonce=nonce,
                        max_fee=fees.max_fee,
                        gas=token.TRANSFER_GAS,
                        to=self.token_address,
                        data=token.transfer_data(sender.address_bytes, TOKENS_PER_SENDER),
                        **common,
                    )
                )
                nonce += 1
        gas = TRANSFER_GAS * len(senders)
        if kind in TOKEN_KINDS:
            gas += token.DEPLOY_GAS + token.TRANSFER_GAS * len(senders)
        #: wei the rich account needs (values plus worst-case fees)
        self.total_cost = sum(self.amounts) + gas * fees.max_fee


def recipient(seed: bytes, index: int) -> bytes:
    """A fresh address per transaction (the reference's loadbase ``--dest random``)."""
    return keccak256(b"zkos-load-to" + seed + index.to_bytes(8, "big"))[12:]


class LoadPlan:
    """The run's transactions, signed, in submission order, and cut into batches."""

    def __init__(
        self,
        senders: list[Signer],
        nonces: list[int],
        total: int,
        kind: str,
        fees: Fees,
        chain_id: int,
        seed: bytes,
        token_address: bytes | None = None,
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} ({' or '.join(KINDS)})")
        if kind in TOKEN_KINDS and token_address is None:
            raise ValueError(f"an {kind} plan needs the token address")
        self.transactions: list[SignedTx] = []
        for i in range(total):
            sender_index = i % len(senders)
            sender = senders[sender_index]
            nonce = nonces[sender_index] + i // len(senders)
            to = recipient(seed, i)
            # mixed: even transactions are ETH transfers, odd ones token transfers.
            if kind == "transfer" or (kind == "mixed" and i % 2 == 0):
                tx = sender.sign_1559(
                    chain_id=chain_id,
                    nonce=nonce,
                    max_priority_fee=fees.max_priority_fee,
                    max_fee=fees.max_fee,
                    gas=TRANSFER_GAS,
                    to=to,
                    value=TRANSFER_VALUE,
                )
            else:
                tx = sender.sign_1559(
                    chain_id=chain_id,
                    nonce=nonce,
                    max_priority_fee=fees.max_priority_fee,
                    max_fee=fees.max_fee,
                    gas=token.TRANSFER_GAS,
                    to=token_address,
                    data=token.transfer_data(to, TOKEN_AMOUNT),
                )
            self.transactions.append(tx)

    def batches(self, batch_size: int) -> list[Batch]:
        return make_batches(self.transactions, batch_size)


def make_batches(transactions: list[SignedTx], batch_size: int) -> list[Batch]:
    """``eth_sendRawTransaction`` batch bodies of at most ``batch_size`` (ids 1..n each)."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    batches = []
    for start in range(0, len(transactions), batch_size):
        chunk = transactions[start : start + batch_size]
        body = json.dumps(
            [
                {
                    "jsonrpc": "2.0",
                    "id": i + 1,
                    "method": "eth_sendRawTransaction",
                    "params": [tx.raw_hex],
                }
                for i, tx in enumerate(chunk)
            ],
            separators=(",", ":"),
        ).encode()
        batches.append(Batch(body, tuple(tx.tx_hash for tx in chunk)))
    return batches
