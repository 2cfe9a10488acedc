"""Tests of the health endpoint and node status (zkos_tw.status)."""
