"""Tests of the batch pipeline (``zkos_tw.batcher``)."""
