"""Sources: the articles the knowledge base cites, with their full text."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlmodel import col

from api.deps import NameSort, PageDep, SessionDep
from api.http.problems import problem_responses
from api.http.shaping import ShapedRoute
from api.kb import queries
from api.routes.common import include_param, with_included
from models import Expert, Quote, Source
from models.base import Page
from models.source import SourcePublic, SourceSummary

router = APIRouter(prefix="/sources", tags=["sources"], route_class=ShapedRoute)
Include = Annotated[str | None, include_param("source")]


@router.get("", response_model=Page[SourceSummary], responses=problem_responses(422))
async def list_sources(
    session: SessionDep,
    page: PageDep,
    sort: NameSort = "slug",
    expert: Annotated[
        str | None, Query(max_length=120, description="Sources that quote or feature this expert.")
    ] = None,
    publisher: Annotated[str | None, Query(max_length=300)] = None,
) -> dict:
    stmt = select(
        col(Source.slug),
        col(Source.title),
        col(Source.publisher),
        col(Source.url),
        col(Source.content_hash),
    ).where(queries.published(Source))
    if expert is not None:
        expert_id = queries.filter_id(session, Expert, expert, "expert")
        stmt = stmt.where(col(Source.id).in_(queries.sources_of_expert(expert_id)))
    if publisher is not None:
        stmt = stmt.where(col(Source.publisher) == publisher)
    rows, total, next_key = queries.page_of(
        session, stmt, Source.slug, page.window, {"name": Source.title}, sort
    )
    return page.answer([r._mapping for r in rows], total, next_key)


@router.get("/{slug}", response_model=SourcePublic, responses=problem_responses(404, 422))
async def get_source(session: SessionDep, slug: str, include: Include = None) -> Any:
    """A source with its full text, content hash, and the experts it quotes or features."""
    source = queries.get_published(session, Source, slug, "source")
    out = source.model_dump(include={"slug", "title", "publisher", "url", "content_hash", "text"})
    out["experts"] = sorted(
        session.scalars(
            select(col(Expert.slug)).where(
                queries.published(Expert),
                col(Expert.id).in_(
                    select(col(Quote.expert_id))
                    .where(col(Quote.source_id) == source.id)
                    .union(queries.experts_featured_in(source.id))
                ),
            )
        )
    )
    out["quote_count"] = session.scalar(
        select(func.count()).where(col(Quote.source_id) == source.id, queries.published(Quote))
    )
    return with_included(session, "source", SourcePublic, out, include)
