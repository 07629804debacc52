"""Ingredients and topicals used with, before or after the procedure, or to avoid."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlmodel import col

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
from models.ingredient import Ingredient, IngredientPublic, IngredientSummary, Role

router = APIRouter(prefix="/ingredients", tags=["ingredients"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("ingredient")]
Detail = detail_model("ingredient", IngredientPublic)


@router.get("", response_model=Page[IngredientSummary], responses=problem_responses(422))
def list_ingredients(
    session: SessionDep,
    page: PageDep,
    filters: TermFiltersDep,
    role: Annotated[Role | None, Query(description="The role it plays for a procedure.")] = None,
    kind: Annotated[
        str | None, Query(max_length=40, description="What it is: drug, antiseptic, serum, ...")
    ] = None,
) -> dict:
    where = []
    if role is not None:
        where.append(queries.link_attribute("ingredient", "role", role))
    if kind is not None:
        where.append(col(Ingredient.kind) == kind)
    return page.answer(
        *queries.term_page(
            session,
            "ingredient",
            page.window,
            **filters.as_arguments(),
            where=tuple(where),
        )
    )


@router.get(
    "/{slug}",
    response_model=Detail,
    responses={**jsonld.JSONLD_RESPONSE, **problem_responses(404, 422)},
)
def get_ingredient(
    request: Request, session: SessionDep, slug: str, include: Include = None
) -> Any:
    """An ingredient with its uses per procedure and the side effects named for it, cited."""
    detail = queries.term_detail(session, "ingredient", slug, "ingredient")
    detail["side_effects"] = queries.side_effects_of_ingredient(session, slug)
    if jsonld.wanted(request):
        return jsonld.ingredient(jsonld_document(session, request), detail)
    return with_included(session, "ingredient", IngredientPublic, detail, include)
