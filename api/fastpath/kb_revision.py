"""The knowledge-base revision (the counter triggers bump with every committed edit): read in a
request's own transaction by `current_revision`, and known without a query per cached read by
`RevisionProbe`, on a connection of its own. On SQLite the probe looks at the WAL-index header in
the `-shm` file (every commit rewrites it; https://www.sqlite.org/walformat.html) and asks
`PRAGMA data_version` only when it moved: strict. On PostgreSQL it LISTENs on `kb_revision`
(migration 0004) and reads what has arrived without blocking: an edit of another process shows
once its notification arrives (bench/results/NOTES.md says how soon).

With read replicas (`SKINKB_READ_DATABASE_URLS`) the probe still listens on the primary (a
standby cannot LISTEN): it is never behind what a replica has. An answer is remembered at the
revision its own read saw first, on the same replica connection, so a remembered answer is
served only while the primary is at that revision; while a replica lags, reads miss and go to it.
"""

import mmap
import threading
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from api.db.engine import get_engine
from api.fastpath import enabled
from api.fastpath.own_connection import OwnConnection
from api.fastpath.prepared import Prepared
from api.fastpath.read_connection import Reads
from models.search import kb_revision

CHANNEL = "kb_revision"
READ = "SELECT revision FROM kb_revision"
# After a failed connect, the next try waits this long.
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
    """The WAL-index header first (a bypass: `SKINKB_WAL_INDEX_PROBE`), `PRAGMA data_version`
    when that changed (or the database is not in WAL mode), the table only when the pragma moved.

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
        if mode != "wal" or not files.get("main") or not enabled("wal_index_probe"):
            return None  # in memory, another journal mode, or the bypass off: the pragma alone
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

    `revision()` answers None on any failure, and the caller goes the ordinary way (which answers
    503 while the database is down); a later call connects again.
    """

    def __init__(self, engine: Engine | None = None) -> None:
        self.own: OwnConnection[SQLiteWatch | PostgresWatch] = OwnConnection(
            lambda: engine or get_engine(), _watch, RETRY_SECONDS
        )
        self._lock = threading.Lock()

    @property
    def watch(self) -> "SQLiteWatch | PostgresWatch | None":
        return self.own.held

    def revision(self) -> int | None:
        with self._lock:
            watch = self.own.open()
            if watch is None:
                return None
            try:
                return watch.revision()
            except Exception:  # noqa: BLE001 (a lost database: let the ordinary path answer 503)
                self.own.close()
                return None

    def close(self) -> None:
        with self._lock:
            self.own.close()


def _watch(driver: Any, engine: Engine) -> SQLiteWatch | PostgresWatch:
    if engine.dialect.name == "sqlite":
        return SQLiteWatch(driver)
    return PostgresWatch(driver)


_CURRENT = Prepared(select(kb_revision.c.revision))


def current_revision(db: Reads) -> int:
    """The knowledge-base revision: one indexed one-row read, in the caller's transaction."""
    return int(_CURRENT.scalar(db))
