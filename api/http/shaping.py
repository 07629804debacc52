"""`?fields=`: public answers trimmed to the fields a client names.

`ShapedRoute` is the route class of every public collection router: it declares `fields` on each
GET route, listing the fields of the route's response model (so anything else is a 422 naming
`fields`), and trims the JSON it returns (each item of a page).
"""

import inspect
import json
from collections.abc import Callable, Coroutine
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.http.problems import problem_responses

ALWAYS_KEPT = ("slug",)
# Marks a dependency that does nothing unless one of its query parameters is given: direct
# reads (api.fastpath.direct) hand requests that give one to FastAPI.
INERT = "__skinkb_inert__"


def item_fields(model: Any) -> set[str] | None:
    """The fields `fields` may name: those of the item models of every alternative of the
    response model (a page's items, or the model itself), None if there is no model."""
    alternatives = get_args(model) if get_origin(model) in (Union, UnionType) else (model,)
    models = [m for m in map(item_model, alternatives) if m is not None]
    return {name for m in models for name in m.model_fields} if models else None


def item_model(model: Any) -> type[BaseModel] | None:
    """The model of what `fields` trims: the response model, or the item model of a page."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    fields = model.model_fields
    if {"items", "total", "next"} <= set(fields):
        (inner,) = get_args(fields["items"].annotation) or (None,)
        return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return model


def fields_param(names: set[str]) -> Callable[..., Coroutine[Any, Any, None]]:
    """The `fields` parameter of a route whose answer has these fields: the schema lists them."""
    alternatives = "|".join(sorted(names))

    async def fields(
        fields: Annotated[
            str | None,
            Query(
                max_length=500,
                pattern=f"^({alternatives})(,({alternatives}))*$",
                description="Only these fields, comma-separated (of each item, on a list); "
                "`slug` is always kept. The answer's schema describes the whole answer: with "
                "`fields`, every field not named (but `slug`) is left out, required or not. "
                f"One of: {', '.join(sorted(names))}.",
            ),
        ] = None,
    ) -> None:
        return None

    setattr(fields, INERT, True)  # the trimming is ShapedRoute's handler's
    return fields


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
        names = item_fields(kwargs.get("response_model"))
        if "GET" in (kwargs.get("methods") or ()) and names is not None:
            if "include" in inspect.signature(endpoint).parameters:
                names.add("included")
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or []),
                Depends(fields_param(names)),
            ]
            kwargs["responses"] = {**problem_responses(422), **(kwargs.get("responses") or {})}
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
