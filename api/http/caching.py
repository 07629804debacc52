"""HTTP caching of public reads: strong ETags, Cache-Control, 304s and open CORS (admin answers
get `no-store` from the request context, outside every layer that may answer).

The ETag is a hash of the response body, so it changes when, and only when, what the response
shows changes, and every server process computes the same one. What a process remembers of the
answers it sent (for 304s without running the handler, and whole answers) is the fast path's
response cache, which this layer feeds through the `remember` hook it is given.
"""

import hashlib
from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response

from api.config import settings
from api.http.asgi import ASGIApp, Message, Receive, Scope, Send, buffered, header
from api.http.compression import IDENTITY, coding_accepted, coding_for, encoded

ADMIN_PREFIX = "/v1/admin"
PUBLIC_PREFIX = "/v1/"
# Public reads outside /v1 (their routes depend on `conditional_get` too).
PUBLIC_PATHS = frozenset({"/sitemap.xml"})
VARY = "Accept, Accept-Encoding"
# Public answers are open to every origin (no credentials) with the same headers whatever the
# request's Origin, so one remembered answer serves every client (and no Vary: Origin).
OPEN_CORS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"ETag, Link"),
)


def cache_control() -> str:
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


def strong_etag(body: bytes, coding: str = IDENTITY) -> str:
    """A hash of the uncoded body; each content coding has its own tag (`"…-gzip"`)."""
    suffix = "" if coding == IDENTITY else "-" + coding
    return '"' + hashlib.sha256(body).hexdigest()[:32] + suffix + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or any listed tag equal under weak comparison."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def is_public_read(scope: Scope) -> bool:
    path = scope["path"]
    return scope["method"] == "GET" and (
        path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIX) and not is_admin_path(path)
    )


def request_key(scope: Scope) -> bytes:
    """What a public answer depends on besides the data: URL (with host), Accept and the content
    coding Accept-Encoding chooses (its Vary). Made once per request."""
    state = scope.setdefault("state", {})
    key = state.get("cache_key")
    if key is None:
        host = accept = accept_encoding = b""
        for name, value in scope["headers"]:
            if name == b"host":
                host = host or value
            elif name == b"accept":
                accept = accept or value
            elif name == b"accept-encoding":
                accept_encoding = accept_encoding or value
        coding = coding_accepted(accept_encoding) if accept_encoding else IDENTITY
        key = state["cache_key"] = b"%s://%s%s?%s\n%s\n%s" % (
            scope["scheme"].encode(),
            host,
            scope["path"].encode(),
            scope.get("query_string", b""),
            accept,
            coding.encode(),
        )
    return key  # type: ignore[no-any-return]


class Answer(NamedTuple):
    """A public answer as sent: its ETag, headers and body. Only immutable atoms, so the
    garbage collector does not track it (a memo of many answers costs a collection nothing)."""

    etag: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class NotModified(Exception):
    def __init__(self, etag: str) -> None:
        self.etag = etag


def not_modified_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": cache_control(), "Vary": VARY}


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers=not_modified_headers(etag))


async def _not_modified(_request: Any, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return not_modified(exc.etag)


async def send_answer(scope: Scope, send: Send, answer: Answer) -> None:
    """The answer, or 304 with its headers when If-None-Match names its ETag."""
    if_none_match = header(scope, b"if-none-match")
    if if_none_match is not None and etag_matches(if_none_match.decode("latin-1"), answer.etag):
        dropped = (b"content-type", b"content-length", b"content-encoding")
        kept = [(k, v) for k, v in answer.headers if k not in dropped]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})


Remember = Callable[[Scope, Answer], None]


class HttpCacheMiddleware:
    """Adds ETag and Cache-Control to public GETs' 200s, answers 304 when If-None-Match matches,
    and hands each answer to `remember`."""

    def __init__(self, app: ASGIApp, remember: Remember | None = None) -> None:
        self.app = app
        self.remember = remember

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_public_read(scope):
            await self.app(scope, receive, send)
            return

        async def finish(start: Message, body: bytes) -> None:
            await self._finish(scope, send, start, body)

        await buffered(self.app, scope, receive, send, finish)

    async def _finish(self, scope: Scope, send: Send, start: Message, body: bytes) -> None:
        if start["status"] != 200:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        # Compressed here, once: the response cache keeps (and resends) the coded bytes.
        coding = coding_for(scope, body)
        etag = strong_etag(body, coding)
        added = [(k.lower().encode(), v.encode()) for k, v in not_modified_headers(etag).items()]
        headers, body = encoded(scope, [*start["headers"], *added, *OPEN_CORS], body, coding)
        answer = Answer(etag, tuple(headers), body)
        if self.remember is not None:
            self.remember(scope, answer)
        await send_answer(scope, send, answer)


def is_preflight(scope: Scope) -> bool:
    return (
        scope["method"] == "OPTIONS"
        and header(scope, b"origin") is not None
        and header(scope, b"access-control-request-method") is not None
    )


class SplitCors:
    """CORS open to every origin for public reads; on the admin API, only the origins configured
    (none by default: then the public policy refuses its preflights, as before).

    The public policy's answers carry `OPEN_CORS` whatever the request (the HTTP cache layer puts
    it in public reads' answers; the rest get it here), so they need no Vary: Origin and the
    response cache, outside this layer, sends what this layer would."""

    def __init__(self, app: ASGIApp, admin_origins: list[str]) -> None:
        self.app = app  # what both policies wrap, for whoever walks the middleware stack
        self.public_preflight = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_credentials=False,
            allow_methods=["GET"],
            allow_headers=["If-None-Match", "Accept"],
            max_age=600,
        )
        self.admin = (
            CORSMiddleware(
                app,
                allow_origins=admin_origins,
                # A Bearer key, not a cookie: no credentials mode needed.
                allow_credentials=False,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
                expose_headers=["ETag", "Idempotent-Replayed", "Retry-After", "X-Request-ID"],
                max_age=600,
            )
            if admin_origins
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.admin is not None and is_admin_path(path):
            await self.admin(scope, receive, send)
        elif scope["type"] != "http" or is_preflight(scope):
            await self.public_preflight(scope, receive, send)
        else:
            await self.app(scope, receive, _open_cors(send))


def _open_cors(send: Send) -> Send:
    """`send`, adding `OPEN_CORS` to an answer that lacks it."""

    async def send_open(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            if not any(k == OPEN_CORS[0][0] for k, _ in headers):
                message["headers"] = [*headers, *OPEN_CORS]
        await send(message)

    return send_open


def install_http_caching(app: FastAPI, remember: Remember | None) -> None:
    """ETags, Cache-Control and 304s for public reads."""
    app.add_exception_handler(NotModified, _not_modified)
    app.add_middleware(HttpCacheMiddleware, remember=remember)


def install_cors(app: FastAPI, admin_origins: list[str] | None = None) -> None:
    """Open CORS for public reads, and for the admin API only the origins configured."""
    app.add_middleware(SplitCors, admin_origins=list(admin_origins or []))
