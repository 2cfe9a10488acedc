"""Recompile ``benchmarks/evm/*.sol`` with the solc from npm and rewrite the shipped artifacts.

    .venv/bin/python benchmarks/evm/build.py        # uses .tools/node_modules/.bin/solcjs

``tests/evmbench/test_contracts.py`` fails when the committed artifacts no longer match.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from zkos_tw.evmbench import contracts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="Rewrite zkos_tw/evmbench/contracts.json.")
    parser.add_argument("--solcjs", help="solcjs to use (default: the project's .tools)")
    args = parser.parse_args()
    tools = os.environ.get("ZKOS_TOOLS_DIR") or os.path.join(HERE, "..", "..", ".tools")
    solcjs = args.solcjs or os.path.join(tools, "node_modules", ".bin", "solcjs")
    if not os.access(solcjs, os.X_OK):
        print(f"build.py: solcjs not found at {solcjs}: run `make tools`", file=sys.stderr)
        return 1
    text = contracts.dumps(contracts.compile_sources(solcjs, HERE))
    with open(contracts.ARTIFACTS_PATH, "w") as f:
        f.write(text)
    print(f"wrote {contracts.ARTIFACTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
