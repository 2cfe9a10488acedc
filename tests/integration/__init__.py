"""Integration tests: real twistd processes, real anvil, real sockets, on free ports."""
