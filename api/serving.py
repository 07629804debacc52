"""How the API is served: uvicorn's httptools protocol with Nagle's algorithm off everywhere.

asyncio turns Nagle's algorithm off only for sockets it made itself with `IPPROTO_TCP`; the
listening socket uvicorn makes once and shares among `--workers` processes has protocol 0, so
its connections kept Nagle on. An answer is written in two parts (head, then body), and the
body then waited for the client's delayed ACK: 40 ms a request (measured with 2 workers on the
asyncio loop: 724 req/s for the bare limit app, against 10,248 with 1 worker). uvloop sets
TCP_NODELAY itself; this makes every loop and worker count behave the same.
"""

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

INET = (socket.AF_INET, socket.AF_INET6)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, each TCP connection with TCP_NODELAY."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in INET:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


# What `skinkb serve` and the benchmark's other servers (`--http`) name as the protocol.
HTTP_PROTOCOL = f"{__name__}:{HttpProtocol.__qualname__}"
