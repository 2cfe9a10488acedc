"""Golden values of the batch infos in ``zkos_tw.batcher.info`` (zksync-os-server.md §6.4)."""

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.batcher.info import EMPTY_KECCAK, GENESIS_COMMITMENT, StoredBatchInfo

GENESIS_BATCH_HASH = "492e189b00c1e79ab2da8e9475e345cbc4ad91b89650d086d956f2dd58ce2d89"


class GenesisStoredBatchInfoTests(SynchronousTestCase):
    def test_reference_genesis_hash(self):
        """Batch 0 of the reference genesis.json hashes to L1's 0x492e18…2d89."""
        with open(fixture_path("zksync-os", "genesis.json")) as f:
            root = bytes.fromhex(json.load(f)["genesis_root"][2:])
        info = StoredBatchInfo.genesis(root)
        self.assertEqual(info.hash().hex(), GENESIS_BATCH_HASH)

    def test_genesis_fields(self):
        """The genesis batch: number 0, no L1 txs, H_k(""), zero roots, commitment 0x..01."""
        info = StoredBatchInfo.genesis(b"\7" * 32)
        self.assertEqual(
            info.abi_tuple(),
            (0, b"\7" * 32, 0, 0, EMPTY_KECCAK, b"\0" * 32, b"\0" * 32, 0, GENESIS_COMMITMENT),
        )
