"""Sources: the articles the knowledge base cites, with their full text."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import NameSort, PageDep, SessionDep
from api.http.problems import problem_responses
from api.kb import queries
from api.routes.common import PublicRoute, detail_model, include_param, with_included
from models.base import Page
from models.source import SourcePublic, SourceSummary

router = APIRouter(prefix="/sources", tags=["sources"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("source")]
Detail = detail_model("source", SourcePublic)


@router.get("", response_model=Page[SourceSummary], responses=problem_responses(422))
def list_sources(
    session: SessionDep,
    page: PageDep,
    sort: NameSort = "slug",
    expert: Annotated[
        str | None, Query(max_length=120, description="Sources that quote or feature this expert.")
    ] = None,
    publisher: Annotated[str | None, Query(max_length=300)] = None,
) -> dict:
    rows, total, next_key = queries.source_page(session, page.window, sort, expert, publisher)
    return page.answer([r._mapping for r in rows], total, next_key)


@router.get("/{slug}", response_model=Detail, responses=problem_responses(404, 422))
def get_source(session: SessionDep, slug: str, include: Include = None) -> Any:
    """A source with its full text, content hash, and the experts it quotes or features."""
    out = queries.source_detail(session, slug)
    return with_included(session, "source", SourcePublic, out, include)
