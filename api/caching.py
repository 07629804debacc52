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
from typing import NamedTuple

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import settings
from api.db import Reads
from api.deps import SessionDep
from api.memo import RevisionMemo
from api.middleware import header
from api.prepared import Prepared
from api.revision import RevisionProbe
from models.search import kb_revision

ADMIN_PREFIX = "/v1/admin"
PUBLIC_PREFIX = "/v1/"
VARY = "Accept"
# Public reads are open to every origin (no credentials), whatever the request's Origin.
OPEN_CORS = (b"access-control-allow-origin", b"*")


def cache_control() -> str:
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


_REVISION = Prepared(select(kb_revision.c.revision))


def current_revision(session: Reads) -> int:
    """The knowledge-base revision: one indexed one-row read, in the session's transaction."""
    return int(_REVISION.scalar(session))


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or any listed tag equal under weak comparison."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class Remembered(NamedTuple):
    """A public answer as sent: its ETag, headers and body. Only immutable atoms, so the
    garbage collector stops tracking it: a memo of 10,000 answers costs a full collection
    nothing to walk (as dataclasses with lists they took it 20-35 ms)."""

    etag: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class ResponseMemo(RevisionMemo[str, Remembered]):
    """The last public answer per request key, with the revision read before it was computed.

    Valid while the knowledge-base revision is unchanged: then the same request would get the
    same bytes. Bounded in entries and in bytes (key, headers and body; least recently used go
    first), which is most of what a worker's memory grows by under load.
    """

    def __init__(self, size: int = 10_000, max_bytes: int = 32 * 1_048_576) -> None:
        super().__init__(size, max_bytes)

    def size_of(self, key: str, value: Remembered) -> int:
        # What the entry holds besides fixed object overheads (about 60 bytes a header pair).
        return len(key) + len(value.body) + sum(60 + len(k) + len(v) for k, v in value.headers)


memo = ResponseMemo(settings.response_cache_entries, settings.response_cache_max_bytes)


def request_key(scope: Scope) -> str:
    """What a public response depends on besides the data: URL (with host) and Accept.
    Made once per request (the cache layers all ask)."""
    state = scope.setdefault("state", {})
    key = state.get("cache_key")
    if key is None:
        host = header(scope, b"host") or b""
        accept = header(scope, b"accept") or b""
        query = scope.get("query_string", b"")
        key = state["cache_key"] = (
            f"{scope['scheme']}://{host.decode('latin-1')}{scope['path']}?"
            f"{query.decode('latin-1')}\n{accept.decode('latin-1')}"
        )
    return key  # type: ignore[no-any-return]


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


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers=not_modified_headers(etag))


async def _not_modified(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return not_modified(exc.etag)


def revision_check(scope: Scope, session: Reads) -> str | None:
    """Reads the revision first (the response is at least that new), for the HTTP cache layer;
    the ETag to answer 304 with when the memo allows."""
    if not _is_public_read(scope):
        return None
    revision = current_revision(session)
    scope.setdefault("state", {})["kb_revision"] = revision
    entry = memo.get(request_key(scope), revision)
    if_none_match = header(scope, b"if-none-match")
    if entry is not None and if_none_match is not None:
        if etag_matches(if_none_match.decode("latin-1"), entry.etag):
            return entry.etag
    return None


async def conditional_get(request: Request, session: SessionDep) -> None:
    """`revision_check` as a dependency of every /v1 route."""
    etag = revision_check(request.scope, session)
    if etag is not None:
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
        added = [(k.lower().encode(), v.encode()) for k, v in not_modified_headers(etag).items()]
        headers = (*((k, v) for k, v in start["headers"]), *added, OPEN_CORS)
        entry = Remembered(etag, headers, body)
        revision = scope.get("state", {}).get("kb_revision")
        if revision is not None:
            # Without the response cache only the ETag is needed (for 304s): keep no body.
            kept = entry if settings.response_cache else entry._replace(body=b"")
            memo.put(request_key(scope), revision, kept)
        await send_remembered(scope, send, entry)


async def send_remembered(scope: Scope, send: Send, entry: Remembered) -> None:
    """The remembered answer, or 304 with its headers when If-None-Match names its ETag."""
    if_none_match = header(scope, b"if-none-match")
    if if_none_match is not None and etag_matches(if_none_match.decode("latin-1"), entry.etag):
        kept = [(k, v) for k, v in entry.headers if k not in (b"content-type", b"content-length")]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})


class ResponseCacheMiddleware:
    """Answers a repeated public GET from the memo while the revision is unchanged: no routing,
    no session, no serialisation; one cheap revision read, so an edit in any process shows at once.
    Misses go through to the app, whose answer the HTTP cache layer remembers."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled
        self.probe = RevisionProbe()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and _is_public_read(scope):
            revision = self.probe.revision()
            if revision is not None:
                entry = memo.get(request_key(scope), revision)
                if entry is not None:
                    await send_remembered(scope, send, entry)
                    return
        await self.app(scope, receive, send)


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
