"""The batcher: blocks into batches, their commitments and pubdata, proof storage, the gapless
committer and the fake provers (reference §5.2-§5.6, §6.2-§6.4)."""
