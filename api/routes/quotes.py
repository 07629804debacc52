"""Verbatim expert quotations; each cites the source that prints it."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import ColumnElement, String, cast, select
from sqlmodel import col

from api.deps import PageDep, SessionDep, SlugSort
from api.errors import NotFound
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
from models import Expert, Quote, QuoteProcedure, Source
from models.base import ID_MAX, SLUG_PATTERN, Page
from models.quote import QuotePublic

router = APIRouter(prefix="/quotes", tags=["quotes"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("quote")]
Detail = detail_model("quote", QuotePublic)


@router.get("", response_model=Page[QuotePublic], responses=problem_responses(422))
def list_quotes(
    session: SessionDep,
    page: PageDep,
    sort: SlugSort = "slug",
    expert: Annotated[
        str | None, Query(max_length=120, description="Quotes by this expert.")
    ] = None,
    source: SourceFilter = None,
    procedure: Annotated[
        str | None,
        Query(max_length=120, description="Quotes that speak to this procedure (or its parent)."),
    ] = None,
    topic: Annotated[
        str | None,
        Query(max_length=60, pattern=SLUG_PATTERN, description="A topic tag, e.g. sanitation."),
    ] = None,
) -> dict:
    where: list[ColumnElement[bool]] = []
    if expert is not None:
        where.append(col(Quote.expert_id) == queries.filter_id(session, Expert, expert, "expert"))
    if source is not None:
        where.append(col(Quote.source_id) == queries.filter_id(session, Source, source, "source"))
    if procedure is not None:
        ids, _ = queries.filter_procedure_ids(session, procedure, inherited=True)
        where.append(
            col(Quote.id).in_(
                select(col(QuoteProcedure.quote_id)).where(
                    col(QuoteProcedure.procedure_id).in_(ids)
                )
            )
        )
    if topic is not None:
        # Topics are kebab-case tags stored as a JSON array; its text holds each one in quotes.
        where.append(cast(Quote.topics, String).like(f'%"{topic}"%'))
    stmt = queries.quote_select(*where)
    rows, total, next_key = queries.page_of(session, stmt, Quote.slug, page.window, sort=sort)
    return page.answer(queries.with_tags(session, rows), total, next_key)


@router.get(
    "/{slug_or_id}",
    response_model=Detail,
    responses={**jsonld.JSONLD_RESPONSE, **problem_responses(404, 422)},
)
def get_quote(
    request: Request, session: SessionDep, slug_or_id: str, include: Include = None
) -> Any:
    """One quote, by slug or by numeric id."""
    is_id = slug_or_id.isascii() and slug_or_id.isdigit() and int(slug_or_id) <= ID_MAX
    key = col(Quote.id) == int(slug_or_id) if is_id else col(Quote.slug) == slug_or_id
    rows = session.execute(queries.quote_select(key)).all()
    if not rows:
        raise NotFound(f"No quote {slug_or_id!r}.")
    detail = queries.with_tags(session, rows)[0]
    if jsonld.wanted(request):
        return jsonld.quote(jsonld_document(session, request), detail)
    return with_included(session, "quote", QuotePublic, detail, include)
