"""Compiled artifacts of our L1 contracts (``contracts/l1/*.sol``): build them with solcjs, load them.

Build (from a checkout)::

    python contracts/l1/build.py [--solcjs PATH] [--check]

Pinned like the L2 contracts: solc 0.8.37 (exact pragma), optimizer on with 200 runs, EVM version
cancun, no CBOR metadata (``appendCBOR: false``), so the bytecode depends only on the source text
and every rebuild gives the same bytes. One ``contracts/l1/build/<Name>.json`` per deployable
contract holds ``abi``, ``bytecode`` (creation code) and ``deployed`` (runtime code), plus the
artifact ``format`` version.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

from zkos_tw import data as shipped
from zkos_tw.solc import SolcError, standard_json

SOLC_VERSION = "0.8.37"
ARTIFACT_FORMAT = 1
#: The contracts that get an artifact (the others are abstract parts, libraries or types).
DEPLOYABLE = (
    "Bridgehub",
    "ChainTypeManager",
    "L1SharedBridge",
    "TestnetVerifier",
    "ValidatorTimelock",
    "ZKChain",
)
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"appendCBOR": False, "bytecodeHash": "none"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


class ArtifactError(Exception):
    """A contract does not compile, or an artifact is missing or malformed."""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list
    bytecode: bytes
    deployed: bytes


def repo_root() -> str:
    """The checkout this package runs from (``zkos_tw/..``)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sources_dir(root: str | None = None) -> str:
    """``contracts/l1``: under ``root`` if given, else ``$ZKOS_L1_CONTRACTS_DIR``, else the
    checkout this package runs from, else the working directory's (an installed package run
    from a checkout)."""
    if root is not None:
        return os.path.join(root, "contracts", "l1")
    if os.environ.get("ZKOS_L1_CONTRACTS_DIR"):
        return os.environ["ZKOS_L1_CONTRACTS_DIR"]
    candidates = [os.path.join(base, "contracts", "l1") for base in (repo_root(), os.getcwd())]
    for candidate in candidates:
        if os.path.isdir(os.path.join(candidate, "build")):
            return candidate
    return candidates[-1]


def build_dir(root: str | None = None) -> str:
    return os.path.join(sources_dir(root), "build")


def artifacts_dir() -> str:
    """Where ``load_artifact`` reads by default: ``build_dir()`` when it exists (a checkout, or
    ``$ZKOS_L1_CONTRACTS_DIR``), else the artifacts shipped in the package (``zkos_tw.data``)."""
    built = build_dir()
    if os.environ.get("ZKOS_L1_CONTRACTS_DIR") or os.path.isdir(built):
        return built
    return shipped.path("l1-build")


def default_solcjs(root: str | None = None) -> str:
    """solcjs from ``$ZKOS_TOOLS_DIR`` or the checkout's ``.tools``."""
    tools = os.environ.get("ZKOS_TOOLS_DIR") or os.path.join(root or repo_root(), ".tools")
    return os.path.join(tools, "node_modules", ".bin", "solcjs")


def compile_sources(solcjs: str, directory: str) -> dict[str, dict]:
    """``{name: artifact document}`` for the deployable contracts in ``directory``."""
    if not os.access(solcjs, os.X_OK):
        raise ArtifactError(f"solcjs not found at {solcjs}: run `make tools`")
    version = subprocess.run(
        [solcjs, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not version.startswith(SOLC_VERSION + "+"):
        raise ArtifactError(f"need solcjs {SOLC_VERSION}, {solcjs} is {version}")
    sources = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".sol"):
            with open(os.path.join(directory, name)) as f:
                sources[name] = {"content": f.read()}
    request = {"language": "Solidity", "sources": sources, "settings": SETTINGS}
    try:
        output = standard_json(solcjs, request)
    except SolcError as e:
        raise ArtifactError(f"solc: {e}") from None
    documents = {}
    for contracts in output["contracts"].values():
        for name, data in contracts.items():
            if name in DEPLOYABLE:
                documents[name] = {
                    "format": ARTIFACT_FORMAT,
                    "name": name,
                    "abi": data["abi"],
                    "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                    "deployed": "0x" + data["evm"]["deployedBytecode"]["object"],
                    "solc": SOLC_VERSION,
                    "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
                }
    missing = sorted(set(DEPLOYABLE) - set(documents))
    if missing:
        raise ArtifactError("no contract named " + ", ".join(missing) + f" in {directory}")
    return documents


def render(document: dict) -> str:
    """The committed text of an artifact document (stable key order, trailing newline)."""
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def parse_artifact(document: dict) -> Artifact:
    """An ``Artifact`` from a format-1 document; ``ArtifactError`` for anything else."""
    if document.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"unsupported artifact format {document.get('format')!r}")
    try:
        return Artifact(
            name=document["name"],
            abi=document["abi"],
            bytecode=bytes.fromhex(document["bytecode"].removeprefix("0x")),
            deployed=bytes.fromhex(document["deployed"].removeprefix("0x")),
        )
    except (KeyError, ValueError, AttributeError) as e:
        raise ArtifactError(f"malformed artifact: {e!r}") from None


def load_artifact(name: str, directory: str | None = None) -> Artifact:
    """The committed artifact of contract ``name``."""
    path = os.path.join(directory or artifacts_dir(), f"{name}.json")
    try:
        with open(path) as f:
            document = json.load(f)
    except OSError as e:
        raise ArtifactError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise ArtifactError(f"{path} is not JSON: {e}") from None
    return parse_artifact(document)


# ---------------------------------------------------------------- ABI helpers (codec only)


def abi_type(item: dict) -> str:
    """The canonical type string of an ABI input/output (tuples expanded)."""
    kind = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in item["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def abi_signature(item: dict) -> str:
    """``name(type,...)`` of an ABI function, event or error."""
    return f"{item['name']}({','.join(abi_type(i) for i in item.get('inputs', []))})"


def find_abi(abi: list, name: str, kind: str = "function") -> dict:
    """The single ABI entry ``name`` of ``kind``; ``ArtifactError`` if absent or overloaded."""
    found = [item for item in abi if item.get("type") == kind and item.get("name") == name]
    if len(found) != 1:
        raise ArtifactError(f"{kind} {name!r}: {len(found)} ABI entries")
    return found[0]


def encode_call(abi: list, name: str, *args) -> bytes:
    """Calldata of function ``name`` with ``args`` (selector + ABI-encoded arguments)."""
    from eth_abi import encode

    from zkos_tw.hashing import keccak256

    item = find_abi(abi, name)
    types = [abi_type(i) for i in item["inputs"]]
    return keccak256(abi_signature(item).encode())[:4] + encode(types, list(args))


def encode_constructor(artifact: Artifact, *args) -> bytes:
    """Creation code of ``artifact`` followed by its encoded constructor arguments."""
    from eth_abi import encode

    items = [item for item in artifact.abi if item.get("type") == "constructor"]
    types = [abi_type(i) for i in items[0]["inputs"]] if items else []
    return artifact.bytecode + encode(types, list(args))


def decode_result(abi: list, name: str, data: bytes) -> tuple:
    """The decoded outputs of function ``name`` from ``eth_call`` result bytes."""
    from eth_abi import decode

    item = find_abi(abi, name)
    return tuple(decode([abi_type(o) for o in item["outputs"]], data))


def decode_error(data: bytes, *abis: list) -> str:
    """``Name(arg, ...)`` for revert data of a custom error in ``abis`` (or Error(string))."""
    from eth_abi import decode

    from zkos_tw.hashing import keccak256

    if len(data) < 4:
        return "reverted without data" if not data else f"reverted with 0x{data.hex()}"
    selector, body = data[:4], data[4:]
    candidates = [{"name": "Error", "inputs": [{"type": "string"}]}]
    candidates += [{"name": "Panic", "inputs": [{"type": "uint256"}]}]
    for abi in abis:
        candidates += [item for item in abi if item.get("type") == "error"]
    for item in candidates:
        if keccak256(abi_signature(item).encode())[:4] == selector:
            try:
                values = decode([abi_type(i) for i in item["inputs"]], body)
            except Exception:  # noqa: BLE001 - malformed data still gets a name
                values = ("<undecodable>",)
            shown = ", ".join("0x" + v.hex() if isinstance(v, bytes) else str(v) for v in values)
            return f"{item['name']}({shown})"
    return f"reverted with 0x{data.hex()}"
