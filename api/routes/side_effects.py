"""Side effects, and the procedures and ingredients they are listed for."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement

from api.deps import PageDep, SessionDep
from api.http.problems import problem_responses
from api.kb import queries
from api.routes.common import (
    PublicRoute,
    TermFiltersDep,
    detail_model,
    include_param,
    with_included,
)
from models.base import Page
from models.side_effect import SideEffectPublic, SideEffectSummary

router = APIRouter(prefix="/side-effects", tags=["side effects"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("side_effect")]
Detail = detail_model("side_effect", SideEffectPublic)


@router.get("", response_model=Page[SideEffectSummary], responses=problem_responses(422))
def list_side_effects(
    session: SessionDep,
    page: PageDep,
    filters: TermFiltersDep,
    ingredient: Annotated[
        str | None, Query(max_length=120, description="Side effects named for an ingredient.")
    ] = None,
) -> dict:
    where: tuple[ColumnElement[bool], ...] = ()
    if ingredient is not None:
        where = (
            queries.linked_to(session, "side_effect", "ingredients", ingredient, "ingredient"),
        )
    return page.answer(
        *queries.term_page(
            session,
            "side_effect",
            page.window,
            **filters.as_arguments(),
            where=where,
        )
    )


@router.get("/{slug}", response_model=Detail, responses=problem_responses(404, 422))
def get_side_effect(session: SessionDep, slug: str, include: Include = None) -> Any:
    """A side effect with the procedures (and ingredients) it is listed for, each cited."""
    detail = queries.term_detail(session, "side_effect", slug, "side effect")
    return with_included(session, "side_effect", SideEffectPublic, detail, include)
