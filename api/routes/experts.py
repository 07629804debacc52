"""Experts the articles quote or feature, and their quotes."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select
from sqlmodel import col

from api.deps import NameSort, PageDep, SessionDep
from api.http import jsonld
from api.http.problems import problem_responses
from api.http.shaping import ShapedRoute
from api.kb import queries
from api.routes.common import SourceFilter, include_param, jsonld_document, with_included
from models import Expert, Quote, QuoteProcedure, Source
from models.base import Page
from models.expert import ExpertPublic, ExpertSummary
from models.quote import QuotePublic

router = APIRouter(prefix="/experts", tags=["experts"], route_class=ShapedRoute)
Include = Annotated[str | None, include_param("expert")]

_SUMMARY = (
    col(Expert.slug),
    col(Expert.name),
    col(Expert.credentials),
    col(Expert.role),
    col(Expert.affiliation),
    col(Expert.location),
    col(Expert.specialty),
)


@router.get("", response_model=Page[ExpertSummary], responses=problem_responses(422))
async def list_experts(
    session: SessionDep,
    page: PageDep,
    sort: NameSort = "slug",
    source: SourceFilter = None,
    role: Annotated[str | None, Query(max_length=300, description="e.g. hairdresser.")] = None,
    procedure: Annotated[
        str | None, Query(max_length=120, description="Experts quoted about this procedure.")
    ] = None,
) -> dict:
    stmt = select(*_SUMMARY).where(queries.published(Expert))
    if source is not None:
        source_id = queries.filter_id(session, Source, source, "source")
        quoted_in = select(col(Quote.expert_id)).where(
            col(Quote.source_id) == source_id, queries.published(Quote)
        )
        stmt = stmt.where(
            col(Expert.id).in_(quoted_in.union(queries.experts_featured_in(source_id)))
        )
    if role is not None:
        stmt = stmt.where(col(Expert.role) == role)
    if procedure is not None:
        ids, _ = queries.filter_procedure_ids(session, procedure, inherited=False)
        tagged = (
            select(col(Quote.expert_id))
            .join(QuoteProcedure, col(QuoteProcedure.quote_id) == Quote.id)
            .where(col(QuoteProcedure.procedure_id).in_(ids), queries.published(Quote))
        )
        stmt = stmt.where(col(Expert.id).in_(tagged))
    rows, total, next_key = queries.page_of(
        session, stmt, Expert.slug, page.window, {"name": Expert.name}, sort
    )
    return page.answer([r._mapping for r in rows], total, next_key)


@router.get(
    "/{slug}",
    response_model=ExpertPublic,
    responses={**jsonld.JSONLD_RESPONSE, **problem_responses(404, 422)},
)
async def get_expert(
    request: Request, session: SessionDep, slug: str, include: Include = None
) -> Any:
    """An expert as the articles describe them, with the sources they appear in."""
    expert = queries.get_published(session, Expert, slug, "expert")
    # col() types a column as Mapped, whose stub lacks the .key of the attribute it returns
    out = {c.key: getattr(expert, c.key) for c in _SUMMARY}  # type: ignore[union-attr]
    out["citations"] = queries.read_citations(session, "expert", [expert.id])[expert.id]
    out["sources"] = sorted(
        {c["source"] for c in out["citations"]} | queries.sources_quoting(session, expert.id)
    )
    out["quote_count"] = session.scalar(
        select(func.count()).where(col(Quote.expert_id) == expert.id, queries.published(Quote))
    )
    if jsonld.wanted(request):
        return jsonld.expert(jsonld_document(session, request), out)
    return with_included(session, "expert", ExpertPublic, out, include)


@router.get("/{slug}/quotes", response_model=Page[QuotePublic], responses=problem_responses(404))
async def expert_quotes(session: SessionDep, slug: str) -> dict:
    """Everything the expert is quoted saying, verbatim, in source order."""
    expert = queries.get_published(session, Expert, slug, "expert")
    rows = session.execute(
        queries.quote_select(col(Quote.expert_id) == expert.id).order_by(col(Quote.id))
    ).all()
    items = queries.with_tags(session, list(rows))
    return {"items": items, "total": len(items), "next": None}
