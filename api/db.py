"""Database engine and sessions for SQLite and PostgreSQL alike."""

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from api.config import settings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the given URL (default: settings), with per-back-end connection setup."""
    url = url or settings.database_url
    if is_sqlite(url):
        # Sync handlers run on threadpool threads, so a connection may move between threads.
        engine = create_engine(
            url,
            echo=settings.db_echo,
            connect_args={"check_same_thread": False},
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        return engine
    return create_engine(
        url,
        echo=settings.db_echo,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine()


def get_session() -> Iterator[Session]:
    with Session(get_engine()) as session:
        yield session
