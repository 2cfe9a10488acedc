"""Compiled extension modules built from ``ext/*.pyx``; load them through ``zkos_tw.extensions``."""
