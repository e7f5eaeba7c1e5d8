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
import threading
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
    # No TLS 1.3 session tickets: our peers never resume a session (asyncio offers no way to), and
    # issuing the two OpenSSL sends by default nearly doubled the accepting side's handshake CPU
    # (1.7 ms to 0.95 ms here), which is what ten thousand polling agents reconnecting at once cost.
    context.num_tickets = 0
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
_read_buffers = threading.local()  # one receive buffer per thread (each runs at most one event loop)


def _shared_receive_buffer(self: Any, n: int) -> memoryview:
    """``SSLProtocol.get_buffer``, answering the thread's one buffer instead of the connection's own.

    The selector transport calls ``get_buffer``, ``recv_into`` and ``buffer_updated`` back to back
    without yielding, and ``buffer_updated`` copies what arrived into the connection's incoming BIO at
    once, so nothing else on the thread can touch the buffer in between: one per thread serves every
    connection of its loop."""
    view: memoryview | None = getattr(_read_buffers, "view", None)
    if view is None:
        view = _read_buffers.view = memoryview(bytearray(TLS_READ_BUFFER_BYTES))
    self._ssl_buffer_view = view  # what buffer_updated reads back
    return view


def trim_tls_buffers() -> None:
    """Stop asyncio's TLS connections from each keeping a resident receive buffer.

    asyncio allocates (and zero-fills, so it is resident) ``SSLProtocol.max_size`` bytes for every TLS
    connection, only ever used between a socket read and the copy into the TLS object that follows it.
    With a thousand polling agents the default 256 KiB was 256 MB of the server's memory; one TLS record
    (16 KiB) brought an agent to 60 KB (bench/agents.py). Now every connection of a thread shares one
    buffer (:func:`_shared_receive_buffer`) and drops its own as soon as it is made: 16 KB less per
    connected agent (bench/agents_scale.py). Reads still take up to a TLS record at a time.
    """
    from asyncio import sslproto

    protocol = sslproto.SSLProtocol
    protocol.max_size = TLS_READ_BUFFER_BYTES
    if getattr(protocol, "_argonaut_shared_buffer", False):
        return
    original_init = protocol.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._ssl_buffer = bytearray()  # the shared one is handed out by get_buffer
        self._ssl_buffer_view = memoryview(self._ssl_buffer)

    protocol.__init__ = __init__  # type: ignore[method-assign]
    protocol.get_buffer = _shared_receive_buffer  # type: ignore[method-assign]
    protocol._argonaut_shared_buffer = True  # type: ignore[attr-defined]
