"""Direct reads (a bypass: `SKINKB_DIRECT_READS`): the hottest public GETs answered without
FastAPI's routing and dependency solving, which cost about as much as the read itself.

A route opts in with `@direct` on an `async def` endpoint taking the session, path and scalar
query parameters and returning a `Response` it renders. `DirectReads` works out those routes from
FastAPI's own (`iter_route_contexts`, `RouteContext`) and answers a request only when FastAPI
would pick a direct route and every parameter passes the route's own field; anything else, an
endpoint that raises, or a failure to prepare (logged once) goes to FastAPI.
"""

import inspect
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from sqlmodel import Session
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.db.engine import get_read_engine, is_remote, on_a_read_thread, open_session
from api.fastpath import enabled, fell_back
from api.fastpath.read_connection import (
    ReadConnection,
    Reads,
    loop_read_connections,
    read_connection,
)
from api.fastpath.response_cache import revision_check
from api.http.caching import not_modified
from api.http.shaping import INERT

# What `_session` gives when the read is to await the database on the event loop.
ON_THE_LOOP: Any = object()

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_DIRECT = "__skinkb_direct__"


def direct(endpoint: Endpoint) -> Endpoint:
    """Marks a read endpoint to be answered by `DirectReads` (see the module's docstring)."""
    setattr(endpoint, _DIRECT, True)
    return endpoint


def _takes_many(annotation: Any) -> bool:
    """A list (or other collection) parameter, optional or not: FastAPI reads every value."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return any(_takes_many(a) for a in get_args(annotation))
    return (origin or annotation) in (list, set, frozenset, tuple)


class NotDirect(Exception):
    """A route marked `@direct` that direct reads cannot serve as FastAPI would."""


@dataclass
class DirectRoute:
    """What answering one direct route takes, worked out once."""

    endpoint: Callable[..., Any]
    path_regex: re.Pattern[str]
    convertors: dict[str, Any]
    path_fields: dict[str, Any]  # path parameter -> the route's pydantic field
    query_fields: dict[str, Any]  # query alias -> the route's own pydantic field
    declared_elsewhere: frozenset[str]  # query aliases of its other dependencies
    session_names: tuple[str, ...]  # endpoint parameters that take the session
    request_name: str | None

    @classmethod
    def of(
        cls, context: RouteContext, session_dependency: Any, revision_dependency: Any
    ) -> "DirectRoute":
        route, dependant = context.original_route, context.dependant
        assert isinstance(route, APIRoute)
        where = f"{context.path}: "
        if not inspect.iscoroutinefunction(route.endpoint):
            raise NotDirect(where + "the endpoint is not async")
        returns = inspect.signature(route.endpoint).return_annotation
        if not (isinstance(returns, type) and issubclass(returns, Response)):
            raise NotDirect(where + "the endpoint does not return a Response it renders")
        if dependant.header_params or dependant.cookie_params or dependant.body_params:
            raise NotDirect(where + "only path and query parameters are read directly")
        if dependant.response_param_name or dependant.background_tasks_param_name:
            raise NotDirect(where + "the endpoint takes the response or background tasks")
        if any(_takes_many(q.field_info.annotation) for q in dependant.query_params):
            raise NotDirect(where + "only scalar query parameters are read directly")
        sessions, elsewhere = [], set()
        for dep in dependant.dependencies:
            if dep.call is session_dependency and dep.name:
                sessions.append(dep.name)
            elif dep.call is revision_dependency:
                pass  # revision_check, in DirectReads
            elif getattr(dep.call, INERT, False) and not dep.dependencies:
                elsewhere |= {q.alias for q in dep.query_params}
            else:
                raise NotDirect(f"{where}no direct way to run the dependency {dep.call!r}")
        return cls(
            endpoint=route.endpoint,
            path_regex=context.path_regex,
            convertors=context.param_convertors,
            path_fields={p.name: p for p in dependant.path_params},
            query_fields={q.alias: q for q in dependant.query_params},
            declared_elsewhere=frozenset(elsewhere),
            session_names=tuple(sessions),
            request_name=dependant.request_param_name,
        )

    def arguments(self, scope: Scope) -> dict[str, Any] | None:
        """The endpoint's keyword arguments but the session, or None for FastAPI to answer."""
        match = self.path_regex.match(scope["path"])
        assert match is not None
        out: dict[str, Any] = {}
        for name, raw in match.groupdict().items():
            value, errors = self.path_fields[name].validate(
                self.convertors[name].convert(raw), {}, loc=("path", name)
            )
            if errors:
                return None
            out[name] = value
        given: dict[str, str] = {}
        for key, value in parse_qsl(scope["query_string"].decode("latin-1"), True):
            if key in self.declared_elsewhere or key in given:
                return None
            if key in self.query_fields:
                given[key] = value
        for alias, field in self.query_fields.items():
            if alias not in given:
                if field.field_info.is_required():
                    return None
                out[field.name] = field.get_default()
                continue
            value, errors = field.validate(given[alias], {}, loc=("query", alias))
            if errors:
                return None
            out[field.name] = value
        return out


class DirectReads:
    """ASGI: answers GETs of direct routes (module docstring); the rest goes to `app`.

    `session_dependency` and `revision_dependency` are the app's own dependencies that open a
    request's session and check its revision: a direct read does their work itself.
    """

    def __init__(self, app: ASGIApp, session_dependency: Any, revision_dependency: Any) -> None:
        self.app = app
        self.session_dependency = session_dependency
        self.revision_dependency = revision_dependency
        self.read_connection: ReadConnection = read_connection
        # Every GET route up to the last direct one, in FastAPI's order: its literal path
        # prefix, its path pattern, and how to answer it directly (None: FastAPI answers).
        self.routes: list[tuple[str, re.Pattern[str], DirectRoute | None]] | None = None
        self.fastapi: FastAPI | None = None

    def prepare(self, fastapi: FastAPI) -> None:
        """Work out every direct route; on any error none is answered directly (logged once)."""
        self.fastapi = fastapi
        try:
            self.routes = self._routes(fastapi)
        except Exception as error:  # noqa: BLE001 (an internal that moved: FastAPI answers all)
            fell_back("direct_reads", error)
            self.routes = []

    def _routes(self, fastapi: FastAPI) -> list[tuple[str, re.Pattern[str], DirectRoute | None]]:
        routes: list[tuple[str, re.Pattern[str], DirectRoute | None]] = []
        for context in iter_route_contexts(fastapi.routes):
            if not isinstance(context.original_route, Route):
                break  # a mount or another kind of route: it may match anything after it
            if context.methods is not None and "GET" not in context.methods:
                continue
            prefix = (context.path_format or "").split("{", 1)[0]
            answered = None
            if getattr(context.endpoint, _DIRECT, False):
                answered = DirectRoute.of(
                    context, self.session_dependency, self.revision_dependency
                )
            routes.append((prefix, context.path_regex, answered))
        while routes and routes[-1][2] is None:
            routes.pop()
        return routes

    def match(self, scope: Scope) -> DirectRoute | None:
        """The direct route FastAPI would pick for this GET, if the route it picks is one."""
        if self.routes is None:
            self.prepare(scope["app"])
        assert self.routes is not None
        path = scope["path"]
        for prefix, pattern, route in self.routes:
            if path.startswith(prefix) and pattern.match(path):
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            enabled("direct_reads")
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope.get("root_path")
        ):
            response = await self._answer(scope, receive)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response | None:
        """The endpoint's response (or a 304), or None when FastAPI should answer."""
        try:
            route = self.match(scope)
            arguments = route.arguments(scope) if route is not None else None
            if route is None or arguments is None:
                return None
            request = Request(scope, receive)
            async with self._session(request) as session:
                if session is None:
                    return None
                arguments.update(dict.fromkeys(route.session_names, session))
                if route.request_name:
                    arguments[route.request_name] = request
                handler = inspect.unwrap(route.endpoint)
                if session is ON_THE_LOOP:
                    if inspect.iscoroutinefunction(handler):
                        return None
                    return await loop_read_connections.read(
                        _read_lent, scope, route.session_names, handler, arguments
                    )
                if isinstance(session, Session) and is_remote(session):
                    if not inspect.iscoroutinefunction(handler):
                        # One trip to the threadpool for the revision and the read.
                        return await on_a_read_thread(_read, scope, session, handler, arguments)
                    return None
                etag = revision_check(scope, session)
                if etag is not None:
                    return not_modified(etag)
                response: Response = await route.endpoint(**arguments)
                return response
        except Exception:
            return None  # FastAPI runs it again and answers with its error handlers

    @asynccontextmanager
    async def _session(self, request: Request) -> AsyncIterator[Any]:
        """The worker's read connection, or when it is busy the session the session dependency
        gives; `app.dependency_overrides` of it that take nothing or the request (a test's
        database) are honoured, and for any other override, None."""
        overrides = self.fastapi.dependency_overrides if self.fastapi else {}
        if self.revision_dependency in overrides:
            yield None
            return
        provider = overrides.get(self.session_dependency)
        if provider is None:
            if get_read_engine().dialect.name != "sqlite":
                # A read waits on the network: it awaits, on a connection of its own.
                yield ON_THE_LOOP
                return
            with self.read_connection.reading() as held:
                if held is not None:
                    yield held
                    return
            with open_session(request.method, public=True) as session:
                yield session
            return
        if len(inspect.signature(provider).parameters) > 1:
            yield None
            return
        async with provided(provider, request) as session:
            yield session


@asynccontextmanager
async def provided(provider: Callable[..., Any], request: Request) -> AsyncIterator[Any]:
    """What a dependency taking nothing or the request gives, outside FastAPI's dependency
    solving: a generator's first value (the generator closed afterwards), or the value."""
    made: Any = provider(request) if inspect.signature(provider).parameters else provider()
    if inspect.isasyncgen(made):
        try:
            yield await made.__anext__()
        finally:
            await made.aclose()
    elif inspect.isgenerator(made):
        try:
            yield next(made)
        finally:
            made.close()
    else:
        yield made


def _read_lent(
    connection: ReadConnection,
    scope: Scope,
    session_names: Sequence[str],
    handler: Callable[..., Response],
    arguments: dict[str, Any],
) -> Response:
    """A direct read on PostgreSQL, in `run_sync` on a connection lent for it."""
    return _read(
        scope, connection, handler, {**arguments, **dict.fromkeys(session_names, connection)}
    )


def _read(
    scope: Scope, session: Reads, handler: Callable[..., Response], arguments: dict[str, Any]
) -> Response:
    """A direct read on the threadpool: the revision first, then the endpoint's own read."""
    etag = revision_check(scope, session)
    if etag is not None:
        return not_modified(etag)
    return handler(**arguments)


def build_route_parameters(fastapi: FastAPI) -> None:
    """Have FastAPI build every route's parameters now (it does so at a route's first request),
    so that startup's objects can be frozen out of the garbage collector's walks."""
    try:
        list(iter_route_contexts(fastapi.routes))
    except Exception as error:  # noqa: BLE001 (an internal that moved: built at first use)
        fell_back("direct_reads", error)
