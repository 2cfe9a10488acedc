"""Tests of ``zkos_tw.state``."""
