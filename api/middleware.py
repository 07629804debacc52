"""ASGI middleware facing the internet: request ids and JSON logs, security headers, trusted
hosts, request body limits and rate limits. Plain ASGI (no BaseHTTPMiddleware) to stay cheap."""

import hashlib
import itertools
import json
import logging
import re
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from api.config import settings
from api.errors import PROBLEM_JSON

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("skinkb.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_DOCS_PATHS = ("/docs", "/redoc")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
JSON_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# What every answer gets, and every answer but the docs pages (whose scripts a CSP would block).
DOCS_HEADERS = SECURITY_HEADERS
JSON_HEADERS = (*SECURITY_HEADERS, JSON_CSP)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, default=str)


def configure_logging(stream: Any = sys.stdout) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


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


_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count()


def new_request_id() -> str:
    """Unique per process start and request, without a system call per request (32 hex digits)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class RequestContextMiddleware:
    """Gives every request an id (X-Request-ID in and out), security headers, and a log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = (
            given.decode("latin-1")
            if given and _REQUEST_ID.match(given.decode("latin-1"))
            else new_request_id()
        )
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        added = (
            (b"x-request-id", request_id.encode()),
            *(DOCS_HEADERS if scope["path"].startswith(_DOCS_PATHS) else JSON_HEADERS),
        )

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if settings.request_log:
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                            "client": client_address(scope),
                            "key_name": scope["state"].get("key_name"),
                        }
                    },
                )


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


def _nul_at(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where in a parsed JSON document a text (a key or a value) holds NUL, if anywhere."""
    if isinstance(value, str):
        return loc if _NUL in value else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        if isinstance(key, str) and _NUL in key:
            return (*loc, key)
        found = _nul_at(item, (*loc, key))
        if found is not None:
            return found
    return None


class RefuseNulMiddleware:
    """No text the service takes may hold the NUL character (U+0000).

    PostgreSQL's text cannot store it (the driver raises) while SQLite would store it, and no
    entry, slug, search or filter needs it. So a path holding it answers 404 (it names nothing),
    and a query parameter or a JSON body text holding it 422 naming where, before any handler,
    the database or the audit log sees it: both databases answer alike and nothing is half done.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        if _NUL_ESCAPE.search(body):
            try:
                loc = _nul_at(json.loads(body))
            except ValueError:
                loc = None
            await self._refuse(send, ("body", *(loc or ())))
            return
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    @staticmethod
    async def _refuse(send: Send, loc: tuple[str | int, ...]) -> None:
        if loc[0] == "query":
            where = f"query parameter {loc[1]!r}"
        elif len(loc) > 1:
            where = f"body's {'.'.join(map(str, loc[1:]))}"
        else:
            where = "body"
        detail = f"The {where} holds the NUL character (U+0000), which no text here may hold."
        error = {"loc": list(loc), "msg": detail, "type": "string_nul"}
        await send_problem(send, 422, "Unprocessable Content", detail, errors=[error])


class TokenBuckets:
    """Token buckets by key, least recently used forgotten beyond `size` keys."""

    def __init__(self, rate: float, burst: int, size: int = 100_000) -> None:
        self.rate, self.burst, self.size = rate, burst, size
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        tokens, last = self.buckets.pop(key, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            wait = 0.0
        else:
            self.buckets[key] = (tokens, now)
            wait = (1 - tokens) / self.rate
        if len(self.buckets) > self.size:
            self.buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """Per client address for public reads, per API key for admin writes, and per address for
    failed authentications; over the limit answers 429 with Retry-After. Limits are per process."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        enabled: bool,
        public: tuple[float, int],
        admin: tuple[float, int],
        auth_failures_per_minute: int,
    ) -> None:
        self.app = app
        self.enabled = enabled
        self.public = TokenBuckets(*public)
        self.admin = TokenBuckets(*admin)
        self.auth_failures = TokenBuckets(auth_failures_per_minute / 60, auth_failures_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        address = client_address(scope)
        authorization = header(scope, b"authorization")
        if authorization is not None:
            # An address that keeps failing authentication waits before it may try again.
            bucket = self.auth_failures.buckets.get(address)
            if (
                bucket is not None
                and min(
                    self.auth_failures.burst,
                    bucket[0] + (now - bucket[1]) * self.auth_failures.rate,
                )
                < 1
            ):
                await self._too_many(send, (1 - bucket[0]) / self.auth_failures.rate)
                return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            wait = self.public.take(address, now)
        else:
            # Keyed by a digest of the credential, never the credential itself.
            key = hashlib.sha256(authorization or address.encode()).hexdigest()
            wait = self.admin.take(key, now)
        if wait:
            await self._too_many(send, wait)
            return

        async def watch_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.auth_failures.take(address, time.monotonic())
            await send(message)

        await self.app(scope, receive, watch_send)

    @staticmethod
    async def _too_many(send: Send, wait: float) -> None:
        retry_after = str(max(1, int(wait + 0.999))).encode()
        await send_problem(
            send,
            429,
            "Too Many Requests",
            "Rate limit exceeded; retry later.",
            [(b"retry-after", retry_after)],
        )
