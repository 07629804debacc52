"""Experts the articles quote or feature, and their quotes."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import NameSort, PageDep, SessionDep
from api.http import jsonld
from api.http.problems import problem_responses
from api.kb import queries
from api.routes.common import (
    PublicRoute,
    SourceFilter,
    detail_model,
    include_param,
    jsonld_document,
    with_included,
)
from models.base import Page
from models.expert import ExpertPublic, ExpertSummary
from models.quote import QuotePublic

router = APIRouter(prefix="/experts", tags=["experts"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("expert")]
Detail = detail_model("expert", ExpertPublic)


@router.get("", response_model=Page[ExpertSummary], responses=problem_responses(422))
def list_experts(
    session: SessionDep,
    page: PageDep,
    sort: NameSort = "slug",
    source: SourceFilter = None,
    role: Annotated[str | None, Query(max_length=300, description="e.g. hairdresser.")] = None,
    procedure: Annotated[
        str | None, Query(max_length=120, description="Experts quoted about this procedure.")
    ] = None,
) -> dict:
    rows, total, next_key = queries.expert_page(session, page.window, sort, source, role, procedure)
    return page.answer([r._mapping for r in rows], total, next_key)


@router.get(
    "/{slug}",
    response_model=Detail,
    responses={**jsonld.JSONLD_RESPONSE, **problem_responses(404, 422)},
)
def get_expert(request: Request, session: SessionDep, slug: str, include: Include = None) -> Any:
    """An expert as the articles describe them, with the sources they appear in."""
    out = queries.expert_detail(session, slug)
    if jsonld.wanted(request):
        return jsonld.expert(jsonld_document(session, request), out)
    return with_included(session, "expert", ExpertPublic, out, include)


@router.get("/{slug}/quotes", response_model=Page[QuotePublic], responses=problem_responses(404))
def expert_quotes(session: SessionDep, slug: str) -> dict:
    """Everything the expert is quoted saying, verbatim, in source order."""
    items = queries.quotes_of_expert(session, slug)
    return {"items": items, "total": len(items), "next": None}
