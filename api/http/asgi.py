"""Plain ASGI pieces the middleware share: types, header lookups, problem answers."""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.http.problems import PROBLEM_JSON

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    errors: list[dict[str, Any]] | None = None,
) -> None:
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        problem["errors"] = errors
    body = json.dumps(problem).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header, by its lower-case name."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


async def buffered(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    finish: Callable[[Message, bytes], Awaitable[None]],
) -> None:
    """Run `app` with its answer held back until complete: `finish(start, body)` sends it (the
    start message and the whole body); any other message passes straight through."""
    start: Message = {}
    chunks: list[bytes] = []

    async def buffer(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await finish(start, b"".join(chunks))
        else:
            await send(message)

    await app(scope, receive, buffer)
