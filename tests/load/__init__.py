"""Tests of the load generator (``zkos_tw.load``, ``zkosctl load``)."""
