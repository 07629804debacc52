"""What the public routes share: query parameters declared once, `?include=` answers, and the
JSON-LD document of a request."""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field, create_model
from sqlmodel import Session

from api.deps import NameSort, off_the_loop
from api.http import jsonld
from api.http.responses import Prevalidated
from api.http.shaping import ShapedRoute
from api.kb import include, queries


class PublicRoute(ShapedRoute):
    """A public read route: `?fields=` trims its answer, and its handler, a plain function,
    runs off the event loop on PostgreSQL (`off_the_loop`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, off_the_loop(endpoint), **kwargs)


ProcedureFilter = Annotated[
    str | None,
    Query(
        max_length=120,
        description="Only what is listed for this procedure (slug), including what its variants "
        "inherit from their parent unless `inherited=false`.",
    ),
]
Inherited = Annotated[
    bool,
    Query(description="Include rows a variant inherits from its parent procedure."),
]
SourceFilter = Annotated[
    str | None, Query(max_length=120, description="Only what this source (slug) says.")
]


@dataclass
class TermFilters:
    """The order and filters every term collection (side effects, contraindications,
    ingredients, conditions) offers."""

    sort: NameSort = "slug"
    procedure: ProcedureFilter = None
    inherited: Inherited = True
    source: SourceFilter = None

    def as_arguments(self) -> dict[str, Any]:
        return asdict(self)


async def term_filters(
    sort: NameSort = "slug",
    procedure: ProcedureFilter = None,
    inherited: Inherited = True,
    source: SourceFilter = None,
) -> TermFilters:
    """The filters of a term collection's request. Async, though it waits on nothing: FastAPI
    runs a plain function dependency on the threadpool, and a request parked there keeps its
    session's connection checked out (a pooled connection per request in flight)."""
    return TermFilters(sort, procedure, inherited, source)


TermFiltersDep = Annotated[TermFilters, Depends(term_filters)]


def include_param(kind: str) -> Any:
    """The `Query` of the `include` parameter of an entity of `kind`: the schema lists every
    path it takes."""
    return Query(
        max_length=500,
        pattern=include.pattern(kind),
        description="Related entities to embed under `included`, comma-separated; a dotted "
        f"path embeds theirs too, at most {include.MAX_DEPTH} deep. One of: "
        + ", ".join(sorted(include.paths(kind)))
        + ".",
    )


def _absent(value: Any) -> bool:
    return value is None


def detail_model(kind: str, model: type[BaseModel]) -> type[BaseModel]:
    """The answer of an entity's own endpoint: `model`, and under `included` (present only when
    `?include=` asks) one optional member per relation of `kind`, typed as that relation's items."""
    relations: dict[str, Any] = {
        name: (
            (list[relation.model] if relation.many else relation.model) | None,  # type: ignore[name-defined]
            Field(default=None, exclude_if=_absent),
        )
        for name, relation in include.RELATIONS[kind].items()
    }
    noun = "".join(word.title() for word in kind.split("_"))
    included = create_model(f"{noun}Included", **relations)
    return create_model(
        f"{noun}Detail",
        __base__=model,
        __doc__=model.__doc__,
        included=(included | None, Field(default=None, exclude_if=_absent)),
    )


def with_included(
    session: Session, kind: str, model: type[BaseModel], item: dict[str, Any], asked: str | None
) -> Any:
    """The item, or with what `?include=` asks for embedded under `included` (rendered by
    orjson as it is: every value is of JSON's own types already)."""
    embedded = include.with_included(session, kind, model, item, asked)
    return item if embedded is None else Prevalidated(embedded)


def jsonld_document(session: Session, request: Request) -> jsonld.Document:
    return jsonld.Document(request, queries.source_articles(session))
