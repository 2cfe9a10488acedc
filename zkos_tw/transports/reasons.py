"""One readable line for why a connection ended, for the replay client's and server's logs.

A TLS handshake that fails (``ssl:`` / ``tls:``: an untrusted CA, a certificate for another
name, a peer that is not speaking TLS) ends the connection with an ``OpenSSL.SSL.Error`` whose
text is a list of ``(library, function, reason)`` tuples; ``describe`` turns it into
``TLS: certificate verify failed``; a certificate for another name (checked by
``service_identity`` after the handshake) gives ``TLS: the certificate is not valid for NAME``.
A clean close gives ``None``: nothing to report.
"""

from __future__ import annotations

from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet.error import ConnectionDone


def describe(reason) -> str | None:
    """``None`` for a clean close, else one line: the TLS reasons or the error's text."""
    if reason is None or reason.check(ConnectionDone):
        return None
    error = reason.value
    if isinstance(error, SSL.Error):
        return "TLS: " + tls_reasons(error)
    if isinstance(error, VerificationError):
        return "TLS: " + name_mismatch(error)
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def is_tls_failure(reason) -> bool:
    """Whether ``reason`` is a failed TLS handshake or a TLS error mid-stream."""
    return reason is not None and reason.check(SSL.Error, VerificationError) is not None


def name_mismatch(error: VerificationError) -> str:
    """``the certificate is not valid for NAME`` from a ``service_identity`` error."""
    names = []
    for mismatch in getattr(error, "errors", ()):
        wanted = getattr(mismatch, "mismatched_id", None)
        name = getattr(wanted, "hostname", None) or getattr(wanted, "ip", None) or wanted
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        if name is not None and str(name) not in names:
            names.append(str(name))
    return "the certificate is not valid for " + (", ".join(names) or "the expected name")


def tls_reasons(error: SSL.Error) -> str:
    """The reasons of an OpenSSL error, de-duplicated, joined with ``"; "``."""
    parts: list[str] = []
    for entry in error.args[0] if error.args and isinstance(error.args[0], list) else ():
        text = entry[-1] if isinstance(entry, tuple) and entry else str(entry)
        if text and text not in parts:
            parts.append(text)
    return "; ".join(parts) or str(error) or "handshake failed"
