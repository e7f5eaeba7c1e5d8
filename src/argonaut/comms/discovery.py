"""Discovering a listening agent's certificate thumbprint before it is registered, so a person can
compare it with what the agent prints (``argonaut agent show-thumbprint``) and confirm it.

The server connects only to the host and port the person typed, opens TLS presenting its own client
certificate (a listening agent demands one), reads the SHA-1 thumbprint of the certificate the peer
presents, and closes the connection at once: no request is sent and nothing is trusted. The agent
refuses the unknown server after the handshake, which is expected.
"""

from __future__ import annotations

import asyncio
import ssl

from argonaut.security.tls import peer_thumbprint


class DiscoveryFailed(Exception):
    """Nothing answered at the address, or it answered without a certificate; the message says which."""


async def listening_thumbprint(host: str, port: int, context: ssl.SSLContext, timeout_s: float = 10.0) -> str:
    """The thumbprint of the certificate the TLS peer at ``host:port`` presents."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname="argonaut"), timeout_s
        )
    except TimeoutError:
        raise DiscoveryFailed(f"Nothing answered at {host}:{port} within {timeout_s:g}s") from None
    except ssl.SSLError as exc:
        raise DiscoveryFailed(f"{host}:{port} answered, but not as an agent speaking TLS: {exc}") from None
    except OSError as exc:
        raise DiscoveryFailed(f"Cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    try:
        presented = peer_thumbprint(writer.get_extra_info("ssl_object"))
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 2.0)
        except (OSError, TimeoutError, ssl.SSLError):
            pass  # the agent hangs up on an unknown server: nothing more to read
    if not presented:
        raise DiscoveryFailed(f"{host}:{port} presented no certificate")
    return presented
