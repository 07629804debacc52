"""What a process remembers of the public answers it sent, valid while the knowledge-base
revision is unchanged: each answer's ETag (for 304s without running the handler) and, with the
response cache on (`SKINKB_RESPONSE_CACHE`), the whole answer, sent again before routing."""

from api.config import settings
from api.fastpath import enabled
from api.fastpath.kb_revision import RevisionProbe, current_revision
from api.fastpath.memo import RevisionMemo
from api.fastpath.read_connection import ReadConnection, Reads
from api.http.asgi import ASGIApp, Receive, Scope, Send, header
from api.http.caching import Answer, etag_matches, is_public_read, request_key, send_answer


class ResponseMemo(RevisionMemo[bytes, Answer]):
    """The last public answer per request key, with the revision read before it was made;
    bounded in entries and in bytes (key, headers and body; least recently used go first)."""

    def __init__(self, size: int = 10_000, max_bytes: int = 32 * 1_048_576) -> None:
        super().__init__(size, max_bytes)

    def size_of(self, key: bytes, value: Answer) -> int:
        # What the entry holds besides fixed object overheads (about 60 bytes a header pair).
        return len(key) + len(value.body) + sum(60 + len(k) + len(v) for k, v in value.headers)


memo = ResponseMemo(settings.response_cache_entries, settings.response_cache_max_bytes)
probe = RevisionProbe()


def remember(scope: Scope, answer: Answer) -> None:
    """Keep an answer at the revision its request read first (only its ETag, for 304s, when the
    response cache is off)."""
    revision = scope.get("state", {}).get("kb_revision")
    if revision is not None:
        kept = answer if enabled("response_cache") else answer._replace(body=b"")
        memo.put(request_key(scope), revision, kept)


def revision_check(scope: Scope, db: Reads) -> str | None:
    """Reads the revision first (the answer is at least that new) and notes it on the request;
    the ETag to answer 304 with when the memo has this request's answer at that revision."""
    if not is_public_read(scope):
        return None
    revision = first_revision(db)
    scope.setdefault("state", {})["kb_revision"] = revision
    entry = memo.get(request_key(scope), revision)
    if_none_match = header(scope, b"if-none-match")
    if entry is not None and if_none_match is not None:
        if etag_matches(if_none_match.decode("latin-1"), entry.etag):
            return entry.etag
    return None


def first_revision(db: Reads) -> int:
    """The revision an answer read on `db` will be at least as new as. On a worker's own
    connection to the PostgreSQL primary (relation reads) the probe's: no round trip, and LISTEN
    hears of a commit only once statements that start after can see it. A Session, SQLite and a
    replica (maybe behind the primary the probe listens on) read it in the read's transaction."""
    if (
        isinstance(db, ReadConnection)
        and db.dialect.name != "sqlite"
        and not settings.read_database_urls
    ):
        revision = probe.revision()
        if revision is not None:
            return revision
    return current_revision(db)


class ResponseCacheMiddleware:
    """Answers a repeated public GET from the memo while the revision is unchanged: no routing,
    no session, no serialisation; the revision comes from the probe, so an edit made in any
    process shows at once. Misses go on to the app, whose answer the HTTP cache layer keeps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.probe = probe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if enabled("response_cache") and scope["type"] == "http" and is_public_read(scope):
            revision = self.probe.revision()
            if revision is not None:
                entry = memo.get(request_key(scope), revision)
                if entry is not None:
                    await send_answer(scope, send, entry)
                    return
        await self.app(scope, receive, send)
