"""``L1State`` discovery from the Bridgehub (reference ``zksync-os-server.md`` §7.1).

``discover_l1_state(client, bridgehub, chain_id)`` asks, at ``latest``:

* ``Bridgehub.getAllZKChainChainIDs()`` — must contain the chain id, else
  ``L1DiscoveryError("chain ID <id> is not registered on L1")``;
* ``Bridgehub.getZKChain(chainId)`` — the diamond proxy (emits every watched event);
* ``Bridgehub.chainTypeManager(chainId)`` then ``CTM.validatorTimelockPostV29()`` — the
  destination of commit / prove / execute;
* ``getTotalBatchesCommitted / Verified / Executed()`` and ``getPubdataPricingMode()`` on the
  diamond proxy (0 = Rollup, 1 = Validium).
"""

from __future__ import annotations

from dataclasses import dataclass

from zkos_tw.l1.client import L1Error

PUBDATA_PRICING_MODES = {0: "Rollup", 1: "Validium"}

SIG_ALL_CHAIN_IDS = "getAllZKChainChainIDs()"
SIG_GET_ZK_CHAIN = "getZKChain(uint256)"
SIG_CHAIN_TYPE_MANAGER = "chainTypeManager(uint256)"
SIG_VALIDATOR_TIMELOCK = "validatorTimelockPostV29()"
SIG_TOTAL_COMMITTED = "getTotalBatchesCommitted()"
SIG_TOTAL_VERIFIED = "getTotalBatchesVerified()"
SIG_TOTAL_EXECUTED = "getTotalBatchesExecuted()"
SIG_PUBDATA_PRICING_MODE = "getPubdataPricingMode()"
SIG_TOTAL_PRIORITY_TXS = "getTotalPriorityTxs()"


class L1DiscoveryError(Exception):
    """The L1 contracts are not what the node needs (one line, names what is wrong)."""


@dataclass(frozen=True)
class L1State:
    """What the node learns about its chain from L1 at start-up."""

    chain_id: int
    bridgehub: bytes
    diamond_proxy: bytes
    chain_type_manager: bytes
    validator_timelock: bytes
    last_committed_batch: int
    last_verified_batch: int
    last_executed_batch: int
    pubdata_pricing_mode: int

    @property
    def da_mode(self) -> str:
        """``"Rollup"`` or ``"Validium"``."""
        return PUBDATA_PRICING_MODES[self.pubdata_pricing_mode]

    def as_json(self) -> dict:
        """A JSON-ready view for logs and the status endpoint."""
        return {
            "chain_id": self.chain_id,
            "bridgehub": "0x" + self.bridgehub.hex(),
            "diamond_proxy": "0x" + self.diamond_proxy.hex(),
            "chain_type_manager": "0x" + self.chain_type_manager.hex(),
            "validator_timelock": "0x" + self.validator_timelock.hex(),
            "last_committed_batch": self.last_committed_batch,
            "last_verified_batch": self.last_verified_batch,
            "last_executed_batch": self.last_executed_batch,
            "da_mode": self.da_mode,
        }


def _address(value: str) -> bytes:
    return bytes.fromhex(value[2:])


async def _uint(client, to: bytes, signature: str) -> int:
    (value,) = await client.call_function(to, signature, returns=["uint256"])
    return value


async def discover_l1_state(client, bridgehub: bytes, chain_id: int) -> L1State:
    """Run the §7.1 discovery; raise ``L1DiscoveryError`` (contracts) or ``L1Error`` (I/O)."""
    try:
        (chain_ids,) = await client.call_function(
            bridgehub, SIG_ALL_CHAIN_IDS, returns=["uint256[]"]
        )
    except L1Error as e:
        code = await client.get_code(bridgehub)
        if not code:
            raise L1DiscoveryError(
                f"no contract at the bridgehub address 0x{bridgehub.hex()} on L1"
            ) from None
        raise e
    if chain_id not in chain_ids:
        raise L1DiscoveryError(f"chain ID {chain_id} is not registered on L1")
    (diamond,) = await client.call_function(
        bridgehub, SIG_GET_ZK_CHAIN, [chain_id], returns=["address"]
    )
    (ctm,) = await client.call_function(
        bridgehub, SIG_CHAIN_TYPE_MANAGER, [chain_id], returns=["address"]
    )
    diamond, ctm = _address(diamond), _address(ctm)
    if diamond == bytes(20):
        raise L1DiscoveryError(f"chain ID {chain_id} has no ZK chain contract on L1")
    (timelock,) = await client.call_function(ctm, SIG_VALIDATOR_TIMELOCK, returns=["address"])
    committed = await _uint(client, diamond, SIG_TOTAL_COMMITTED)
    verified = await _uint(client, diamond, SIG_TOTAL_VERIFIED)
    executed = await _uint(client, diamond, SIG_TOTAL_EXECUTED)
    mode = await _uint(client, diamond, SIG_PUBDATA_PRICING_MODE)
    if mode not in PUBDATA_PRICING_MODES:
        raise L1DiscoveryError(f"unknown pubdata pricing mode {mode} on the ZK chain contract")
    return L1State(
        chain_id=chain_id,
        bridgehub=bridgehub,
        diamond_proxy=diamond,
        chain_type_manager=ctm,
        validator_timelock=_address(timelock),
        last_committed_batch=committed,
        last_verified_batch=verified,
        last_executed_batch=executed,
        pubdata_pricing_mode=mode,
    )
