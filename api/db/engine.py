"""Engines and sessions for SQLite and PostgreSQL alike."""

import functools
import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import anyio
import orjson
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Session, create_engine

from api.config import settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the driver, opens transactions (see _on_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then writes
    # cannot wait for the lock (the busy timeout does not apply to lock upgrades) and fails.
    if conn.get_execution_options().get("sqlite_immediate", False):
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # may wait, and fail, as SQLAlchemy reports
    else:
        # A read's BEGIN takes no lock and cannot fail for one: on the driver's connection, as
        # SQLAlchemy's own execution of it costs about what a read's statement does.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("BEGIN")


def _on_postgres_connect(dbapi_connection: Any, _record: Any) -> None:
    # Session settings outlive transactions once committed; a fresh connection has none open.
    cost = settings.postgres_random_page_cost
    if cost is not None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET random_page_cost = {float(cost)!r}")
        cursor.close()
        dbapi_connection.commit()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the given URL (default: settings), with per-back-end connection setup."""
    url = url or settings.database_url
    if is_sqlite(url):
        # Sync handlers run on threadpool threads, so a connection may move between threads.
        engine = create_engine(
            url,
            echo=settings.db_echo,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False},
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    engine = create_engine(
        url,
        echo=settings.db_echo,
        json_deserializer=orjson.loads,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    event.listen(engine, "connect", _on_postgres_connect)
    return engine


def make_async_read_engine(url: URL) -> AsyncEngine:
    """An asyncio engine (psycopg's AsyncConnection) for direct public reads on PostgreSQL:
    autocommit as `reader`'s, at most `read_threads` connections, no ping (a read that fails
    on a stale connection is answered the ordinary way, and the connection replaced)."""
    engine = create_async_engine(
        url,
        echo=settings.db_echo,
        json_deserializer=orjson.loads,
        isolation_level="AUTOCOMMIT",
        pool_size=settings.read_threads,
        max_overflow=0,
        pool_reset_on_return=None,  # autocommit: no transaction to end
    )
    event.listen(engine.sync_engine, "connect", _on_postgres_connect)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, its transactions taking the write lock at once on SQLite."""
    return engine.execution_options(sqlite_immediate=True)


def reader(engine: Engine) -> Engine:
    """The same engine for requests that only read. On PostgreSQL in autocommit: no BEGIN and
    ROLLBACK round trips, and each statement sees what it would in a READ COMMITTED transaction.
    On SQLite reads keep their transaction: one snapshot for the whole request."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine()


@lru_cache(maxsize=1)
def get_write_engine() -> Engine:
    return writer(get_engine())


@lru_cache(maxsize=1)
def get_read_engine() -> Engine:
    return reader(get_engine())


@lru_cache(maxsize=1)
def get_replica_engines() -> tuple[Engine, ...]:
    """One read engine per replica of `read_database_urls` (none: public reads use the primary)."""
    return tuple(reader(make_engine(url)) for url in settings.read_database_urls)


_turns = itertools.count()


def get_public_read_engine() -> Engine:
    """The engine of the next public read: the replicas in turn, or the primary's read engine."""
    replicas = get_replica_engines()
    if not replicas:
        return get_read_engine()
    return replicas[next(_turns) % len(replicas)]


def is_remote(session: Session) -> bool:
    """Whether the session's statements are round trips to a server (PostgreSQL): those run on
    the threadpool, where waiting stops no other request; SQLite's run where they are."""
    return session.get_bind().dialect.name != "sqlite"


def open_session(method: str, public: bool = False) -> Session:
    """A session for a request of this method: on the writer if it may write, else on a reader
    (a replica's, when it is a public read and replicas are configured)."""
    if method not in READ_METHODS:
        return Session(get_write_engine())
    return Session(get_public_read_engine() if public else get_read_engine())


@lru_cache(maxsize=1)
def read_threads() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(settings.read_threads)


async def on_a_read_thread(read: Callable[..., T], *args: Any) -> T:
    """`read(*args)` on the threadpool, at most `SKINKB_READ_THREADS` at once (a public read
    on PostgreSQL: waiting there holds up no other request)."""
    return await anyio.to_thread.run_sync(functools.partial(read, *args), limiter=read_threads())
