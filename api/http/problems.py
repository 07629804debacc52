"""Errors as RFC 9457 problem details (`application/problem+json`), on every path."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.errors import AppError

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
log = logging.getLogger("skinkb")


class Problem(BaseModel):
    """RFC 9457 problem details; some problems add members of their own (`current_version`)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    members: dict[str, Any] | None = None,
) -> JSONResponse:
    body = Problem(
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        **(members or {}),
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry that declares a route's problem answers in the OpenAPI: a
    `Problem` (a component the OpenAPI completion adds) under `application/problem+json`."""
    return {
        s: {
            "description": HTTPStatus(s).phrase,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
        for s in statuses
    }


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request, exc.status, exc.title, exc.detail, exc.errors, exc.headers, exc.members
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(request, exc.status_code, title, detail, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    names = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    return problem_response(
        request, 422, "Unprocessable Content", f"Invalid input: {names}", errors
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, "Internal Server Error", "An unexpected error occurred.")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The database went away (restart, failover): say so and when to retry; the pool's
    # pre-ping replaces dead connections, so the service recovers by itself.
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return problem_response(
        request,
        503,
        "Service Unavailable",
        "The database is unavailable; retry shortly.",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
