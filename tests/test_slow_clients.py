"""Slow clients against a real `skinkb serve`: half-sent heads and stalled bodies are cut off
after SKINKB_HEADER_TIMEOUT seconds, and while they hang others are answered at once; past
SKINKB_MAX_CONNECTIONS a worker answers 503."""

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from bench.servers import Server, skinkb_server

TIMEOUT = 2.0  # SKINKB_HEADER_TIMEOUT of the server under test
HALF_HEAD = b"GET /v1/procedures HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: appl"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path_factory.mktemp('slow') / 'skinkb.db'}"
    env = {"SKINKB_HEADER_TIMEOUT": str(TIMEOUT), "SKINKB_MAX_CONNECTIONS": "300"}
    with skinkb_server(url, env=env) as running:
        yield running


def address(server: Server) -> tuple[str, int]:
    return ("127.0.0.1", server.port)


def seconds_until_closed(sock: socket.socket, started: float, limit: float) -> float | None:
    """When the server closed the connection (after what it wrote, if anything), or None."""
    sock.settimeout(max(0.01, started + limit - time.monotonic()))
    try:
        while sock.recv(4096):
            pass
    except (TimeoutError, ConnectionResetError):
        return None if time.monotonic() - started >= limit else time.monotonic() - started
    return time.monotonic() - started


def test_half_sent_heads_are_cut_off_and_others_still_answered(server: Server) -> None:
    started = time.monotonic()
    hanging = [socket.create_connection(address(server), timeout=5) for _ in range(200)]
    for sock in hanging:
        sock.sendall(HALF_HEAD)
    latencies = []
    with httpx.Client(base_url=server.base, timeout=5) as client:
        while time.monotonic() - started < TIMEOUT * 0.8:
            asked = time.monotonic()
            assert client.get("/v1/procedures").status_code == 200
            latencies.append(time.monotonic() - asked)
    closed = [seconds_until_closed(s, started, TIMEOUT + 5) for s in hanging]
    for sock in hanging:
        sock.close()
    print(
        f"normal client while 200 heads hang: {len(latencies)} requests, "
        f"max {max(latencies) * 1000:.1f} ms; half-open closed after "
        f"{min(c or 99 for c in closed):.2f}-{max(c or 99 for c in closed):.2f} s"
    )
    assert max(latencies) < 1.0
    assert all(c is not None and c < TIMEOUT + 3 for c in closed), closed


def test_a_head_sent_a_line_at_a_time_is_cut_off(server: Server) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /v1/procedures HTTP/1.1\r\n")
        try:
            for i in range(int(TIMEOUT * 4)):
                time.sleep(0.5)
                sock.sendall(f"X-Slow-{i}: 1\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert seconds_until_closed(sock, started, TIMEOUT + 5) is not None


def test_a_body_sent_a_byte_at_a_time_is_cut_off(server: Server) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/admin/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        started = time.monotonic()
        try:
            for _ in range(int(TIMEOUT * 4)):
                time.sleep(0.5)
                sock.sendall(b" ")
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert seconds_until_closed(sock, started, TIMEOUT + 5) is not None


def answer_of(sock: socket.socket) -> bytes:
    """One HTTP answer read off the socket: its head and Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
        ).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_a_head_sent_in_time_is_answered_past_the_connections_first_deadline(
    server: Server,
) -> None:
    """Each request gets its own deadline: a head begun before the connection's first deadline
    and completed after it, well within its own, is answered."""
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"GET /v1/procedures HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert answer_of(sock).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT * 0.75)
        sock.sendall(HALF_HEAD)
        time.sleep(TIMEOUT * 0.5)
        sock.sendall(b"ication/json\r\n\r\n")
        assert answer_of(sock).startswith(b"HTTP/1.1 200")


def test_past_the_connection_cap_a_worker_answers_503(server: Server) -> None:
    idle = [socket.create_connection(address(server), timeout=5) for _ in range(300)]
    try:
        with socket.create_connection(address(server), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 503")
    finally:
        for sock in idle:
            sock.close()
