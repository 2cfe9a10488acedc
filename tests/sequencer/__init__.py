"""Tests of ``zkos_tw.sequencer``."""
