"""Our benchmark contracts: compile ``benchmarks/evm/*.sol`` with solcjs, load the artifacts.

The artifacts file (``contracts.json``, shipped in the package so an installed ``zkosctl`` finds
it) is format version 1::

    {"version": 1, "compiler": "0.8.37+commit...", "settings": {...},
     "contracts": {"ERC20Loop": {"source": "ERC20Loop.sol", "abi": [...], "runtime": "0x..."}}}

``runtime`` is the deployed bytecode (solc's ``evm.deployedBytecode``): the benchmarks put it in
the pre-state directly, so no constructor runs. ``benchmarks/evm/build.py`` rewrites the file;
``tests/evmbench/test_contracts.py`` recompiles the sources and checks the file matches.
"""

from __future__ import annotations

import json
import os
import subprocess

from zkos_tw.solc import SolcError, standard_json

ARTIFACTS_VERSION = 1
ARTIFACTS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contracts.json")

#: source file -> contract names taken from it.
SOURCES = {"ERC20Loop.sol": ("ERC20Loop",), "KeccakLoop.sol": ("KeccakLoop",)}

#: The solc settings every artifact is built with (Cancun, the optimizer as deployed code uses).
SETTINGS = {
    "evmVersion": "cancun",
    "optimizer": {"enabled": True, "runs": 200},
    "outputSelection": {"*": {"*": ["abi", "evm.deployedBytecode.object"]}},
}


class ArtifactsError(Exception):
    """The artifacts file is missing, unreadable or of an unknown version."""


def compiler_version(solcjs: str) -> str:
    """``0.8.37+commit.f401782d`` from ``solcjs --version`` (without the build suffix)."""
    done = subprocess.run([solcjs, "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip().split(".Emscripten")[0]


def compile_sources(solcjs: str, folder: str) -> dict:
    """Compile every file of ``SOURCES`` in ``folder``; return the artifacts document."""
    sources = {}
    for filename in SOURCES:
        with open(os.path.join(folder, filename)) as f:
            sources[filename] = {"content": f.read()}
    request = {"language": "Solidity", "sources": sources, "settings": SETTINGS}
    try:
        output = standard_json(solcjs, request, timeout=300)
    except SolcError as e:
        raise ArtifactsError(f"solc: {e}") from None
    contracts = {}
    for filename, names in SOURCES.items():
        for name in names:
            compiled = output["contracts"][filename][name]
            contracts[name] = {
                "source": filename,
                "abi": compiled["abi"],
                "runtime": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            }
    return {
        "version": ARTIFACTS_VERSION,
        "compiler": compiler_version(solcjs),
        "settings": SETTINGS,
        "contracts": contracts,
    }


def dumps(artifacts: dict) -> str:
    """The canonical text of an artifacts document (sorted keys, one trailing newline)."""
    return json.dumps(artifacts, indent=1, sort_keys=True) + "\n"


def load_artifacts(path: str = ARTIFACTS_PATH) -> dict:
    """The artifacts document; ``ArtifactsError`` with a one-line reason when it is unusable."""
    try:
        with open(path) as f:
            artifacts = json.load(f)
    except (OSError, ValueError) as e:
        raise ArtifactsError(f"cannot read benchmark contracts {path}: {e}") from None
    if artifacts.get("version") != ARTIFACTS_VERSION:
        raise ArtifactsError(
            f"benchmark contracts {path} have version {artifacts.get('version')!r}, "
            f"expected {ARTIFACTS_VERSION}"
        )
    return artifacts


def runtime_code(artifacts: dict, name: str) -> bytes:
    """The deployed bytecode of contract ``name``."""
    return bytes.fromhex(artifacts["contracts"][name]["runtime"][2:])


def selector(artifacts: dict, name: str, function: str) -> bytes:
    """The 4-byte selector of ``function`` (a name) in contract ``name``'s ABI."""
    from zkos_tw.hashing import keccak256

    for entry in artifacts["contracts"][name]["abi"]:
        if entry.get("type") == "function" and entry["name"] == function:
            types = ",".join(item["type"] for item in entry["inputs"])
            return keccak256(f"{function}({types})".encode())[:4]
    raise KeyError(f"{name} has no function {function!r}")
