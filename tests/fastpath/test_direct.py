"""Direct reads (api.fastpath.direct): the relation routes answered without FastAPI's routing and
dependency solving give byte for byte what FastAPI gives, and anything unusual goes to FastAPI."""

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query
from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from api.config import settings
from api.deps import SessionDep, conditional_get, get_session
from api.fastpath.direct import DirectReads, NotDirect, direct
from api.fastpath.kb_revision import RevisionProbe
from api.fastpath.read_connection import ReadConnection, loop_read_connections
from api.http.responses import Prevalidated
from api.main import app

RELATIONS = ("side-effects", "contraindications", "ingredients", "conditions")
Answer = tuple[int, list[tuple[str, str]], bytes]


def direct_reads() -> DirectReads:
    """The app's DirectReads layer (the middleware stack is built by the client's startup)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, DirectReads):
        layer = layer.app
    if layer.routes is None:
        layer.prepare(app)
    return layer


def answer(asgi: ASGIApp, path: str, headers: dict[str, str] | None = None) -> Answer:
    """What an ASGI app sends for a GET, as status, headers and body."""

    async def with_app(scope: Scope, receive: Receive, send: Send) -> None:
        await asgi({**scope, "app": app}, receive, send)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=with_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get(path, headers=headers)

    r = asyncio.run(get())
    return r.status_code, sorted(r.headers.multi_items()), r.content


class Sentinel:
    """An inner app that records whether it was asked, answering 599."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.asked.append(scope["path"])
        await Response(status_code=599)(scope, receive, send)


def served_directly(layer: DirectReads, path: str) -> bool:
    sentinel, inner = Sentinel(), layer.app
    layer.app = sentinel
    try:
        status, _, _ = answer(layer, path)
    finally:
        layer.app = inner
    return not sentinel.asked and status != 599


def slugs(client: TestClient) -> list[str]:
    return [p["slug"] for p in client.get("/v1/procedures?limit=100").json()["items"]]


class TestSameAnswerAsFastAPI:
    @pytest.mark.parametrize("relation", RELATIONS)
    def test_every_procedure(self, client: TestClient, relation: str) -> None:
        layer = direct_reads()
        for slug in slugs(client):
            for query in (
                "",
                "?inherited=false",
                "?inherited=0",
                "?cb=7&inherited=yes",
                "?distinct=true",
                "?distinct=true&inherited=false",
            ):
                path = f"/v1/procedures/{slug}/{relation}{query}"
                assert served_directly(layer, path), path
                assert answer(layer, path) == answer(layer.app, path), path

    def test_on_the_workers_read_connection(self, client: TestClient, engine: Engine) -> None:
        """Without a test's session override, direct reads run on the worker's own connection
        (api.fastpath.read_connection): the same answers, 404s still FastAPI's."""
        layer = direct_reads()
        paths = [f"/v1/procedures/{slug}/{r}" for slug in slugs(client) for r in RELATIONS]
        paths.append("/v1/procedures/no-such-thing/side-effects")
        expected = {path: answer(layer.app, path) for path in paths}
        overrides = dict(app.dependency_overrides)
        kept, inner = layer.read_connection, layer.app
        layer.read_connection = ReadConnection(engine)
        app.dependency_overrides.clear()  # FastAPI itself is not asked below
        try:
            for path in paths[:-1]:
                assert served_directly(layer, path), path
            layer.app = Sentinel()
            for path in paths[:-1]:
                assert answer(layer, path) == expected[path], path
            assert answer(layer, paths[-1])[0] == 599  # handed over, the connection still fine
            assert layer.read_connection.driver is not None
        finally:
            layer.app = inner
            layer.read_connection.close()
            layer.read_connection = kept
            app.dependency_overrides.update(overrides)

    def test_on_postgresql_awaiting_the_database(
        self, client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without a test's session override, direct reads on PostgreSQL await the database on
        the event loop (api.fastpath.read_connection.LoopReadConnections): the same answers,
        404s still FastAPI's."""
        if engine.dialect.name == "sqlite":
            pytest.skip("SQLite reads do not await")
        layer = direct_reads()
        paths = [f"/v1/procedures/{slug}/{r}" for slug in slugs(client) for r in RELATIONS]
        paths.append("/v1/procedures/no-such-thing/side-effects")
        expected = {path: answer(layer.app, path) for path in paths}
        monkeypatch.setattr("api.fastpath.direct.get_read_engine", lambda: engine)
        monkeypatch.setattr("api.fastpath.read_connection.get_public_read_engine", lambda: engine)
        probe = RevisionProbe(engine)
        monkeypatch.setattr("api.fastpath.response_cache.probe", probe)
        monkeypatch.setattr(app, "dependency_overrides", {})  # FastAPI itself is not asked
        monkeypatch.setattr(layer, "app", Sentinel())

        async def with_app(scope: Scope, receive: Receive, send: Send) -> None:
            await layer({**scope, "app": app}, receive, send)

        async def get_all() -> dict[str, Answer]:
            transport = httpx.ASGITransport(app=with_app)
            try:
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://testserver"
                ) as c:
                    got = {path: await c.get(path) for path in paths}
            finally:
                await loop_read_connections.close()
                probe.close()
            return {
                p: (r.status_code, sorted(r.headers.multi_items()), r.content)
                for p, r in got.items()
            }

        got = asyncio.run(get_all())
        for path in paths[:-1]:
            assert got[path] == expected[path], path
        assert got[paths[-1]][0] == 599  # handed over

    @pytest.mark.parametrize(
        "query",
        [
            "?level=avoid",
            "?level=consult&inherited=false",
            "?level=never",  # 422 from FastAPI
            "?inherited=maybe",
            "?inherited=",
            "?inherited=true&inherited=false",
            "?fields=name,level",
            "?distinct=1&level=avoid",
            "?distinct=perhaps",  # 422 from FastAPI
        ],
    )
    def test_parameters(self, client: TestClient, query: str) -> None:
        layer = direct_reads()
        path = f"/v1/procedures/at-home-derma-roller/contraindications{query}"
        assert answer(layer, path) == answer(layer.app, path)

    def test_unknown_procedure_is_fastapis_404(self, client: TestClient) -> None:
        layer = direct_reads()
        path = "/v1/procedures/no-such-thing/side-effects"
        status, headers, body = answer(layer, path)
        assert status == 404 and ("content-type", "application/problem+json") in headers
        assert (status, headers, body) == answer(layer.app, path)

    def test_not_modified(self, client: TestClient) -> None:
        layer = direct_reads()
        path = "/v1/procedures/at-home-derma-roller/ingredients"
        etag = client.get(path).headers["etag"]  # through every layer: the memo keeps it
        asked = answer(layer, path, {"If-None-Match": etag})
        assert asked[0] == 304
        assert asked == answer(layer.app, path, {"If-None-Match": etag})


class TestWhatGoesToFastAPI:
    def test_only_the_relation_routes_are_direct(self, client: TestClient) -> None:
        layer = direct_reads()
        assert layer.routes is not None
        assert sum(how is not None for _, _, how in layer.routes) == len(RELATIONS)
        for relation in RELATIONS:
            assert layer.match({"path": f"/v1/procedures/any-slug/{relation}"}) is not None

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/procedures/at-home-derma-roller/side-effects?fields=name",  # ShapedRoute trims
            "/v1/procedures/at-home-derma-roller/side-effects?inherited=perhaps",
            "/v1/procedures/at-home-derma-roller/ingredients?role=numbing&role=aftercare",
            "/v1/procedures/at-home-derma-roller/quotes",  # not a direct route
            "/v1/procedures/at-home-derma-roller",
        ],
    )
    def test_handed_over(self, client: TestClient, path: str) -> None:
        assert not served_directly(direct_reads(), path)

    def test_disabled(self, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
        layer = direct_reads()
        monkeypatch.setattr(settings, "direct_reads", False)
        assert not served_directly(layer, "/v1/procedures/at-home-derma-roller/conditions")
        monkeypatch.setattr(settings, "direct_reads", True)
        monkeypatch.setattr(settings, "fastpath", False)
        assert not served_directly(layer, "/v1/procedures/at-home-derma-roller/conditions")


def prepared(*routes: Callable[[APIRouter], None]) -> DirectReads:
    """DirectReads over a small app of the given routes."""
    small = FastAPI()
    router = APIRouter(prefix="/v1")
    for add in routes:
        add(router)
    small.include_router(router)
    layer = DirectReads(Sentinel(), get_session, conditional_get)
    layer.prepare(small)
    return layer


class TestPreparing:
    def test_an_earlier_route_that_matches_wins(self) -> None:
        def catch_all(router: APIRouter) -> None:
            @router.get("/things/{slug}")
            async def thing(slug: str) -> dict[str, str]:
                return {}

        def special(router: APIRouter) -> None:
            @router.get("/things/special")
            @direct
            async def special(session: SessionDep) -> Prevalidated:
                return Prevalidated({})

        layer = prepared(catch_all, special)
        assert layer.match({"path": "/v1/things/special"}) is None
        assert prepared(special, catch_all).match({"path": "/v1/things/special"}) is not None

    @pytest.mark.parametrize(
        "why",
        ["sync", "dict", "header", "list", "dependency"],
    )
    def test_what_direct_reads_cannot_serve_is_refused_at_once(self, why: str) -> None:
        async def other() -> None:
            return None

        def bad(router: APIRouter) -> None:
            if why == "sync":

                @router.get("/x")
                @direct
                def sync(session: SessionDep) -> Prevalidated:
                    return Prevalidated({})

            elif why == "dict":

                @router.get("/x")
                @direct
                async def as_dict(session: SessionDep) -> dict[str, str]:
                    return {}

            elif why == "header":

                @router.get("/x")
                @direct
                async def header(x_thing: Annotated[str, Header()]) -> Prevalidated:
                    return Prevalidated({})

            elif why == "list":

                @router.get("/x")
                @direct
                async def many(q: Annotated[list[str] | None, Query()] = None) -> Prevalidated:
                    return Prevalidated({})

            else:

                @router.get("/x", dependencies=[Depends(other)])
                @direct
                async def guarded(session: SessionDep) -> Prevalidated:
                    return Prevalidated({})

        small = FastAPI()
        router = APIRouter(prefix="/v1")
        bad(router)
        small.include_router(router)
        layer = DirectReads(Sentinel(), get_session, conditional_get)
        with pytest.raises(NotDirect):
            layer._routes(small)
        layer.prepare(small)  # what the middleware does: nothing is answered directly
        assert layer.routes == []
