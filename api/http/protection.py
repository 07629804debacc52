"""Middleware that refuse what no handler should see: unknown hosts, oversized bodies, NUL."""

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from api.http.asgi import ASGIApp, Message, Receive, Scope, Send, header, send_problem


class TrustedHostMiddleware:
    """Refuses requests whose Host header is not one of the configured names (400 problem)."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed]
        self.any = "*" in self.allowed

    def _ok(self, host: str) -> bool:
        host = host.split(":", 1)[0].lower()
        return any(host == a or (a.startswith("*.") and host.endswith(a[1:])) for a in self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.any:
            host = (header(scope, b"host") or b"").decode("latin-1")
            if not self._ok(host):
                await send_problem(send, 400, "Bad Request", "Invalid host header.")
                return
        await self.app(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Answers 413 to a request body over the limit, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_problem(
                send,
                413,
                "Content Too Large",
                f"Request bodies are limited to {self.max_bytes} bytes.",
            )
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await send_problem(
                    send,
                    413,
                    "Content Too Large",
                    f"Request bodies are limited to {self.max_bytes} bytes.",
                )


_NUL = "\x00"
# JSON can carry NUL only as the escape \u0000: one not itself escaped (an even run of
# backslashes before it).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _nul_at(document: Any) -> tuple[str | int, ...] | None:
    """Where in a parsed JSON document a text (a key or a value) holds NUL, if anywhere: the
    first in document order, found without recursion (a body may nest thousands deep)."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while pending:
        value, loc = pending.pop()
        if isinstance(value, str):
            if _NUL in value:
                return loc
            continue
        if isinstance(value, dict):
            for key in value:
                if _NUL in key:
                    return (*loc, key)
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        pending.extend((item, (*loc, key)) for key, item in reversed(list(items)))
    return None


def nul_in_body(body: bytes) -> tuple[str | int, ...] | None:
    """`("body", ...where)` when a JSON body's text holds NUL (as the escape \\u0000), else None."""
    if not _NUL_ESCAPE.search(body):
        return None
    try:
        loc = _nul_at(json.loads(body))
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's limit
        loc = None
    return ("body", *(loc or ()))


def nul_refusal(loc: tuple[str | int, ...]) -> tuple[str, list[dict[str, Any]]]:
    """The detail and the error of the 422 refusing NUL at `loc` (query or body)."""
    if loc[0] == "query":
        where = f"query parameter {loc[1]!r}"
    elif len(loc) > 1:
        where = f"body's {'.'.join(map(str, loc[1:]))}"
    else:
        where = "body"
    detail = f"The {where} holds the NUL character (U+0000), which no text here may hold."
    return detail, [{"loc": list(loc), "msg": detail, "type": "string_nul"}]


class RefuseNulMiddleware:
    """No text the service takes may hold the NUL character (U+0000).

    PostgreSQL's text cannot store it (the driver raises) while SQLite would store it, and no
    entry, slug, search or filter needs it. So a path holding it answers 404 (it names nothing),
    and a query parameter or a JSON body text holding it 422 naming where, before any handler,
    the database or the audit log sees it: both databases answer alike and nothing is half done.
    Bodies under `authenticated_first` paths are left to their routes, which authenticate the
    request before reading its body and then check it (`nul_in_body`).
    """

    def __init__(self, app: ASGIApp, authenticated_first: tuple[str, ...] = ()) -> None:
        self.app = app
        self.authenticated_first = authenticated_first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL in scope["path"]:
            await send_problem(send, 404, "Not Found", "No path holds the NUL character (%00).")
            return
        query: bytes = scope["query_string"]
        if b"%00" in query or b"\x00" in query:
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if _NUL in name or _NUL in value:
                    await self._refuse(send, ("query", name))
                    return
        if scope["method"] not in _BODY_METHODS or scope["path"].startswith(
            self.authenticated_first
        ):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        loc = nul_in_body(b"".join(m.get("body", b"") for m in messages))
        if loc is not None:
            await self._refuse(send, loc)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    @staticmethod
    async def _refuse(send: Send, loc: tuple[str | int, ...]) -> None:
        detail, errors = nul_refusal(loc)
        await send_problem(send, 422, "Unprocessable Content", detail, errors=errors)
