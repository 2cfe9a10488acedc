"""zkos-tw: a ZK-rollup sequencer node in the style of ZKsync OS, written on Twisted."""

__version__ = "0.1.0"
