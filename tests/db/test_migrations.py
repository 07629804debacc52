"""The alembic migrations are the only way the schema is made: up to head and back to base."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from api.db import migrations
from api.db.engine import make_engine
from models.search import is_derived


def test_upgrade_to_head_then_downgrade_to_base(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrations.upgrade(empty_database_url)
        assert migrations.current_revision(engine) == migrations.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables

        with engine.connect() as conn:
            # The search index and revision counter are kept by triggers, not by the models.
            context = MigrationContext.configure(
                conn, opts={"include_name": lambda name, type_, _: not is_derived(name)}
            )
            diff = compare_metadata(context, SQLModel.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"

        migrations.downgrade(empty_database_url)
        assert migrations.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_runs_on_the_database_it_was_asked_for(database_url: str) -> None:
    """A PostgreSQL run must really be on PostgreSQL, never a silent fallback."""
    from tests.conftest import TEST_DATABASE_URL

    wanted = "sqlite" if not TEST_DATABASE_URL else make_engine(TEST_DATABASE_URL).dialect.name
    assert make_engine(database_url).dialect.name == wanted


def test_servers_started_together_migrate_and_seed_once(empty_database_url: str) -> None:
    """Three processes preparing one empty database at once (as three servers starting side by
    side do) all succeed: one migrates and seeds, the others wait and find it done."""
    import os
    import subprocess
    import sys

    from sqlalchemy import func, select
    from sqlmodel import Session

    from models import Source

    env = {**os.environ, "SKINKB_DATABASE_URL": empty_database_url}
    script = "from api.cli import prepare_database; prepare_database()"
    runs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    errors = [run.communicate(timeout=120)[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    engine = make_engine(empty_database_url)
    try:
        assert migrations.current_revision(engine) == migrations.head_revision()
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Source)) == 5
    finally:
        engine.dispose()


def test_upgrade_from_empty_commits_once(empty_database_url: str) -> None:
    """From reading the version to head in one transaction, which holds the setup lock: alembic
    commits after each migration on SQLite unless told its DDL is transactional, and a server
    starting beside another then read a version the other moved on ("expected to match one row
    when updating '0003' to '0004'")."""
    from sqlalchemy import Engine, event

    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    event.listen(Engine, "commit", count)
    try:
        migrations.upgrade(empty_database_url)
    finally:
        event.remove(Engine, "commit", count)
    assert len(commits) == 1
