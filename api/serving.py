"""How the API is served: uvicorn's httptools protocol with Nagle's algorithm off everywhere, and
each answer's head and body sent in one write.

asyncio turns Nagle's algorithm off only for sockets it made itself with `IPPROTO_TCP`; the
listening socket uvicorn makes once and shares among `--workers` processes has protocol 0, so
its connections kept Nagle on. An answer is written in two parts (head, then body), and the
body then waited for the client's delayed ACK: 40 ms a request (measured with 2 workers on the
asyncio loop: 724 req/s for the bare limit app, against 10,248 with 1 worker). uvloop sets
TCP_NODELAY itself; this makes every loop and worker count behave the same.

With Nagle off, those two writes are two send system calls and two TCP segments, and the client
wakes up for each. `CoalescingTransport` gathers what the server writes in one turn of the event
loop and sends it at the end of that turn in one call: head and body together (measured with
wrk on loopback, 32 connections: the bare limit app 16,700 -> 19,000-21,300 req/s, a cold
relation read 2,480 -> 2,815, Datasette 660 -> 690). Large bodies still go out at once, so
uvicorn's flow control sees them as before.
"""

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

INET = (socket.AF_INET, socket.AF_INET6)
# Gathered writes reaching this size are sent at once (the transport's default high-water mark).
FLUSH_BYTES = 64 * 1024


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


# What `skinkb serve` and the benchmark's other servers (`--http`) name as the protocol.
HTTP_PROTOCOL = f"{__name__}:{HttpProtocol.__qualname__}"
