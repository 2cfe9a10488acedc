"""The Ethereum state tests (``GeneralStateTests.tgz``, Cancun) and the evm-benchmarks (London).

By default a representative slice runs: a few files per instruction family, precompiles,
transaction types, creates and collisions, self-destruct, refunds and transient storage, kept
under a minute on one core. With ``ZKOS_CONFORMANCE=full`` every Cancun case runs (in
``ZKOS_CONFORMANCE_JOBS`` processes, default 2) and the test fails below a 99.5% pass rate; the
evm-benchmarks must all pass. Failures are reported with their file, case and indexes.

Every test runs on both instruction loops (``execution.engines``): the pure reference and the
compiled ``ext/_evm.pyx`` (skipped when it is not built, failed when ZKOS_REQUIRE_EXTENSIONS is
set). ``EngineAgreementTests`` checks that both pass exactly the same set of slice cases.
"""

import glob
import json
import os
import sys
import tarfile
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.fixtures import fixture_path
from zkos_tw import extensions
from zkos_tw.cli.statetest import run_file, run_paths
from zkos_tw.execution import engines

FULL = os.environ.get("ZKOS_CONFORMANCE", "") == "full"
PASS_RATE = 0.995
# Seconds one case may run in the full run before it counts as failed; the slowest passing
# cases (VMTests/vmPerformance/loopMul, 10 million loop iterations) need 5-10 minutes.
# ZKOS_CONFORMANCE_REPORT=path writes a JSON summary (counts, wall time, slowest files, failures).
CASE_TIMEOUT = int(os.environ.get("ZKOS_CONFORMANCE_TIMEOUT", "1800"))
# Files reported as failed without running them, with the reason (see docs/conformance.md).
NOT_RUN = {
    "stTimeConsuming/CALLBlake2f_MaxRounds.json": (
        "BLAKE2f with 2**32-1 rounds (about 4e9 rounds) cannot finish in pure Python"
    ),
}

# family -> files inside GeneralStateTests.tgz (without the leading "GeneralStateTests/").
SLICE = {
    "arithmetic": [
        "VMTests/vmArithmeticTest/add.json",
        "VMTests/vmArithmeticTest/sdiv.json",
        "VMTests/vmArithmeticTest/smod.json",
        "VMTests/vmArithmeticTest/mulmod.json",
        "VMTests/vmArithmeticTest/exp.json",
        "VMTests/vmArithmeticTest/signextend.json",
    ],
    "comparison_bitwise": [
        "VMTests/vmBitwiseLogicOperation/byte.json",
        "VMTests/vmBitwiseLogicOperation/slt.json",
        "VMTests/vmBitwiseLogicOperation/sgt.json",
        "stShift/sar01.json",
        "stShift/shl01.json",
        "stShift/shr01.json",
    ],
    "keccak_environment_block": [
        "VMTests/vmTests/sha3.json",
        "VMTests/vmTests/envInfo.json",
        "VMTests/vmTests/blockInfo.json",
        "VMTests/vmTests/calldatacopy.json",
        "VMTests/vmTests/calldataload.json",
        "stExtCodeHash/extCodeHashNonExistingAccount.json",
        "stSelfBalance/selfBalance.json",
        "stChainId/chainId.json",
        "stReturnDataTest/returndatacopy_following_successful_create.json",
    ],
    "stack_memory_flow": [
        "VMTests/vmTests/dup.json",
        "VMTests/vmTests/swap.json",
        "VMTests/vmTests/push.json",
        "VMTests/vmIOandFlowOperations/jump.json",
        "VMTests/vmIOandFlowOperations/jumpi.json",
        "VMTests/vmIOandFlowOperations/mstore8.json",
        "VMTests/vmIOandFlowOperations/msize.json",
        "stMemoryTest/mem32kb.json",
        "stStackTests/stackOverflowM1.json",
        "stBadOpcode/invalidAddr.json",
        "Shanghai/stEIP3855-push0/push0.json",
    ],
    "logs": [
        "VMTests/vmLogTest/log0.json",
        "VMTests/vmLogTest/log4.json",
        "stLogTests/log2_logMemsizeTooHigh.json",
    ],
    "storage_refunds": [
        "stSStoreTest/sstore_0toXto0.json",
        "stSStoreTest/sstore_XtoYtoX.json",
        "stSStoreTest/sstoreGas.json",
        "stRefundTest/refund_CallA.json",
        "stRefundTest/refundSuicide50procentCap.json",
        "stSLoadTest/sloadGasCost.json",
    ],
    "transient_mcopy_blobs": [
        "Cancun/stEIP1153-transientStorage/10_revertUndoesStoreAfterReturn.json",
        "Cancun/stEIP1153-transientStorage/17_tstoreGas.json",
        "Cancun/stEIP1153-transientStorage/transStorageReset.json",
        "Cancun/stEIP5656-MCOPY/MCOPY.json",
        "Cancun/stEIP5656-MCOPY/MCOPY_memory_expansion_cost.json",
        "Cancun/stEIP4844-blobtransactions/opcodeBlobhBounds.json",
        "Cancun/stEIP4844-blobtransactions/wrongBlobhashVersion.json",
        "Cancun/stEIP4844-blobtransactions/createBlobhashTx.json",
        "Pyspecs/cancun/eip1153_tstore/tload_after_tstore.json",
        "Pyspecs/cancun/eip1153_tstore/reentrant_call.json",
        "Pyspecs/cancun/eip4844_blobs/blob_tx_attribute_opcodes.json",
        "Pyspecs/cancun/eip4844_blobs/invalid_tx_blob_count.json",
        "Pyspecs/cancun/eip7516_blobgasfee/blobbasefee_out_of_gas.json",
        "Pyspecs/shanghai/eip3855_push0/push0_fill_stack.json",
    ],
    "calls": [
        "stCallCodes/callcall_00.json",
        "stCallCodes/callcodecallcode_11.json",
        "stDelegatecallTestHomestead/delegatecallBasic.json",
        "stStaticCall/static_callBasic.json",
        "stEIP150Specific/CallAndCallcodeConsumeMoreGasThenTransactionHas.json",
        "stEIP150singleCodeGasPrices/gasCostBerlin.json",
        "stMemExpandingEIP150Calls/CallAndCallcodeConsumeMoreGasThenTransactionHasWithMemExpandingCalls.json",
        "Shanghai/stEIP3651-warmcoinbase/coinbaseWarmAccountCallGas.json",
        "stRevertTest/RevertOpcodeCalls.json",
    ],
    "create_collision": [
        "stCreate2/create2collisionStorageParis.json",
        "stCreate2/CREATE2_Bounds.json",
        "stCreateTest/CREATE_ContractRETURNBigOffset.json",
        "stCreateTest/CreateCollisionToEmpty2.json",
        "stInitCodeTest/ReturnTest.json",
        "stCodeSizeLimit/codesizeOOGInvalidSize.json",
        "stSStoreTest/InitCollisionParis.json",
        "Shanghai/stEIP3860-limitmeterinitcode/createInitCodeSizeLimit.json",
    ],
    "selfdestruct": [
        "stSystemOperationsTest/suicideSendEtherToMe.json",
        "stSystemOperationsTest/ABAcalls1.json",
        "VMTests/vmTests/suicide.json",
        "Pyspecs/cancun/eip6780_selfdestruct/selfdestruct_created_in_same_tx_with_revert.json",
        "Pyspecs/cancun/eip6780_selfdestruct/selfdestruct_not_created_in_same_tx_with_revert.json",
        "Pyspecs/cancun/eip6780_selfdestruct/self_destructing_initcode_create_tx.json",
        "Pyspecs/cancun/eip6780_selfdestruct/delegatecall_from_new_contract_to_pre_existing_contract.json",
    ],
    "precompiles": [
        "stPreCompiledContracts/idPrecomps.json",
        "stPreCompiledContracts2/CallEcrecover0.json",
        "stPreCompiledContracts2/CallSha256_1.json",
        "stPreCompiledContracts2/CallRipemd160_1.json",
        "stPreCompiledContracts/modexpTests.json",
        "stZeroKnowledge/ecpairing_one_point_fail.json",
        "stZeroKnowledge2/ecmul_1-2_2_21000_128.json",
        "stPreCompiledContracts/blake2B.json",
        "Pyspecs/cancun/eip4844_blobs/valid_precompile_calls.json",
        "Pyspecs/cancun/eip4844_blobs/point_evaluation_precompile_gas_tx_to.json",
    ],
    "transactions": [
        "stTransactionTest/ValueOverflowParis.json",
        "stTransactionTest/NoSrcAccount.json",
        "stTransactionTest/Opcodes_TransactionInit.json",
        "stEIP1559/lowGasPriceOldTypes.json",
        "stEIP1559/typeTwoBerlin.json",
        "stEIP2930/variedContext.json",
        "stEIP3607/transactionCollidingWithNonEmptyAccount_calls.json",
        "stExample/accessListExample.json",
        "stEIP158Specific/callToEmptyThenCallErrorParis.json",
        "Pyspecs/berlin/eip2930_access_list/access_list.json",
        "Pyspecs/istanbul/eip1344_chainid/chainid.json",
    ],
}


_SLICE_FILES: dict = {}  # read from the archive once per test run
_SLICE_RESULTS: dict = {}  # (engine name, file) -> results, shared by the slice tests


def _require_engine(name):
    """Skip a test of the compiled loop when it is not built (fail when it was required)."""
    if name == "cext" and engines.CEXT is None:
        if extensions.REQUIRE_EXTENSIONS:
            raise AssertionError("ZKOS_REQUIRE_EXTENSIONS is set but zkos_tw._ext._evm is missing")
        raise SkipTest("zkos_tw._ext._evm is not built (pure-only install)")


def _slice_files():
    if not _SLICE_FILES:
        names = [name for names in SLICE.values() for name in names]
        _SLICE_FILES.update(_archive_files(names))
    return _SLICE_FILES


def _slice_results(engine, key):
    """The results of one slice file on one engine, run once per test process."""
    if (engine, key) not in _SLICE_RESULTS:
        files = _slice_files()
        _, results, _, _ = run_file((key, files[key], "Cancun", 0, engine))
        _SLICE_RESULTS[engine, key] = results
    return _SLICE_RESULTS[engine, key]


def _archive_files(names):
    """``(name, bytes)`` for the wanted members of the archive, read in one pass."""
    archive = fixture_path("ethereum-tests", "GeneralStateTests.tgz")
    wanted = {"GeneralStateTests/" + name for name in names}
    found = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name in wanted:
                found[member.name] = tar.extractfile(member).read()
    return found


def _describe(failures) -> str:
    return "\n".join(
        f"{r['file']} {r['name']} {r['indexes']}: {r['error'] or 'state root mismatch'}"
        for r in failures[:50]
    )


class StateTestSliceMixin:
    """The representative slice: every listed file is present and every case passes."""

    engine = "pure"

    def setUp(self):
        _require_engine(self.engine)

    def _run_family(self, family):
        files = _slice_files()
        failures = []
        cases = 0
        for name in SLICE[family]:
            key = "GeneralStateTests/" + name
            self.assertIn(key, files, f"{name} is not in the archive")
            results = _slice_results(self.engine, key)
            cases += len(results)
            failures += [r for r in results if not r["pass"]]
        self.assertTrue(cases > 0, f"no Cancun cases in the {family} slice")
        self.assertEqual(failures, [], _describe(failures))


def _add_family_test(family):
    def test(self):
        self._run_family(family)

    test.__name__ = f"test_{family}"
    test.__doc__ = f"Every Cancun case of the {family.replace('_', ', ')} slice passes."
    setattr(StateTestSliceMixin, test.__name__, test)


for _family in SLICE:
    _add_family_test(_family)


class StateTestSliceTests(StateTestSliceMixin, SynchronousTestCase):
    """The slice on the pure reference loop."""

    engine = "pure"


class CompiledStateTestSliceTests(StateTestSliceMixin, SynchronousTestCase):
    """The slice on the compiled loop (``ext/_evm.pyx``)."""

    engine = "cext"


class EngineAgreementTests(SynchronousTestCase):
    """The compiled and the pure loop pass exactly the same set of slice cases."""

    def setUp(self):
        _require_engine("cext")

    def test_same_passing_cases(self):
        """The set of passing (file, case, indexes) is identical, and so is every post-state
        root the two loops computed."""
        passing = {}
        roots = {}
        for engine in ("pure", "cext"):
            passing[engine] = set()
            roots[engine] = {}
            for names in SLICE.values():
                for name in names:
                    key = "GeneralStateTests/" + name
                    for r in _slice_results(engine, key):
                        case = (r["file"], r["name"], json.dumps(r["indexes"], sort_keys=True))
                        roots[engine][case] = r["root"]
                        if r["pass"]:
                            passing[engine].add(case)
        self.assertTrue(len(passing["pure"]) > 100, "the slice should hold hundreds of cases")
        self.assertEqual(passing["cext"], passing["pure"])
        self.assertEqual(roots["cext"], roots["pure"])


class FullConformanceMixin:
    """All 20,969 Cancun cases and the London evm-benchmarks (``ZKOS_CONFORMANCE=full``)."""

    engine = "pure"

    def setUp(self):
        if not FULL:
            self.skipTest("set ZKOS_CONFORMANCE=full to run every state test (tox -e conformance)")
        _require_engine(self.engine)

    def test_cancun_pass_rate(self):
        """At least 99.5% of the Cancun cases pass."""
        archive = fixture_path("ethereum-tests", "GeneralStateTests.tgz")
        jobs = int(os.environ.get("ZKOS_CONFORMANCE_JOBS", "2"))
        passed = 0
        failures = []
        file_seconds = []
        started = time.perf_counter()
        for name, results, _, seconds in run_paths(
            [archive], "Cancun", jobs, CASE_TIMEOUT, NOT_RUN, engine=self.engine
        ):
            file_seconds.append((round(seconds, 2), name))
            for result in results:
                if result["pass"]:
                    passed += 1
                else:
                    failures.append(result)
        total = passed + len(failures)
        report = os.environ.get("ZKOS_CONFORMANCE_REPORT")
        if report:
            if self.engine != "pure":
                report = f"{report}.{self.engine}"
            with open(report, "w") as f:
                summary = {
                    "engine": self.engine,
                    "passed": passed,
                    "failed": len(failures),
                    "total": total,
                    "jobs": jobs,
                    "seconds": round(time.perf_counter() - started, 1),
                    "slowest_files": sorted(file_seconds, reverse=True)[:25],
                    "failures": failures,
                }
                json.dump(summary, f, indent=1)
        self.assertTrue(total >= 20_000, f"only {total} Cancun cases found")
        rate = passed / total
        slowest = ", ".join(f"{name} {s:.0f}s" for s, name in sorted(file_seconds)[-3:][::-1])
        sys.stderr.write(
            f"\nCancun state tests ({self.engine}): {passed}/{total} cases pass ({rate:.3%}), "
            f"{len(failures)} failing, {time.perf_counter() - started:.0f}s with {jobs} jobs; "
            f"slowest: {slowest}\n"
        )
        self.assertTrue(
            rate >= PASS_RATE,
            f"{passed}/{total} passed ({rate:.4%}) < {PASS_RATE:.1%}:\n{_describe(failures)}",
        )

    def test_evm_benchmarks(self):
        """Every evm-benchmarks state test passes under London, its only fork."""
        folder = fixture_path("evm-benchmarks", "benchmarks")
        paths = sorted(glob.glob(os.path.join(folder, "main", "*.json")))
        paths += sorted(glob.glob(os.path.join(folder, "micro", "*.json")))
        failures = []
        cases = 0
        for _, results, _, _ in run_paths(paths, "London", 1, engine=self.engine):
            cases += len(results)
            failures += [r for r in results if not r["pass"]]
        self.assertTrue(cases > 0)
        self.assertEqual(failures, [], _describe(failures))


class FullConformanceTests(FullConformanceMixin, SynchronousTestCase):
    """The full run on the pure reference loop."""

    engine = "pure"


class CompiledFullConformanceTests(FullConformanceMixin, SynchronousTestCase):
    """The full run on the compiled loop (``ext/_evm.pyx``)."""

    engine = "cext"
