"""Batch verification ("2FA", reference §8.2): external nodes co-sign each batch before commit."""
