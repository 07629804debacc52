"""The outermost middleware: a request id (X-Request-ID in and out), security headers on every
answer, and one JSON log line per request."""

import os
import re
import time

from api.config import settings
from api.http.asgi import ASGIApp, Message, Receive, Scope, Send, client_address, header
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


def security_headers(path: str) -> tuple[tuple[bytes, bytes], ...]:
    if path.startswith(_DOCS_PATHS):
        return DOCS_HEADERS
    if path == _WEBAPP_PATH or path.startswith(_WEBAPP_PATH + "/"):
        return WEBAPP_HEADERS
    return JSON_HEADERS


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
            *security_headers(scope["path"]),
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
                log_request(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "client": client_address(scope),
                        "key_name": scope["state"].get("key_name"),
                    }
                )
