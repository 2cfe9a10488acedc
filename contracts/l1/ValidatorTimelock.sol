// SPDX-License-Identifier: MIT
// The validator timelock: the only caller the chains' Executor accepts. It forwards commit /
// prove / execute calls from the operators the owner named for each chain and role (commit,
// prove, execute: three distinct keys by default) and refuses everyone else. No delay is applied.
//
// It is also the reference's MultisigCommitter (zksync-os-server.md §8.2): the owner (the chain
// admin) gives a chain a validator set and a threshold; while the threshold is above 0 a commit
// must come through commitBatchesMultisig with at least `threshold` EIP-712 signatures of
// validators over (chainAddress, from, to, batchData), signers sorted ascending. Threshold 0
// keeps the plain commitBatchesSharedBridge path.
pragma solidity 0.8.37;

interface IExecutor {
    function commitBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external;
    function proveBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external;
    function executeBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external;
}

contract ValidatorTimelock {
    uint8 public constant COMMITTER_ROLE = 1;
    uint8 public constant PROVER_ROLE = 2;
    uint8 public constant EXECUTOR_ROLE = 4;

    bytes32 public constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 public constant COMMIT_BATCHES_MULTISIG_TYPEHASH = keccak256(
        "CommitBatchesMultisig(address chainAddress,uint256 processBatchFrom,uint256 processBatchTo,bytes batchData)"
    );
    /// secp256k1n / 2: signatures with a higher s are malleable copies and are refused.
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    address public immutable owner;
    /// chain address => operator => bit set of roles.
    mapping(address => mapping(address => uint8)) public roles;
    /// chain address => signatures a commit needs (0: plain commits).
    mapping(address => uint256) public batchVerificationThreshold;
    /// chain address => validator => in the set.
    mapping(address => mapping(address => bool)) public isBatchValidator;
    mapping(address => address[]) internal _batchValidators;

    event ValidatorRolesSet(address indexed chainAddress, address indexed validator, uint8 roles);
    event BatchVerificationSet(address indexed chainAddress, uint256 threshold, address[] validators);

    error OnlyOwner(address caller);
    error NotOperator(address chainAddress, address caller, uint8 role);
    error ThresholdAboveValidators(uint256 threshold, uint256 validators);
    error DuplicateValidator(address validator);
    error MultisigRequired(address chainAddress, uint256 threshold);
    error SignatureCountMismatch(uint256 signers, uint256 signatures);
    error NotEnoughSignatures(uint256 given, uint256 threshold);
    error SignersNotSorted(uint256 index);
    error DuplicateSigner(address signer);
    error SignerNotValidator(address signer);
    error InvalidSignature(uint256 index);
    error SignatureMismatch(uint256 index, address signer, address recovered);

    constructor(address owner_) {
        owner = owner_;
    }

    /// Give `validator` exactly the roles in `roleBits` (COMMITTER | PROVER | EXECUTOR) on a chain.
    function setValidatorRoles(address chainAddress, address validator, uint8 roleBits) external {
        if (msg.sender != owner) revert OnlyOwner(msg.sender);
        roles[chainAddress][validator] = roleBits;
        emit ValidatorRolesSet(chainAddress, validator, roleBits);
    }

    function hasRole(address chainAddress, address validator, uint8 role) public view returns (bool) {
        return roles[chainAddress][validator] & role == role;
    }

    /// Replace a chain's batch verification policy: the validator set and the threshold.
    function setBatchVerification(address chainAddress, address[] calldata validators, uint256 threshold)
        external
    {
        if (msg.sender != owner) revert OnlyOwner(msg.sender);
        if (threshold > validators.length) revert ThresholdAboveValidators(threshold, validators.length);
        address[] storage current = _batchValidators[chainAddress];
        for (uint256 i = 0; i < current.length; i++) {
            isBatchValidator[chainAddress][current[i]] = false;
        }
        delete _batchValidators[chainAddress];
        for (uint256 i = 0; i < validators.length; i++) {
            if (isBatchValidator[chainAddress][validators[i]]) revert DuplicateValidator(validators[i]);
            isBatchValidator[chainAddress][validators[i]] = true;
            _batchValidators[chainAddress].push(validators[i]);
        }
        batchVerificationThreshold[chainAddress] = threshold;
        emit BatchVerificationSet(chainAddress, threshold, validators);
    }

    function batchValidators(address chainAddress) external view returns (address[] memory) {
        return _batchValidators[chainAddress];
    }

    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("MultisigCommitter"), keccak256("1"), block.chainid, address(this))
        );
    }

    /// The EIP-712 digest the validators sign for a commit of batches `from..to` with `batchData`.
    function commitBatchesMultisigDigest(address chainAddress, uint256 from, uint256 to, bytes calldata batchData)
        public
        view
        returns (bytes32)
    {
        bytes32 structHash =
            keccak256(abi.encode(COMMIT_BATCHES_MULTISIG_TYPEHASH, chainAddress, from, to, keccak256(batchData)));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function commitBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external {
        _only(chainAddress, COMMITTER_ROLE);
        uint256 threshold = batchVerificationThreshold[chainAddress];
        if (threshold != 0) revert MultisigRequired(chainAddress, threshold);
        IExecutor(chainAddress).commitBatchesSharedBridge(chainAddress, from, to, data);
    }

    /// Commit with the validators' signatures: `signers` strictly ascending, each in the set,
    /// `signatures[i]` (65 bytes r || s || v) by `signers[i]` over the digest above.
    function commitBatchesMultisig(
        address chainAddress,
        uint256 from,
        uint256 to,
        bytes calldata batchData,
        address[] calldata signers,
        bytes[] calldata signatures
    ) external {
        _only(chainAddress, COMMITTER_ROLE);
        if (signers.length != signatures.length) revert SignatureCountMismatch(signers.length, signatures.length);
        uint256 threshold = batchVerificationThreshold[chainAddress];
        if (signers.length < threshold) revert NotEnoughSignatures(signers.length, threshold);
        bytes32 digest = commitBatchesMultisigDigest(chainAddress, from, to, batchData);
        for (uint256 i = 0; i < signers.length; i++) {
            address signer = signers[i];
            if (i > 0) {
                if (signer == signers[i - 1]) revert DuplicateSigner(signer);
                if (signer < signers[i - 1]) revert SignersNotSorted(i);
            }
            if (!isBatchValidator[chainAddress][signer]) revert SignerNotValidator(signer);
            address recovered = _recover(digest, signatures[i], i);
            if (recovered != signer) revert SignatureMismatch(i, signer, recovered);
        }
        IExecutor(chainAddress).commitBatchesSharedBridge(chainAddress, from, to, batchData);
    }

    function proveBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external {
        _only(chainAddress, PROVER_ROLE);
        IExecutor(chainAddress).proveBatchesSharedBridge(chainAddress, from, to, data);
    }

    function executeBatchesSharedBridge(address chainAddress, uint256 from, uint256 to, bytes calldata data) external {
        _only(chainAddress, EXECUTOR_ROLE);
        IExecutor(chainAddress).executeBatchesSharedBridge(chainAddress, from, to, data);
    }

    function _only(address chainAddress, uint8 role) internal view {
        if (!hasRole(chainAddress, msg.sender, role)) revert NotOperator(chainAddress, msg.sender, role);
    }

    function _recover(bytes32 digest, bytes calldata signature, uint256 index) internal pure returns (address) {
        if (signature.length != 65) revert InvalidSignature(index);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if ((v != 27 && v != 28) || uint256(s) > HALF_N) revert InvalidSignature(index);
        address recovered = ecrecover(digest, v, r, s);
        if (recovered == address(0)) revert InvalidSignature(index);
        return recovered;
    }
}
