"""One adapter per measured implementation: our compiled and pure loops, py-evm, pyrevm.

A path has a ``name``, a ``reason`` (``None`` when it can run, else one line saying why not)
and ``prepare(workload) -> call``: ``prepare`` builds a fresh pre-state and everything else the
run needs (decoded transaction, sender, block environment) outside the timed region; ``call()``
applies the transaction and returns an ``Outcome``. Only ``call()`` is timed.

py-evm and pyrevm are imported lazily (they are the ``bench`` extra, not runtime dependencies);
when one is missing its path carries the reason and the benchmark reports it as ``null``.
"""

from __future__ import annotations

import importlib
import itertools
from typing import NamedTuple

PATH_NAMES = ("cext", "pure", "pyevm", "pyrevm")
INSTALL_HINT = "pip install 'zkos-tw[bench]'"


class Outcome(NamedTuple):
    """What every path reports for one run: the transaction's gas used and its status."""

    gas_used: int
    success: bool


# -- ours ------------------------------------------------------------------------------------


def _decoded(workload):
    """``(Transaction, sender)`` of the workload, decoded and recovered once."""
    if "ours" not in workload.cache:
        from zkos_tw.execution.transactions import decode_transaction, recover_sender

        tx = decode_transaction(workload.txbytes)
        workload.cache["ours"] = (tx, recover_sender(tx))
    return workload.cache["ours"]


def _block_env(workload, engine):
    from zkos_tw.cli.statetest import build_block_env, build_pre_state
    from zkos_tw.execution.forks import FORKS

    state = build_pre_state(workload.pre)
    return build_block_env(workload.env, state, FORKS[workload.fork], engine)


class OurPath:
    """Our interpreter with one instruction loop (``engines.PURE`` or ``engines.CEXT``) on a
    ``MemoryState``, through ``apply_transaction`` as the sequencer runs a transaction."""

    def __init__(self, name: str, _engines=None):
        if _engines is None:
            from zkos_tw.execution import engines as _engines
        self.name = name
        self.reason = None
        self.engine = _engines.PURE if name == "pure" else _engines.CEXT
        if self.engine is None:
            self.reason = (
                "the compiled EVM (zkos_tw._ext._evm) is not loaded: build it with "
                "`python setup.py build_ext --inplace` or `pip install .`, and unset "
                "ZKOS_NO_EXTENSIONS"
            )

    def prepare(self, workload):
        """A fresh pre-state for ``workload``; returns the call to time (``-> Outcome``)."""
        from zkos_tw.execution.processing import apply_transaction

        tx, sender = _decoded(workload)
        block_env = _block_env(workload, self.engine)

        def call() -> Outcome:
            receipt = apply_transaction(block_env, tx, sender)
            return Outcome(receipt.gas_used, bool(receipt.succeeded))

        return call


def count_instructions(workload) -> int:
    """Instructions the pure loop executes for the workload (every frame; precompiles not
    counted), by running it once with a counting wrapper around each opcode function."""
    from zkos_tw.execution import engines
    from zkos_tw.execution.processing import apply_transaction

    tx, sender = _decoded(workload)
    block_env = _block_env(workload, engines.PURE)
    counter = itertools.count()

    def counted(function):
        def instruction(evm):
            next(counter)
            return function(evm)

        return instruction

    block_env.opcodes = tuple(counted(function) for function in block_env.opcodes)
    apply_transaction(block_env, tx, sender)
    return next(counter)


# -- py-evm ------------------------------------------------------------------------------------


class PyEvmPath:
    """py-evm's VM state over an ``AtomicDB``, ``state.apply_transaction`` with the sender given
    (a ``SpoofTransaction``, so signature recovery is not timed, as for the other paths), then
    its receipt with the logs bloom, as ``apply_transaction`` builds ours. (pyrevm returns logs
    but no receipt: its time has no bloom in it.)"""

    name = "pyevm"

    def __init__(self, _import=importlib.import_module):
        self.reason = None
        try:
            self._atomic = _import("eth.db.atomic")
            self._context = _import("eth.vm.chain_context")
            self._spoof = _import("eth.vm.spoof")
            london = _import("eth.vm.forks.london")
            cancun = _import("eth.vm.forks.cancun")
            london_blocks = _import("eth.vm.forks.london.blocks")
            cancun_blocks = _import("eth.vm.forks.cancun.blocks")
        except ImportError as e:
            self.reason = f"py-evm is not installed ({INSTALL_HINT}): {e}"
            return
        self._forks = {
            "London": (london.LondonVM, london_blocks.LondonBlockHeader),
            "Cancun": (cancun.CancunVM, cancun_blocks.CancunBlockHeader),
        }

    def _header(self, workload, header_class):
        env = workload.env
        fields = dict(
            difficulty=int(env.get("currentDifficulty", "0x0"), 16),
            block_number=int(env["currentNumber"], 16),
            gas_limit=int(env["currentGasLimit"], 16),
            timestamp=int(env["currentTimestamp"], 16),
            coinbase=bytes.fromhex(env["currentCoinbase"][2:]),
            mix_hash=int(env.get("currentRandom", "0x0"), 16).to_bytes(32, "big"),
            base_fee_per_gas=int(env.get("currentBaseFee", "0x0"), 16),
        )
        if workload.fork == "Cancun":
            fields["difficulty"] = 0
            fields["excess_blob_gas"] = int(env.get("currentExcessBlobGas", "0x0"), 16)
        return header_class(**fields)

    def prepare(self, workload):
        """A fresh pre-state for ``workload``; returns the call to time (``-> Outcome``)."""
        vm_class, header_class = self._forks[workload.fork]
        if "pyevm" not in workload.cache:
            tx = vm_class.get_transaction_builder().decode(workload.txbytes)
            spoofed = self._spoof.SpoofTransaction(tx, sender=tx.sender)
            workload.cache["pyevm"] = (spoofed, self._header(workload, header_class))
        tx, header = workload.cache["pyevm"]
        state = vm_class.build_state(
            self._atomic.AtomicDB(), header, self._context.ChainContext(1), ()
        )
        for address, account in workload.pre.items():
            raw = bytes.fromhex(address[2:])
            state.set_balance(raw, int(account.get("balance", "0x0"), 16))
            state.set_nonce(raw, int(account.get("nonce", "0x0"), 16))
            state.set_code(raw, bytes.fromhex(account.get("code", "0x")[2:]))
            for key, value in account.get("storage", {}).items():
                state.set_storage(raw, int(key, 16), int(value, 16))

        def call() -> Outcome:
            computation = state.apply_transaction(tx)
            # The receipt (with its logs bloom) as our path builds one; header.gas_used is 0.
            receipt = vm_class.make_receipt(header, tx, computation, state)
            return Outcome(receipt.gas_used, bool(computation.is_success))

        return call


# -- pyrevm ------------------------------------------------------------------------------------


class PyRevmPath:
    """revm through pyrevm: a new ``EVM`` per run, the transaction as ``message_call``."""

    name = "pyrevm"
    SPECS = {"London": "LONDON", "Cancun": "CANCUN"}

    def __init__(self, _import=importlib.import_module):
        self.reason = None
        try:
            self._revm = _import("pyrevm")
        except ImportError as e:
            self.reason = f"pyrevm is not installed ({INSTALL_HINT}): {e}"

    def prepare(self, workload):
        """A fresh pre-state for ``workload``; returns the call to time (``-> Outcome``)."""
        revm = self._revm
        if "pyrevm" not in workload.cache:
            tx, sender = _decoded(workload)
            workload.cache["pyrevm"] = (tx, "0x" + sender.hex())
        tx, sender = workload.cache["pyrevm"]
        env = workload.env
        block = revm.BlockEnv(
            number=int(env["currentNumber"], 16),
            coinbase=env["currentCoinbase"],
            timestamp=int(env["currentTimestamp"], 16),
            difficulty=int(env.get("currentDifficulty", "0x0"), 16),
            prevrandao=int(env.get("currentRandom", "0x0"), 16).to_bytes(32, "big"),
            basefee=int(env.get("currentBaseFee", "0x0"), 16),
            gas_limit=int(env["currentGasLimit"], 16),
            excess_blob_gas=int(env.get("currentExcessBlobGas", "0x0"), 16),
        )
        evm = revm.EVM(env=revm.Env(block=block), spec_id=self.SPECS[workload.fork])
        for address, account in workload.pre.items():
            code = bytes.fromhex(account.get("code", "0x")[2:])
            info = revm.AccountInfo(nonce=int(account.get("nonce", "0x0"), 16), code=code)
            evm.insert_account_info(address, info)
            evm.set_balance(address, int(account.get("balance", "0x0"), 16))
            for key, value in account.get("storage", {}).items():
                evm.insert_account_storage(address, int(key, 16), int(value, 16))
        to = "0x" + tx.to.hex()

        def call() -> Outcome:
            try:
                evm.message_call(sender, to, tx.data, tx.value, tx.gas, tx.gas_price)
            except RuntimeError:
                pass  # a revert or halt: the result below says so
            result = evm.result
            return Outcome(result.gas_used, bool(result.is_success))

        return call


def make_path(name: str):
    """The path called ``name`` (one of ``PATH_NAMES``)."""
    if name in ("cext", "pure"):
        return OurPath(name)
    if name == "pyevm":
        return PyEvmPath()
    if name == "pyrevm":
        return PyRevmPath()
    raise ValueError(f"unknown path {name!r}; choose from {', '.join(PATH_NAMES)}")
