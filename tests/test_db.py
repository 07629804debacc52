"""Connection set-up: SQLite pragmas on every connection, writers that cannot deadlock."""

import threading

from sqlalchemy import func, select, text, update
from sqlmodel import Session

from api import migrations
from api.db import is_sqlite, make_engine, writer
from models import SideEffect
from seed_data.loader import load_seed


def test_sqlite_connections_have_wal_busy_timeout_and_foreign_keys(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    if not is_sqlite(empty_database_url):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        return
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    engine.dispose()


def test_sixteen_concurrent_read_then_write_transactions_all_commit(
    empty_database_url: str,
) -> None:
    migrations.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with Session(writer(engine)) as session:
        load_seed(session)
    errors: list[Exception] = []
    start = threading.Barrier(16)

    def edit(n: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                with Session(writer(engine)) as session:
                    # Read, then write: the pattern that deadlocks deferred SQLite transactions.
                    current = session.scalar(
                        select(SideEffect.version).where(SideEffect.slug == "redness")
                    )
                    session.execute(
                        update(SideEffect)
                        .where(SideEffect.slug == "redness")
                        .values(version=(current or 0) + 1)
                    )
                    session.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as session:
        final = session.scalar(select(SideEffect.version).where(SideEffect.slug == "redness"))
        assert session.scalar(select(func.count()).select_from(SideEffect)) > 0
    if is_sqlite(empty_database_url):
        # Writers are serialised on SQLite, so no increment is lost.
        assert final == 1 + 16 * 5
    engine.dispose()
