"""Tests of the EVM reference interpreter (zkos_tw.execution)."""
