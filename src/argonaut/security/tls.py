"""TLS contexts for server↔agent links, where trust is a pinned certificate thumbprint, not a CA.

Both sides present their own self-signed certificate and check the other's SHA-1 thumbprint after the
handshake (:func:`peer_thumbprint`). The standard library can request a client certificate only if it
also verifies it against a CA, and our peers have none: so for the accepting side of a link we install
an OpenSSL verify callback that accepts the presented certificate (the handshake still proves the
peer holds its private key), and the link code then refuses any thumbprint it does not pin. Nothing
is trusted until that check passes, and it is the only place the decision is made.

The callback is installed through ctypes on the ``SSL_CTX`` behind Python's ``SSLContext``. A self-test
at first use confirms the pointer is right (it reads back the verify mode Python set), so a future
Python with a different layout fails loudly at start rather than silently trusting nobody or anybody.
"""

from __future__ import annotations

import ctypes
import ssl
from functools import cache
from typing import Any

from argonaut.security.certificates import NodeCertificate, thumbprint_of_der

_SSL_VERIFY_PEER = 0x01
_SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02
_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


class TlsSetupError(RuntimeError):
    pass


def _accept_any(_preverify_ok: int, _store: int | None) -> int:
    return 1  # the thumbprint is checked after the handshake, against the pins


_accept_presented_certificate: Any = _VERIFY_CALLBACK(_accept_any)  # a C callback: ctypes keeps it alive


@cache
def _libssl() -> Any:
    import _ssl  # the extension module is linked against the libssl whose SSL_CTX we touch

    lib = ctypes.CDLL(_ssl.__file__)
    lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK]
    lib.SSL_CTX_set_verify.restype = None
    lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
    return lib


def _require_peer_certificate(context: ssl.SSLContext) -> None:
    context.verify_mode = ssl.CERT_REQUIRED  # Python: SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
    lib = _libssl()
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    expected = _SSL_VERIFY_PEER | _SSL_VERIFY_FAIL_IF_NO_PEER_CERT
    if not pointer or lib.SSL_CTX_get_verify_mode(pointer) != expected:
        raise TlsSetupError("cannot install the certificate pinning callback on this Python's ssl module")
    lib.SSL_CTX_set_verify(pointer, expected, _accept_presented_certificate)


def _base(context: ssl.SSLContext, own: NodeCertificate) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(own.cert_path, own.key_path)
    return context


def accepting_context(own: NodeCertificate) -> ssl.SSLContext:
    """For the side that accepts connections (listening agent, server comms port): demands a client cert."""
    context = _base(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), own)
    _require_peer_certificate(context)
    return context


def connecting_context(own: NodeCertificate) -> ssl.SSLContext:
    """For the side that connects (server to a listening agent, polling agent to a server)."""
    context = _base(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), own)
    context.check_hostname = False  # identity is the pinned thumbprint, not a host name
    context.verify_mode = ssl.CERT_NONE  # the peer certificate is still received and then pinned
    return context


def peer_thumbprint(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The SHA-1 thumbprint of the certificate the peer presented, or None when it presented none."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return thumbprint_of_der(der) if der else None


TLS_READ_BUFFER_BYTES = 16 * 1024


def trim_tls_buffers() -> None:
    """Shrink asyncio's per-connection TLS read buffer from 256 KiB to one TLS record (16 KiB).

    asyncio allocates (and zero-fills, so it is resident) ``SSLProtocol.max_size`` bytes for every TLS
    connection; with a thousand polling agents that alone was 256 MB of the server's memory. A TLS
    record carries at most 16 KiB of plaintext, so reads lose nothing but a few wakeups on bulk
    transfers. Measured by bench/agents.py: about 284 KB per connected agent before, 60 KB after.
    """
    from asyncio import sslproto

    sslproto.SSLProtocol.max_size = TLS_READ_BUFFER_BYTES
