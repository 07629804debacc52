"""api.fastpath.serving: every connection the server accepts has Nagle's algorithm off, also on the
listening socket uvicorn shares among --workers processes (protocol 0), where asyncio leaves
it on; and what it writes in one turn of the event loop goes out in one send."""

import asyncio
import gc
import socket
import threading
import time

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.fastpath.serving import FLUSH_BYTES, CoalescingTransport, HttpProtocol


async def hello(scope, receive, send):  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hi"})


class Served:
    """uvicorn serving `hello` with `protocol` on a listening socket of protocol 0, as for
    --workers, in a thread."""

    def __init__(self, protocol: type) -> None:
        config = uvicorn.Config(
            hello, http=protocol, loop="asyncio", lifespan="off", log_level="error"
        )
        self.server = uvicorn.Server(config)
        self.listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listening.bind(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.listening]})

    def __enter__(self) -> "Served":
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.listening.close()


def nodelay_of_served_connection(protocol: type) -> int:
    with (
        Served(protocol) as served,
        socket.create_connection(served.listening.getsockname(), timeout=10) as client,
    ):
        client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        assert client.recv(1024).startswith(b"HTTP/1.1 200")
        (connection,) = served.server.server_state.connections
        sock = connection.transport.get_extra_info("socket")
        return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_served_connections_have_nodelay() -> None:
    assert nodelay_of_served_connection(HttpProtocol) == 1


def test_without_it_asyncio_leaves_nagle_on() -> None:
    """The reason for api.fastpath.serving; if this starts failing, asyncio fixed it."""
    if nodelay_of_served_connection(HttpToolsProtocol) == 1:
        pytest.fail("asyncio sets TCP_NODELAY on shared listening sockets: drop the bypass")


def test_pipelined_requests_on_one_connection_get_whole_answers_in_order() -> None:
    with (
        Served(HttpProtocol) as served,
        socket.create_connection(served.listening.getsockname(), timeout=10) as client,
    ):
        client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n" * 3)
        received = b""
        while received.count(b"\r\n0\r\n\r\n") < 3:  # the last chunk of each answer
            chunk = client.recv(65536)
            assert chunk, f"closed after {received!r}"
            received += chunk
        answers = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
        assert len(answers) == 3 and all(a.endswith(b"\r\n2\r\nhi\r\n0\r\n\r\n") for a in answers)


def gathered(*steps: str) -> tuple[list[bytes], bytes]:
    """What a CoalescingTransport over a real socket passes to the socket's transport, write
    by write, and what the peer receives, for steps: 'head', 'body', 'big', 'turn' (let the
    event loop turn) and 'close'."""

    async def run() -> tuple[list[bytes], bytes]:
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        passed: list[bytes] = []
        write = transport.write

        def recorded(
            data: bytes | bytearray | memoryview,
        ) -> None:  # the real transport's write, watched
            passed.append(bytes(data))
            write(data)

        transport.write = recorded  # type: ignore[method-assign]
        coalescing = CoalescingTransport(transport, loop)  # type: ignore[arg-type]
        for step in steps:
            if step == "turn":
                await asyncio.sleep(0)
            elif step == "close":
                coalescing.close()
            else:
                coalescing.write({"head": b"HEAD|", "body": b"body|"}.get(step, b"x" * FLUSH_BYTES))
        await asyncio.sleep(0)
        peer.setblocking(False)
        received = b""
        for _ in range(100):
            try:
                chunk = await loop.sock_recv(peer, 1 << 20)
            except ConnectionError:
                break
            if not chunk:
                break
            received += chunk
            if "close" not in steps and len(received) >= sum(map(len, passed)):
                break
        transport.close()
        peer.close()
        return passed, received

    return asyncio.run(run())


def test_a_head_and_body_written_in_one_turn_go_out_in_one_write() -> None:
    passed, received = gathered("head", "body", "turn", "head", "turn")
    assert passed == [b"HEAD|body|", b"HEAD|"]
    assert received == b"HEAD|body|HEAD|"


def test_a_large_write_goes_out_at_once_and_close_sends_what_was_gathered() -> None:
    passed, _ = gathered("head", "big")
    assert [len(p) for p in passed] == [len(b"HEAD|") + FLUSH_BYTES]  # before the turn ended
    passed, received = gathered("head", "body", "close")
    assert passed == [b"HEAD|body|"] and received == b"HEAD|body|"


def test_what_startup_made_is_left_out_of_full_collections() -> None:
    """A full collection walking every route, model and schema stalled a loaded worker 150 ms."""
    from fastapi.dependencies.models import Dependant
    from fastapi.testclient import TestClient

    from api.main import app

    with TestClient(app) as client:
        assert gc.get_freeze_count() > 10_000
        assert client.get("/v1/no-such-collection").status_code == 404  # routed through /v1
        # The routes' parameters, which FastAPI builds at their first request, are frozen too.
        assert not [o for o in gc.get_objects() if isinstance(o, Dependant)]
    assert gc.get_freeze_count() == 0
