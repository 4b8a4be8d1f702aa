"""The one place that reaches below ASGI into uvicorn: accepted connections, and dropping one.

ASGI has no way to close a connection without an answer, nor to see TCP connections at
all, so the server runs a subclass of uvicorn's h11 protocol that reports each transport
here, keyed by the peer address that uvicorn also puts in the ASGI scope as "client".
`abort` then closes the connection of a request; uvicorn sees the connection lost and
sends nothing more. Everything else in the emulator stays plain ASGI.
"""

from __future__ import annotations

import asyncio
import threading

from uvicorn.protocols.http.h11_impl import H11Protocol

Peer = tuple[str, int]


class ConnectionRegistry:
    """Open connections by peer address, and how many were accepted since the last reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Peer, asyncio.Transport] = {}
        self.accepted = 0

    def opened(self, peer: Peer | None, transport: asyncio.Transport) -> None:
        """Note a newly accepted connection."""
        with self._lock:
            self.accepted += 1
            if peer is not None:
                self._open[peer] = transport

    def closed(self, peer: Peer | None, transport: asyncio.Transport) -> None:
        """Forget a connection that is gone."""
        with self._lock:
            if peer is not None and self._open.get(peer) is transport:
                del self._open[peer]

    async def abort(self, peer: Peer | None) -> bool:
        """Close the connection to `peer` at once (TCP reset); False when it is not known."""
        with self._lock:
            transport = self._open.get(peer) if peer is not None else None
        if transport is None:
            return False
        transport.abort()
        # Let the protocol's connection_lost run first, so that uvicorn knows the client is
        # gone and does not try to answer in place of the app.
        await asyncio.sleep(0)
        return True

    def reset(self) -> None:
        """Zero the accepted-connections counter."""
        with self._lock:
            self.accepted = 0


def counting_protocol(registry: ConnectionRegistry) -> type[H11Protocol]:
    """The h11 protocol of uvicorn, reporting each connection to `registry`."""

    class CountingH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            registry.opened(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.closed(self.client, self.transport)
            super().connection_lost(exc)

    return CountingH11Protocol
