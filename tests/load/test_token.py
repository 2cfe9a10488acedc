"""The committed TestToken creation code is what solcjs makes of the source today."""

import os

from twisted.trial.unittest import TestCase

from tests.fixtures import REPO_ROOT
from zkos_tw.load import token


class TokenArtifactTests(TestCase):
    timeout = 180

    def test_matches_the_source(self):
        """Recompile tests/integration/contracts/TestToken.sol; the bytes must be equal."""
        from tests.integration.solc import compile_contract

        _, bytecode = compile_contract(os.path.join(REPO_ROOT, token.SOURCE_PATH), "TestToken")
        self.assertEqual(bytecode, token.CREATION_CODE)

    def test_calldata(self):
        to = bytes.fromhex("5a67ee02274d9ec050d412b96fe810be4d71e7a0")
        data = token.transfer_data(to, 1234)
        self.assertEqual(data[:4].hex(), "a9059cbb")
        self.assertEqual(data[4:36], bytes(12) + to)
        self.assertEqual(int.from_bytes(data[36:], "big"), 1234)
        self.assertEqual(token.deploy_data(5)[-32:], (5).to_bytes(32, "big"))
        self.assertEqual(token.balance_of_data(to), bytes.fromhex("70a08231") + bytes(12) + to)
