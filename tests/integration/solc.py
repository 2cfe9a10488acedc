"""Compile Solidity for integration tests with the solc from npm (solcjs in the tool folder)."""

from __future__ import annotations

import os

from twisted.trial.unittest import SkipTest

from tests.fixtures import REPO_ROOT
from zkos_tw.solc import standard_json


def solcjs_path() -> str:
    """solcjs from ``$ZKOS_TOOLS_DIR`` (or ./.tools); skip the test (fail on CI) without it."""
    tools = os.environ.get("ZKOS_TOOLS_DIR") or os.path.join(REPO_ROOT, ".tools")
    path = os.path.join(tools, "node_modules", ".bin", "solcjs")
    if not os.access(path, os.X_OK):
        message = f"solcjs not found at {path}: run `make tools`"
        if os.environ.get("CI"):
            raise AssertionError(message)
        raise SkipTest(message)
    return path


def compile_contract(source_path: str, name: str) -> tuple[list, bytes]:
    """``(abi, creation bytecode)`` of contract ``name`` in ``source_path``, for Cancun."""
    with open(source_path) as f:
        source = f.read()
    request = {
        "language": "Solidity",
        "sources": {"contract.sol": {"content": source}},
        "settings": {
            "evmVersion": "cancun",
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    output = standard_json(solcjs_path(), request, timeout=120)
    contract = output["contracts"]["contract.sol"][name]
    return contract["abi"], bytes.fromhex(contract["evm"]["bytecode"]["object"])
