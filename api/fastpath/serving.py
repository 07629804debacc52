"""How the API is served (a bypass: `SKINKB_FAST_PROTOCOL`): uvicorn's httptools protocol
(`HttpToolsProtocol`, uvicorn's internals) with Nagle's algorithm off on every connection, and
what the server writes in one turn of the event loop sent in one call.

asyncio turns Nagle off only for sockets it made itself with `IPPROTO_TCP`; the listening socket
uvicorn shares among `--workers` has protocol 0, so its connections kept Nagle on and each body
waited for the client's delayed ACK. With Nagle off, head and body would be two sends and two
segments: `CoalescingTransport` gathers them. Measurements: bench/results/NOTES.md.

It also cuts off slow clients, which uvicorn lets hold a connection for as long as they like:
a request head not complete within `SKINKB_HEADER_TIMEOUT` seconds of its first byte (or of the
connection), or a body not complete as long after its head, closes the connection (408 when no
answer has begun).
"""

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.config import settings
from api.fastpath import enabled

INET = (socket.AF_INET, socket.AF_INET6)
# Gathered writes reaching this size are sent at once (the transport's default high-water mark).
FLUSH_BYTES = 64 * 1024
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class CoalescingTransport:
    """A connection's transport as uvicorn's protocol sees it: writes made in one turn of the event
    loop are sent together at its end (or at once past FLUSH_BYTES), before any close."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending.clear()
            self._size = 0
            self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._size = 0
        self.transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)  # is_closing, pause_reading, get_extra_info, ...


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol: each TCP connection with TCP_NODELAY, its writes gathered
    per turn of the event loop."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in INET:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        coalescing = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]
        # When the client must have sent what it is sending (loop time), None when nothing is
        # awaited; and the one timer that checks it. Moving the deadline is a store: the timer,
        # when it fires early, sets itself again for what is left.
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._arm_deadline()

    def _arm_deadline(self) -> None:
        """Give the client SKINKB_HEADER_TIMEOUT seconds from now to finish what it sends."""
        self._deadline = self.loop.time() + settings.header_timeout
        if self._timer is None:
            self._timer = self.loop.call_at(self._deadline, self._check_deadline)

    def _disarm_deadline(self) -> None:
        self._deadline = None

    def _check_deadline(self) -> None:
        self._timer = None
        if self._deadline is None:
            return
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._check_deadline)
            return
        self._too_slow()

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(REQUEST_TIMEOUT)  # between requests: nothing else is answering
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_deadline()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm_deadline()  # now for the body; a request without one completes at once

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)


# What `skinkb serve` and the benchmark's other servers (`--http`) name as the protocol.
HTTP_PROTOCOL = f"{__name__}:{HttpProtocol.__qualname__}"


def http_protocol() -> str:
    """The protocol `skinkb serve` gives uvicorn: this one, or uvicorn's own when it is off."""
    return HTTP_PROTOCOL if enabled("fast_protocol") else "auto"
