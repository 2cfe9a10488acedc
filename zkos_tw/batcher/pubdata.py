"""A block's pubdata in the ZKsync OS format, and the batch's DA fields (zksync-os-state.md §5.5-§5.6).

``pubdata(block) = block_hash(32) || state_diffs || l2_to_l1_section``:

* ``state_diffs = u32be(n) || n x (flat_key(32) || compressed value)``, one per net write of the
  block, in the writes' (``WarmStorageKey``) order. Ordinary slots use ``compression.py``.
  Account records (slots of 0x8003) use type 4: ``(flags << 3) | 4`` with flag 1 = nonce changed,
  2 = balance changed, then the changed nonce and/or balance compressed as u256. Any other change
  (a deployment) uses the full form ``0x04 || versioning u64 || nonce diff || balance diff ||
  u32 code_len || code || u32 artifacts_len || u32 observable_len`` (bytecode published).
* ``l2_to_l1_section = u32be(#logs) || 88-byte logs || u32be(#messages) || (u32be(len) || bytes)*``.

A batch's pubdata is its blocks' pubdata concatenated. ``da_commitment`` and ``operator_da_input``
are the calldata (rollup) forms of §5.5; validium sends 32 zero bytes but the same commitment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from zkos_tw.batcher.compression import (
    ACCOUNT,
    PubdataFormatError,
    ValueDiff,
    compressed,
    decode_value,
)
from zkos_tw.batcher.logs_tree import LOG_LEAF_SIZE, encode_log
from zkos_tw.hashing import blake2s256, keccak256
from zkos_tw.state.account import EMPTY_ACCOUNT, AccountProperties
from zkos_tw.state.bytecode import extended_blob
from zkos_tw.state.keys import ACCOUNT_PROPERTIES_STORAGE_ADDRESS, ZERO32

NONCE_CHANGED = 1
BALANCE_CHANGED = 2
#: Metadata byte of the full account form with the bytecode published.
FULL_ACCOUNT_PUBLISHED = ACCOUNT
#: The full form with a bytecode hash instead of the code (not produced; see docs/batcher.md).
FULL_ACCOUNT_HASHED = 0x24
#: ``operator_da_input`` source byte: the pubdata follows in calldata.
CALLDATA_SOURCE = b"\x00"


@dataclass(frozen=True, slots=True)
class SlotDiff:
    """A decoded ordinary slot: its flat ``key`` and compressed ``value``."""

    key: bytes
    value: ValueDiff

    def apply(self, initial: bytes) -> bytes:
        """The slot's final 32 bytes, given its value before the block."""
        return self.value.apply(int.from_bytes(initial, "big")).to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class Deployment:
    """The full account form: everything but nonce and balance, with the code published."""

    versioning_data: int
    code: bytes
    artifacts_len: int
    observable_len: int


@dataclass(frozen=True, slots=True)
class AccountDiff:
    """A decoded account record (a 0x8003 slot): nonce / balance diffs, or a full ``deployment``."""

    key: bytes
    nonce: ValueDiff | None
    balance: ValueDiff | None
    deployment: Deployment | None = None

    def apply(self, initial: AccountProperties) -> AccountProperties:
        """The account's final record, given its record before the block."""
        record = initial
        if self.nonce is not None:
            record = record.with_nonce(self.nonce.apply(record.nonce))
        if self.balance is not None:
            record = record.with_balance(self.balance.apply(record.balance))
        d = self.deployment
        if d is not None:
            code_hash, observable = ZERO32, ZERO32
            if d.code:
                code_hash, observable = blake2s256(extended_blob(d.code)[0]), keccak256(d.code)
            record = record.with_changes(
                versioning_data=d.versioning_data,
                bytecode_hash=code_hash,
                unpadded_code_len=len(d.code),
                artifacts_len=d.artifacts_len,
                observable_bytecode_hash=observable,
                observable_bytecode_len=d.observable_len,
            )
        return record


@dataclass(frozen=True, slots=True)
class BlockPubdata:
    """A decoded block pubdata."""

    block_hash: bytes
    diffs: tuple[SlotDiff | AccountDiff, ...]
    logs: tuple[bytes, ...]
    messages: tuple[bytes, ...]


def _u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def log_bytes(entry) -> bytes:
    """An 88-byte log from its bytes or a receipt's 6-tuple (ints or RLP-decoded bytes)."""
    if isinstance(entry, bytes):
        if len(entry) != LOG_LEAF_SIZE:
            raise ValueError(f"an L2->L1 log is {LOG_LEAF_SIZE} bytes, got {len(entry)}")
        return entry
    shard, service, number, sender, key, value = (
        int.from_bytes(x, "big") if isinstance(x, bytes) and i < 3 else x
        for i, x in enumerate(entry)
    )
    return encode_log(shard, bool(service), number, sender, key, value)


#: The type-4 metadata byte for each nonce/balance flag set.
_ACCOUNT_META = tuple(bytes([flags << 3 | ACCOUNT]) for flags in range(4))


def _account_diff(before: AccountProperties, after: AccountProperties, code: bytes) -> bytes:
    if (
        before.bytecode_hash == after.bytecode_hash
        and before.versioning_data == after.versioning_data
        and before.unpadded_code_len == after.unpadded_code_len
        and before.artifacts_len == after.artifacts_len
        and before.observable_bytecode_hash == after.observable_bytecode_hash
        and before.observable_bytecode_len == after.observable_bytecode_len
    ):
        # Only nonce and/or balance changed: the short form.
        parts = []
        flags = 0
        if after.nonce != before.nonce:
            flags = NONCE_CHANGED
            parts.append(compressed(before.nonce, after.nonce))
        if after.balance != before.balance:
            flags |= BALANCE_CHANGED
            parts.append(compressed(before.balance, after.balance))
        return _ACCOUNT_META[flags] + b"".join(parts)
    return (
        bytes([FULL_ACCOUNT_PUBLISHED])
        + after.versioning_data.to_bytes(8, "big")
        + compressed(before.nonce, after.nonce)
        + compressed(before.balance, after.balance)
        + _u32(len(code))
        + code
        + _u32(after.artifacts_len)
        + _u32(after.observable_bytecode_len)
    )


def _record(preimage: Callable[[bytes], bytes], value: bytes, known) -> AccountProperties:
    if value == ZERO32:
        return EMPTY_ACCOUNT
    record = known.get(value)
    if record is None:
        record = AccountProperties.decode(preimage(value))
    return record


def block_pubdata(
    block_hash: bytes,
    writes,
    initial: Callable[[bytes], bytes],
    preimage: Callable[[bytes], bytes],
    l2_to_l1_logs: Iterable = (),
    messages: Iterable[bytes] = (),
    records=None,
) -> bytes:
    """The pubdata of one block.

    ``writes`` are the block's ``StorageWrite``s in order; ``initial(key)`` is a flat key's value
    before the block (32 bytes, zero if absent); ``preimage(hash)`` resolves account records and
    bytecode blobs (before or made by the block). ``l2_to_l1_logs`` are 88-byte logs or receipt
    6-tuples; ``messages`` the user L2->L1 message bodies. ``records`` optionally maps account
    values (hashes) to their decoded ``AccountProperties`` (saves decoding their preimages).
    """
    if len(block_hash) != 32:
        raise ValueError("block_hash is 32 bytes")
    writes = tuple(writes)
    parts = [block_hash, _u32(len(writes))]
    append = parts.append
    accounts = ACCOUNT_PROPERTIES_STORAGE_ADDRESS
    known = {} if records is None else records
    for w in writes:
        before = initial(w.key)
        append(w.key)
        if w.address == accounts:
            old, new = _record(preimage, before, known), _record(preimage, w.value, known)
            code = preimage(new.bytecode_hash)[: new.unpadded_code_len] if new.has_code else b""
            append(_account_diff(old, new, code))
        else:
            append(compressed(int.from_bytes(before, "big"), int.from_bytes(w.value, "big")))
    logs = [log_bytes(entry) for entry in l2_to_l1_logs]
    parts.append(_u32(len(logs)))
    parts.extend(logs)
    messages = list(messages)
    parts.append(_u32(len(messages)))
    for message in messages:
        parts += [_u32(len(message)), message]
    return b"".join(parts)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.offset = data, 0

    def take(self, n: int, what: str) -> bytes:
        end = self.offset + n
        if end > len(self.data):
            raise PubdataFormatError(f"{what} at byte {self.offset} runs past the end")
        out, self.offset = self.data[self.offset : end], end
        return out

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "big")

    def value(self) -> ValueDiff:
        diff, self.offset = decode_value(self.data, self.offset)
        return diff


def _decode_account(r: _Reader, key: bytes, meta: int) -> AccountDiff:
    if meta == FULL_ACCOUNT_PUBLISHED:
        versioning = int.from_bytes(r.take(8, "versioning"), "big")
        nonce, balance = r.value(), r.value()
        code = r.take(r.u32("code length"), "bytecode")
        deployment = Deployment(versioning, code, r.u32("artifacts_len"), r.u32("observable_len"))
        return AccountDiff(key, nonce, balance, deployment)
    flags = meta >> 3
    if not flags or flags & ~(NONCE_CHANGED | BALANCE_CHANGED):
        raise PubdataFormatError(f"account metadata 0x{meta:02x} is not supported")
    nonce = r.value() if flags & NONCE_CHANGED else None
    balance = r.value() if flags & BALANCE_CHANGED else None
    return AccountDiff(key, nonce, balance)


def decode_block_pubdata(data: bytes) -> tuple[BlockPubdata, int]:
    """Parse one block's pubdata from the start of ``data``: ``(decoded, bytes used)``."""
    r = _Reader(data)
    block_hash = r.take(32, "block hash")
    diffs: list[SlotDiff | AccountDiff] = []
    for _ in range(r.u32("diff count")):
        key = r.take(32, "flat key")
        meta = r.take(1, "metadata")[0]
        if meta & 7 == ACCOUNT:
            diffs.append(_decode_account(r, key, meta))
        else:
            r.offset -= 1
            diffs.append(SlotDiff(key, r.value()))
    logs = tuple(r.take(LOG_LEAF_SIZE, "L2->L1 log") for _ in range(r.u32("log count")))
    messages = tuple(r.take(r.u32("message length"), "message") for _ in range(r.u32("messages")))
    return BlockPubdata(block_hash, tuple(diffs), logs, messages), r.offset


def decode_batch_pubdata(data: bytes) -> list[BlockPubdata]:
    """Split a batch's pubdata into its blocks."""
    blocks, offset = [], 0
    while offset < len(data):
        block, used = decode_block_pubdata(data[offset:])
        blocks.append(block)
        offset += used
    return blocks


def _da_header(pubdata: bytes) -> bytes:
    return ZERO32 + keccak256(pubdata) + b"\x01" + ZERO32


def da_commitment(pubdata: bytes) -> bytes:
    """``keccak(0^32 || keccak(pubdata) || 0x01 || 0^32)`` over a batch's pubdata (§5.5)."""
    return keccak256(_da_header(pubdata))


def operator_da_input(pubdata: bytes, mode: str = "Rollup") -> bytes:
    """The calldata DA input: rollup ``header || 0x00 || pubdata || 0^32``, validium ``0^32``."""
    kind = mode.lower()
    if kind == "validium":
        return ZERO32
    if kind != "rollup":
        raise ValueError(f"unknown pubdata mode {mode!r} (Rollup or Validium)")
    return _da_header(pubdata) + CALLDATA_SOURCE + pubdata + ZERO32
