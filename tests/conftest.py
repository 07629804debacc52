"""Test fixtures: one migrated, seeded database per run; every test rolls back what it wrote.

The database comes from one variable, SKINKB_TEST_DATABASE_URL: unset means a fresh SQLite
file; a postgresql+psycopg:// URL runs the same tests on PostgreSQL, in a schema of their own.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

# The suite sends bursts from one address; rate limits have tests of their own.
os.environ.setdefault("SKINKB_RATE_LIMIT_ENABLED", "false")
# Tests read through a rolled-back session the response cache cannot see; it has its own tests.
os.environ.setdefault("SKINKB_RESPONSE_CACHE", "false")
# No deliverer inside the test client's app: webhook tests run theirs on a database of their own.
os.environ.setdefault("SKINKB_WEBHOOKS_ENABLED", "false")
# Test receivers listen on 127.0.0.1.
os.environ.setdefault("SKINKB_WEBHOOK_ALLOW_PRIVATE", "true")

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from api.db import migrations
from api.db.engine import is_sqlite, make_engine
from api.deps import get_session
from api.fastpath.counts import memo as count_memo
from api.fastpath.response_cache import memo as http_cache_memo
from api.kb import audit
from api.kb.queries import lineages
from api.kb.search import vocabularies as search_vocabularies
from api.main import app
from models.side_effect import SideEffect
from seed_data.loader import load_seed

TEST_DATABASE_URL = os.environ.get("SKINKB_TEST_DATABASE_URL", "")


def _fresh_database(tmp_dir: Path, name: str) -> tuple[str, Engine | None]:
    """A URL of an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if not TEST_DATABASE_URL or is_sqlite(TEST_DATABASE_URL):
        return f"sqlite:///{tmp_dir / f'{name}.db'}", None
    schema = f"t_{name}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(TEST_DATABASE_URL).update_query_dict(
        {"options": f"-csearch_path={schema},public"}
    )
    return url.render_as_string(hide_password=False), admin


def _drop_schema(admin: Engine | None, url: str) -> None:
    if admin is None:
        return
    schema = make_url(url).query["options"].split("=", 1)[1].split(",")[0]  # type: ignore[union-attr]
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched, for tests of migrations and of the command line."""
    url, admin = _fresh_database(tmp_path, "empty")
    yield url
    _drop_schema(admin, url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, admin = _fresh_database(tmp_path_factory.mktemp("db"), "kb")
    migrations.upgrade(url)
    yield url
    _drop_schema(admin, url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        load_seed(session)
    yield engine
    engine.dispose()


def forget_revisions() -> None:
    """Empties everything remembered per revision. Writes that are rolled back (each test's,
    each of the fuzzer's sequences) let a revision number recur with other content."""
    http_cache_memo.clear()
    count_memo.clear()
    lineages.clear()
    search_vocabularies.clear()
    audit.failures.forget()  # failures counted in memory, of writes rolled back


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    yield from rolled_back_session(engine)


def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    forget_revisions()
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    outer.rollback()
    connection.close()


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.dependency_overrides.clear()


@pytest.fixture
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements executed while the test runs, in order."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def database_of_its_own(
    tmp_path_factory: pytest.TempPathFactory, name: str, slug: str, title: str
) -> Iterator[Engine]:
    """For a module whose edits commit: a migrated database (not the seeded one) holding one
    side effect, `slug`; disposed and dropped afterwards."""
    url, admin = _fresh_database(tmp_path_factory.mktemp(name), name)
    migrations.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        session.add(SideEffect(slug=slug, name=title))
        session.commit()
    yield engine
    engine.dispose()
    _drop_schema(admin, url)


def rename_side_effect(engine: Engine, slug: str, name: str) -> None:
    """An edit committed on a connection of the pool, not through a Session: as another process
    would, as far as this process can tell."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE side_effect SET name = :name WHERE slug = :slug"),
            {"name": name, "slug": slug},
        )
