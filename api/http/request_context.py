"""The outermost middleware: a request id (X-Request-ID in and out), security headers on every
answer, `no-store` on every admin answer, and one JSON log line per request."""

import os
import re
import time

from api.config import settings
from api.http.asgi import ASGIApp, Message, Receive, Scope, Send, client_address, header
from api.http.caching import is_admin_path
from api.http.log import log_request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_DOCS_PATHS = ("/docs", "/redoc")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
JSON_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# The editors' web app: its own files only, no inline script or style, no eval.
WEBAPP_CSP = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
)
_WEBAPP_PATH = "/admin"
# What every answer gets, and every answer but the docs pages (whose scripts a CSP would block).
DOCS_HEADERS = SECURITY_HEADERS
JSON_HEADERS = (*SECURITY_HEADERS, JSON_CSP)
WEBAPP_HEADERS = (*SECURITY_HEADERS, WEBAPP_CSP)
# Admin answers (errors too) are never cached: this replaces any Cache-Control they carry.
NO_STORE = (b"cache-control", b"no-store")
ADMIN_HEADERS = (*JSON_HEADERS, NO_STORE)


def headers_for(path: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every answer under `path` gets, whichever layer gives it."""
    if path.startswith(_DOCS_PATHS):
        return DOCS_HEADERS
    if path == _WEBAPP_PATH or path.startswith(_WEBAPP_PATH + "/"):
        return WEBAPP_HEADERS
    if is_admin_path(path):
        return ADMIN_HEADERS
    return JSON_HEADERS


def milliseconds(nanoseconds: int) -> float:
    """To two decimals, rounded half up, in integer steps (`round` of a float costs more)."""
    return (nanoseconds + 5_000) // 10_000 / 100


class RequestIds:
    """32 random hex digits each: unique, and telling nothing of other requests or their number.
    The OS's random bytes are drawn 4 KiB at a time, not in a system call per request; a forked
    child draws its own. Taken on the event loop's thread only (no lock)."""

    SIZE = 16
    BATCH = 256

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._pool, self._at = b"", 0

    def new(self) -> str:
        at = self._at
        if at + self.SIZE > len(self._pool):
            self._pool, at = os.urandom(self.SIZE * self.BATCH), 0
        self._at = at + self.SIZE
        return self._pool[at : at + self.SIZE].hex()


new_request_id = RequestIds().new


class RequestContextMiddleware:
    """Gives every request an id (X-Request-ID in and out), the headers of its path, and a log
    line. Outermost of the project's layers, so every answer (413, 422, 429, 400 too) gets them."""

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
        started = time.perf_counter_ns()
        status = 500
        of_path = headers_for(scope["path"])
        added = ((b"x-request-id", request_id.encode()), *of_path)

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
                if of_path is ADMIN_HEADERS:
                    headers = [(k, v) for k, v in headers if k != NO_STORE[0]]
                message["headers"] = [*headers, *added]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if settings.request_log:
                log_request(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": milliseconds(time.perf_counter_ns() - started),
                        "client": client_address(scope),
                        "key_name": scope["state"].get("key_name"),
                    }
                )
