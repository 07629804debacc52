"""The knowledge-base revision, known without a database round trip per cached read.

The response cache (api.caching) answers a public GET from memory while `kb_revision` is what
it was when the answer was made. Asking the database on every hit would cost a round trip each
time, so each process keeps one connection of its own that learns of commits as cheaply as the
back end allows:

- SQLite: a look at the WAL-index header in the `-shm` file, mapped read-only: every commit
  rewrites it (its change counter and last frame; https://www.sqlite.org/walformat.html), so
  while its bytes are those of the last look nothing was committed, and the look costs no system
  call. When they differ, `PRAGMA data_version` on the raw sqlite3 connection says whether
  another connection committed, and `kb_revision` is read again only when it moved. (The pragma
  alone takes a read lock each time, two fcntl calls and an fstat: about 12 us of a cached read's
  60 under load.) Strict: every call sees every commit that finished before it, from any process.
- PostgreSQL: the connection LISTENs on `kb_revision`, whose triggers send
  `pg_notify('kb_revision', '<schema> <revision>')` with every bump (migration 0004); a call
  reads whatever notifications have arrived, without blocking, and the table only on connect
  and after a commit of this process.

What that guarantees on PostgreSQL. A commit made through a Session of this process is seen by
the next call, strictly (the call reads the table), so a client that got the 200 of an edit
from this process and reads from it sees the edit. A commit of another process is seen once its
notification has reached this process's socket. PostgreSQL signals the listening backends while
it commits, before the writer learns that its COMMIT succeeded, and a listening backend then
sends the notification as soon as it is scheduled: typically within tens of microseconds, well
before a client can turn the writer's 200 into a request to another process. That is a race
won in practice, not a bound: a backend starved of CPU can deliver later, and reads arriving
in between are answered at the previous revision. (Measured on a busy 2-core machine: a look
5 us after the notifying statement returned missed it 3.5% of the time, a look one round trip
later 1 in 300; a GET on one server right after the 200 of a PATCH on another, 0 in 150.)
Closing that window would take a round trip per read (or a writer waiting for every listener,
which PostgreSQL cannot report), which is what this module exists to avoid.
"""

import mmap
import threading
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from api.db import get_engine

CHANNEL = "kb_revision"
READ = "SELECT revision FROM kb_revision"
# After a failed connect, the next try waits this long: a call must not block on a database
# that is down (callers take the slow path meanwhile, which answers 503).
RETRY_SECONDS = 1.0
# Both copies of SQLite's WAL-index header at the start of the -shm file (48 bytes each); what
# follows (read marks, locks) changes with every read, so it is left out.
WAL_INDEX_HEADER = 96


class CommitCounter:
    """Commits of ORM sessions in this process: after one, the next look reads the table."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self, _session: Session) -> None:
        with self._lock:
            self.count += 1


commits = CommitCounter()
event.listen(Session, "after_commit", commits.add)


class ConnectionLost(Exception):
    """The server ended the listening connection (it said FATAL before closing it)."""


class SQLiteWatch:
    """On a connection of its own: the WAL-index header first, `PRAGMA data_version` when that
    changed (or the database is not in WAL mode), the table only when the pragma moved.

    While this connection is open the `-shm` file it maps is the one every connection uses:
    SQLite removes it only when the last connection closes.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection  # a sqlite3 connection, in autocommit (api.db)
        self._cursor = connection.cursor()
        self._data_version: int | None = None
        self._revision = 0
        self._header: bytes | None = None
        self._cursor.execute(READ).fetchone()  # after a read, the -shm file exists
        self._shm = self._map_wal_index()

    def _map_wal_index(self) -> mmap.mmap | None:
        (mode,) = self._cursor.execute("PRAGMA journal_mode").fetchone()
        files = {name: file for _, name, file in self._cursor.execute("PRAGMA database_list")}
        if mode != "wal" or not files.get("main"):
            return None  # in memory, or another journal mode: the pragma alone
        try:
            with open(files["main"] + "-shm", "rb") as shm:
                return mmap.mmap(shm.fileno(), WAL_INDEX_HEADER, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # no such file, or shorter than a header
            return None

    def revision(self) -> int:
        self.connection.total_changes  # noqa: B018 (raises once the connection is closed)
        header = None if self._shm is None else self._shm[:WAL_INDEX_HEADER]
        if header is not None and header == self._header:
            return self._revision
        # Read before the pragma: a commit landing in between shows as a change next time.
        (data_version,) = self._cursor.execute("PRAGMA data_version").fetchone()
        if data_version != self._data_version:
            (revision,) = self._cursor.execute(READ).fetchone()
            self._revision, self._data_version = int(revision), data_version
        self._header = header
        return self._revision

    def close(self) -> None:
        if self._shm is not None:
            self._shm.close()
        self.connection.close()


class PostgresWatch:
    """LISTEN on an autocommit connection of its own; the table read once after LISTEN (so no
    commit falls between the two) and again after every commit of this process."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection  # a psycopg connection
        self._pgconn = connection.pgconn
        self._encoding = connection.info.encoding
        self._lost = False
        self._revision = -1
        self._commits = -1
        connection.autocommit = True
        connection.add_notice_handler(self._notice)
        # Notifications that come in while a query of ours runs reach us through psycopg.
        connection.add_notify_handler(lambda notify: self._heard(notify.payload))
        (self._schema,) = connection.execute("SELECT current_schema()").fetchone()
        connection.execute(f"LISTEN {CHANNEL}")
        self._read()

    def revision(self) -> int:
        # libpq's own non-blocking read (what psycopg's notifies() does, minus its waiting).
        self._pgconn.consume_input()
        while (notify := self._pgconn.notifies()) is not None:
            self._heard(notify.extra.decode(self._encoding))
        if self._lost:
            raise ConnectionLost
        if commits.count != self._commits:
            self._read()
        return self._revision

    def close(self) -> None:
        self.connection.close()

    def _read(self) -> None:
        self._commits = commits.count  # before the read: a commit after it is read next time
        (revision,) = self.connection.execute(READ).fetchone()
        self._revision = max(self._revision, int(revision))

    def _heard(self, payload: str) -> None:
        """'<schema> <revision>': other schemas of the database have knowledge bases too.
        Notifications come in commit order; max() keeps a late one from going back."""
        schema, _, number = payload.rpartition(" ")
        if schema == self._schema and number.isdigit():
            self._revision = max(self._revision, int(number))

    def _notice(self, diagnostic: Any) -> None:
        # A terminated backend says FATAL and closes; we may read the one before the other.
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):
            self._lost = True


class RevisionProbe:
    """The knowledge-base revision as cheaply as the back end allows (see the module docstring).

    `revision()` answers None on any failure, and the caller goes the slow way (which answers
    503 while the database is down); a later call connects again.
    """

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self._watch: SQLiteWatch | PostgresWatch | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def revision(self) -> int | None:
        with self._lock:
            try:
                if self._watch is None:
                    return self._reconnect()
                return self._watch.revision()
            except Exception:  # noqa: BLE001 (a lost database: let the slow path answer 503)
                self._close()
                return None

    def _reconnect(self) -> int:
        """Connect and answer; when that fails, the next try waits RETRY_SECONDS."""
        if time.monotonic() < self._retry_at:
            raise ConnectionLost
        self._retry_at = time.monotonic() + RETRY_SECONDS
        self._watch = self._open()
        revision = self._watch.revision()
        self._retry_at = 0.0
        return revision

    def _open(self) -> SQLiteWatch | PostgresWatch:
        engine = get_engine() if self._engine is None else self._engine
        fairy = engine.raw_connection()
        driver: Any = fairy.driver_connection  # sqlite3 or psycopg
        fairy.detach()  # ours for good: the pool neither counts it nor hands it out
        try:
            if engine.dialect.name == "sqlite":
                watch: SQLiteWatch | PostgresWatch = SQLiteWatch(driver)
            else:
                watch = PostgresWatch(driver)
        except Exception:
            driver.close()
            raise
        return watch

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            try:
                watch.close()
            except Exception:  # noqa: BLE001 (closing what is already broken)
                pass
