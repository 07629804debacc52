"""Rate limits per process: public reads per client address, admin writes per key, failed
authentications per address; over a limit answers 429 with Retry-After."""

import hashlib
import time
from collections import OrderedDict

from api.http.asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    client_address,
    header,
    send_problem,
)


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
