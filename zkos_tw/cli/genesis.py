"""``zkosctl genesis FILE [--json]``: the tree root, leaf count, genesis hash and commitment.

Exit code 1 with one line on stderr when the file is malformed or its ``genesis_root`` differs
from the computed state commitment.
"""

from __future__ import annotations

import json
import os
import sys

from twisted.python import usage

from zkos_tw.genesis import GenesisError, check_genesis, compute_genesis, load_genesis


class Options(usage.Options):
    synopsis = "FILE [--json]"
    optFlags = [["json", None, "Print one JSON object"]]

    def parseArgs(self, path):
        if not os.path.isfile(path):
            raise usage.UsageError(f"{path}: no such file")
        self["path"] = path


def run(options) -> int:
    try:
        genesis = load_genesis(options["path"])
        result = compute_genesis(genesis)
    except GenesisError as e:
        print(f"zkosctl genesis: {e}", file=sys.stderr)
        return 1
    info = {
        "tree_root": "0x" + result.tree_root.hex(),
        "leaf_count": result.leaf_count,
        "genesis_block_hash": "0x" + result.block_hash.hex(),
        "state_commitment": "0x" + result.state_commitment.hex(),
        "execution_version": result.execution_version,
        "matches_genesis_root": genesis.genesis_root == result.state_commitment
        if genesis.genesis_root is not None
        else None,
    }
    if options["json"]:
        print(json.dumps(info, sort_keys=True))
    else:
        for name in ("tree_root", "leaf_count", "genesis_block_hash", "state_commitment"):
            print(f"{name}: {info[name]}")
    try:
        check_genesis(genesis, result)
    except GenesisError as e:
        print(f"zkosctl genesis: {e}", file=sys.stderr)
        return 1
    return 0
