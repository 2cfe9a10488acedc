"""Helpers for the execution unit tests: a tiny assembler and a way to run code in one frame.

``run_code(code)`` installs ``code`` at ``CONTRACT`` in a fresh ``MemoryState`` and runs a message
call from ``CALLER`` through the real interpreter, returning the finished ``Frame``.
"""

from zkos_tw.execution.forks import CANCUN
from zkos_tw.execution.interpreter import process_message
from zkos_tw.execution.message import BlockEnvironment, Message, TransactionEnvironment
from zkos_tw.testing import MemoryState

CALLER = bytes.fromhex("00000000000000000000000000000000000ca11e")
CONTRACT = bytes.fromhex("000000000000000000000000000000000c0de000")
OTHER = bytes.fromhex("0000000000000000000000000000000000000bbb")
COINBASE = bytes.fromhex("000000000000000000000000000000000000c014")
MASK = 2**256 - 1


def push(value: int, size: int | None = None) -> bytes:
    """PUSHn of ``value`` with the smallest n (or ``size`` bytes); PUSH1 0 for zero."""
    if size is None:
        size = max(1, (value.bit_length() + 7) // 8)
    return bytes([0x5F + size]) + value.to_bytes(size, "big")


def returning_top() -> bytes:
    """Code that stores the top of the stack at memory 0 and returns those 32 bytes."""
    return push(0) + bytes([0x52]) + push(32) + push(0) + bytes([0xF3])


def block_env(state, fork=CANCUN, **overrides) -> BlockEnvironment:
    """A block environment with fixed, recognisable header values."""
    fields = dict(
        coinbase=COINBASE,
        number=100,
        gas_limit=30_000_000,
        timestamp=1_700_000_000,
        base_fee=7,
        prev_randao=0x1234,
        difficulty=0x20000,
        excess_blob_gas=0,
        fork=fork,
    )
    fields.update(overrides)
    return BlockEnvironment(state, **fields)


def run_code(
    code: bytes,
    *,
    data: bytes = b"",
    gas: int = 1_000_000,
    value: int = 0,
    state=None,
    fork=CANCUN,
    is_static: bool = False,
    blob_hashes=(),
    **env,
):
    """Run ``code`` as the contract at ``CONTRACT``; return the finished frame."""
    if state is None:
        state = MemoryState()
    state.set_account(
        CONTRACT,
        code=code,
        nonce=state.get_nonce(CONTRACT),
        balance=state.get_balance(CONTRACT),
        storage=state.storage_items(CONTRACT),
    )
    if not state.account_exists(CALLER):
        state.set_account(CALLER, balance=10**18)
    environment = block_env(state, fork, **env)
    state.begin_transaction()
    message = Message(
        caller=CALLER,
        target=CONTRACT,
        current_target=CONTRACT,
        code_address=CONTRACT,
        code=code,
        data=data,
        value=value,
        gas=gas,
        depth=0,
        should_transfer_value=True,
        is_static=is_static,
        accessed_addresses={CALLER, CONTRACT},
        accessed_storage_keys=set(),
    )
    frame = process_message(message, environment, TransactionEnvironment(CALLER, 10, blob_hashes))
    state.end_transaction()
    return frame


def result_word(frame) -> int:
    """The 32-byte output of a frame as an integer."""
    return int.from_bytes(frame.output, "big")


def compute(*ops: bytes) -> int:
    """Run the concatenated ``ops`` followed by returning the top of stack; return it."""
    frame = run_code(b"".join(ops) + returning_top())
    assert frame.error is None, frame.error
    return result_word(frame)
