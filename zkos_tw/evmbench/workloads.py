"""The benchmark cases: the evmone suite from the shared fixtures and our own Solidity loops.

Every case is one ``Workload``: a state-test ``env`` and ``pre`` section and one signed
transaction, so every implementation runs exactly the same input. The evmone files are state
tests (London); each ``post`` entry is a case, named ``file`` or ``file/label`` when the file has
several inputs (``_info.labels``). Our loops run under Cancun (their bytecode uses PUSH0).
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field

from zkos_tw.evmbench import contracts

#: evmone groups in the fixtures folder (``benchmarks/main``, ``benchmarks/micro``).
EVMONE_GROUPS = ("main", "micro")
OURS = "ours"
GROUPS = (*EVMONE_GROUPS, OURS)

#: The evmone sender key (``transaction.secretKey`` of every evmone file); our loops use it too.
SENDER_KEY = bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
SENDER = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b"
CONTRACT = "0xbe7c43a580000000000000000000000000000002"
OUR_GAS_LIMIT = 1_000_000_000
OUR_BASE_FEE = 7

#: Our loops and their default sizes (a few million gas each: long enough to time the
#: interpreter, short enough for the pure path and py-evm).
ERC20_TRANSFERS = 300
KECCAK_ROUNDS = 20000


@dataclass(frozen=True)
class Workload:
    """One benchmark case: ``env``/``pre`` as in a state test plus one signed transaction."""

    name: str
    group: str
    fork: str
    env: dict
    pre: dict
    txbytes: bytes
    # Decoded forms each path computes once per case (outside the timed region).
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def stem(self) -> str:
        """The file (or contract loop) the case comes from: the name before any ``/``."""
        return self.name.split("/")[0]


def default_fixtures_dir() -> str:
    """``$ZKOS_SHARED_DIR/fixtures/evm-benchmarks/benchmarks``, else ``../shared`` beside the
    working directory or beside the source tree (the first that exists; the first otherwise)."""
    tail = ("fixtures", "evm-benchmarks", "benchmarks")
    shared = os.environ.get("ZKOS_SHARED_DIR")
    if shared:
        return os.path.join(shared, *tail)
    source_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates = [
        os.path.join(os.path.dirname(os.path.abspath(os.getcwd())), "shared", *tail),
        os.path.join(os.path.dirname(source_root), "shared", *tail),
    ]
    return next((c for c in candidates if os.path.isdir(c)), candidates[0])


def evmone_files(folder: str) -> list[tuple[str, str]]:
    """``(group, path)`` of every evmone state-test file under ``folder``, sorted."""
    found = []
    for group in EVMONE_GROUPS:
        for path in sorted(glob.glob(os.path.join(folder, group, "*.json"))):
            found.append((group, path))
    return found


def _hex(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def load_evmone_file(group: str, path: str) -> list[Workload]:
    """The cases of one evmone state-test file."""
    stem = os.path.splitext(os.path.basename(path))[0]
    with open(path) as f:
        tests = json.load(f)
    cases = []
    for test in tests.values():
        labels = test.get("_info", {}).get("labels", {})
        fork, posts = next(iter(test["post"].items()))
        for post in posts:
            index = post["indexes"]["data"]
            label = labels.get(str(index), str(index))
            name = stem if len(posts) == 1 else f"{stem}/{label}"
            cases.append(
                Workload(name, group, fork, test["env"], test["pre"], _hex(post["txbytes"]))
            )
    return cases


def _our_env() -> dict:
    return {
        "currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
        "currentNumber": "0x01",
        "currentTimestamp": "0x03e8",
        "currentGasLimit": hex(OUR_GAS_LIMIT),
        "currentBaseFee": hex(OUR_BASE_FEE),
        "currentRandom": "0x" + "00" * 31 + "01",
        "currentDifficulty": "0x00",
        "currentExcessBlobGas": "0x00",
    }


def _signed_call(data: bytes) -> bytes:
    """A legacy EIP-155 transaction (chain 1) from ``SENDER`` to ``CONTRACT`` with ``data``."""
    from eth_account import Account
    from eth_utils import to_checksum_address

    signed = Account.sign_transaction(
        {
            "nonce": 0,
            "gasPrice": OUR_BASE_FEE,
            "gas": OUR_GAS_LIMIT,
            "to": to_checksum_address(CONTRACT),
            "value": 0,
            "data": data,
            "chainId": 1,
        },
        SENDER_KEY,
    )
    return bytes(signed.raw_transaction)


def contract_call(name: str, contract: str, data: bytes, artifacts: dict) -> Workload:
    """A call with ``data`` to ``contract`` (one of the artifacts) deployed at ``CONTRACT``."""
    code = contracts.runtime_code(artifacts, contract)
    pre = {
        SENDER: {"balance": hex(10**24), "nonce": "0x00", "code": "0x", "storage": {}},
        CONTRACT: {"balance": "0x00", "nonce": "0x01", "code": "0x" + code.hex(), "storage": {}},
    }
    return Workload(name, OURS, "Cancun", _our_env(), pre, _signed_call(data))


def erc20_transfer_loop(n: int = ERC20_TRANSFERS, artifacts: dict | None = None) -> Workload:
    """``ERC20Loop.transferLoop(n)``: n external ERC-20 transfers to fresh addresses."""
    artifacts = artifacts or contracts.load_artifacts()
    data = contracts.selector(artifacts, "ERC20Loop", "transferLoop") + n.to_bytes(32, "big")
    return contract_call("erc20_transfer_loop", "ERC20Loop", data, artifacts)


def keccak_loop(n: int = KECCAK_ROUNDS, artifacts: dict | None = None) -> Workload:
    """``KeccakLoop.hashLoop(seed, n)``: a chain of n keccak256 hashes of 64 bytes."""
    artifacts = artifacts or contracts.load_artifacts()
    seed = bytes(31) + b"\x2a"
    data = contracts.selector(artifacts, "KeccakLoop", "hashLoop") + seed + n.to_bytes(32, "big")
    return contract_call("keccak_loop", "KeccakLoop", data, artifacts)


OUR_NAMES = ("erc20_transfer_loop", "keccak_loop")


def our_workloads() -> list[Workload]:
    """Our own loops at their default sizes."""
    artifacts = contracts.load_artifacts()
    return [erc20_transfer_loop(artifacts=artifacts), keccak_loop(artifacts=artifacts)]


def known_names(folder: str) -> set[str]:
    """Every name ``select`` accepts: groups, evmone file stems, our loops (``all`` too)."""
    names = {"all", *GROUPS, *OUR_NAMES}
    names.update(os.path.splitext(os.path.basename(p))[0] for _, p in evmone_files(folder))
    return names


def _wanted(spec: list[str], group: str, stem: str, name: str) -> bool:
    return any(s in ("all", group, stem, name) for s in spec)


def select(spec: list[str], folder: str) -> tuple[list[Workload], str | None]:
    """The workloads ``spec`` names (``all``, a group, a file stem or a case name), in suite
    order, and a note when the evmone suite was wanted but its folder is absent."""
    note = None
    chosen = []
    files = evmone_files(folder)
    if not files and any(s in ("all", *EVMONE_GROUPS) for s in spec):
        note = f"evmone suite not found in {folder} (set ZKOS_SHARED_DIR or --fixtures)"
    for group, path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        if not any(s in ("all", group, stem) or s.startswith(stem + "/") for s in spec):
            continue
        chosen += [w for w in load_evmone_file(group, path) if _wanted(spec, group, stem, w.name)]
    if any(s in ("all", OURS, *OUR_NAMES) for s in spec):
        chosen += [w for w in our_workloads() if _wanted(spec, OURS, w.stem, w.name)]
    return chosen, note
