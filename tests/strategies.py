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
