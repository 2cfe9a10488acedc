"""``zkosctl l1 build-state``: build ``zkos-l1-state.json``, the L1 that ``twistd zkos --dev`` loads.

Starts anvil (the rich mnemonic, 100,000 ETH per account, fixed timestamps), deploys our L1
contracts (``contracts/l1``), registers chain 270 with the genesis commitment of ``--genesis``,
funds the three operators of the node's default keys, deposits 10,000 ETH to the rich account on
L2, registers the ``--snark-signers`` with the TestnetVerifier, prints the addresses and writes anvil's ``--dump-state`` to ``--output``. See docs/l1.md.
"""

from __future__ import annotations

import json
import sys

from twisted.python import usage

ETHER = 10**18


class BuildStateOptions(usage.Options):
    synopsis = "[--output zkos-l1-state.json] [--genesis genesis.json] [--json]"
    optFlags = [["json", None, "Print the deployment as one JSON object"]]
    optParameters = [
        ["output", "o", "zkos-l1-state.json", "Where to write the anvil state"],
        [
            "genesis",
            "g",
            None,
            "genesis.json whose genesis_root is batch 0 on L1 (default: the shipped one)",
        ],
        ["anvil", None, None, "anvil binary (default: .tools, then PATH)"],
        ["port", None, None, "Port for the temporary anvil (default: a free one)", int],
        ["chain-id", None, 270, "L2 chain id to register", int],
        ["deposit-eth", None, 10_000, "ETH deposited to the rich account on L2", int],
        [
            "snark-signers",
            None,
            "",
            "Comma-separated addresses the TestnetVerifier accepts real SNARK aggregates from",
        ],
    ]

    def postOptions(self):
        if self["deposit-eth"] <= 0:
            raise usage.UsageError("--deposit-eth must be positive")
        if self["chain-id"] <= 0:
            raise usage.UsageError("--chain-id must be positive")
        signers = [a.strip() for a in self["snark-signers"].split(",") if a.strip()]
        for signer in signers:
            if not _is_address(signer):
                raise usage.UsageError(f"--snark-signers: not an address: {signer}")
        self["snark-signers"] = tuple(signers)


def _is_address(text: str) -> bool:
    if len(text) != 42 or not text.startswith("0x"):
        return False
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        return False
    return True


class Options(usage.Options):
    synopsis = "build-state [options]"
    subCommands = [
        [
            "build-state",
            None,
            BuildStateOptions,
            "Deploy the L1 contracts on anvil and dump the state",
        ],
    ]

    def postOptions(self):
        if self.subCommand is None:
            raise usage.UsageError("missing subcommand (build-state)")


def run(options) -> int:
    from zkos_tw import data
    from zkos_tw.cli.progress import Progress
    from zkos_tw.devnet.anvil import AnvilError, find_anvil
    from zkos_tw.genesis import GenesisError, load_genesis
    from zkos_tw.l1.artifacts import ArtifactError
    from zkos_tw.l1.deploy import DeployError, build_state

    sub = options.subOptions
    genesis_path = sub["genesis"] or data.path("genesis.json")
    try:
        genesis = load_genesis(genesis_path)
        if genesis.genesis_root is None:
            raise GenesisError(f"{genesis_path} has no genesis_root")
        anvil = find_anvil(sub["anvil"])
        progress = Progress.for_stream(sys.stderr, quiet=sub["json"], unit="txs")

        def log(line: str) -> None:
            if not sub["json"]:
                progress.clear()
                print(line)

        try:
            deployment = build_state(
                sub["output"],
                genesis.genesis_root,
                anvil,
                port=sub["port"],
                log=log,
                l2_chain_id=sub["chain-id"],
                deposit_value=sub["deposit-eth"] * ETHER,
                progress=progress,
                snark_signers=sub["snark-signers"],
            )
        finally:
            progress.close()
    except (GenesisError, AnvilError, ArtifactError, DeployError) as e:
        print(f"zkosctl l1 build-state: {e}", file=sys.stderr)
        return 1
    if sub["json"]:
        print(json.dumps(deployment.as_dict(), sort_keys=True))
    else:
        a = deployment.addresses
        print(f"wrote {sub['output']}")
        print(f"bridgehub: {a.bridgehub}")
        print(f"zk chain (diamond proxy): {a.zk_chain}")
        print(f"validator timelock: {a.validator_timelock}")
        print(f"genesis upgrade tx: {deployment.genesis_upgrade_tx_hash}")
        print(f"deposit L2 tx: {deployment.deposit.l2_tx_hash}")
    return 0
