"""One-time setup of a database: migrated to head and, when empty, loaded with the seed data.

Servers started side by side on one empty database do it once: each step runs in one
transaction holding the setup lock, and the others wait and find it done."""

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from api.db import migrations
from api.db.engine import get_engine, get_write_engine
from models import Source

log = logging.getLogger("skinkb")
SETUP_LOCK = 0x736B696E6B62  # "skinkb"


def lock_for_setup(connection: Connection) -> None:
    """Serialises one-time setup of servers starting side by side: on PostgreSQL an advisory
    lock held to the end of the transaction; on SQLite a writer's BEGIN IMMEDIATE already is one."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SETUP_LOCK})")


def database_url() -> str:
    return get_engine().url.render_as_string(hide_password=False)


# How long a server starting beside another waits for that one's setup. SQLite's busy timeout
# (5 s) is for one write; a whole migration and seed load can take longer on a loaded machine.
SETUP_WAIT_SECONDS = 120.0


def prepare_database(load_seed: Callable[[Session], object]) -> None:
    """Migrate to head, and load the seed data (`load_seed`) when the knowledge base is empty;
    on SQLite, while another process holds the database for its setup, wait and try again."""
    deadline = time.monotonic() + SETUP_WAIT_SECONDS
    while True:
        try:
            _prepare(load_seed)
            return
        except OperationalError as error:
            locked = get_engine().dialect.name == "sqlite" and "locked" in str(error)
            if not locked or time.monotonic() > deadline:
                raise
            log.info("database busy with another server's setup; waiting")
            time.sleep(0.5)


def _prepare(load_seed: Callable[[Session], object]) -> None:
    engine = get_engine()
    if migrations.current_revision(engine) != migrations.head_revision():
        migrations.upgrade(database_url())
    with Session(get_write_engine()) as session:
        lock_for_setup(session.connection())
        if not session.scalar(select(func.count()).select_from(Source)):
            report = load_seed(session)
            log.info("loaded seed data: %s", report)
