"""The connections kept for direct reads (`api.fastpath.direct`).

A Session costs a pool checkout (with a ping on PostgreSQL), SQLAlchemy's BEGIN and two
ROLLBACKs before any statement runs, as much as a relation read's own statements. On SQLite
direct reads run on the event loop's thread and do not await while they read, so one connection
serves them all, one read at a time, each read its own `BEGIN` ... `ROLLBACK` (one snapshot). On
PostgreSQL they await the database on the event loop (`loop_read_connections`), each on a
connection lent by an asyncio engine's pool, in autocommit as the read engine's are: no thread
hop and no threads contending for the GIL, which a thread per read with its own connection cost
(bench/results/NOTES.md, session 9).
"""

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
from sqlalchemy import URL, Connection, Dialect, Engine, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import Session

from api.db.engine import (
    get_public_read_engine,
    get_read_engine,
    make_async_read_engine,
    read_threads,
)
from api.fastpath.own_connection import OwnConnection


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


def _has_rows(cursor: Any) -> bool:
    """Whether the statement gave rows; psycopg's result says so without building the
    description's column objects."""
    pgresult = getattr(cursor, "pgresult", None)
    if pgresult is not None:
        return bool(pgresult.nfields)
    return cursor.description is not None


class _Driver:
    """The detached driver connection, ready for reads, and the thread that opened it."""

    def __init__(self, driver: Any, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            driver.rollback()  # the pool's ping may have begun a transaction
            driver.autocommit = True
        self.connection = driver
        self.dialect = engine.dialect
        self.url = str(engine.url)
        self.thread = threading.get_ident()

    def close(self) -> None:
        self.connection.close()

    def __del__(self) -> None:
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001, S110 (closing what is already gone)
            pass


class ReadConnection:
    """`reading()` yields this connection for one read, or None when it is busy (a read that
    awaited), was opened by another thread, or cannot be opened; the caller then opens a
    Session. A read that raises leaves no transaction open; a statement the driver refuses, or a
    rollback that fails, drops the connection for a new one at the next read."""

    def __init__(self, engine: Engine | Callable[[], Engine] | None = None) -> None:
        make = engine if callable(engine) else lambda: engine or get_read_engine()
        self.own = OwnConnection(make, _Driver)
        self._busy = False

    @property
    def driver(self) -> Any:
        """The sqlite3 or psycopg connection while one is held."""
        held = self.own.held
        return None if held is None else held.connection

    @property
    def dialect(self) -> Dialect:
        assert self.own.held is not None
        return self.own.held.dialect

    @property
    def url(self) -> str:
        assert self.own.held is not None
        return self.own.held.url

    @contextmanager
    def reading(self) -> Iterator["ReadConnection | None"]:
        held = None if self._busy else self.own.open()
        if held is None or held.thread != threading.get_ident():
            yield None
            return
        self._busy = True
        try:
            if held.dialect.name == "sqlite":
                self.execute("BEGIN")
            yield self
        finally:
            try:
                if self.own.held is not None:  # (None: dropped by `execute`)
                    held.connection.rollback()  # ends the SQLite read; nothing in autocommit
            except Exception:  # noqa: BLE001 (a broken connection: the next read opens another)
                self.close()
            self._busy = False

    def execute(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """The rows of one statement; driver errors raised as SQLAlchemy's, as a Session's are."""
        held = self.own.held
        assert held is not None
        try:
            return self._rows(sql, args)
        except held.dialect.loaded_dbapi.Error as error:
            lost = held.dialect.is_disconnect(error, held.connection, None)
            # Whatever the cause (a lost server, a plan prepared before a migration), the next
            # read starts on a fresh connection.
            self.close()
            raise driver_error(held.dialect, sql, args, error, lost) from error

    def _rows(self, sql: str, args: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        assert self.own.held is not None
        cursor = self.own.held.connection.cursor()
        try:
            cursor.execute(sql, args)
            return list(cursor.fetchall()) if _has_rows(cursor) else []
        finally:
            cursor.close()

    def close(self) -> None:
        self.own.close()


class _Lent:
    """A pooled connection of an asyncio engine, lent to one read (`LoopReadConnections`)."""

    def __init__(self, connection: Connection, url: str) -> None:
        self._pooled = connection
        # SQLAlchemy's adapter: psycopg's AsyncConnection behind a DB-API face, which awaits
        # inside `run_sync`.
        self.connection = connection.connection.dbapi_connection
        self.dialect = connection.dialect
        self.url = url
        self.thread = threading.get_ident()

    def close(self) -> None:
        self._pooled.invalidate()  # a statement the driver refused: the pool opens another


class _Holding:
    """What `ReadConnection` keeps its connection in, for one that is lent rather than owned."""

    def __init__(self, lent: _Lent) -> None:
        self.held: _Lent | None = lent

    def close(self) -> None:
        lent, self.held = self.held, None
        if lent is not None:
            lent.close()


class LentConnection(ReadConnection):
    """A ReadConnection on a connection lent by an asyncio engine's pool, for one read."""

    def __init__(self, connection: Connection, url: str) -> None:  # noqa: D107
        self.own = _Holding(_Lent(connection, url))  # type: ignore[assignment]

    def _rows(self, sql: str, args: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        # Straight on psycopg's AsyncConnection (`AdaptedConnection.run_async`): the DB-API
        # adapter would copy the rows into a deque and describe every column first.
        assert self.own.held is not None
        lent = self.own.held.connection
        rows: list[Any] = lent.run_async(lambda driver: _rows(driver, sql, args))
        return rows


async def _rows(driver: Any, sql: str, args: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """One statement's rows on a psycopg AsyncConnection."""
    cursor = driver.cursor()
    try:
        await cursor.execute(sql, args)
        return await cursor.fetchall() if cursor.pgresult.nfields else []
    finally:
        await cursor.close()


T = TypeVar("T")


class LoopReadConnections:
    """Direct reads on PostgreSQL, on the event loop: asyncio psycopg through SQLAlchemy's
    asyncio engine. `read(fn, *args)` runs the synchronous `fn(connection, *args)` in
    `AsyncConnection.run_sync`, where each statement awaits the database instead of holding a
    thread: no thread hop and no contention for the GIL. One engine per public read URL and
    event loop (its connections belong to the loop), at most `SKINKB_READ_THREADS` connections
    each; the primary's or, in turn, the replicas' (`get_public_read_engine`)."""

    def __init__(self) -> None:
        # By event loop, then by the (sync) engine whose database the asyncio engine reads.
        self._engines: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Engine, _LoopEngine]
        ] = weakref.WeakKeyDictionary()

    def _engine(self) -> "_LoopEngine":
        public = get_public_read_engine()
        engines = self._engines.setdefault(asyncio.get_running_loop(), {})
        found = engines.get(public)
        if found is None:
            found = engines[public] = _LoopEngine(make_async_read_engine(public.url), public.url)
        return found

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        # Waiting in turn for the worker's read slots: the pool's own queue lets a newcomer
        # take a connection ahead of reads already waiting (p99 1.3 s at 256 connections).
        # A slot free with no read waiting is taken at once: anyio's `acquire` would give up
        # a turn of the event loop even then.
        slots = read_threads()
        try:
            slots.acquire_nowait()
        except anyio.WouldBlock:
            await slots.acquire()
        try:
            return await self._engine().read(fn, args)
        finally:
            slots.release()

    async def close(self) -> None:
        """Closes this event loop's connections (at shutdown)."""
        for engine in self._engines.pop(asyncio.get_running_loop(), {}).values():
            await engine.close()


class _LoopEngine:
    """One event loop's asyncio engine for one database. A read keeps its connection checked
    out for the next read rather than return it to the pool: a pool checkout and checkin cost
    as much as the read's own statement. A connection that failed, or whose read was cancelled
    while it ran, is not kept."""

    def __init__(self, engine: AsyncEngine, url: URL) -> None:
        self.engine = engine
        self.url = str(url)  # as `database_of` gives it
        self.idle: list[AsyncConnection] = []

    async def read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        connection = self.idle.pop() if self.idle else await self.engine.connect()
        try:
            result = await connection.run_sync(_lend, self.url, fn, args)
        except Exception:
            await self._keep_or_close(connection)
            raise
        except BaseException:  # cancelled mid-statement: the connection's state is unknown
            await connection.invalidate()
            raise
        await self._keep_or_close(connection)
        return result

    async def _keep_or_close(self, connection: AsyncConnection) -> None:
        if connection.invalidated:  # a statement the driver refused (`_Lent.close`)
            await connection.close()
        else:
            self.idle.append(connection)

    async def close(self) -> None:
        while self.idle:
            await self.idle.pop().close()
        await self.engine.dispose()


def _lend(connection: Connection, url: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return fn(LentConnection(connection, url), *args)


read_connection = ReadConnection()
loop_read_connections = LoopReadConnections()
Reads = Session | ReadConnection  # what the hot read queries (api.fastpath.prepared) run on


def database_of(db: Reads) -> str:
    """The URL of the database `db` reads: what values remembered per revision are kept by."""
    if isinstance(db, ReadConnection):
        return db.url
    return str(db.get_bind().engine.url)
