"""The Cancun EVM reference interpreter (pure Python), laid out like ethereum/execution-specs."""
