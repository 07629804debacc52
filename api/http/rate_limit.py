"""Rate limits per process: admin writes per key, the 401 answers of an address, and (when
enabled) public reads per client address, with a larger bucket of its own for each valid API
key; over a limit answers 429 with Retry-After.

The client address is the one uvicorn resolves: behind a proxy listed in
`SKINKB_FORWARDED_ALLOW_IPS`, the client its X-Forwarded-For names.
"""

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

import anyio

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

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Whether an Authorization header holds a live API key (any role); asked off the event loop.
KnownKey = Callable[[str], bool]
# How long a key found valid (or not) is taken as such for choosing a bucket.
KNOWN_KEY_SECONDS = 60.0


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


class KnownKeys:
    """Which credentials were live API keys, remembered a while by digest, so that a flood of
    reads with a key costs one lookup a minute."""

    def __init__(self, known_key: KnownKey, size: int = 10_000) -> None:
        self.known_key, self.size = known_key, size
        self.seen: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    async def __call__(self, digest: str, authorization: bytes, now: float) -> bool:
        remembered = self.seen.get(digest)
        if remembered is not None and remembered[1] > now:
            return remembered[0]
        try:
            known = await anyio.to_thread.run_sync(self.known_key, authorization.decode("latin-1"))
        except Exception:  # noqa: BLE001 (no answer: the request shares its address's bucket)
            known = False
        self.seen.pop(digest, None)
        self.seen[digest] = (known, now + KNOWN_KEY_SECONDS)
        if len(self.seen) > self.size:
            self.seen.popitem(last=False)
        return known


class RateLimitMiddleware:
    """Per API key for admin writes; per address for the 401 answers (a request whose key is
    valid is never refused by that limit); public reads per address when `public` is given,
    and per valid key in a bucket of their own when `public_key_allowance` is given too.
    Requests `never_refused` says are public reads pass straight through when `public` is not
    given."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        enabled: bool,
        public: tuple[float, int] | None,
        admin: tuple[float, int],
        auth_failures_per_minute: int,
        public_key_allowance: tuple[float, int] | None = None,
        known_key: KnownKey | None = None,
        never_refused: Callable[[Scope], bool] = lambda scope: False,
    ) -> None:
        self.app = app
        # Requests no limit applies to unless public reads are limited (they never answer 401).
        self.never_refused = never_refused
        self.enabled = enabled
        self.public = TokenBuckets(*public) if public else None
        self.public_keys = (
            TokenBuckets(*public_key_allowance)
            if public_key_allowance and public_key_allowance[0] > 0
            else None
        )
        self.known_keys = KnownKeys(known_key) if known_key else None
        self.admin = TokenBuckets(*admin)
        self.auth_failures = TokenBuckets(auth_failures_per_minute / 60, auth_failures_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.enabled
            or (self.public is None and self.never_refused(scope))
        ):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        address = client_address(scope)
        authorization = header(scope, b"authorization")
        wait = 0.0
        if scope["method"] not in READ_METHODS:
            # Keyed by a digest of the credential, never the credential itself.
            key = hashlib.sha256(authorization or address.encode()).hexdigest()
            wait = self.admin.take(key, now)
        elif self.public is not None:
            buckets, key = await self._public_bucket(address, authorization, now)
            wait = buckets.take(key, now)
        if wait:
            await self._too_many(send, wait)
            return
        await self.app(scope, receive, self._refusals_limited(address, send))

    async def _public_bucket(
        self, address: str, authorization: bytes | None, now: float
    ) -> tuple[TokenBuckets, str]:
        """A valid key's own bucket, else the client address's."""
        assert self.public is not None
        if authorization and self.public_keys is not None and self.known_keys is not None:
            digest = hashlib.sha256(authorization).hexdigest()
            if await self.known_keys(digest, authorization, now):
                return self.public_keys, digest
        return self.public, address

    def _refusals_limited(self, address: str, send: Send) -> Send:
        """`send`, but a 401 beyond the address's allowance goes out as 429 instead: decided
        once authentication has answered, so a valid key is never refused here."""
        replaced = False

        async def send_or_throttle(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the body of the 401 that a 429 replaced
            if message["type"] == "http.response.start" and message["status"] == 401:
                wait = self.auth_failures.take(address, time.monotonic())
                if wait:
                    replaced = True
                    await self._too_many(send, wait)
                    return
            await send(message)

        return send_or_throttle

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
