"""Admin routes authenticate a request before they read its body.

FastAPI reads and parses a body before it runs any dependency, the key's included, so anyone
could make the service take in (and hold while it trickles in) a large body without a key. The
admin routes' `KeyFirstRoute` checks the key first, exactly as the `current_key` dependency does
(401 and an audit entry), then reads the body and refuses NUL in it (422), which
RefuseNulMiddleware leaves to it for these paths.
"""

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.db.engine import open_session
from api.deps import bearer, current_key, get_session
from api.errors import Unprocessable
from api.fastpath.direct import provided
from api.http.protection import nul_in_body, nul_refusal
from api.routes.admin.common import AdminRoute

PREFIX = "/v1/admin/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@asynccontextmanager
async def _session(request: Request) -> AsyncIterator[Session]:
    """The session the session dependency gives, honouring an override of it that takes
    nothing or the request (a test's database)."""
    provider = request.app.dependency_overrides.get(get_session)
    if provider is None:
        with open_session(request.method) as session:
            yield session
        return
    async with provided(provider, request) as session:
        yield session


class KeyFirstRoute(AdminRoute):
    """An admin route: the API key is checked before the body is read, then NUL refused (and,
    as every admin route, a missing If-Match it requires is answered 428)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def key_first(request: Request) -> Response:
            if request.method in _BODY_METHODS:
                credentials = await bearer(request)
                async with _session(request) as session:
                    await run_in_threadpool(current_key, request, session, credentials)
                loc = nul_in_body(await request.body())
                if loc is not None:
                    detail, errors = nul_refusal(loc)
                    raise Unprocessable(detail, errors=errors)
            return await handler(request)

        return key_first
