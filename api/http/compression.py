"""Content coding of answers: gzip, and brotli when the optional `brotli` package is installed.

An answer of `MIN_SIZE` bytes or more is compressed when the request's Accept-Encoding asks.
Public reads are compressed once, where the HTTP cache layer makes their answer, so the response
cache keeps the compressed variant and a warm read sends its bytes as they are; every other
answer (admin, errors) goes through `CompressAnswers`, which compresses per request.
"""

import functools
import gzip
from collections.abc import Callable
from types import ModuleType

from api.http.asgi import ASGIApp, Message, Receive, Scope, Send, buffered, header

brotli: ModuleType | None
try:
    import brotli  # type: ignore[no-redef]
except ImportError:  # optional: gzip alone
    brotli = None

MIN_SIZE = 1024
IDENTITY = "identity"
# Preferred first when the client accepts several equally.
CODINGS = ("br", "gzip") if brotli is not None else ("gzip",)


def chosen_coding(scope: Scope) -> str:
    """The content coding to answer with: the client's preferred one among those we have
    (RFC 9110 Accept-Encoding, q-values honoured; q=0 refuses), else identity."""
    accepted = header(scope, b"accept-encoding")
    return coding_accepted(accepted) if accepted else IDENTITY


@functools.lru_cache(maxsize=256)
def coding_accepted(accepted: bytes) -> str:
    """`chosen_coding` for one Accept-Encoding value (clients send few distinct ones)."""
    weights: dict[str, float] = {}
    for part in accepted.decode("latin-1").lower().split(","):
        name, _, params = part.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                weight = 0.0
        weights[name.strip()] = weight
    best, best_weight = IDENTITY, 0.0
    for coding in CODINGS:
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight > best_weight:
            best, best_weight = coding, weight
    return best


def compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        assert brotli is not None
        return brotli.compress(body, quality=5)  # type: ignore[no-any-return]
    return gzip.compress(body, compresslevel=6, mtime=0)


def coding_for(scope: Scope, body: bytes) -> str:
    """The coding of this answer: identity when small, else the request's choice."""
    return chosen_coding(scope) if len(body) >= MIN_SIZE else IDENTITY


def encoded(
    scope: Scope, headers: list[tuple[bytes, bytes]], body: bytes, coding: str | None = None
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The answer in `coding` (by default the one `coding_for` picks), unless already coded: its
    headers (Content-Encoding, Content-Length, Vary naming Accept-Encoding) and body."""
    if any(k == b"content-encoding" for k, _ in headers):
        return headers, body
    kept = [(k, v) for k, v in headers if k not in (b"content-length", b"vary")]
    vary = [v for k, v in headers if k == b"vary"]
    if not any(b"accept-encoding" in v.lower() for v in vary):
        vary.append(b"Accept-Encoding")
    kept.append((b"vary", b", ".join(vary)))
    coding = coding_for(scope, body) if coding is None else coding
    if coding != IDENTITY:
        body = compress(body, coding)
        kept.append((b"content-encoding", coding.encode()))
    kept.append((b"content-length", str(len(body)).encode()))
    return kept, body


class CompressAnswers:
    """Compresses the answers the HTTP cache layer does not make (admin ones, errors...): those
    already coded, 204s, 304s and small ones go as they are. Requests `compressed_within` says
    are answered compressed already (public reads) pass straight through, unbuffered."""

    def __init__(
        self, app: ASGIApp, compressed_within: Callable[[Scope], bool] = lambda scope: False
    ) -> None:
        self.app = app
        self.compressed_within = compressed_within

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.compressed_within(scope)
            or chosen_coding(scope) == IDENTITY
        ):
            await self.app(scope, receive, send)
            return

        async def finish(start: Message, body: bytes) -> None:
            headers = list(start.get("headers", []))
            if start["status"] not in (204, 304) and body:
                headers, body = encoded(scope, headers, body)
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await buffered(self.app, scope, receive, send, finish)
