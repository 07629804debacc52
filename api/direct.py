"""Direct reads: the hottest public GETs answered without FastAPI's per-request machinery.

For a cold relation read FastAPI spends about as much CPU as the database work and the
rendering together: matching through the nested routers (each level re-checks its routes'
version), solving the dependencies (session generator, revision check, `?fields=`, query
parameters) and wrapping the handler. A route opts out of that with `@direct` on its endpoint: an
`async def` that takes the session, its path parameters and scalar query parameters, and returns
a `Response` it renders itself (`api.responses.Prevalidated`). What it is given as the session is
what `api.prepared` statements run on (`api.db.Reads`): here usually the worker's
`ReadConnection`, so it must hand the session only to those.

`DirectReads`, the innermost middleware, prepares every direct route at the first request from
the app's own routes, in the order FastAPI matches them, and answers a request itself only when:
the first route that matches it is a direct one; each of the route's own query parameters is
given at most once and passes the route's own pydantic field; and no parameter of another
dependency (`?fields=`) is given. It reads the revision (`caching.revision_check`, the
`conditional_get` dependency's logic, so 304s come as before) on the worker's read connection
(`api.db.ReadConnection`; when it is busy, a session as `get_session` opens it; a test's override
of `get_session` wins) and calls the endpoint.

Everything else goes to FastAPI, which answers as it always does, and so does a request whose
endpoint raises (reads change nothing, so it runs again there): errors, 422s and 404s are made in
one place. tests/api/test_direct.py checks that a direct answer is byte for byte FastAPI's.
"""

import inspect
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import UnionType
from typing import Any, TypeVar, Union, cast, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from sqlmodel import Session
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api import db
from api.caching import conditional_get, not_modified, revision_check
from api.db import ReadConnection, Reads, get_session, open_session

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_DIRECT = "__skinkb_direct__"
_INERT = "__skinkb_inert__"


def direct(endpoint: Endpoint) -> Endpoint:
    """Marks a read endpoint to be answered by `DirectReads` (see the module's docstring)."""
    setattr(endpoint, _DIRECT, True)
    return endpoint


def inert(dependency: Endpoint) -> Endpoint:
    """Marks a dependency that does nothing unless one of its query parameters is given;
    `DirectReads` hands requests that give one to FastAPI."""
    setattr(dependency, _INERT, True)
    return dependency


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
    def of(cls, context: RouteContext) -> "DirectRoute":
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
            if dep.call is get_session and dep.name:
                sessions.append(dep.name)
            elif dep.call is conditional_get:
                pass  # revision_check, in DirectReads
            elif getattr(dep.call, _INERT, False) and not dep.dependencies:
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
    """ASGI: answers GETs of direct routes (module docstring); the rest goes to `app`."""

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled
        self.read_connection: ReadConnection = db.read_connection
        # Every GET route up to the last direct one, in FastAPI's order: its literal path
        # prefix, its path pattern, and how to answer it directly (None: FastAPI answers).
        self.routes: list[tuple[str, re.Pattern[str], DirectRoute | None]] | None = None
        self.fastapi: FastAPI | None = None

    def prepare(self, fastapi: FastAPI) -> None:
        routes: list[tuple[str, re.Pattern[str], DirectRoute | None]] = []
        for context in iter_route_contexts(fastapi.routes):
            if not isinstance(context.original_route, Route):
                break  # a mount or another kind of route: it may match anything after it
            if context.methods is not None and "GET" not in context.methods:
                continue
            prefix = (context.path_format or "").split("{", 1)[0]
            how = DirectRoute.of(context) if getattr(context.endpoint, _DIRECT, False) else None
            routes.append((prefix, context.path_regex, how))
        while routes and routes[-1][2] is None:
            routes.pop()
        self.routes, self.fastapi = routes, fastapi

    def match(self, scope: Scope) -> DirectRoute | None:
        """The direct route FastAPI would pick for this GET, if the route it picks is one."""
        if self.routes is None:
            self.prepare(scope["app"])
        assert self.routes is not None
        path = scope["path"]
        for prefix, pattern, how in self.routes:
            if path.startswith(prefix) and pattern.match(path):
                return how
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.enabled
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope.get("root_path")
        ):
            how = self.match(scope)
            arguments = how.arguments(scope) if how is not None else None
            if how is not None and arguments is not None:
                response = await self._answer(how, arguments, scope, receive)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(
        self, how: DirectRoute, arguments: dict[str, Any], scope: Scope, receive: Receive
    ) -> Response | None:
        """The endpoint's response (or a 304), or None when FastAPI should answer."""
        request = Request(scope, receive)
        try:
            async with self._session(request) as session:
                if session is None:
                    return None
                etag = revision_check(scope, session)
                if etag is not None:
                    return not_modified(etag)
                arguments.update(dict.fromkeys(how.session_names, session))
                if how.request_name:
                    arguments[how.request_name] = request
                response: Response = await how.endpoint(**arguments)
                return response
        except Exception:
            return None  # FastAPI runs it again and answers with its error handlers

    @asynccontextmanager
    async def _session(self, request: Request) -> AsyncIterator[Reads | None]:
        """The worker's read connection (api.db.ReadConnection), or when it is busy the session
        `get_session` gives; `app.dependency_overrides` of `get_session` that take nothing or
        the request (a test's database) are honoured, and for any other override, None."""
        overrides = self.fastapi.dependency_overrides if self.fastapi else {}
        if conditional_get in overrides:
            yield None
            return
        provider = overrides.get(get_session)
        if provider is None:
            with self.read_connection.reading() as held:
                if held is not None:
                    yield held
                    return
            with open_session(request.method) as session:
                yield session
            return
        parameters = inspect.signature(provider).parameters
        if len(parameters) > 1:
            yield None
            return
        made: Any = provider(request) if parameters else provider()
        if inspect.isasyncgen(made):
            try:
                yield cast(Session, await made.__anext__())
            finally:
                await made.aclose()
        elif inspect.isgenerator(made):
            try:
                yield cast(Session, next(made))
            finally:
                made.close()
        else:
            yield made
