"""Alembic environment: the schema of `models`, the database of the settings."""

from logging.config import fileConfig

from sqlalchemy import Connection
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on the metadata)
from alembic import context
from api.config import settings
from api.db.engine import make_engine, writer
from api.db.setup import lock_for_setup
from models.search import is_derived

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Leave the trigger-kept search index and revision counter out of autogenerate."""
    return not (type_ == "table" and is_derived(name))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # SQLite's DDL is transactional too (alembic assumes not, and commits after each
        # migration): one transaction holds the setup lock from reading the version to head,
        # or a server starting beside another would read a version the other then moves on.
        transactional_ddl=True,
        compare_type=True,
        include_name=include_name,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or settings.database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    # Servers started side by side on one database migrate one at a time: the first takes the
    # setup lock, the others wait for it and then find the schema at head.
    engine = make_engine(config.get_main_option("sqlalchemy.url") or settings.database_url)
    with writer(engine).connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            lock_for_setup(conn)
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
