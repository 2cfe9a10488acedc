"""The effective signing policy (reference §8.2): from L1 when the timelock has one.

``read_l1_policy`` asks the validator timelock for the chain's ``batchVerificationThreshold``
and ``batchValidators``. If L1 has a validator set or a threshold above 0 the policy is
``threshold = max(config, L1)`` and the signers are L1's set, and commits go through
``commitBatchesMultisig``. Otherwise it is the config's ``threshold`` and ``accepted_signers``;
signatures are still collected when the threshold is above 0 (an off-chain check), but the commit
is the plain ``commitBatchesSharedBridge`` — L1 has no set to check signers against.

The policy is not fixed at start: ``L1PolicyReader`` re-reads it, and the signing step asks it
again before a commit when the last read is ``POLICY_REFRESH_SECONDS`` old and at once when a
commit reverted with one of ``POLICY_REVERTS`` (say, ``MultisigRequired``: a main node started
before the chain admin set the validator set).
"""

from __future__ import annotations

from dataclasses import dataclass

SIG_THRESHOLD = "batchVerificationThreshold(address)"
SIG_VALIDATORS = "batchValidators(address)"
#: The signing step re-reads the policy from L1 before a commit when its last read is older.
POLICY_REFRESH_SECONDS = 10.0
#: Timelock reverts meaning "L1's policy is not the one this commit was made under": a plain
#: commit once L1 has a threshold, a multisig one after the threshold rose or the set changed.
POLICY_REVERTS = ("MultisigRequired", "NotEnoughSignatures", "SignerNotValidator")


@dataclass(frozen=True)
class SigningPolicy:
    """How many signatures of whom a commit needs, and whether L1 checks them."""

    threshold: int
    signers: frozenset[bytes]
    #: L1 has a policy: commit through ``commitBatchesMultisig``.
    on_l1: bool

    @property
    def source(self) -> str:
        return "L1" if self.on_l1 else "config"

    def as_json(self) -> dict:
        return {
            "threshold": self.threshold,
            "signers": sorted("0x" + s.hex() for s in self.signers),
            "source": self.source,
        }


def _address(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def effective_policy(config, l1_threshold: int, l1_validators) -> SigningPolicy:
    """``config`` is the ``BatchVerificationConfig``; the L1 values from ``read_l1_policy``."""
    if l1_threshold > 0 or l1_validators:
        return SigningPolicy(
            max(config.threshold, l1_threshold), frozenset(bytes(v) for v in l1_validators), True
        )
    signers = frozenset(_address(a.lower()) for a in config.accepted_signers)
    return SigningPolicy(config.threshold, signers, False)


async def read_l1_policy(l1_client, timelock: bytes, chain_address: bytes):
    """``(threshold, [validator addresses])`` of the chain on the validator timelock."""
    chain = "0x" + bytes(chain_address).hex()
    (threshold,) = await l1_client.call_function(timelock, SIG_THRESHOLD, [chain], ["uint256"])
    (validators,) = await l1_client.call_function(timelock, SIG_VALIDATORS, [chain], ["address[]"])
    return threshold, [bytes.fromhex(v[2:]) for v in validators]


class L1PolicyReader:
    """``await reader()`` is the effective policy of ``config`` and the chain's current L1
    values (``read_l1_policy``); ``L1Error`` when L1 cannot answer."""

    def __init__(self, config, l1_client, timelock: bytes, chain_address: bytes):
        self._config = config
        self._client = l1_client
        self._timelock = bytes(timelock)
        self._chain = bytes(chain_address)

    async def __call__(self) -> SigningPolicy:
        threshold, validators = await read_l1_policy(self._client, self._timelock, self._chain)
        return effective_policy(self._config, threshold, validators)
