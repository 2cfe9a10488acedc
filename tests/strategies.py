"""Hypothesis strategies shared by the test suite, and the registered settings profiles.

The ``ci`` profile is deterministic (derandomized, no deadline, no example database) and is
selected with ``HYPOTHESIS_PROFILE=ci`` (tox sets it); ``dev`` is the default for local runs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=40,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: 32-byte tree keys, never the guard keys 0x00..00 / 0xff..ff.
tree_keys = st.binary(min_size=32, max_size=32).filter(lambda k: k not in (bytes(32), b"\xff" * 32))
#: 32-byte values, zero included.
tree_values = st.one_of(st.just(bytes(32)), st.binary(min_size=32, max_size=32))


@st.composite
def tree_blocks(draw, max_blocks: int = 5, max_writes: int = 12):
    """A list of blocks, each a list of distinct-key ``(key, value)`` writes; keys recur across
    blocks so updates as well as inserts happen."""
    pool = draw(st.lists(tree_keys, min_size=1, max_size=20, unique=True))
    blocks = []
    for _ in range(draw(st.integers(1, max_blocks))):
        keys = draw(st.lists(st.sampled_from(pool), max_size=max_writes, unique=True))
        blocks.append([(k, draw(tree_values)) for k in keys])
    return blocks


addresses = st.binary(min_size=20, max_size=20)
#: Small slot numbers collide often, so rewrites and reverts are exercised.
slots = st.integers(0, 3)
words = st.one_of(st.integers(0, 3), st.integers(0, 2**256 - 1))
#: EVM-ish bytecode: opcodes biased towards PUSHn and JUMPDEST.
bytecode = st.lists(
    st.one_of(st.sampled_from([0x5B, 0x60, 0x61, 0x7F, 0x00, 0x56]), st.integers(0, 255)),
    max_size=200,
).map(bytes)


#: Mempool histories for tests/sequencer/test_mempool_properties.py: (kind, ...) steps over 3
#: senders — "add" (sender, nonce, fee level), "mine" (sender, count), "balance" (sender, level),
#: "invalid" (which pending transaction the VM refuses).
mempool_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 2),
            st.integers(0, 3),
            st.integers(0, 2),
        ),
        st.tuples(st.just("mine"), st.integers(0, 2), st.integers(1, 3)),
        st.tuples(st.just("balance"), st.integers(0, 2), st.integers(0, 5)),
        st.tuples(st.just("invalid"), st.integers(0, 50)),
    ),
    max_size=40,
)


# -- EVM programs for the differential tests of the two instruction loops ---------------------

#: Words that hit the edge cases of 256-bit arithmetic (signs, zero, all ones, limb borders).
evm_words = st.one_of(
    st.sampled_from(
        [
            0,
            1,
            2,
            3,
            31,
            32,
            255,
            256,
            2**63,
            2**64 - 1,
            2**64,
            2**128 - 1,
            2**255 - 1,
            2**255,
            2**256 - 2,
            2**256 - 1,
        ]
    ),  # fmt: skip
    st.integers(0, 2**64),
    st.integers(0, 2**256 - 1),
)
#: Memory offsets and sizes: mostly small, sometimes huge (out of gas), sometimes zero.
evm_offsets = st.one_of(
    st.integers(0, 96), st.integers(0, 4096), st.sampled_from([2**32, 2**64, 2**256 - 1])
)

# Opcodes by family (Cancun); the strategy mixes them with pushes, jumps, calls and creates.
_EVM_ARITHMETIC = list(range(0x01, 0x0C)) + list(range(0x10, 0x1E))
_EVM_ENVIRONMENT = [0x30, 0x31, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3A, 0x3B, 0x3D, 0x3F]
_EVM_ENVIRONMENT += [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A]
_EVM_STACK = [0x50, 0x58, 0x59, 0x5A, 0x5F] + list(range(0x80, 0xA0))
_EVM_MEMORY = [0x20, 0x35, 0x37, 0x39, 0x3C, 0x3E, 0x51, 0x52, 0x53, 0x5E]
_EVM_STORAGE = [0x54, 0x55, 0x5C, 0x5D]
_EVM_ENDINGS = [0x00, 0xF3, 0xFD, 0xFE, 0xFF]


def _push(value: int) -> bytes:
    size = max(1, (value.bit_length() + 7) // 8)
    return bytes([0x5F + size]) + value.to_bytes(size, "big")


@st.composite
def evm_programs(draw, max_chunks: int = 40):
    """EVM bytecode, valid and invalid: pushes of edge-case words, every instruction family,
    memory ops with small and huge offsets, storage and transient storage, logs, jumps to real
    and bogus destinations, loops (bounded by gas), CALL-family calls and CREATE/CREATE2, reverts,
    returns, SELFDESTRUCT, undefined opcodes and raw random bytes."""
    chunks = []
    jumps = []  # (chunk index, opcode) for jumps whose target is patched to a JUMPDEST later
    for _ in range(draw(st.integers(1, max_chunks))):
        kind = draw(st.integers(0, 13))
        if kind <= 2:
            chunks.append(_push(draw(evm_words)))
        elif kind == 3:
            chunks.append(bytes([draw(st.sampled_from(_EVM_ARITHMETIC))]))
        elif kind == 4:
            chunks.append(bytes([draw(st.sampled_from(_EVM_STACK + _EVM_ENVIRONMENT))]))
        elif kind == 5:
            # a memory or copy instruction with its operands (offset, source, size)
            op = draw(st.sampled_from(_EVM_MEMORY))
            operands = [draw(evm_offsets) for _ in range(3)]
            chunks.append(b"".join(_push(v) for v in operands) + bytes([op]))
        elif kind == 6:
            op = draw(st.sampled_from(_EVM_STORAGE))
            chunks.append(_push(draw(evm_words)) + _push(draw(st.integers(0, 3))) + bytes([op]))
        elif kind == 7:
            topics = draw(st.integers(0, 4))
            operands = [draw(evm_words) for _ in range(topics)]
            operands += [draw(evm_offsets), draw(evm_offsets)]
            chunks.append(b"".join(_push(v) for v in operands) + bytes([0xA0 + topics]))
        elif kind == 8:
            chunks.append(b"\x5b")  # JUMPDEST
        elif kind == 9:
            # JUMP (PUSH2 target JUMP) or JUMPI (PUSH1 condition PUSH2 target JUMPI)
            op = draw(st.sampled_from([0x56, 0x57]))
            prefix = _push(draw(st.integers(0, 1))) if op == 0x57 else b""
            jumps.append((len(chunks), prefix, op))
            chunks.append(bytes(len(prefix) + 4))  # the target is patched in below
        elif kind == 10:
            # CALL / CALLCODE / DELEGATECALL / STATICCALL to the other contract or a precompile
            op = draw(st.sampled_from([0xF1, 0xF2, 0xF4, 0xFA]))
            to = draw(st.sampled_from([0xBBB, 0x1, 0x2, 0x4, 0xC0DE000, 0xDEAD]))
            memory = [draw(st.integers(0, 64)) for _ in range(4)]  # out size, out, in size, in
            value = [draw(st.sampled_from([0, 1, 10**30]))] if op in (0xF1, 0xF2) else []
            gas = draw(st.sampled_from([0, 5000, 100_000, 2**256 - 1]))
            operands = memory + value + [to, gas]
            chunks.append(b"".join(_push(v) for v in operands) + bytes([op]))
        elif kind == 11:
            # CREATE / CREATE2 of initcode taken from memory (whatever is there)
            op = draw(st.sampled_from([0xF0, 0xF5]))
            operands = [draw(evm_words)] if op == 0xF5 else []
            operands += [draw(st.integers(0, 64)), draw(st.integers(0, 64))]
            operands += [draw(st.sampled_from([0, 1]))]
            chunks.append(b"".join(_push(v) for v in operands) + bytes([op]))
        elif kind == 12:
            chunks.append(
                _push(draw(evm_offsets)) + _push(draw(evm_offsets))
                + bytes([draw(st.sampled_from(_EVM_ENDINGS))])
            )  # fmt: skip
        else:
            chunks.append(draw(st.binary(min_size=1, max_size=4)))
    destinations = []
    position = 0
    for chunk in chunks:
        if chunk == b"\x5b":
            destinations.append(position)
        position += len(chunk)
    for index, prefix, op in jumps:
        target = draw(st.integers(0, position + 2))  # mostly not a JUMPDEST
        if destinations and draw(st.integers(0, 7)):
            target = draw(st.sampled_from(destinations))
        chunks[index] = prefix + bytes([0x61]) + target.to_bytes(2, "big") + bytes([op])
    return b"".join(chunks)


#: Pre-state storage of a contract: a few small slots with edge-case values.
evm_storage = st.dictionaries(st.integers(0, 3), evm_words.filter(bool), max_size=4)
#: Call data: empty, short or a few words.
evm_calldata = st.one_of(st.just(b""), st.binary(max_size=80))


@st.composite
def priority_tree_histories(draw, max_leaves: int = 40):
    """A priority tree's life: ``(leaves, trims)`` where ``trims[i]`` is the start index to trim
    to after pushing ``i + 1`` leaves (non-decreasing, never past the leaves pushed)."""
    count = draw(st.integers(min_value=1, max_value=max_leaves))
    leaves = [i.to_bytes(4, "big") * 8 for i in range(count)]
    trims, start = [], 0
    for pushed in range(1, count + 1):
        if draw(st.booleans()):
            start = draw(st.integers(min_value=start, max_value=pushed))
        trims.append(start)
    return leaves, trims


#: Pubdata value pairs ``(initial, final)``: near each other, near the ends, or anything.
u256_values = st.one_of(
    st.integers(0, 2**64), st.integers(2**256 - 2**64, 2**256 - 1), st.integers(0, 2**256 - 1)
)
value_changes = st.one_of(
    st.tuples(u256_values, u256_values),
    u256_values.flatmap(
        lambda v: st.tuples(st.just(v), st.integers(max(0, v - 2**40), min(2**256 - 1, v + 2**40)))
    ),
)
