"""The connections kept for direct reads (`api.fastpath.direct`).

A Session costs a pool checkout (with a ping on PostgreSQL), SQLAlchemy's BEGIN and two
ROLLBACKs before any statement runs, as much as a relation read's own statements. On SQLite
direct reads run on the event loop's thread and do not await while they read, so one connection
serves them all, one read at a time, each read its own `BEGIN` ... `ROLLBACK` (one snapshot). On
PostgreSQL they run on threadpool threads, each keeping a connection of its own
(`thread_read_connections`) in autocommit, as the read engine's are.
"""

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Dialect, Engine, exc
from sqlmodel import Session

from api.db.engine import get_public_read_engine, get_read_engine
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
        # A thread's own connection goes with its thread (`ThreadReadConnections`).
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
            cursor = held.connection.cursor()
            try:
                cursor.execute(sql, args)
                return list(cursor.fetchall()) if _has_rows(cursor) else []
            finally:
                cursor.close()
        except held.dialect.loaded_dbapi.Error as error:
            lost = held.dialect.is_disconnect(error, held.connection, None)
            # Whatever the cause (a lost server, a plan prepared before a migration), the next
            # read starts on a fresh connection.
            self.close()
            raise driver_error(held.dialect, sql, args, error, lost) from error

    def close(self) -> None:
        self.own.close()


class ThreadReadConnections:
    """A ReadConnection per thread, on the public read engine (a replica's, in turn, when
    replicas are configured): for direct reads on PostgreSQL, which run on the threadpool. As
    many as the threadpool has threads; each closes when its thread ends."""

    def __init__(self) -> None:
        self._local = threading.local()

    def reading(self) -> AbstractContextManager["ReadConnection | None"]:
        held: ReadConnection | None = getattr(self._local, "connection", None)
        if held is None:
            held = self._local.connection = ReadConnection(get_public_read_engine)
        return held.reading()


read_connection = ReadConnection()
thread_read_connections = ThreadReadConnections()
Reads = Session | ReadConnection  # what the hot read queries (api.fastpath.prepared) run on


def database_of(db: Reads) -> str:
    """The URL of the database `db` reads: what values remembered per revision are kept by."""
    if isinstance(db, ReadConnection):
        return db.url
    return str(db.get_bind().engine.url)
