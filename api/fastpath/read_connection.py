"""The connection each worker keeps for direct reads (`api.fastpath.direct`).

A Session costs a pool checkout, SQLAlchemy's BEGIN and two ROLLBACKs before any statement
runs, as much as a relation read's own statements. Direct reads run on the event loop's thread
and do not await while they read, so one connection serves them all, one read at a time: on
SQLite each read is its own `BEGIN` ... `ROLLBACK` (one snapshot), on PostgreSQL the connection
is in autocommit, as the read engine's are.
"""

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Dialect, Engine, exc
from sqlmodel import Session

from api.db.engine import get_read_engine
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


class _Driver:
    """The detached driver connection, ready for reads, and the thread that opened it."""

    def __init__(self, driver: Any, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            driver.rollback()  # the pool's ping may have begun a transaction
            driver.autocommit = True
        self.connection = driver
        self.dialect = engine.dialect
        self.thread = threading.get_ident()

    def close(self) -> None:
        self.connection.close()


class ReadConnection:
    """`reading()` yields this connection for one read, or None when it is busy (a read that
    awaited), was opened by another thread, or cannot be opened; the caller then opens a
    Session. A read that raises leaves no transaction open; a statement the driver refuses, or a
    rollback that fails, drops the connection for a new one at the next read."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.own = OwnConnection(lambda: engine or get_read_engine(), _Driver)
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
                return list(cursor.fetchall()) if cursor.description else []
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


read_connection = ReadConnection()
Reads = Session | ReadConnection  # what the hot read queries (api.fastpath.prepared) run on
