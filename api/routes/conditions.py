"""Conditions the procedure treats or is used for."""

from typing import Annotated, Any

from fastapi import APIRouter, Request

from api.deps import PageDep, SessionDep
from api.http import jsonld
from api.http.problems import problem_responses
from api.kb import queries
from api.routes.common import (
    PublicRoute,
    TermFiltersDep,
    detail_model,
    include_param,
    jsonld_document,
    with_included,
)
from models.base import Page
from models.condition import ConditionPublic, ConditionSummary

router = APIRouter(prefix="/conditions", tags=["conditions"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("condition")]
Detail = detail_model("condition", ConditionPublic)


@router.get("", response_model=Page[ConditionSummary], responses=problem_responses(422))
def list_conditions(
    session: SessionDep,
    page: PageDep,
    filters: TermFiltersDep,
) -> dict:
    return page.answer(
        *queries.term_page(
            session,
            "condition",
            page.window,
            **filters.as_arguments(),
        )
    )


@router.get(
    "/{slug}",
    response_model=Detail,
    responses={**jsonld.JSONLD_RESPONSE, **problem_responses(404, 422)},
)
def get_condition(request: Request, session: SessionDep, slug: str, include: Include = None) -> Any:
    """A condition with the procedures the articles say treat it, cited."""
    detail = queries.term_detail(session, "condition", slug, "condition")
    if jsonld.wanted(request):
        return jsonld.condition(jsonld_document(session, request), detail)
    return with_included(session, "condition", ConditionPublic, detail, include)
