"""``zkosctl bench evm``: our two interpreters against py-evm and pyrevm on the same transactions.

* ``workloads``: the evmone suite (state-test files in the shared fixtures) and our own Solidity
  loops (``benchmarks/evm/*.sol``, compiled artifacts in ``contracts.json``), all as one shape:
  env + pre-state + one signed transaction.
* ``contracts``: compiling ``benchmarks/evm/*.sol`` with solcjs and loading the artifacts.
* ``paths``: one adapter per implementation (``cext``, ``pure``, ``pyevm``, ``pyrevm``) that
  builds fresh state for a case and returns the call to time; peers are imported lazily.
* ``measure``: the timing loop, the gas-equality check, ratios, geometric means, the table.
"""
