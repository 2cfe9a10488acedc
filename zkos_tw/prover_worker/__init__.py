"""The prover worker: a separate process that proves batches from their prover input alone."""
