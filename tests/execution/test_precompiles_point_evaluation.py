"""Tests of the POINT_EVALUATION precompile (0x0a, EIP-4844) with the mainnet trusted setup.

The known answer was made with ckzg and the same setup: a blob whose i-th field element is
``i * i + 7``, opened at ``z = 0x5a6b``. The 122 external KZG vectors of the execution-spec-tests
(``point_evaluation_precompile_external_vectors`` in the shared GeneralStateTests) run too when the
shared fixtures are present. The first call loads the setup, which takes about two seconds.
"""

import json
import tarfile

from twisted.trial.unittest import SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw.execution.precompiles import PRECOMPILES, PrecompileFailure
from zkos_tw.execution.precompiles.point_evaluation import (
    BLS_MODULUS,
    kzg_to_versioned_hash,
    point_evaluation,
    trusted_setup,
    trusted_setup_path,
)

VALID_INPUT = bytes.fromhex(
    "012fbcce4b727c5aac28fa0f5223d397bc6050019d43728e2fbdb8c1c3df6598"  # versioned hash
    "0000000000000000000000000000000000000000000000000000000000005a6b"  # z
    "47c7dc58997463aa07c5ded17a00013e079716f216854cec0d3b8d238ea630fe"  # y
    "9557ada58d1ea7f48806d66720bb05d148ce52dfab866d26b638e3c838db4d39"  # commitment
    "0a37ff3ea7fedf29e9c9181b3ea9e5899621d937fcfacba5"
    "9fe27d9843076a0bd99e8808783f9bf1d85b0c596c1887d9895ebfc4945ad42f"  # proof
    "dd91fc4fddaeb934"
)
EXPECTED_OUTPUT = bytes.fromhex(
    "0000000000000000000000000000000000000000000000000000000000001000"
    "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"
)

EXTERNAL_VECTORS = (
    "GeneralStateTests/Pyspecs/cancun/eip4844_blobs/"
    "point_evaluation_precompile_external_vectors.json"
)


def _with(data: bytes, offset: int, replacement: bytes) -> bytes:
    """``data`` with the bytes at ``offset`` replaced."""
    return data[:offset] + replacement + data[offset + len(replacement) :]


def _rehash(data: bytes) -> bytes:
    """``data`` with its versioned hash recomputed from its commitment."""
    return kzg_to_versioned_hash(data[96:144]) + data[32:]


class PointEvaluationTests(SynchronousTestCase):
    """Output, gas and every failure of POINT_EVALUATION."""

    def test_registered(self):
        """POINT_EVALUATION is at address 0x0a."""
        self.assertIs(PRECOMPILES[(10).to_bytes(20, "big")], point_evaluation)

    def test_valid_proof(self):
        """A valid opening returns FIELD_ELEMENTS_PER_BLOB and BLS_MODULUS for 50000 gas."""
        self.assertEqual(point_evaluation(VALID_INPUT, 50000), (50000, EXPECTED_OUTPUT))
        self.assertEqual(int.from_bytes(EXPECTED_OUTPUT[32:], "big"), BLS_MODULUS)

    def test_setup_loaded_once(self):
        """The trusted setup is loaded once and shared; its file is the mainnet one."""
        self.assertIs(trusted_setup(), trusted_setup())
        with open(trusted_setup_path()) as f:
            self.assertEqual(f.readline().strip(), "4096")

    def test_versioned_hash(self):
        """The versioned hash is 0x01 || sha256(commitment)[1:]."""
        self.assertEqual(kzg_to_versioned_hash(VALID_INPUT[96:144]), VALID_INPUT[:32])

    def test_wrong_versioned_hash(self):
        """A versioned hash with the wrong version byte or digest fails."""
        for bad in (_with(VALID_INPUT, 0, b"\x02"), _with(VALID_INPUT, 31, b"\x00")):
            self.assertRaises(PrecompileFailure, point_evaluation, bad, 50000)

    def test_wrong_value(self):
        """A proof that does not open the commitment to y at z fails."""
        wrong_y = _with(VALID_INPUT, 95, bytes((VALID_INPUT[95] ^ 1,)))
        wrong_z = _with(VALID_INPUT, 63, b"\x6c")
        for bad in (wrong_y, wrong_z):
            self.assertRaises(PrecompileFailure, point_evaluation, bad, 50000)

    def test_non_canonical_field_elements(self):
        """z or y not below the BLS modulus fails."""
        modulus = BLS_MODULUS.to_bytes(32, "big")
        for offset in (32, 64):
            bad = _with(VALID_INPUT, offset, modulus)
            self.assertRaises(PrecompileFailure, point_evaluation, bad, 50000)

    def test_invalid_points(self):
        """A commitment or proof that is not a valid compressed G1 point fails."""
        bad_commitment = _rehash(_with(VALID_INPUT, 96, bytes(48)))
        bad_proof = _with(VALID_INPUT, 144, b"\xff" * 48)
        for bad in (bad_commitment, bad_proof):
            self.assertRaises(PrecompileFailure, point_evaluation, bad, 50000)

    def test_wrong_length(self):
        """Input of any length but 192 fails."""
        for bad in (b"", VALID_INPUT[:-1], VALID_INPUT + b"\x00"):
            self.assertRaises(PrecompileFailure, point_evaluation, bad, 10**6)

    def test_out_of_gas(self):
        """49999 gas is not enough, even for a valid proof."""
        self.assertRaises(PrecompileFailure, point_evaluation, VALID_INPUT, 49999)

    def test_external_vectors(self):
        """The execution-spec-tests KZG vectors: "correct_proof" cases pass, all others fail."""
        with tarfile.open(fixture_path("ethereum-tests", "GeneralStateTests.tgz")) as archive:
            cases = json.load(archive.extractfile(EXTERNAL_VECTORS))
        self.assertEqual(len(cases), 122)
        for name, case in cases.items():
            data = bytes.fromhex(case["transaction"]["data"][0][2:])
            with self.subTest(name=name):
                if "case_correct_proof" in name:
                    self.assertEqual(point_evaluation(data, 50000), (50000, EXPECTED_OUTPUT))
                else:
                    self.assertRaises(PrecompileFailure, point_evaluation, data, 50000)
