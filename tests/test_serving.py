"""api.serving: every connection the server accepts has Nagle's algorithm off, also on the
listening socket uvicorn shares among --workers processes (protocol 0), where asyncio leaves
it on."""

import gc
import socket
import threading
import time

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.serving import HttpProtocol


async def hello(scope, receive, send):  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hi"})


def nodelay_of_served_connection(protocol: type) -> int:
    config = uvicorn.Config(hello, http=protocol, loop="asyncio", lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # protocol 0, as for workers
    listening.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]})
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        with socket.create_connection(listening.getsockname(), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
            (connection,) = server.server_state.connections
            served = connection.transport.get_extra_info("socket")
            return int(served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()


def test_served_connections_have_nodelay() -> None:
    assert nodelay_of_served_connection(HttpProtocol) == 1


def test_without_it_asyncio_leaves_nagle_on() -> None:
    """The reason for api.serving; if this starts failing, asyncio fixed it and it can go."""
    if nodelay_of_served_connection(HttpToolsProtocol) == 1:
        pytest.fail("asyncio now sets TCP_NODELAY on shared listening sockets: drop api.serving")


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
