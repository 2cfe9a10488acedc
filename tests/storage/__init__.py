"""Tests of ``zkos_tw.storage``: codecs, the conformance suite for both storages, LMDB specifics
and the kill -9 crash test."""
