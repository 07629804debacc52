"""Service settings, read from environment variables prefixed with SKINKB_."""

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKINKB_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./skinkb.db"
    # PostgreSQL read replicas (a JSON list of URLs): public reads go to them in turn; admin
    # reads and every write go to database_url.
    read_database_urls: list[str] = []
    # The event loop of `skinkb serve`: asyncio serves connections in turn when saturated, where
    # uvloop starved some for seconds (bench/results/NOTES.md).
    server_loop: Literal["asyncio", "uvloop", "auto"] = "asyncio"
    # Above the threadpool size (40), so a sync handler never waits on the pool.
    db_pool_size: int = 20
    db_max_overflow: int = 30
    # Public reads on PostgreSQL wait on the network at most this many at once a worker, taking
    # turns in order: relation reads on as many asyncio connections, the others on threads.
    read_threads: int = Field(default=8, ge=1, le=40)
    # PostgreSQL's planner cost of a random page read on the service's connections (None: the
    # server's own). Its default, 4, prices disk seeks: it plans a relation read as a hash of
    # every side effect instead of one index probe per listed row, 7x the time at 10k.
    postgres_random_page_cost: float | None = Field(default=1.1, gt=0)

    db_echo: bool = False
    page_size_default: int = 20
    page_size_max: int = 100
    # The service's own URL (`https://kb.example.org`) for `next`, `Link` and JSON-LD `@id`;
    # empty: taken from the request's Host header, which only `trusted_hosts` then vouches for.
    public_base_url: str = ""
    # HTTP caching of public reads: Cache-Control max-age and stale-while-revalidate.
    cache_max_age: int = 60
    cache_stale_while_revalidate: int = 300
    # The fast path (api.fastpath): every bypass at once, and each on its own.
    fastpath: bool = True
    # Hot relation reads answered without FastAPI's routing and dependency solving.
    direct_reads: bool = True
    # Repeated public reads answered from memory while the knowledge-base revision is unchanged.
    response_cache: bool = True
    # Hot selects compiled once and run on the DB-API cursor instead of through the Session.
    prepared_statements: bool = True
    # List totals remembered per knowledge-base revision.
    count_memo: bool = True
    # SQLite: commits seen in the WAL-index header before asking PRAGMA data_version.
    wal_index_probe: bool = True
    # uvicorn's httptools protocol with TCP_NODELAY and each answer written in one send.
    fast_protocol: bool = True
    response_cache_entries: int = 10_000
    # Keys, headers and bodies of remembered answers, per worker.
    response_cache_max_bytes: int = 16 * 1_048_576
    # HMAC secret for API keys; empty: the one kept in the database (migration 0002).
    secret_key: str = ""

    # Operations and protection
    docs_enabled: bool = True
    request_log: bool = True  # one JSON line per request on stdout
    trusted_hosts: list[str] = ["*"]
    # The proxies whose X-Forwarded-For / -Proto `skinkb serve` believes (uvicorn's
    # forwarded_allow_ips: addresses or networks, comma-separated, or "*"); the rate limits
    # key on the client address so resolved.
    forwarded_allow_ips: str = "127.0.0.1"
    # Origins of a separately hosted admin client (a JSON list); empty: admin CORS stays closed.
    admin_cors_origins: list[str] = []
    # Above the largest valid body: a 200,000-character source text, JSON-escaped.
    max_body_bytes: int = 2_097_152
    # Seconds a client has to send a request head, and then its body (`skinkb serve`'s protocol,
    # api.fastpath.serving): slower ones are cut off instead of holding a connection.
    header_timeout: float = 10.0
    # Connections one worker holds at once; past it, requests are answered 503 (uvicorn's
    # limit_concurrency). Above the half-open connections a burst of slow clients makes.
    max_connections: int = 1000
    rate_limit_enabled: bool = True
    # Public reads are limited only when asked: behind a proxy not listed in
    # forwarded_allow_ips, every client would share the proxy's address.
    rate_limit_public_enabled: bool = False
    rate_limit_public_per_second: float = 50.0  # per client address, public reads
    rate_limit_public_burst: int = 200
    # Public reads with a valid API key (any role): a bucket per key at this rate (burst four
    # times it), for a site's own servers; 0: keys share their address's bucket.
    rate_limit_public_key_allowance: float = 250.0
    rate_limit_admin_per_second: float = 5.0  # per API key, admin writes
    rate_limit_admin_burst: int = 50
    rate_limit_auth_failures_per_minute: int = 20  # per client address

    # The changes feed keeps tombstones (and every change) this long; older `since`: 410.
    changes_retention_days: int = 90

    # Webhooks: the deliverer inside `skinkb serve` (`skinkb webhooks deliver` runs one apart).
    webhooks_enabled: bool = True
    # Targets on loopback, private or link-local addresses are refused unless this is set.
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_poll_seconds: float = 1.0
    # Failed deliveries are retried after 5 s, 10 s, 20 s ... (at most an hour apart) for a
    # day; then the event is given up and the webhook disabled.
    webhook_backoff_seconds: float = 5.0
    webhook_backoff_max_seconds: float = 3600.0
    webhook_retry_seconds: float = 86_400.0

    @field_validator("postgres_random_page_cost", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """`SKINKB_POSTGRES_RANDOM_PAGE_COST=` (empty): the server's own cost."""
        return None if value == "" else value


settings = Settings()
