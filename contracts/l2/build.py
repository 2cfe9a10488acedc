"""Compile the genesis contracts (``contracts/l2/*.sol``) with solcjs and regenerate ``genesis.json``.

Usage (from the repository root)::

    python contracts/l2/build.py [--solcjs PATH] [--check]

Pinned: solc 0.8.37 (the pragma is exact), optimizer on with 200 runs, EVM version cancun, no
CBOR metadata (``appendCBOR: false``), so the runtime code depends only on the source text.
Writes ``contracts/l2/artifacts/<Name>.json`` (ABI and runtime code) and the top-level
``genesis.json`` with its ``genesis_root`` (the computed block-0 state commitment).
``--check`` rebuilds in memory and exits 1 if either file would change.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOLC_VERSION = "0.8.37"
#: Contract name -> genesis address.
GENESIS_CONTRACTS = {
    "L2GenesisUpgrade": "0x0000000000000000000000000000000000010001",
    "WrappedBaseToken": "0x0000000000000000000000000000000000010007",
}
EXECUTION_VERSION = 3
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"appendCBOR": False, "bytecodeHash": "none"},
    "outputSelection": {"*": {"*": ["abi", "evm.deployedBytecode.object"]}},
}


def default_solcjs() -> str:
    tools = os.environ.get("ZKOS_TOOLS_DIR") or os.path.join(ROOT, ".tools")
    return os.path.join(tools, "node_modules", ".bin", "solcjs")


def compile_contracts(solcjs: str) -> dict[str, dict]:
    """``{name: {"abi": [...], "runtime": "0x..."}}`` for every contract in ``contracts/l2``."""
    version = subprocess.run(
        [solcjs, "--version"], capture_output=True, text=True, check=True
    ).stdout
    if not version.startswith(SOLC_VERSION + "+"):
        sys.exit(f"build.py: need solcjs {SOLC_VERSION}, {solcjs} is {version.strip()}")
    sources = {
        name: {"content": open(os.path.join(HERE, name)).read()}
        for name in sorted(os.listdir(HERE))
        if name.endswith(".sol")
    }
    request = {"language": "Solidity", "sources": sources, "settings": SETTINGS}
    sys.path.insert(0, ROOT)
    from zkos_tw.solc import SolcError, standard_json

    try:
        output = standard_json(solcjs, request)
    except SolcError as e:
        sys.exit(f"build.py: {e}")
    artifacts = {}
    for contracts in output["contracts"].values():
        for name, data in contracts.items():
            artifacts[name] = {
                "abi": data["abi"],
                "runtime": "0x" + data["evm"]["deployedBytecode"]["object"],
                "solc": SOLC_VERSION,
                "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
            }
    return artifacts


def genesis_document(artifacts: dict[str, dict]) -> dict:
    """The ``genesis.json`` object, ``genesis_root`` computed by ``zkos_tw.genesis``."""
    sys.path.insert(0, ROOT)
    from zkos_tw.genesis import compute_genesis, parse_genesis

    document = {
        "initial_contracts": [
            [address, artifacts[name]["runtime"]] for name, address in GENESIS_CONTRACTS.items()
        ],
        "additional_storage": [],
        "execution_version": EXECUTION_VERSION,
    }
    result = compute_genesis(parse_genesis(document))
    document["genesis_root"] = "0x" + result.state_commitment.hex()
    return document


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solcjs", default=default_solcjs())
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed files are stale"
    )
    args = parser.parse_args()
    artifacts = compile_contracts(args.solcjs)
    files = {
        os.path.join(HERE, "artifacts", f"{name}.json"): json.dumps(
            artifacts[name], indent=2, sort_keys=True
        )
        + "\n"
        for name in GENESIS_CONTRACTS
    }
    files[os.path.join(ROOT, "genesis.json")] = (
        json.dumps(genesis_document(artifacts), indent=2) + "\n"
    )
    stale = []
    for path, text in files.items():
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            stale.append(os.path.relpath(path, ROOT))
            if not args.check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
    if args.check and stale:
        print("build.py: stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    print("build.py: " + ("wrote " + ", ".join(stale) if stale else "up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
