"""Tree benchmark as a script: ``python benchmarks/tree.py [--leaves N]`` (see ``zkosctl bench tree``).

Measures the implementation this interpreter loads; set ``ZKOS_NO_EXTENSIONS=1`` for the pure path.
"""

from zkos_tw.merkle.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
