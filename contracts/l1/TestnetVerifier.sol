// SPDX-License-Identifier: MIT
// The testnet verifier: accepts only the fake-SNARK proof form [3, 0, 13, public_input] of the
// reference (§7.2) and only when public_input is the one the Executor computed from the batches.
// Real proofs (type 2) cannot be checked here and are refused.
pragma solidity 0.8.37;

contract TestnetVerifier {
    uint256 public constant FAKE_PROOF_TYPE = 3;
    uint256 public constant FAKE_PROOF_MAGIC = 13;

    error UnsupportedProofType(uint256 proofType);
    error MalformedFakeProof();
    error WrongPublicInput(uint256 expected, uint256 got);

    /// True if `proof` proves `publicInputs[0]`; reverts with the reason otherwise.
    function verify(uint256[] calldata publicInputs, uint256[] calldata proof) external pure returns (bool) {
        if (proof.length == 0) revert MalformedFakeProof();
        uint256 proofType = proof[0] & 0xff;
        if (proofType != FAKE_PROOF_TYPE) revert UnsupportedProofType(proofType);
        if (proof.length != 4 || proof[0] != FAKE_PROOF_TYPE || proof[1] != 0 || proof[2] != FAKE_PROOF_MAGIC) {
            revert MalformedFakeProof();
        }
        if (publicInputs.length != 1 || proof[3] != publicInputs[0]) {
            revert WrongPublicInput(publicInputs.length == 1 ? publicInputs[0] : 0, proof[3]);
        }
        return true;
    }
}
