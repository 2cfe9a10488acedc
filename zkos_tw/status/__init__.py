"""Node status: what the health endpoint reports (phase, role, last block and its age, problems)."""
