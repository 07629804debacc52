"""Contraindications: when to avoid the procedure, and when to consult a doctor first."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

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
from models.contraindication import ContraindicationPublic, ContraindicationSummary, Level

router = APIRouter(prefix="/contraindications", tags=["contraindications"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("contraindication")]
Detail = detail_model("contraindication", ContraindicationPublic)


@router.get("", response_model=Page[ContraindicationSummary], responses=problem_responses(422))
def list_contraindications(
    session: SessionDep,
    page: PageDep,
    filters: TermFiltersDep,
    level: Annotated[
        Level | None, Query(description="`avoid` the procedure, or `consult` a doctor first.")
    ] = None,
) -> dict:
    where = () if level is None else (queries.link_attribute("contraindication", "level", level),)
    return page.answer(
        *queries.term_page(
            session,
            "contraindication",
            page.window,
            **filters.as_arguments(),
            where=where,
        )
    )


@router.get("/{slug}", response_model=Detail, responses=problem_responses(404, 422))
def get_contraindication(session: SessionDep, slug: str, include: Include = None) -> Any:
    """A contraindication with the procedures it applies to, its level and citations."""
    detail = queries.term_detail(session, "contraindication", slug, "contraindication")
    return with_included(session, "contraindication", ContraindicationPublic, detail, include)
