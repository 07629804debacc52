"""The alembic migrations are the only way the schema is made: up to head and back to base."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from api import migrations
from api.db import make_engine
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
