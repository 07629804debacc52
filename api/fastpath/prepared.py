"""Hot reads as prepared statements: compiled once per dialect, run on the DB-API cursor.

A `Prepared` select is compiled once per dialect; each call expands its IN lists as SQLAlchemy
does, runs on the cursor of the session's own connection (same transaction and snapshot) or of
the worker's read connection, and passes each value through its column type's result processor,
as SQLAlchemy would. Kept of SQLAlchemy's execution: the transaction, the `before_cursor_execute`
event and its exception classes (a lost database is an `OperationalError`, answered 503).

A bypass (`SKINKB_PREPARED_STATEMENTS`): off, or on any error of its own, a Session runs the
same select the ordinary way.
"""

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import CompoundSelect, Connection, Dialect, Select
from sqlalchemy.exc import StatementError
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.type_api import TypeEngine
from sqlmodel import Session

from api.fastpath import enabled, fell_back
from api.fastpath.read_connection import ReadConnection, Reads, driver_error

Processor = Callable[[Any], Any]
Layout = tuple[str, Sequence[str], dict[str, list[str]], dict[str, Any]]
MAX_LAYOUTS = 512  # IN-list lengths remembered per statement; others are expanded per call


class Prepared:
    """A Core select to run often: `rows()` gives tuples, `mappings()` dicts by column key."""

    def __init__(
        self, statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]
    ) -> None:
        self.statement = statement
        self.keys = [str(c.key) for c in statement.selected_columns]
        # Per dialect: the compiled select, and the columns whose values need their type's
        # result processor (by position).
        self._compiled: dict[str, tuple[SQLCompiler, list[tuple[int, Processor]]]] = {}
        # Per dialect and IN-list lengths: the expanded SQL, its parameter order and expansion,
        # and the values the statement binds itself.
        self._layouts: dict[tuple[Any, ...], Layout] = {}
        self._expanding: dict[str, list[str]] = {}  # per dialect: the IN lists' parameters

    def _for(self, dialect: Dialect) -> tuple[SQLCompiler, list[tuple[int, Processor]]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            processors = [_processor(c.type, dialect) for c in self.statement.selected_columns]
            converted: list[tuple[int, Processor]] = [
                (i, p) for i, p in enumerate(processors) if p is not None
            ]
            found = self._compiled[dialect.name] = (compiled, converted)
            self._expanding[dialect.name] = [k for k, b in compiled.binds.items() if b.expanding]
        return found

    def _prepared(
        self, db: Reads, params: dict[str, Any] | None
    ) -> tuple[list[Any], list[tuple[int, Processor]]] | None:
        """`_run`, or None for a Session to run the select the ordinary way: the bypass is off,
        or failed (logged once). Database errors are raised as SQLAlchemy raises them."""
        if isinstance(db, Session) and not enabled("prepared_statements"):
            return None
        try:
            return self._run(db, params)
        except StatementError:
            raise
        except Exception as error:
            if not isinstance(db, Session):
                raise  # a direct read: the request goes to FastAPI, which reads on a Session
            fell_back("prepared_statements", error)
            return None

    def _ordinary(self, db: Reads, params: dict[str, Any] | None) -> list[Any]:
        assert isinstance(db, Session)
        return list(db.execute(self.statement, params or {}).all())

    def rows(self, db: Reads, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The result rows, on the session's connection or the worker's read connection."""
        ran = self._prepared(db, params)
        if ran is None:
            return [tuple(row) for row in self._ordinary(db, params)]
        raw, converted = ran
        if not converted:
            return raw
        out = []
        for row in raw:
            values = list(row)
            for i, process in converted:
                values[i] = process(values[i])
            out.append(tuple(values))
        return out

    def _run(
        self, db: Reads, params: dict[str, Any] | None
    ) -> tuple[list[Any], list[tuple[int, Processor]]]:
        """The unprocessed rows, and the columns whose values need processing."""
        run: Callable[[str, Any], list[Any]]
        if isinstance(db, ReadConnection):
            dialect, run = db.dialect, db.execute
        else:
            connection = db.connection()  # once: a Session's costs some microseconds each time
            dialect, run = connection.dialect, partial(_execute, connection)
        compiled, converted = self._for(dialect)
        return run(*self._bound(dialect.name, compiled, params or {})), converted

    def _bound(
        self, dialect: str, compiled: SQLCompiler, params: dict[str, Any]
    ) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
        """The SQL and DB-API parameters for these values; IN lists expanded as SQLAlchemy
        does (`construct_expanded_state`), once per list length, and the statement's own values
        (`status = 'published'`) taken once with it (`construct_params`)."""
        shape = (dialect, *[len(params[name]) for name in self._expanding[dialect]])
        layout = self._layouts.get(shape)
        if layout is None:
            state = compiled.construct_expanded_state(params)
            own = {k: v for k, v in compiled.construct_params(params).items() if k not in params}
            # positiontup is None only for named parameters, which need no order
            order = state.positiontup or ()
            layout = (state.statement, order, dict(state.parameter_expansion), own)
            if len(self._layouts) < MAX_LAYOUTS:
                self._layouts[shape] = layout
        sql, order, expansion, own = layout
        values = {**own, **params}
        for name, names in expansion.items():
            values.update(zip(names, values.pop(name), strict=True))
        if compiled.positional:
            return sql, tuple([values[name] for name in order])
        return sql, values

    def mappings(self, db: Reads, params: dict[str, Any] | None = None) -> list[dict]:
        """The result rows as dicts by column key (processed in place: no tuple made twice)."""
        ran = self._prepared(db, params)
        if ran is None:
            return [dict(zip(self.keys, row, strict=True)) for row in self._ordinary(db, params)]
        raw, converted = ran
        keys = self.keys
        out = [dict(zip(keys, row, strict=True)) for row in raw]
        for i, process in converted:
            key = keys[i]
            for item in out:
                item[key] = process(item[key])
        return out

    def scalar(self, db: Reads, params: dict[str, Any] | None = None) -> Any:
        rows = self.rows(db, params)
        return rows[0][0] if rows else None


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """What SQLAlchemy would run on each value of a column of this type.

    psycopg's numeric types pick theirs by the type code of the column the server returns,
    which only a cursor tells; for a column of the type its model declares (the migrations make
    them so) that is none: the driver gives float8 as float and numeric as Decimal already.
    """
    if dialect.name == "postgresql" and isinstance(type_, (sqltypes.Numeric, sqltypes.Float)):
        return None
    return type_.dialect_impl(dialect).result_processor(dialect, None)  # type: ignore[no-any-return]


def _execute(
    connection: Connection, sql: str, args: Sequence[Any] | Mapping[str, Any]
) -> list[Any]:
    dbapi_connection = connection.connection
    cursor = dbapi_connection.cursor()
    try:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, args, None, False)
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    except connection.dialect.loaded_dbapi.Error as error:
        disconnected = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if disconnected:
            connection.invalidate(error)
        raise driver_error(connection.dialect, sql, args, error, disconnected) from error
    finally:
        cursor.close()
