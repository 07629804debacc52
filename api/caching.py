"""HTTP caching of public reads: strong ETags, Cache-Control, 304s and open CORS.

Admin responses are left alone here (the admin package marks them `no-store`).

The ETag is a hash of the response body, so it changes when, and only when, what the response
shows changes, and every server process computes the same one. The knowledge-base revision
(`kb_revision`, bumped by triggers in the same transaction as any edit) says cheaply whether
anything may have changed: each process remembers the ETag it last sent per URL together with
the revision it read first, and answers a matching `If-None-Match` at the same revision with 304
without running the handler — one one-row query. (An in-process response cache can keep the
body beside the ETag under the same validation.)
"""

import hashlib
import threading
from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import settings
from api.db import get_session
from models.search import kb_revision

ADMIN_PREFIX = "/v1/admin"
PUBLIC_PREFIX = "/v1/"
VARY = "Accept"


def cache_control() -> str:
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


def current_revision(session: Session) -> int:
    """The knowledge-base revision: one indexed one-row read."""
    return int(session.execute(select(kb_revision.c.revision)).scalar_one())


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or any listed tag equal under weak comparison."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class EtagMemo:
    """The last ETag sent per request key, with the revision read before it was computed."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, revision: int) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != revision:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, revision: int, etag: str) -> None:
        with self._lock:
            self._entries[key] = (revision, etag)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


memo = EtagMemo()


def request_key(scope: Scope) -> str:
    """What a public response depends on besides the data: URL (with host) and Accept."""
    headers = dict(scope["headers"])
    host = headers.get(b"host", b"").decode("latin-1")
    accept = headers.get(b"accept", b"").decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope['scheme']}://{host}{scope['path']}?{query}\n{accept}"


def _is_public_read(scope: Scope) -> bool:
    path = scope["path"]
    return (
        scope["method"] == "GET"
        and path.startswith(PUBLIC_PREFIX)
        and not (path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"))
    )


class NotModified(Exception):
    def __init__(self, etag: str) -> None:
        self.etag = etag


def not_modified_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": cache_control(), "Vary": VARY}


async def _not_modified(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers=not_modified_headers(exc.etag))


def conditional_get(request: Request, session: Annotated[Session, Depends(get_session)]) -> None:
    """Reads the revision first (the response is at least that new); 304 if the memo allows."""
    if not _is_public_read(request.scope):
        return
    revision = current_revision(session)
    request.state.kb_revision = revision
    etag = memo.get(request_key(request.scope), revision)
    if etag is not None and etag_matches(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)


class HttpCacheMiddleware:
    """Adds ETag and Cache-Control to public GETs; 304 when If-None-Match matches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not _is_public_read(scope):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(scope, send, start, b"".join(chunks))
            else:
                await send(message)

        await self.app(scope, receive, buffer)

    @staticmethod
    async def _finish(scope: Scope, send: Send, start: Message, body: bytes) -> None:
        if start["status"] != 200:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        etag = strong_etag(body)
        revision = scope.get("state", {}).get("kb_revision")
        if revision is not None:
            memo.put(request_key(scope), revision, etag)
        request_headers = dict(scope["headers"])
        if_none_match = request_headers.get(b"if-none-match", b"").decode("latin-1")
        added = [(k.lower().encode(), v.encode()) for k, v in not_modified_headers(etag).items()]
        if etag_matches(if_none_match, etag):
            kept = [
                (k, v)
                for k, v in start["headers"]
                if k.lower() not in (b"content-type", b"content-length")
            ]
            await send({"type": "http.response.start", "status": 304, "headers": kept + added})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": list(start["headers"]) + added})
        await send({"type": "http.response.body", "body": body})


def install_http_caching(app: FastAPI) -> None:
    """ETags, Cache-Control and 304s for public reads, and open CORS for them."""
    app.add_exception_handler(NotModified, _not_modified)
    app.add_middleware(HttpCacheMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=["GET"],
        allow_headers=["If-None-Match", "Accept"],
        expose_headers=["ETag", "Link"],
        max_age=600,
    )
