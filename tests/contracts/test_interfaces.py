"""Our contracts' selectors and event topics are the reference's (§7), and the committed
artifacts are what the sources compile to."""

from __future__ import annotations

import os

from twisted.trial.unittest import SkipTest, TestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.hashing import keccak256
from zkos_tw.l1.artifacts import (
    DEPLOYABLE,
    ArtifactError,
    abi_signature,
    build_dir,
    compile_sources,
    default_solcjs,
    load_artifact,
    render,
    sources_dir,
)

BUILD = build_dir(REPO_ROOT)

#: (contract, function) -> selector, from zksync-os-server.md §7.1 / §7.2.
SELECTORS = {
    ("Bridgehub", "getAllZKChainChainIDs"): "68b8d331",
    ("Bridgehub", "getZKChain"): "e680c4c1",
    ("Bridgehub", "chainTypeManager"): "9d5bd3da",
    ("Bridgehub", "sharedBridge"): "38720778",
    ("Bridgehub", "l2TransactionBaseCost"): "71623274",
    ("Bridgehub", "requestL2TransactionDirect"): "d52471c1",
    ("ChainTypeManager", "validatorTimelockPostV29"): "ef9955bc",
    ("ZKChain", "getTotalBatchesCommitted"): "db1f0bf9",
    ("ZKChain", "getTotalBatchesVerified"): "ef3f0bae",
    ("ZKChain", "getTotalBatchesExecuted"): "b8c2f66f",
    ("ZKChain", "getPubdataPricingMode"): "06d49e5b",
    ("ZKChain", "storedBatchHash"): "b22dd78e",
    ("ZKChain", "getTotalPriorityTxs"): "a1954fc5",
    ("ZKChain", "commitBatchesSharedBridge"): "0db9eb87",
    ("ZKChain", "proveBatchesSharedBridge"): "9271e450",
    ("ZKChain", "executeBatchesSharedBridge"): "a085344d",
    ("ValidatorTimelock", "commitBatchesSharedBridge"): "0db9eb87",
    ("ValidatorTimelock", "proveBatchesSharedBridge"): "9271e450",
    ("ValidatorTimelock", "executeBatchesSharedBridge"): "a085344d",
}
#: event -> topic0, from §7.3, §7.5, §7.6.
TOPICS = {
    "NewPriorityRequest": "4531cd5795773d7101c17bdeb9f5ab7f47d7056017506f937083be5d6e77a382",
    "BlockCommit": "8f2916b2f2d78cc5890ead36c06c0f6d5d112c7e103589947e8e2f0d6eddb763",
    "BlockExecution": "2402307311a4d6604e4e7b4c8a15a7e1213edb39c16a31efa70afb06030d3165",
    "BlocksVerification": "22c9005dd88c18b552a1cd7e8b3b937fcde9ca69213c1f658f54d572e4877a81",
    "GenesisUpgrade": "c5902263211386c797097c5eef7ce20567f0e13359623233314cfa01a55341da",
}
#: Events whose parameters are all unindexed / which are indexed (the node filters on topics).
INDEXED = {
    "NewPriorityRequest": [False, False, False, False, False],
    "BlockCommit": [True, True, True],
    "BlockExecution": [True, True, True],
    "BlocksVerification": [True, True],
    "GenesisUpgrade": [True, False, True, False],
}


class InterfaceTests(TestCase):
    """Selectors and topics computed from the committed ABIs."""

    def test_selectors(self):
        for (contract, name), expected in SELECTORS.items():
            (item,) = [
                i
                for i in load_artifact(contract, BUILD).abi
                if i["type"] == "function" and i["name"] == name
            ]
            selector = keccak256(abi_signature(item).encode())[:4].hex()
            self.assertEqual(selector, expected, f"{contract}.{abi_signature(item)}")

    def test_event_topics(self):
        abi = load_artifact("ZKChain", BUILD).abi
        for name, expected in TOPICS.items():
            (item,) = [i for i in abi if i["type"] == "event" and i["name"] == name]
            self.assertEqual(keccak256(abi_signature(item).encode()).hex(), expected, name)
            self.assertEqual([i["indexed"] for i in item["inputs"]], INDEXED[name], name)

    def test_stored_batch_hash_is_static(self):
        """StoredBatchInfo is nine static words (its hash is keccak of 288 bytes)."""
        (item,) = [
            i for i in load_artifact("ZKChain", BUILD).abi if i.get("name") == "genesisBatchInfo"
        ]
        types = [c["type"] for c in item["outputs"][0]["components"]]
        self.assertEqual(
            types,
            [
                "uint64",
                "bytes32",
                "uint64",
                "uint256",
                "bytes32",
                "bytes32",
                "bytes32",
                "uint256",
                "bytes32",
            ],
        )


class ArtifactTests(TestCase):
    """contracts/l1/build/*.json are the compiled sources (needs solcjs 0.8.37 in .tools)."""

    def test_artifacts_match_sources(self):
        solcjs = default_solcjs(REPO_ROOT)
        if not os.access(solcjs, os.X_OK):
            if os.environ.get("CI"):
                self.fail(f"solcjs is required on CI ({solcjs})")
            raise SkipTest(f"solcjs not found at {solcjs}: run `make tools`")
        documents = compile_sources(solcjs, sources_dir(REPO_ROOT))
        self.assertEqual(sorted(documents), sorted(DEPLOYABLE))
        for name, document in documents.items():
            with open(os.path.join(BUILD, f"{name}.json")) as f:
                self.assertEqual(
                    f.read(), render(document), f"{name}: run `python contracts/l1/build.py`"
                )

    def test_bad_artifact(self):
        """A missing or foreign artifact gives one clear error."""
        with self.assertRaises(ArtifactError) as ctx:
            load_artifact("NoSuchContract")
        self.assertIn("NoSuchContract.json", str(ctx.exception))
        directory = self.mktemp()
        os.makedirs(directory)
        with open(os.path.join(directory, "X.json"), "w") as f:
            f.write('{"format": 99}')
        with self.assertRaises(ArtifactError) as ctx:
            load_artifact("X", directory)
        self.assertIn("unsupported artifact format 99", str(ctx.exception))


class AbiHelperTests(TestCase):
    """The codec helpers deploy.py and the tests use (no anvil)."""

    def test_decode_error(self):
        from eth_abi import encode

        from zkos_tw.l1.artifacts import decode_error

        abi = load_artifact("ZKChain", BUILD).abi
        selector = keccak256(b"BatchNumberMismatch(uint256,uint256)")[:4]
        data = selector + encode(["uint256", "uint256"], [1, 2])
        self.assertEqual(decode_error(data, abi), "BatchNumberMismatch(1, 2)")
        data = keccak256(b"Error(string)")[:4] + encode(["string"], ["no"])
        self.assertEqual(decode_error(data), "Error(no)")
        data = keccak256(b"Panic(uint256)")[:4] + encode(["uint256"], [0x11])
        self.assertEqual(decode_error(data), "Panic(17)")
        self.assertEqual(decode_error(b""), "reverted without data")
        self.assertEqual(decode_error(b"\1\2\3\4"), "reverted with 0x01020304")

    def test_encode_call(self):
        from zkos_tw.l1.artifacts import encode_call

        abi = load_artifact("Bridgehub", BUILD).abi
        self.assertEqual(encode_call(abi, "getZKChain", 270).hex(), "e680c4c1" + f"{270:064x}")
        with self.assertRaises(ArtifactError):
            encode_call(abi, "noSuchFunction")
