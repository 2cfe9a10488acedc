"""The 124-byte ``AccountProperties`` record, its hash, and the versioning byte layout.

Layout (reference ``zksync-os-state.md`` §2.1, all integers big-endian)::

    0   8  versioning_data        u64
    8   8  nonce                  u64
    16 32  balance                u256
    48 32  bytecode_hash          blake2s of the extended blob (code, padding, artifacts) or 0
    80  4  unpadded_code_len      u32
    84  4  artifacts_len          u32
    88 32  observable_bytecode_hash  keccak of the code, or 0
    120 4  observable_bytecode_len   u32

The account's tree value is ``blake2s(encoding)``; the encoding is kept as a preimage under it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from zkos_tw.hashing import blake2s256

ENCODED_LENGTH = 124
_LAYOUT = struct.Struct(">QQ32s32sII32sI")
assert _LAYOUT.size == ENCODED_LENGTH

#: Byte 7 (most significant) of ``versioning_data``: deployment status.
STATUS_NOT_DEPLOYED = 0
STATUS_DEPLOYED = 1
STATUS_DELEGATED = 2
#: Byte 6: execution environment.
EE_NONE = 0
EE_EVM = 1
#: Byte 5: code version; 1 = artifacts (the JUMPDEST bitmap) cached in the blob.
CODE_VERSION_ARTIFACTS_CACHED = 1


def versioning(
    status: int, ee: int, code_version: int, system_aux: int = 0, ee_aux: int = 0
) -> int:
    """Pack the ``versioning_data`` u64 from its bytes (7 = status, 6 = EE, 5 = code version)."""
    return (status << 56) | (ee << 48) | (code_version << 40) | (system_aux << 32) | (ee_aux << 24)


#: A deployed EVM contract whose blob carries the artifacts: ``0x0101010000000000``.
DEPLOYED_EVM_VERSIONING = versioning(STATUS_DEPLOYED, EE_EVM, CODE_VERSION_ARTIFACTS_CACHED)
assert DEPLOYED_EVM_VERSIONING == 0x0101010000000000


@dataclass(frozen=True, slots=True)
class AccountProperties:
    """One account record. The all-zero record is what a missing account reads as."""

    versioning_data: int = 0
    nonce: int = 0
    balance: int = 0
    bytecode_hash: bytes = bytes(32)
    unpadded_code_len: int = 0
    artifacts_len: int = 0
    observable_bytecode_hash: bytes = bytes(32)
    observable_bytecode_len: int = 0

    def encode(self) -> bytes:
        """The 124-byte big-endian encoding."""
        return _LAYOUT.pack(
            self.versioning_data,
            self.nonce,
            self.balance.to_bytes(32, "big"),
            self.bytecode_hash,
            self.unpadded_code_len,
            self.artifacts_len,
            self.observable_bytecode_hash,
            self.observable_bytecode_len,
        )

    @classmethod
    def decode(cls, data: bytes) -> AccountProperties:
        """Parse a 124-byte encoding (``ValueError`` for any other length)."""
        if len(data) != ENCODED_LENGTH:
            raise ValueError(f"AccountProperties is {ENCODED_LENGTH} bytes, got {len(data)}")
        v, nonce, balance, code_hash, code_len, art_len, obs_hash, obs_len = _LAYOUT.unpack(data)
        return cls(
            v,
            nonce,
            int.from_bytes(balance, "big"),
            code_hash,
            code_len,
            art_len,
            obs_hash,
            obs_len,
        )

    def hash(self) -> bytes:
        """``blake2s(encode())``: the value stored in the account's 0x8003 slot."""
        return blake2s256(self.encode())

    @property
    def is_default(self) -> bool:
        """True for the all-zero record (an account that does not exist)."""
        return self == EMPTY_ACCOUNT

    @property
    def has_code(self) -> bool:
        """True when the record points at a bytecode blob."""
        return self.bytecode_hash != bytes(32)

    def with_changes(self, **fields) -> AccountProperties:
        """A copy with some fields replaced."""
        return replace(self, **fields)

    def with_balance(self, balance: int) -> AccountProperties:
        """A copy with another balance (the hot path of every transfer: filled through the slot
        descriptors, twice as fast as the frozen ``__init__`` and several times faster than
        ``dataclasses.replace``)."""
        return _copy_with(self, self.nonce, balance)

    def with_nonce(self, nonce: int) -> AccountProperties:
        """A copy with another nonce (see ``with_balance``)."""
        return _copy_with(self, nonce, self.balance)


_new = object.__new__
_set_fields = [
    getattr(AccountProperties, name).__set__
    for name in (
        "versioning_data", "nonce", "balance", "bytecode_hash", "unpadded_code_len",
        "artifacts_len", "observable_bytecode_hash", "observable_bytecode_len",
    )
]  # fmt: skip
_SV, _SN, _SB, _SH, _SU, _SA, _SO, _SL = _set_fields


def _copy_with(record: AccountProperties, nonce: int, balance: int) -> AccountProperties:
    """``record`` with ``nonce`` and ``balance``, every other field the same (no validation:
    the same fields the dataclass ``__init__`` would set)."""
    new = _new(AccountProperties)
    _SV(new, record.versioning_data)
    _SN(new, nonce)
    _SB(new, balance)
    _SH(new, record.bytecode_hash)
    _SU(new, record.unpadded_code_len)
    _SA(new, record.artifacts_len)
    _SO(new, record.observable_bytecode_hash)
    _SL(new, record.observable_bytecode_len)
    return new


EMPTY_ACCOUNT = AccountProperties()
