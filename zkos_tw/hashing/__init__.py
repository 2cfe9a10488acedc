"""keccak-256 and BLAKE2s-256, compiled when available (``ext/_hashing.pyx``), else pure Python.

``blake2s256_pairs`` hashes many 64-byte node pairs in one call (one Merkle-tree level);
``logs_bloom`` is the 2048-bit logs bloom of receipts and headers.
"""

from zkos_tw.extensions import load

_impl = load("_hashing", "zkos_tw.hashing._pure")

keccak256 = _impl.keccak256
blake2s256 = _impl.blake2s256
blake2s256_pairs = _impl.blake2s256_pairs
logs_bloom = _impl.logs_bloom
IMPLEMENTATION: str = "cext" if _impl.__name__.startswith("zkos_tw._ext") else "pure"

__all__ = ["keccak256", "blake2s256", "blake2s256_pairs", "logs_bloom", "IMPLEMENTATION"]
