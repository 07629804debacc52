"""Dependencies the routes share: the request's session and revision check, paging, API keys."""

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from api.config import settings
from api.db.engine import is_remote, on_a_read_thread, open_session
from api.errors import Forbidden, Unauthorized
from api.fastpath.response_cache import revision_check
from api.http.caching import NotModified, is_public_read
from api.http.paging import decode_cursor, link_next, next_url
from api.kb import audit, keys
from api.kb.queries import Window
from models import ApiKey
from models.api_key import KeyRole


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; requests that may write begin as writers, public reads go to a
    replica when there are any.

    Async so that opening and closing it costs no trip through the threadpool; routes take it
    with `scope="function"`, so its connection goes back to the pool as soon as the handler
    returns, not after the response has been sent.
    """
    with open_session(request.method, public=is_public_read(request.scope)) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# A public read's revision check on PostgreSQL, left to the handler's trip to the threadpool
# (`off_the_loop`): a second trip would hold the session's connection while waiting for a thread.
_CHECKS_REVISION = "__skinkb_checks_revision__"  # marks the endpoints `off_the_loop` makes
_revision_check_due: ContextVar[MutableMapping[str, Any] | None] = ContextVar("revision_check_due")


async def conditional_get(request: Request, session: SessionDep) -> None:
    """Every /v1 route: reads the knowledge-base revision first (what the answer is at least as
    new as) and answers 304 without running the handler when the answer is known unchanged. On
    PostgreSQL a public read's handler does it, first, on its thread (`off_the_loop`)."""
    endpoint = request.scope.get("endpoint")
    if is_remote(session) and getattr(endpoint, _CHECKS_REVISION, False):
        _revision_check_due.set(request.scope)
        return
    etag = revision_check(request.scope, session)
    if etag is not None:
        raise NotModified(etag)


def off_the_loop(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """The endpoint of a plain read handler taking the session: run where it is on SQLite (its
    reads take microseconds), on the threadpool on PostgreSQL, whose round trips would otherwise
    hold up every other request of the worker. Async handlers are left as they are."""
    if inspect.iscoroutinefunction(handler):
        return handler

    @functools.wraps(handler)
    async def endpoint(*args: Any, **kwargs: Any) -> Any:
        session = next((v for v in kwargs.values() if isinstance(v, Session)), None)
        if session is None or not is_remote(session):
            return handler(*args, **kwargs)
        scope = _revision_check_due.get(None)
        _revision_check_due.set(None)
        return await on_a_read_thread(_checked, scope, session, handler, args, kwargs)

    setattr(endpoint, _CHECKS_REVISION, True)
    return endpoint


def _checked(
    scope: MutableMapping[str, Any] | None,
    session: Session,
    handler: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """The handler, after the revision check `conditional_get` left to it (if any)."""
    if scope is not None:
        etag = revision_check(scope, session)
        if etag is not None:
            raise NotModified(etag)
    return handler(*args, **kwargs)


# --- paging ------------------------------------------------------------------------------------


@dataclass
class PageParams:
    """Keyset paging: `limit` rows after the key encoded in `cursor`."""

    request: Request
    response: Response
    limit: int
    after: list[str] | None

    @property
    def window(self) -> Window:
        """The page as the domain's queries take it, at the revision the request read first."""
        revision = getattr(self.request.state, "kb_revision", None)
        return Window(self.limit, self.after, revision)

    def answer(self, items: Any, total: int, next_key: list[str] | None) -> dict[str, Any]:
        """The page's body; the next page's URL is also sent as a `Link` header."""
        url = None if next_key is None else next_url(self.request.url, next_key)
        if url is not None:
            self.response.headers["Link"] = link_next(url)
        return {"items": items, "total": total, "next": url}


async def page_params(
    request: Request,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=settings.page_size_max, description="Items per page (at most 100).")
    ] = settings.page_size_default,
    cursor: Annotated[
        str | None, Query(max_length=1200, description="The `next` cursor of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(request, response, limit, decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(page_params)]
NameSort = Annotated[
    Literal["slug", "-slug", "name", "-name"],
    Query(description="Order of the list (default `slug`); `-` first reverses it."),
]
SlugSort = Annotated[
    Literal["slug", "-slug"], Query(description="Order of the list; `-slug` reverses it.")
]


# --- API keys ----------------------------------------------------------------------------------

# Declares the scheme in the OpenAPI; the answers to a missing or bad key are ours (401 + audit).
bearer = HTTPBearer(auto_error=False, description="An API key: `skinkb keys create`.")


def _refused(session: Session, request: Request, reason: str, invalid: bool) -> Unauthorized:
    client = request.client.host if request.client else None
    audit.failed_authentication(session, request.method, request.url.path, client, reason)
    return Unauthorized(f"{reason} Send `Authorization: Bearer <API key>`.", invalid_token=invalid)


def current_key(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey:
    """The API key the request authenticates with; 401 (and an audit entry) if none is valid."""
    if credentials is None:
        reason = (
            "No API key was sent."
            if "authorization" not in request.headers
            else "The Authorization header is not a bearer API key."
        )
        raise _refused(session, request, reason, invalid=False)
    row = keys.find_key(session, credentials.credentials.strip())
    if row is None:
        raise _refused(session, request, "The API key is unknown or revoked.", invalid=True)
    request.state.key_name = row.name
    return row


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def known_key(authorization: str) -> bool:
    """Whether an Authorization header holds a live API key of any role: the rate limit gives
    such public reads a bucket of their own. Its own short read session."""
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return False
    with open_session("GET") as session:
        return keys.find_key(session, credential.strip()) is not None


def require_role(role: KeyRole):  # type: ignore[no-untyped-def]
    """A dependency admitting keys of `role` or a higher one; 403 for the others."""

    def check(request: Request, session: SessionDep, key: CurrentKey) -> ApiKey:
        if KeyRole(key.role).rank < role.rank:
            audit.forbidden(session, key.name, request.method, request.url.path, role.value)
            raise Forbidden(
                f"This needs the {role.value} role; the key {key.name!r} is {key.role}."
            )
        return key

    check.__name__ = f"require_{role.value}"
    return check


Editor = Annotated[ApiKey, Depends(require_role(KeyRole.editor))]
Publisher = Annotated[ApiKey, Depends(require_role(KeyRole.publisher))]
Admin = Annotated[ApiKey, Depends(require_role(KeyRole.admin))]
