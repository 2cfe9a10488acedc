"""Tests of the dev L1 (zkos_tw.devnet)."""
