"""EVM bytecode as ZKsync OS stores it: the extended blob with padding and JUMPDEST artifacts.

``blob = code || zero padding to a multiple of 8 || artifacts``, where the artifacts are the
jump-destination bitmap as ``ceil(len(code) / 64)`` little-endian u64 words (bit ``i`` set iff
byte ``i`` is a JUMPDEST outside PUSH data). ``bytecode_hash = blake2s(blob)``; the observable
hash is ``keccak(code)`` (reference ``zksync-os-state.md`` §3).
"""

from __future__ import annotations

from zkos_tw.hashing import blake2s256, keccak256
from zkos_tw.state.account import DEPLOYED_EVM_VERSIONING, AccountProperties

BYTECODE_ALIGNMENT = 8
JUMPDEST = 0x5B
PUSH1 = 0x60
PUSH32 = 0x7F
EMPTY_CODE_KECCAK = keccak256(b"")


def jumpdest_bitmap(code: bytes) -> bytes:
    """The JUMPDEST bitmap of ``code``: ``8 * ceil(len(code) / 64)`` bytes."""
    n = len(code)
    bitmap = bytearray(8 * ((n + 63) // 64))
    i = 0
    while i < n:
        op = code[i]
        if op == JUMPDEST:
            bitmap[i >> 3] |= 1 << (i & 7)
            i += 1
        elif PUSH1 <= op <= PUSH32:
            i += 2 + op - PUSH1
        else:
            i += 1
    return bytes(bitmap)


def padding_length(code_length: int) -> int:
    """Zero bytes that follow the code so the artifacts start 8-byte aligned."""
    return (BYTECODE_ALIGNMENT - code_length % BYTECODE_ALIGNMENT) % BYTECODE_ALIGNMENT


def extended_blob(code: bytes) -> tuple[bytes, int]:
    """``(blob, artifacts_len)`` for deployed EVM ``code``."""
    code = bytes(code)
    artifacts = jumpdest_bitmap(code)
    return code + bytes(padding_length(len(code))) + artifacts, len(artifacts)


def deploy_code(account: AccountProperties, code: bytes) -> tuple[AccountProperties, bytes, bytes]:
    """Deploy ``code`` on ``account``: ``(new record, blob hash, blob)``.

    Empty code clears the code fields (and the deployed status) instead.
    """
    if not code:
        cleared = account.with_changes(
            versioning_data=0,
            bytecode_hash=bytes(32),
            unpadded_code_len=0,
            artifacts_len=0,
            observable_bytecode_hash=bytes(32),
            observable_bytecode_len=0,
        )
        return cleared, bytes(32), b""
    blob, artifacts_len = extended_blob(code)
    blob_hash = blake2s256(blob)
    record = account.with_changes(
        versioning_data=DEPLOYED_EVM_VERSIONING,
        bytecode_hash=blob_hash,
        unpadded_code_len=len(code),
        artifacts_len=artifacts_len,
        observable_bytecode_hash=keccak256(code),
        observable_bytecode_len=len(code),
    )
    return record, blob_hash, blob
