"""Search across every collection, ranked by relevance, with highlighted snippets."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import PageDep, SessionDep
from api.http.problems import problem_responses
from api.kb import search
from api.routes.common import PublicRoute
from models.base import Page

_TYPES = "|".join(search.TYPES)

router = APIRouter(prefix="/search", tags=["search"], route_class=PublicRoute)


class SearchHit(BaseModel):
    type: str
    slug: str
    name: str = Field(
        description="The entry's name as plain text, not HTML: escape it before putting it in a "
        "page (only `snippet` is HTML)."
    )
    snippet: str = Field(
        description="HTML: the matching passage, its text escaped, matched words in `<mark>`."
    )
    url: str


@router.get("", response_model=Page[SearchHit], responses=problem_responses(422))
def search_everything(
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="Words to find; aliases and brand names count, small typos are forgiven.",
        ),
    ],
    type: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=f"^({_TYPES})(,({_TYPES}))*$",
            description="Only these kinds, comma-separated: " + ", ".join(search.TYPES) + ".",
        ),
    ] = None,
) -> dict:
    """Published entities matching every word (or, if none does, any word), best first; a query
    without words finds nothing."""
    types = list(search.TYPES) if type is None else type.split(",")
    offset = search.offset_of(page.after)
    hits, total = search.search(session, q, types, page.limit, offset)
    return page.answer(hits, total, search.next_key(offset, len(hits), total))
