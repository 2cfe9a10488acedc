"""Tests of the keccak/BLAKE2s twins (zkos_tw.hashing)."""
