"""Logs, the 2048-bit logs bloom, and transaction receipts."""

from typing import NamedTuple

from zkos_tw import hashing
from zkos_tw.hashing import keccak256


class Log(NamedTuple):
    """One log entry: the emitting address, up to four 32-byte topics, and the data."""

    address: bytes
    topics: tuple
    data: bytes


class Receipt(NamedTuple):
    """The outcome of one transaction in a block (EIP-658 status, EIP-2718 type)."""

    tx_type: int
    succeeded: bool
    cumulative_gas_used: int
    bloom: bytes
    logs: tuple
    gas_used: int
    contract_address: bytes | None
    error: str | None
    #: The accounts the transaction reached, for the address index (nothing consensus reads):
    #: the touched set of its successful frames (execution-specs' ``touched_accounts``), plus
    #: the addresses its frames made warm (EIP-2929: CALL / CREATE targets, reverted ones
    #: included, and BALANCE / EXTCODE* targets) minus those warm before it started
    #: (precompiles, coinbase, access list, sender and recipient).
    touched: frozenset | set = frozenset()


def add_to_bloom(bloom: int, item: bytes) -> int:
    """Set the three bloom bits of ``item`` (yellow paper M3:2048)."""
    digest = keccak256(item)
    for i in (0, 2, 4):
        bit = ((digest[i] << 8) | digest[i + 1]) & 0x7FF
        bloom |= 1 << bit
    return bloom


EMPTY_BLOOM = bytes(256)


def logs_bloom(logs) -> bytes:
    """The 256-byte bloom filter over the addresses and topics of ``logs`` (compiled in
    ``ext/_hashing.pyx`` when loaded, ``zkos_tw.hashing._pure`` otherwise)."""
    if not logs:
        return EMPTY_BLOOM
    return _logs_bloom(logs)


_logs_bloom = hashing.logs_bloom
