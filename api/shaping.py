"""`?fields=`: public answers trimmed to the fields a client names.

`ShapedRoute` is the route class of every public collection router: it declares `fields` on each
GET route, checks the names against the route's response model (422 naming `fields`), and trims
the JSON it returns (each item of a page).
"""

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, get_args

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.errors import InvalidParameter

FIELDS_PATTERN = r"^[a-z_]+(,[a-z_]+)*$"
ALWAYS_KEPT = ("slug",)


def item_model(model: Any) -> type[BaseModel] | None:
    """The model of what `fields` trims: the response model, or the item model of a page."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    fields = model.model_fields
    if {"items", "total", "next"} <= set(fields):
        (inner,) = get_args(fields["items"].annotation) or (None,)
        return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return model


def fields_param(
    request: Request,
    fields: Annotated[
        str | None,
        Query(
            max_length=500,
            pattern=FIELDS_PATTERN,
            description="Only these fields, comma-separated (of each item, on a list); "
            "`slug` is always kept.",
        ),
    ] = None,
) -> list[str] | None:
    if fields is None:
        return None
    route = request.scope.get("route")
    model = item_model(getattr(route, "response_model", None))
    known = set(model.model_fields) if model else set()
    if request.query_params.get("include"):
        known.add("included")
    unknown = [f for f in fields.split(",") if f not in known]
    if unknown:
        raise InvalidParameter(
            "fields", f"fields: {unknown[0]!r} is not a field here; known: {sorted(known)}."
        )
    return fields.split(",")


def trimmed(body: Any, fields: list[str]) -> Any:
    keep = set(fields) | set(ALWAYS_KEPT)

    def trim(item: Any) -> Any:
        return {k: v for k, v in item.items() if k in keep} if isinstance(item, dict) else item

    if isinstance(body, dict) and {"items", "total", "next"} <= set(body):
        return {**body, "items": [trim(i) for i in body["items"]]}
    return trim(body)


class ShapedRoute(APIRoute):
    """A public read route whose JSON answer `?fields=` trims."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if "GET" in (kwargs.get("methods") or ()):
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or []), Depends(fields_param)]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def shaped(request: Request) -> Response:
            response = await handler(request)
            wanted = request.query_params.get("fields")
            if (
                not wanted
                or response.status_code != 200
                or response.media_type != ("application/json")
            ):
                return response
            body = trimmed(json.loads(bytes(response.body)), wanted.split(","))
            out = Response(
                json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                status_code=200,
                media_type="application/json",
            )
            for key, value in response.raw_headers:
                if key not in (b"content-length", b"content-type"):
                    out.raw_headers.append((key, value))
            return out

        return shaped
