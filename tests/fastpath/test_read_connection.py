"""The connection a worker keeps for direct reads (api.fastpath.read_connection), on the
database the suite targets: fresh data at every read, one snapshot within a read on SQLite, no
transaction left open, and what happens when it is busy, on another thread, lost, or cannot be
opened.

It runs on a migrated database of its own (every edit here commits), not the seeded one."""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import URL, Engine, event, exc, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from api.config import settings
from api.db.engine import make_async_read_engine, make_engine, read_threads
from api.fastpath.prepared import Prepared
from api.fastpath.read_connection import LoopReadConnections, ReadConnection
from models.side_effect import SideEffect
from tests.conftest import database_of_its_own, rename_side_effect

SLUG = "held-test"
NAME = Prepared(select(col(SideEffect.name)).where(col(SideEffect.slug) == SLUG))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from database_of_its_own(tmp_path_factory, "held", SLUG, "Held test")


@pytest.fixture
def held(engine: Engine) -> Iterator[ReadConnection]:
    connection = ReadConnection(engine)
    yield connection
    connection.close()


def read_name(held: ReadConnection) -> str:
    with held.reading() as db:
        assert db is held
        return str(NAME.scalar(db))


def in_transaction(held: ReadConnection) -> bool:
    driver = held.driver
    if held.dialect.name == "sqlite":
        return bool(driver.in_transaction)
    return str(driver.info.transaction_status.name) != "IDLE"


def test_each_read_sees_what_was_committed_before_it(engine: Engine, held: ReadConnection) -> None:
    rename_side_effect(engine, SLUG, "First")
    assert read_name(held) == "First"
    rename_side_effect(engine, SLUG, "Second")
    assert read_name(held) == "Second"
    assert not in_transaction(held)


def test_one_read_is_one_snapshot_on_sqlite(engine: Engine, held: ReadConnection) -> None:
    rename_side_effect(engine, SLUG, "Before")
    with held.reading() as db:
        assert db is not None and NAME.scalar(db) == "Before"
        rename_side_effect(engine, SLUG, "During")
        # SQLite: one transaction per read; PostgreSQL: autocommit, as the read engine's sessions.
        expected = "Before" if engine.dialect.name == "sqlite" else "During"
        assert NAME.scalar(db) == expected
    assert read_name(held) == "During"


def test_a_read_that_raises_leaves_no_transaction_open(
    engine: Engine, held: ReadConnection
) -> None:
    with pytest.raises(ZeroDivisionError), held.reading() as db:
        assert db is not None and NAME.scalar(db)
        _ = 1 / 0
    assert held.driver is not None and not in_transaction(held)
    with pytest.raises(exc.DBAPIError), held.reading() as db:
        assert db is not None
        Prepared(select(text("no_such_column")).select_from(SideEffect)).rows(db)
    assert held.driver is None  # a statement the driver refused: the next read starts afresh
    # A writer is not held up by a read left open.
    rename_side_effect(engine, SLUG, "After the errors")
    assert read_name(held) == "After the errors"


def test_busy_or_on_another_thread_it_yields_none(held: ReadConnection) -> None:
    with held.reading() as outer:
        assert outer is held
        with held.reading() as inner:
            assert inner is None  # a read that awaited: the caller opens a Session instead
    seen: list[ReadConnection | None] = []

    def elsewhere() -> None:
        with held.reading() as db:
            seen.append(db)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [None]
    assert read_name(held)  # still the event loop thread's


def lose_connection(engine: Engine, held: ReadConnection) -> None:
    """The connection ends under it: the server terminates it, or (SQLite) it closes."""
    if engine.dialect.name == "sqlite":
        held.driver.close()
        return
    with engine.connect() as conn:
        pid = held.driver.info.backend_pid
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()


def test_a_lost_connection_is_replaced_by_the_next_read(
    engine: Engine, held: ReadConnection
) -> None:
    assert read_name(held)
    lose_connection(engine, held)
    with pytest.raises(exc.DBAPIError), held.reading() as db:
        assert db is not None
        NAME.scalar(db)  # the caller (api.fastpath.direct) hands the request to FastAPI
    assert held.driver is None
    rename_side_effect(engine, SLUG, "After the loss")
    assert read_name(held) == "After the loss"


def test_a_database_it_cannot_open_yields_none_and_is_not_asked_again_at_once(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path_factory.mktemp("nowhere") / "no-such-dir" / "kb.db"
    unreachable = make_engine(f"sqlite:///{missing}")
    held = ReadConnection(unreachable)
    tries: list[int] = []

    def refused() -> None:
        tries.append(1)
        raise ConnectionRefusedError

    monkeypatch.setattr(unreachable, "raw_connection", refused)
    try:
        with held.reading() as db:
            assert db is None
        with held.reading() as db:
            assert db is None
        assert tries == [1]  # the second read did not try again within RETRY_SECONDS
        monkeypatch.setattr(held.own, "_retry_at", 0.0)
        with held.reading() as db:
            assert db is None
        assert tries == [1, 1]
    finally:
        unreachable.dispose()


T = TypeVar("T")


@pytest.fixture
def loop_reads(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> LoopReadConnections:
    """Direct reads' connections on PostgreSQL, on this module's database."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite reads do not await")
    monkeypatch.setattr("api.fastpath.read_connection.get_public_read_engine", lambda: engine)
    return LoopReadConnections()


def on_a_loop(loop_reads: LoopReadConnections, work: Callable[[], Awaitable[T]]) -> T:
    """`work()` on an event loop of its own, whose connections are closed after it."""

    async def run() -> T:
        try:
            return await work()
        finally:
            await loop_reads.close()

    return asyncio.run(run())


def backend(db: ReadConnection) -> int:
    return int(db.execute("SELECT pg_backend_pid()")[0][0])


def test_loop_reads_await_on_the_event_loops_thread(
    engine: Engine, loop_reads: LoopReadConnections
) -> None:
    def read(db: ReadConnection) -> tuple[int, Any]:
        return threading.get_ident(), NAME.scalar(db)

    thread, name = on_a_loop(loop_reads, lambda: loop_reads.read(read))
    assert thread == threading.get_ident()  # no thread hop: asyncio.run's loop runs here
    with engine.connect() as conn:
        assert name == conn.scalar(NAME.statement)


@pytest.fixture
def read_slots(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Sets how many of the worker's reads wait on the database at once, for the test."""

    def set_slots(reads: int) -> None:
        monkeypatch.setattr(settings, "read_threads", reads)
        read_threads.cache_clear()

    yield set_slots
    read_threads.cache_clear()


def test_loop_reads_overlap_at_most_read_threads_at_once(
    loop_reads: LoopReadConnections, read_slots: Callable[[int], None]
) -> None:
    read_slots(2)
    slow = 0.3

    def sleeping(db: ReadConnection) -> int:
        db.execute(f"SELECT pg_sleep({slow})")
        return backend(db)

    async def work() -> tuple[float, list[int]]:
        await asyncio.gather(*(loop_reads.read(backend) for _ in range(2)))  # both connected
        started = time.perf_counter()
        backends = await asyncio.gather(*(loop_reads.read(sleeping) for _ in range(4)))
        return time.perf_counter() - started, backends

    took, backends = on_a_loop(loop_reads, work)
    assert 2 * slow <= took < 3 * slow  # two at a time, each awaiting
    assert len(set(backends)) == 2


def test_a_read_slot_keeps_its_connection_unless_its_read_was_cancelled(
    loop_reads: LoopReadConnections,
    read_slots: Callable[[int], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_slots(1)
    checkouts: list[int] = []

    def counted(url: URL) -> AsyncEngine:
        made = make_async_read_engine(url)
        event.listen(made.sync_engine, "checkout", lambda *_: checkouts.append(1))
        return made

    monkeypatch.setattr("api.fastpath.read_connection.make_async_read_engine", counted)

    def not_found(db: ReadConnection) -> None:
        backend(db)
        raise LookupError("the answer's error, not the connection's")

    def sleeping(db: ReadConnection) -> None:
        db.execute("SELECT pg_sleep(5)")

    async def work() -> tuple[list[int], int, float]:
        read = [await loop_reads.read(backend)]
        with pytest.raises(LookupError):
            await loop_reads.read(not_found)
        read.append(await loop_reads.read(backend))
        kept = len(checkouts)
        cancelled = asyncio.ensure_future(loop_reads.read(sleeping))
        await asyncio.sleep(0.3)  # its statement sent and running
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        started = time.perf_counter()
        read.append(await loop_reads.read(backend))
        return read, kept, time.perf_counter() - started

    (first, kept, after), checked_out, took = on_a_loop(loop_reads, work)
    assert checked_out == 1 and first == kept  # one checkout for the slot's reads, failed or not
    assert len(checkouts) == 2 and after != first  # the cancelled read's connection not kept
    assert took < 2


@pytest.mark.parametrize("failure", ["refused", "terminated"])
def test_a_failed_read_raises_as_sqlalchemy_and_the_next_has_a_new_connection(
    engine: Engine, loop_reads: LoopReadConnections, failure: str
) -> None:
    def refused(db: ReadConnection) -> None:
        db.execute("SELECT no_such_column FROM side_effect")

    async def work() -> tuple[int, int]:
        first = await loop_reads.read(backend)
        if failure == "terminated":
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            with pytest.raises(exc.OperationalError):
                await loop_reads.read(backend)
        else:
            with pytest.raises(exc.ProgrammingError):
                await loop_reads.read(refused)
        return first, await loop_reads.read(backend)

    first, second = on_a_loop(loop_reads, work)
    assert first != second
