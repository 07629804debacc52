"""The revision probe of the response cache, on the database the suite targets: the revision it
reads on connect, edits committed elsewhere and in this process, and a lost connection.

It runs on a migrated database of its own (every edit here commits), not the seeded one."""

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from api.config import settings
from api.db.engine import make_engine
from api.fastpath import response_cache
from api.fastpath.kb_revision import RETRY_SECONDS, RevisionProbe, SQLiteWatch
from api.fastpath.read_connection import ReadConnection
from models.search import kb_revision
from tests.conftest import database_of_its_own, rename_side_effect

SLUG = "probe-test"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from database_of_its_own(tmp_path_factory, "revision", SLUG, "Probe test")


@pytest.fixture
def probe(engine: Engine) -> Iterator[RevisionProbe]:
    probe = RevisionProbe(engine)
    yield probe
    probe.close()


def committed_revision(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(kb_revision.c.revision)).scalar_one())


def seen_soon(probe: RevisionProbe, wanted: int) -> int | None:
    """The probe's revision once it is `wanted`, or after 2 s. On PostgreSQL an edit of another
    connection arrives as a notification, which the committing backend signals but does not wait
    for: the next call usually has it, yet may come a few microseconds too early, so the test
    polls (with a bound) instead of asserting a race it cannot win every time."""
    deadline = time.monotonic() + 2
    while (revision := probe.revision()) != wanted and time.monotonic() < deadline:
        time.sleep(0.001)
    return revision


def test_the_revision_read_on_connect_is_the_committed_one(
    engine: Engine, probe: RevisionProbe
) -> None:
    rename_side_effect(engine, SLUG, "Before the probe connects")
    assert probe.revision() == committed_revision(engine)
    assert probe.revision() == committed_revision(engine)  # and again, without a change


def test_an_edit_committed_elsewhere_is_seen(engine: Engine, probe: RevisionProbe) -> None:
    before = probe.revision()
    assert before is not None
    rename_side_effect(engine, SLUG, "Edited elsewhere")
    after = committed_revision(engine)
    assert after > before
    if engine.dialect.name == "sqlite":
        assert probe.revision() == after  # strictly: data_version moved
    else:
        assert seen_soon(probe, after) == after
    rename_side_effect(engine, SLUG, "Edited twice elsewhere")
    assert seen_soon(probe, committed_revision(engine)) == committed_revision(engine)


def test_a_commit_of_this_process_is_seen_on_the_next_call(
    engine: Engine, probe: RevisionProbe
) -> None:
    before = probe.revision()
    assert before is not None
    with Session(engine) as session:
        session.connection().execute(
            text("UPDATE side_effect SET name = 'In this process' WHERE slug = :slug"),
            {"slug": SLUG},
        )
        session.commit()
    # No waiting on either database: the commit made the probe read the table again.
    assert probe.revision() == committed_revision(engine) > before


def commit_in_another_process(database: str, name: str) -> None:
    """A rename committed by a plain sqlite3 connection of another process."""
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('UPDATE side_effect SET name = ? WHERE slug = ?', (sys.argv[2], sys.argv[3])); "
        "c.commit()"
    )
    subprocess.run([sys.executable, "-c", script, database, name, SLUG], check=True)


def test_sqlite_a_look_asks_nothing_until_a_commit_moves_the_wal_index(
    engine: Engine, probe: RevisionProbe
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the WAL index is SQLite's")
    before = probe.revision()
    assert before is not None
    asked: list[str] = []
    probe.watch.connection.set_trace_callback(asked.append)  # type: ignore[union-attr]
    for _ in range(100):
        assert probe.revision() == before
    assert asked == []  # no statement, no lock: the header was as last seen
    commit_in_another_process(str(engine.url.database), "Renamed by another process")
    after = committed_revision(engine)
    assert after > before
    assert probe.revision() == after  # strictly, on the very next call
    assert asked == ["PRAGMA data_version", "SELECT revision FROM kb_revision"]


def test_sqlite_without_a_wal_the_pragma_alone_answers(tmp_path: Path) -> None:
    """A database in another journal mode has no WAL index: every look asks the pragma."""
    path = str(tmp_path / "rollback-journal.db")
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=DELETE")
        setup.execute("CREATE TABLE kb_revision (id INTEGER PRIMARY KEY, revision BIGINT)")
        setup.execute("INSERT INTO kb_revision VALUES (1, 3)")
    watch = SQLiteWatch(sqlite3.connect(path, isolation_level=None))
    other = sqlite3.connect(path)
    try:
        assert watch._shm is None
        assert watch.revision() == 3
        with other:
            other.execute("UPDATE kb_revision SET revision = 4")
        assert watch.revision() == 4
    finally:
        other.close()
        watch.close()


def test_notifications_of_other_schemas_are_not_ours(engine: Engine, probe: RevisionProbe) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("notifications are PostgreSQL's")
    before = probe.revision()
    assert before is not None
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_notify('kb_revision', 'some_other_schema 999999')"))
    rename_side_effect(engine, SLUG, "After another schema's edit")
    after = committed_revision(engine)
    # Delivered in commit order: by the time ours is seen, the other one was read and ignored.
    assert seen_soon(probe, after) == after < 999999


def lose_connection(engine: Engine, probe: RevisionProbe) -> None:
    """The probe's connection ends under it: the server terminates it, or (SQLite) it closes."""
    connection = probe.watch.connection  # type: ignore[union-attr]
    if engine.dialect.name == "sqlite":
        connection.close()
        return
    with engine.connect() as conn:
        pid = connection.info.backend_pid
        # With a timeout, pg_terminate_backend returns once the backend is gone.
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()


def test_a_lost_connection_answers_none_then_recovers(engine: Engine, probe: RevisionProbe) -> None:
    assert probe.revision() is not None
    lose_connection(engine, probe)
    assert probe.revision() is None
    rename_side_effect(engine, SLUG, "While the probe was away")
    # The next call connects again and reads the revision afresh.
    assert probe.revision() == committed_revision(engine)
    rename_side_effect(engine, SLUG, "After the probe came back")
    assert seen_soon(probe, committed_revision(engine)) == committed_revision(engine)


def test_a_database_without_the_counter_answers_none_and_is_not_asked_again_at_once(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    probe = RevisionProbe(engine)
    try:
        assert probe.revision() is None  # no kb_revision table yet
        # Made by hand: a second migrated schema would race this suite's for the pg_trgm extension.
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE kb_revision (id INTEGER PRIMARY KEY, revision BIGINT)"))
            conn.execute(text("INSERT INTO kb_revision (id, revision) VALUES (1, 7)"))
        assert probe.revision() is None  # a failed connect is not retried on every call
        time.sleep(RETRY_SECONDS)
        assert probe.revision() == 7
    finally:
        probe.close()
        engine.dispose()


def test_a_read_on_the_primarys_own_connection_takes_the_probes_revision(
    engine: Engine, probe: RevisionProbe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a relation read asks no revision of the database: the probe heard it. A
    Session, SQLite and a replica read it in the read's own transaction."""
    monkeypatch.setattr(response_cache, "probe", probe)
    held = ReadConnection(engine)
    asked: list[object] = []
    read_in_transaction = response_cache.current_revision

    def current_revision(db: object) -> int:
        asked.append(db)
        return read_in_transaction(db)  # type: ignore[arg-type]

    monkeypatch.setattr(response_cache, "current_revision", current_revision)
    try:
        rename_side_effect(engine, SLUG, "Before the first revision")
        with held.reading() as db:
            assert db is not None
            assert response_cache.first_revision(db) == committed_revision(engine)
            on_postgresql = engine.dialect.name == "postgresql"
            assert asked == ([] if on_postgresql else [db])
            monkeypatch.setattr(settings, "read_database_urls", ["postgresql://replica"])
            asked.clear()
            response_cache.first_revision(db)
            assert asked == [db]
    finally:
        held.close()
