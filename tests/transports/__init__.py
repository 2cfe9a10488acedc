"""Tests for zkos_tw.transports."""
