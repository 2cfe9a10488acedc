"""The forks the interpreter knows, as a small set of rule switches.

Cancun is the target. London, Paris and Shanghai differ from it only by a few rules, and are kept
so that older state tests (the ipsilon evm-benchmarks are London) run through the same code.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Fork:
    """Which rules of the Cancun EVM are active."""

    name: str
    prevrandao: bool = True  # EIP-4399: opcode 0x44 is PREVRANDAO (Paris)
    push0: bool = True  # EIP-3855 (Shanghai)
    warm_coinbase: bool = True  # EIP-3651 (Shanghai)
    initcode_limit: bool = True  # EIP-3860 (Shanghai)
    transient_storage: bool = True  # EIP-1153 TLOAD/TSTORE (Cancun)
    mcopy: bool = True  # EIP-5656 (Cancun)
    blobs: bool = True  # EIP-4844 BLOBHASH, BLOBBASEFEE (EIP-7516), type-3 transactions
    selfdestruct_same_tx_only: bool = True  # EIP-6780 (Cancun)
    precompile_count: int = 10  # 0x01..0x0a; point evaluation (0x0a) arrives with Cancun


CANCUN = Fork("Cancun")
SHANGHAI = Fork(
    "Shanghai",
    transient_storage=False,
    mcopy=False,
    blobs=False,
    selfdestruct_same_tx_only=False,
    precompile_count=9,
)
PARIS = Fork(
    "Paris",
    push0=False,
    warm_coinbase=False,
    initcode_limit=False,
    transient_storage=False,
    mcopy=False,
    blobs=False,
    selfdestruct_same_tx_only=False,
    precompile_count=9,
)
LONDON = Fork(
    "London",
    prevrandao=False,
    push0=False,
    warm_coinbase=False,
    initcode_limit=False,
    transient_storage=False,
    mcopy=False,
    blobs=False,
    selfdestruct_same_tx_only=False,
    precompile_count=9,
)

FORKS = {fork.name: fork for fork in (LONDON, PARIS, SHANGHAI, CANCUN)}
FORKS["Merge"] = PARIS
