"""Procedures, and what the articles list for each: side effects, contraindications, ..."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlmodel import col

from api.deps import NameSort, PageDep, SessionDep
from api.fastpath.direct import direct
from api.http import jsonld
from api.http.problems import problem_responses
from api.http.responses import Prevalidated
from api.kb import queries, topics
from api.routes.common import (
    Inherited,
    PublicRoute,
    SourceFilter,
    detail_model,
    include_param,
    jsonld_document,
    with_included,
)
from models import Procedure
from models.base import Page
from models.condition import DistinctProcedureCondition, ProcedureConditionPublic
from models.contraindication import (
    DistinctProcedureContraindication,
    Level,
    ProcedureContraindicationPublic,
)
from models.ingredient import DistinctProcedureIngredient, ProcedureIngredientPublic, Role
from models.procedure import Kind, ProcedurePublic, ProcedureSummary, Setting
from models.quote import ProcedureQuotePublic
from models.side_effect import DistinctProcedureSideEffect, ProcedureSideEffectPublic
from models.topic import ProcedureTopicPublic

router = APIRouter(prefix="/procedures", tags=["procedures"], route_class=PublicRoute)
Include = Annotated[str | None, include_param("procedure")]
Detail = detail_model("procedure", ProcedurePublic)


@router.get("", response_model=Page[ProcedureSummary], responses=problem_responses(422))
def list_procedures(
    session: SessionDep,
    page: PageDep,
    sort: NameSort = "slug",
    setting: Annotated[Setting | None, Query(description="in-office, at-home or any.")] = None,
    kind: Annotated[Kind | None, Query(description="general, variant or combination.")] = None,
    parent: Annotated[
        str | None, Query(max_length=120, description="Only the variants of this procedure.")
    ] = None,
    source: SourceFilter = None,
) -> dict:
    stmt = queries.procedure_summary_select()
    if setting is not None:
        stmt = stmt.where(col(Procedure.setting) == setting)
    if kind is not None:
        stmt = stmt.where(col(Procedure.kind) == kind)
    if parent is not None:
        stmt = stmt.where(
            col(Procedure.parent_id) == queries.filter_id(session, Procedure, parent, "parent")
        )
    if source is not None:
        stmt = stmt.where(queries.procedures_citing(session, source))
    rows, total, next_key = queries.page_of(
        session, stmt, Procedure.slug, page.window, {"name": Procedure.name}, sort
    )
    return page.answer([r._mapping for r in rows], total, next_key)


@router.get(
    "/{slug}",
    response_model=Detail,
    responses={**jsonld.JSONLD_RESPONSE, **problem_responses(404, 422)},
)
def get_procedure(request: Request, session: SessionDep, slug: str, include: Include = None) -> Any:
    """A procedure with its needle lengths, protocol steps, instructions and citations."""
    as_read = not include and not jsonld.wanted(request)  # sent as it is read: `Prevalidated`
    detail = queries.procedure_detail(
        session, slug, getattr(request.state, "kb_revision", None), rendered=as_read
    )
    if jsonld.wanted(request):
        return jsonld.procedure(
            jsonld_document(session, request),
            detail,
            queries.listed_terms(session, "side_effect", slug, True),
            queries.listed_terms(session, "contraindication", slug, True),
        )
    if as_read:
        return Prevalidated(detail)  # in ProcedurePublic's shape already: no second pass
    return with_included(session, "procedure", ProcedurePublic, detail, include)


Distinct = Annotated[
    bool,
    Query(
        description="One row per term: its own and inherited listings merged (`listed_for`), "
        "each citation naming the procedure it is listed for."
    ),
]


def _listed(
    request: Request,
    session: SessionDep,
    kind: str,
    slug: str,
    inherited: bool,
    distinct: bool,
    **equal: str | None,
) -> Prevalidated:
    """Rows of a relation query, narrowed by link attributes (level, role) when given, and
    merged per term when `distinct`; the lineage remembered at the revision read first."""
    revision = getattr(request.state, "kb_revision", None)
    rows = queries.listed_terms(
        session, kind, slug, inherited, rendered=not distinct, revision=revision
    )
    for key, value in equal.items():
        if value is not None:
            rows = [r for r in rows if r[key] == value]
    if distinct:
        rows = queries.merged_listings(kind, rows)
    return Prevalidated({"items": rows, "total": len(rows), "next": None})


@router.get(
    "/{slug}/side-effects",
    response_model=Page[ProcedureSideEffectPublic] | Page[DistinctProcedureSideEffect],
    responses=problem_responses(404, 422),
)
@direct
def procedure_side_effects(
    request: Request,
    session: SessionDep,
    slug: str,
    inherited: Inherited = True,
    distinct: Distinct = False,
) -> Prevalidated:
    """Side effects listed for the procedure, and those listed for its parent (marked)."""
    return _listed(request, session, "side_effect", slug, inherited, distinct)


@router.get(
    "/{slug}/contraindications",
    response_model=Page[ProcedureContraindicationPublic] | Page[DistinctProcedureContraindication],
    responses=problem_responses(404, 422),
)
@direct
def procedure_contraindications(
    request: Request,
    session: SessionDep,
    slug: str,
    inherited: Inherited = True,
    level: Annotated[Level | None, Query(description="avoid or consult.")] = None,
    distinct: Distinct = False,
) -> Prevalidated:
    """When to avoid the procedure or consult a doctor first, inherited rows marked."""
    return _listed(request, session, "contraindication", slug, inherited, distinct, level=level)


@router.get(
    "/{slug}/ingredients",
    response_model=Page[ProcedureIngredientPublic] | Page[DistinctProcedureIngredient],
    responses=problem_responses(404, 422),
)
@direct
def procedure_ingredients(
    request: Request,
    session: SessionDep,
    slug: str,
    inherited: Inherited = True,
    role: Annotated[Role | None, Query(description="numbing, aftercare, ...")] = None,
    distinct: Distinct = False,
) -> Prevalidated:
    """Ingredients used with, before or after the procedure, or to avoid, with their role."""
    return _listed(request, session, "ingredient", slug, inherited, distinct, role=role)


@router.get(
    "/{slug}/conditions",
    response_model=Page[ProcedureConditionPublic] | Page[DistinctProcedureCondition],
    responses=problem_responses(404, 422),
)
@direct
def procedure_conditions(
    request: Request,
    session: SessionDep,
    slug: str,
    inherited: Inherited = True,
    distinct: Distinct = False,
) -> Prevalidated:
    """Conditions the procedure treats, as the articles say."""
    return _listed(request, session, "condition", slug, inherited, distinct)


@router.get(
    "/{slug}/quotes",
    response_model=Page[ProcedureQuotePublic],
    responses=problem_responses(404, 422),
)
def procedure_quotes(session: SessionDep, slug: str, inherited: Inherited = True) -> dict:
    """Expert quotes that speak to the procedure (or to scalp microneedling at large)."""
    quotes = queries.quotes_on(session, slug, inherited)
    return {"items": quotes, "total": len(quotes), "next": None}


@router.get(
    "/{slug}/topics",
    response_model=Page[ProcedureTopicPublic],
    responses=problem_responses(404, 422),
)
def procedure_topics(session: SessionDep, slug: str, inherited: Inherited = True) -> dict:
    """Topics that concern the procedure, and those of its parent (marked), with agreement."""
    found = topics.topics_of_procedure(session, slug, inherited)
    return {"items": found, "total": len(found), "next": None}
