"""Compile the L1 contracts (``contracts/l1/*.sol``) with solcjs into ``contracts/l1/build/``.

Usage (from the repository root)::

    python contracts/l1/build.py [--solcjs PATH] [--check]

``--check`` rebuilds in memory and exits 1 if a committed artifact would change. The compiler
settings and the artifact format are in ``zkos_tw/l1/artifacts.py``.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from zkos_tw.l1.artifacts import (  # noqa: E402
    ArtifactError,
    compile_sources,
    default_solcjs,
    render,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solcjs", default=default_solcjs(ROOT))
    parser.add_argument("--check", action="store_true", help="fail if the artifacts are stale")
    args = parser.parse_args()
    try:
        documents = compile_sources(args.solcjs, HERE)
    except ArtifactError as e:
        print(f"build.py: {e}", file=sys.stderr)
        return 1
    stale = []
    for name, document in sorted(documents.items()):
        path = os.path.join(HERE, "build", f"{name}.json")
        text = render(document)
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
