// SPDX-License-Identifier: MIT
// The testnet verifier. It accepts two proof forms of the reference (§7.2), and each only when
// it proves the public input the Executor computed from the batches:
//   fake: [3, 0, 13, public_input];
//   real: [2 | (verifier_version << 8), 0, aggregate, r, s, tail] — the 128-byte signed SNARK
//         aggregate of a `zkosctl prover --snark` worker (format V2, docs/proving.md) as four
//         big-endian words, where tail = format 2 (byte 0) || v 0/1 (byte 1) || 14 zero bytes
//         || first batch u64 || last batch u64. The aggregate must equal the public input, and
//         the secp256k1 signature over
//         keccak256("zkos-tw snark aggregate v2" || first u64 BE || last u64 BE || aggregate)
//         must recover to a signer the admin registered (setSnarkSigner).
pragma solidity 0.8.37;

contract TestnetVerifier {
    uint256 public constant FAKE_PROOF_TYPE = 3;
    uint256 public constant FAKE_PROOF_MAGIC = 13;
    uint256 public constant REAL_PROOF_TYPE = 2;
    uint256 public constant SNARK_AGGREGATE_FORMAT = 2;
    bytes public constant SNARK_AGGREGATE_DOMAIN = "zkos-tw snark aggregate v2";
    /// secp256k1n / 2: a larger s is the malleable twin of a valid signature.
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    address public owner;
    mapping(address => bool) public isSnarkSigner;

    event SnarkSignerSet(address indexed signer, bool registered);

    error UnsupportedProofType(uint256 proofType);
    error MalformedFakeProof();
    error MalformedRealProof();
    error WrongPublicInput(uint256 expected, uint256 got);
    error UnknownSnarkSigner(address signer);
    error NotOwner();

    constructor(address admin) {
        owner = admin;
    }

    /// Register (`registered` true) or remove a SNARK signer; the admin only.
    function setSnarkSigner(address signer, bool registered) external {
        if (msg.sender != owner) revert NotOwner();
        isSnarkSigner[signer] = registered;
        emit SnarkSignerSet(signer, registered);
    }

    /// True if `proof` proves `publicInputs[0]`; reverts with the reason otherwise.
    function verify(uint256[] calldata publicInputs, uint256[] calldata proof) external view returns (bool) {
        if (proof.length == 0) revert MalformedFakeProof();
        uint256 proofType = proof[0] & 0xff;
        if (proofType == FAKE_PROOF_TYPE) {
            if (proof.length != 4 || proof[0] != FAKE_PROOF_TYPE || proof[1] != 0 || proof[2] != FAKE_PROOF_MAGIC) {
                revert MalformedFakeProof();
            }
            _checkInput(publicInputs, proof[3]);
            return true;
        }
        if (proofType != REAL_PROOF_TYPE) revert UnsupportedProofType(proofType);
        if (proof.length != 6 || proof[1] != 0) revert MalformedRealProof();
        uint256 tail = proof[5];
        uint256 v = (tail >> 240) & 0xff;
        if (tail >> 248 != SNARK_AGGREGATE_FORMAT || v > 1 || (tail >> 128) & ((1 << 112) - 1) != 0) {
            revert MalformedRealProof();
        }
        if (proof[3] == 0 || proof[4] == 0 || proof[4] > HALF_N) revert MalformedRealProof();
        _checkInput(publicInputs, proof[2]);
        bytes32 digest = keccak256(
            abi.encodePacked(SNARK_AGGREGATE_DOMAIN, uint64(tail >> 64), uint64(tail), bytes32(proof[2]))
        );
        address signer = ecrecover(digest, uint8(v + 27), bytes32(proof[3]), bytes32(proof[4]));
        if (signer == address(0) || !isSnarkSigner[signer]) revert UnknownSnarkSigner(signer);
        return true;
    }

    function _checkInput(uint256[] calldata publicInputs, uint256 got) internal pure {
        if (publicInputs.length != 1 || got != publicInputs[0]) {
            revert WrongPublicInput(publicInputs.length == 1 ? publicInputs[0] : 0, got);
        }
    }
}
