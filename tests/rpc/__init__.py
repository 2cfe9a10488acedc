"""Tests of the JSON-RPC server (``zkos_tw.rpc``)."""
