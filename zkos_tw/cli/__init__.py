"""``zkosctl``: operator and developer tools (conformance runner, genesis, benchmarks, ...).

Each subcommand is a module in this package exposing ``Options`` (a ``usage.Options``) and
``run(options) -> int``; ``COMMANDS`` maps the subcommand name to its module and one-line help.
Modules are imported only when their subcommand runs, so a heavy tool costs nothing elsewhere.
"""

COMMANDS: dict[str, tuple[str, str]] = {
    "version": ("zkos_tw.cli.version", "Print the version and which compiled extensions loaded"),
    "statetest": ("zkos_tw.cli.statetest", "Run Ethereum state tests against the EVM"),
    "config": ("zkos_tw.cli.config", "Print the effective configuration or the parameter table"),
    "genesis": (
        "zkos_tw.cli.genesis",
        "Compute and check the genesis commitment of a genesis.json",
    ),
    "bench": ("zkos_tw.cli.bench", "Run benchmarks (tree, evm) and print JSON"),
    "l1": (
        "zkos_tw.cli.l1",
        "L1 tools: build-state (deploy our contracts on anvil, dump the state)",
    ),
    "deposit": ("zkos_tw.cli.deposit", "Deposit ETH from L1 to L2 and wait for the L2 receipt"),
    "load": ("zkos_tw.cli.load", "Put a node under transaction load; print TPS and latencies"),
    "keygen": ("zkos_tw.cli.keygen", "Write a nacl: node key file and print its public key"),
    "prover": (
        "zkos_tw.cli.prover",
        "Prover worker: prove batches of a node's prover API by stateless re-execution",
    ),
}
