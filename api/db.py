"""Database engine and sessions for SQLite and PostgreSQL alike."""

import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import orjson
from fastapi import Request
from sqlalchemy import Connection, Dialect, Engine, event, exc
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from api.config import settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
    return create_engine(
        url,
        echo=settings.db_echo,
        json_deserializer=orjson.loads,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


SETUP_LOCK = 0x736B696E6B62  # "skinkb"


def lock_for_setup(connection: Connection) -> None:
    """Serialises one-time setup (migrations, seed loading) of servers starting side by side:
    on PostgreSQL an advisory lock held to the end of the transaction; on SQLite a writer's
    BEGIN IMMEDIATE (see `writer`) already is one."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SETUP_LOCK})")


def writer(engine: Engine) -> Engine:
    """The same engine, its transactions taking the write lock at once on SQLite."""
    return engine.execution_options(sqlite_immediate=True)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine()


@lru_cache(maxsize=1)
def get_write_engine() -> Engine:
    return writer(get_engine())


def reader(engine: Engine) -> Engine:
    """The same engine for requests that only read. On PostgreSQL in autocommit: no BEGIN and
    ROLLBACK round trips, and each statement sees what it would in a READ COMMITTED transaction
    (its own snapshot), so nothing changes for consistency. On SQLite reads keep their
    transaction: one snapshot for the whole request, and BEGIN costs no round trip."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@lru_cache(maxsize=1)
def get_read_engine() -> Engine:
    return reader(get_engine())


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; requests that may write begin as writers.

    Async so that opening and closing it costs no trip through the threadpool; routes take it
    with `scope="function"` (api.deps.SessionDep), so its connection goes back to the pool as
    soon as the handler returns, not after the response has been sent.
    """
    with open_session(request.method) as session:
        yield session


def open_session(method: str) -> Session:
    """A session for a request of this method: on the reader, or the writer if it may write."""
    return Session(get_read_engine() if method in READ_METHODS else get_write_engine())


def driver_error(
    dialect: Dialect, sql: str, args: Any, error: Exception, lost: bool
) -> exc.StatementError:
    """A DB-API error as SQLAlchemy raises it from its own execution (a lost database is an
    `OperationalError`, answered 503), for statements run on a driver's cursor directly."""
    return exc.DBAPIError.instance(
        sql,
        args,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )


class ReadConnection:
    """A connection each worker keeps for direct reads (api.direct), outside the pool.

    A Session costs about 140 µs of Python a request on this machine before any statement runs
    (session, pool checkout and return, SQLAlchemy's BEGIN and two ROLLBACKs), as much as a
    relation read's own statements. Direct reads run on the event loop's thread and do not await
    while they read, so one connection serves them all, one read at a time: on SQLite each read
    is its own `BEGIN` ... `ROLLBACK` (one snapshot, as a Session's transaction gives); on
    PostgreSQL the connection is in autocommit, as the read engine's are (`reader`).

    `reading()` yields None when the connection is busy (a read that awaited), was opened by
    another thread, or cannot be opened; the caller then opens a Session as before. After a
    failed connect it waits RETRY_SECONDS before trying again; a read that raises leaves no
    transaction open, and a statement the driver refuses, or a rollback that fails, drops the
    connection for a new one at the next read.
    """

    RETRY_SECONDS = 1.0

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self.dialect: Any = None
        self.driver: Any = None  # the sqlite3 or psycopg connection
        self._thread = 0
        self._busy = False
        self._retry_at = 0.0

    @contextmanager
    def reading(self) -> Iterator["ReadConnection | None"]:
        if self._busy or not self._open():
            yield None
            return
        self._busy = True
        try:
            if self.dialect.name == "sqlite":
                self.execute("BEGIN")
            yield self
        finally:
            try:
                if self.driver is not None:  # (None: dropped by `execute`)
                    self.driver.rollback()  # ends the SQLite read; nothing to end in autocommit
            except Exception:  # noqa: BLE001 (a broken connection: the next read opens another)
                self.close()
            self._busy = False

    def execute(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """The rows of one statement; driver errors raised as SQLAlchemy's, as a Session's are."""
        try:
            cursor = self.driver.cursor()
            try:
                cursor.execute(sql, args)
                return list(cursor.fetchall()) if cursor.description else []
            finally:
                cursor.close()
        except self.dialect.loaded_dbapi.Error as error:
            lost = self.dialect.is_disconnect(error, self.driver, None)
            # Reads fail rarely; whatever the cause (a lost server, a plan PostgreSQL prepared
            # before a migration), the next read starts on a fresh connection.
            self.close()
            raise driver_error(self.dialect, sql, args, error, lost) from error

    def _open(self) -> bool:
        if self.driver is not None:
            return self._thread == threading.get_ident()
        if time.monotonic() < self._retry_at:
            return False
        engine = self._engine or get_read_engine()
        try:
            fairy = engine.raw_connection()
            driver: Any = fairy.driver_connection
            fairy.detach()  # ours for good: the pool neither counts it nor hands it out
            if engine.dialect.name != "sqlite":
                driver.rollback()  # the pool's ping may have begun a transaction
                driver.autocommit = True
        except Exception:  # noqa: BLE001 (the database is down: Sessions answer 503 meanwhile)
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            return False
        self.driver, self.dialect, self._thread = driver, engine.dialect, threading.get_ident()
        return True

    def close(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            try:
                driver.close()
            except Exception:  # noqa: BLE001 (closing what is already broken)
                pass


read_connection = ReadConnection()
Reads = Session | ReadConnection  # what the hot read queries (api.prepared) run on
