"""Developer networks: the anvil L1 that ``twistd zkos --dev`` runs as a child process."""
