"""Topics: questions the articles answer, each source's position, and whether they agree."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import NameSort, PageDep, SessionDep
from api.http import jsonld
from api.http.problems import problem_responses
from api.kb import queries, topics
from api.routes.common import (
    ProcedureFilter,
    PublicRoute,
    detail_model,
    include_param,
    jsonld_document,
    with_included,
)
from models.base import Page
from models.topic import Evidence, TopicPublic, TopicSummary

router = APIRouter(prefix="/topics", tags=["topics"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("topic")]
Detail = detail_model("topic", TopicPublic)


@router.get("", response_model=Page[TopicSummary], responses=problem_responses(422))
def list_topics(
    session: SessionDep,
    page: PageDep,
    sort: NameSort = "slug",
    procedure: ProcedureFilter = None,
    disputed: Annotated[
        bool | None,
        Query(description="true: only topics the sources do not agree on (differ or conflict)."),
    ] = None,
    evidence: Annotated[
        Evidence | None, Query(description="Only topics with a position resting on this.")
    ] = None,
) -> dict:
    """Published topics, each with its agreement and how many sources take a position."""
    ids = None
    if procedure is not None:
        ids, _ = queries.filter_procedure_ids(session, procedure, inherited=True)
    paged = topics.topic_page(
        session, page.window, procedure=ids, disputed=disputed, evidence=evidence, sort=sort
    )
    return page.answer(paged.rows, paged.total, paged.next_key)


@router.get(
    "/{slug}",
    response_model=Detail,
    responses={**jsonld.JSONLD_RESPONSE, **problem_responses(404, 422)},
)
def get_topic(request: Request, session: SessionDep, slug: str, include: Include = None) -> Any:
    """A topic with every source's position on it, their citations, and the procedures it
    concerns."""
    detail = topics.topic_detail(session, slug)
    if jsonld.wanted(request):
        return jsonld.topic(jsonld_document(session, request), detail)
    return with_included(session, "topic", TopicPublic, detail, include)
