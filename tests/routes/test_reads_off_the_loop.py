"""On PostgreSQL a public read waits on the network: it does so off the event loop, so the
worker's other requests go on meanwhile."""

import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import Engine, text
from sqlmodel import Session

from api.config import settings
from api.db.engine import read_threads
from api.deps import _CHECKS_REVISION, get_session
from api.kb import queries
from api.main import app
from tests.conftest import TEST_DATABASE_URL

on_postgresql = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"), reason="round trips are PostgreSQL's"
)
SLOW = 0.4


@pytest.fixture
def own_sessions(engine: Engine) -> Iterator[None]:
    """A session of its own per request, as `skinkb serve` gives."""

    def session() -> Iterator[Session]:
        with Session(engine) as s:
            yield s

    app.dependency_overrides[get_session] = session
    yield
    app.dependency_overrides.clear()


def slowed(read: Callable[..., Any]) -> Callable[..., Any]:
    """The query, after a statement that keeps the server busy for SLOW seconds."""

    def slow(session: Any, *args: Any, **kwargs: Any) -> Any:
        session.execute(text(f"SELECT pg_sleep({SLOW})"))
        return read(session, *args, **kwargs)

    return slow


def four_at_once(path: str) -> tuple[float, list[int]]:
    """Seconds four concurrent GETs of `path` took (after one to warm up), and their statuses."""

    async def run() -> tuple[float, list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            await c.get(path)
            started = time.perf_counter()
            answers = await asyncio.gather(*(c.get(path) for _ in range(4)))
            return time.perf_counter() - started, answers

    took, answers = asyncio.run(run())
    return took, [r.status_code for r in answers]


def public_reads() -> list[tuple[str, Any, Dependant]]:
    """Each public or health GET route: its path, endpoint and dependencies."""
    return [
        (context.path or "", context.endpoint, context.original_route.dependant)
        for context in iter_route_contexts(app.routes)
        if "GET" in (context.methods or ())
        and isinstance(context.original_route, APIRoute)
        and not (context.path or "").startswith("/v1/admin")
    ]


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    """Every dependency of `dependant`, theirs included."""
    for d in dependant.dependencies:
        yield d
        yield from dependencies(d)


def test_every_read_that_takes_a_session_can_leave_the_loop() -> None:
    """No public or health GET waits on the database on the event loop: each is a plain
    function that `off_the_loop` runs on the threadpool on PostgreSQL."""
    reads = public_reads()
    on_the_loop = [
        path
        for path, endpoint, dependant in reads
        if any(d.call is get_session for d in dependencies(dependant))
        and not getattr(endpoint, _CHECKS_REVISION, False)
    ]
    assert len(reads) > 30 and on_the_loop == []


def test_no_read_parks_its_connection_in_the_threadpool() -> None:
    """FastAPI runs a plain function dependency on the threadpool; a request waiting there keeps
    the connection its revision check took, so each read in flight would hold one (a pooled
    SQLite connection, with its page cache, per concurrent request). Public reads' dependencies
    are async."""
    parked = {
        (path, getattr(d.call, "__qualname__", repr(d.call)))
        for path, _, dependant in public_reads()
        for d in dependencies(dependant)
        if d.call is not None
        and not (inspect.iscoroutinefunction(d.call) or inspect.isasyncgenfunction(d.call))
    }
    assert parked == set()


@on_postgresql
class TestReadsOverlap:
    def test_detail_reads_overlap(
        self, own_sessions: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(queries, "procedure_detail", slowed(queries.procedure_detail))
        took, statuses = four_at_once("/v1/procedures/at-home-derma-roller")
        assert statuses == [200] * 4
        assert took < 3 * SLOW  # one after another: 4 * SLOW

    def test_direct_relation_reads_overlap(
        self, own_sessions: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(queries, "listed_terms", slowed(queries.listed_terms))
        took, statuses = four_at_once("/v1/procedures/at-home-derma-roller/side-effects")
        assert statuses == [200] * 4
        assert took < 3 * SLOW

    def test_at_most_read_threads_at_once(
        self, own_sessions: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(settings, "read_threads", 2)
        read_threads.cache_clear()
        try:
            monkeypatch.setattr(queries, "procedure_detail", slowed(queries.procedure_detail))
            took, statuses = four_at_once("/v1/procedures/at-home-derma-roller")
        finally:
            read_threads.cache_clear()
        assert statuses == [200] * 4
        assert 2 * SLOW <= took < 3 * SLOW  # two at a time
