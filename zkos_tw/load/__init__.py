"""The load generator behind ``zkosctl load``: fund senders, pre-sign, submit, watch, report.

| module | what |
|---|---|
| ``signing`` | private keys, addresses, fast EIP-1559 signing (coincurve), sender derivation |
| ``token`` | the TestToken ERC-20 creation code and ``transfer`` calldata |
| ``plan`` | the funding plan and the pre-signed, pre-encoded request batches |
| ``http`` | a minimal keep-alive HTTP/1.1 client (one request in flight per connection) |
| ``client`` | JSON-RPC over HTTP: the raw client above or treq with a persistent pool |
| ``watch`` | inclusion watcher (polls new blocks) and the ``eth_blockNumber`` latency sampler |
| ``stats`` | percentiles, error grouping and the result JSON |
| ``runner`` | one load run: set-up, submission, waiting, result |
| ``summary`` | several runs of ``benchmarks/load.py`` (``--runs N``): ratios, median/min/max |
"""
