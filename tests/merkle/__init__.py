"""Tests of ``zkos_tw.merkle``."""
