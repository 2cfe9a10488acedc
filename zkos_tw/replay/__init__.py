"""The block replay stream (reference §4): record codecs, framing, server and client on 3053."""
