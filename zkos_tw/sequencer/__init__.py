"""The sequencer: the transaction pool (``mempool``), block context, block execution and sealing."""
