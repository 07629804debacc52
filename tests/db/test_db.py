"""Connection set-up: SQLite pragmas on every connection, writers that cannot deadlock."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select, text, update
from sqlmodel import Session, col

from api.config import settings
from api.db import engine as engines
from api.db import migrations
from api.db.engine import is_sqlite, make_engine, writer
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
                        select(col(SideEffect.version)).where(col(SideEffect.slug) == "redness")
                    )
                    session.execute(
                        update(SideEffect)
                        .where(col(SideEffect.slug) == "redness")
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
        final = session.scalar(
            select(col(SideEffect.version)).where(col(SideEffect.slug) == "redness")
        )
        assert session.scalars(select(func.count()).select_from(SideEffect)).one() > 0
    if is_sqlite(empty_database_url):
        # Writers are serialised on SQLite, so no increment is lost.
        assert final == 1 + 16 * 5
    engine.dispose()


def test_a_burst_of_reads_never_starves_the_pool(empty_database_url: str) -> None:
    """The trap of sync handlers: sessions held while waiting for threads. With a pool of two
    connections, a hundred concurrent public reads of every kind must all be answered."""
    import asyncio
    from collections.abc import AsyncIterator

    import httpx
    from fastapi import Request
    from sqlalchemy import create_engine

    from api.db.engine import READ_METHODS
    from api.deps import get_session
    from api.main import app

    migrations.upgrade(empty_database_url)
    seeded = make_engine(empty_database_url)
    with Session(writer(seeded)) as session:
        load_seed(session)
    seeded.dispose()
    small = create_engine(empty_database_url, pool_size=2, max_overflow=0, pool_timeout=1)
    if is_sqlite(empty_database_url):
        from api.db.engine import _on_sqlite_begin, _on_sqlite_connect

        event.listen(small, "connect", _on_sqlite_connect)
        event.listen(small, "begin", _on_sqlite_begin)

    async def small_pool_session(request: Request) -> AsyncIterator[Session]:
        with Session(small if request.method in READ_METHODS else writer(small)) as session:
            yield session

    paths = [
        "/v1/procedures/at-home-derma-roller/side-effects",
        "/v1/procedures?limit=5",
        "/v1/search?q=minoxidil",
        "/v1/procedures/scalp-microneedling?include=side_effects",
        "/v1/quotes?topic=sanitation",
        "/v1/stats",
        "/healthz",
        "/v1/experts/natasha-jay/quotes",
    ]

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def one(n: int) -> int:
                path = paths[n % len(paths)]
                sep = "&" if "?" in path else "?"
                return (await client.get(f"{path}{sep}cb={n}")).status_code

            return await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(96))), 60)

    app.dependency_overrides[get_session] = small_pool_session
    try:
        statuses = asyncio.run(burst())
    finally:
        app.dependency_overrides.clear()
        small.dispose()
    assert statuses == [200] * 96


def test_reads_skip_begin_and_rollback_on_postgresql(engine: Engine) -> None:
    """PostgreSQL reads run in autocommit (READ COMMITTED sees no more); SQLite reads keep their
    one-snapshot transaction."""
    from api.db.engine import reader
    from models import Source

    with Session(reader(engine)) as session:
        assert session.scalars(select(col(Source.slug))).first()
        driver = session.connection().connection.driver_connection
        assert driver is not None
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is True
        else:
            assert driver.in_transaction


@pytest.mark.parametrize("cost", [1.1, 2.5, None])
def test_postgres_connections_price_random_reads_as_configured(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, cost: float | None
) -> None:
    """Every connection of the service's engines carries the planner cost it is configured
    with, past the pool's rollback; None leaves the server's own."""
    if is_sqlite(empty_database_url):
        pytest.skip("a PostgreSQL planner setting")
    monkeypatch.setattr(settings, "postgres_random_page_cost", cost)
    engine = make_engine(empty_database_url)
    try:
        for _ in range(2):  # the second checkout: after the pool's reset of the first
            with engine.connect() as conn:
                shown, server = conn.execute(
                    text(
                        "SELECT current_setting('random_page_cost'), reset_val"
                        " FROM pg_settings WHERE name = 'random_page_cost'"
                    )
                ).one()
                assert float(shown) == (cost if cost is not None else float(server))
                conn.rollback()
    finally:
        engine.dispose()


class TestReadReplicas:
    @pytest.fixture
    def replicas(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
        urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b")]
        monkeypatch.setattr(settings, "read_database_urls", urls)
        engines.get_replica_engines.cache_clear()
        yield urls
        for made in engines.get_replica_engines():
            made.dispose()
        engines.get_replica_engines.cache_clear()

    def test_public_reads_take_the_replicas_in_turn(self, replicas: list[str]) -> None:
        seen = []
        for _ in range(4):
            with engines.open_session("GET", public=True) as session:
                seen.append(session.get_bind().engine.url.render_as_string())
        assert sorted(seen) == sorted(replicas * 2)
        assert seen[0] != seen[1]

    def test_admin_reads_and_writes_go_to_the_primary(self, replicas: list[str]) -> None:
        primary = engines.get_engine().url.render_as_string()
        for method in ("GET", "POST", "PATCH", "DELETE"):
            with engines.open_session(method) as session:
                assert session.get_bind().engine.url.render_as_string() == primary
        with engines.open_session("POST", public=True) as session:
            assert session.get_bind().engine.url.render_as_string() == primary
