"""The prover API (reference §5): FRI and SNARK job queues and their HTTP routes on port 3124."""
