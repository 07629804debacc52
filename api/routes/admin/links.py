"""Links between entries, each with its citations: a term listed for a procedure (with a level
or role), a side effect named for an ingredient, a quote tagged with a procedure.

A link belongs to the document of the term (or quote) it lists, so adding or removing one is a
change of that entry: its version (If-Match, ETag), revision and publication are the term's.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api import editing
from api.auth import Editor
from api.deps import SessionDep
from api.errors import problem_responses
from api.routes.admin.http import IdempotencyDep, IfMatch, OptionalIfMatch, entry_answer
from api.store import KIND_BY_NAME
from models.admin import AdminEntry
from models.contraindication import Level
from models.ingredient import Role
from models.link import (
    ConditionLinkIn,
    ContraindicationLinkIn,
    IngredientLinkIn,
    QuoteTagIn,
    SideEffectLinkIn,
)

router = APIRouter()

ADD = problem_responses(400, 401, 403, 404, 409, 412, 422)
REMOVE = problem_responses(401, 403, 404, 412, 422, 428)
LevelFilter = Annotated[Level | None, Query(description="Only the listing at this level.")]
RoleFilter = Annotated[Role | None, Query(description="Only the listing with this role.")]
SIDE_EFFECT = KIND_BY_NAME["side_effect"]
CONTRAINDICATION = KIND_BY_NAME["contraindication"]
INGREDIENT = KIND_BY_NAME["ingredient"]
CONDITION = KIND_BY_NAME["condition"]
QUOTE = KIND_BY_NAME["quote"]


def _added(session, key, idem, term, link_key, slug, body, version) -> JSONResponse:  # type: ignore[no-untyped-def]
    if (replayed := idem.replay(session, key)) is not None:
        return replayed
    row = editing.add_link(
        session, term, link_key, slug, body.model_dump(mode="json"), version, key
    )
    return entry_answer(session, term, row, status=201, actor=key, idem=idem)


@router.post(
    "/procedures/{slug}/side-effects",
    status_code=201,
    response_model=AdminEntry,
    responses=ADD,
    summary="List a side effect for a procedure (a change of the side effect)",
)
def add_procedure_side_effect(
    slug: str,
    body: SideEffectLinkIn,
    session: SessionDep,
    key: Editor,
    idem: IdempotencyDep,
    version: OptionalIfMatch,
) -> JSONResponse:
    return _added(session, key, idem, SIDE_EFFECT, "procedures", slug, body, version)


@router.delete(
    "/procedures/{slug}/side-effects/{side_effect}", response_model=AdminEntry, responses=REMOVE
)
def remove_procedure_side_effect(
    slug: str, side_effect: str, session: SessionDep, key: Editor, version: IfMatch
) -> JSONResponse:
    row = editing.remove_link(
        session, SIDE_EFFECT, "procedures", slug, side_effect, {}, version, key
    )
    return entry_answer(session, SIDE_EFFECT, row, actor=key)


@router.post(
    "/procedures/{slug}/contraindications",
    status_code=201,
    response_model=AdminEntry,
    responses=ADD,
    summary="List a contraindication (avoid / consult) for a procedure",
)
def add_procedure_contraindication(
    slug: str,
    body: ContraindicationLinkIn,
    session: SessionDep,
    key: Editor,
    idem: IdempotencyDep,
    version: OptionalIfMatch,
) -> JSONResponse:
    return _added(session, key, idem, CONTRAINDICATION, "procedures", slug, body, version)


@router.delete(
    "/procedures/{slug}/contraindications/{contraindication}",
    response_model=AdminEntry,
    responses=REMOVE,
)
def remove_procedure_contraindication(
    slug: str,
    contraindication: str,
    session: SessionDep,
    key: Editor,
    version: IfMatch,
    level: LevelFilter = None,
) -> JSONResponse:
    row = editing.remove_link(
        session,
        CONTRAINDICATION,
        "procedures",
        slug,
        contraindication,
        {"level": level},
        version,
        key,
    )
    return entry_answer(session, CONTRAINDICATION, row, actor=key)


@router.post(
    "/procedures/{slug}/ingredients",
    status_code=201,
    response_model=AdminEntry,
    responses=ADD,
    summary="List an ingredient for a procedure, with its role",
)
def add_procedure_ingredient(
    slug: str,
    body: IngredientLinkIn,
    session: SessionDep,
    key: Editor,
    idem: IdempotencyDep,
    version: OptionalIfMatch,
) -> JSONResponse:
    return _added(session, key, idem, INGREDIENT, "procedures", slug, body, version)


@router.delete(
    "/procedures/{slug}/ingredients/{ingredient}", response_model=AdminEntry, responses=REMOVE
)
def remove_procedure_ingredient(
    slug: str,
    ingredient: str,
    session: SessionDep,
    key: Editor,
    version: IfMatch,
    role: RoleFilter = None,
) -> JSONResponse:
    row = editing.remove_link(
        session, INGREDIENT, "procedures", slug, ingredient, {"role": role}, version, key
    )
    return entry_answer(session, INGREDIENT, row, actor=key)


@router.post(
    "/procedures/{slug}/conditions",
    status_code=201,
    response_model=AdminEntry,
    responses=ADD,
    summary="List a condition a procedure treats",
)
def add_procedure_condition(
    slug: str,
    body: ConditionLinkIn,
    session: SessionDep,
    key: Editor,
    idem: IdempotencyDep,
    version: OptionalIfMatch,
) -> JSONResponse:
    return _added(session, key, idem, CONDITION, "procedures", slug, body, version)


@router.delete(
    "/procedures/{slug}/conditions/{condition}", response_model=AdminEntry, responses=REMOVE
)
def remove_procedure_condition(
    slug: str, condition: str, session: SessionDep, key: Editor, version: IfMatch
) -> JSONResponse:
    row = editing.remove_link(session, CONDITION, "procedures", slug, condition, {}, version, key)
    return entry_answer(session, CONDITION, row, actor=key)


@router.post(
    "/ingredients/{slug}/side-effects",
    status_code=201,
    response_model=AdminEntry,
    responses=ADD,
    summary="Name a side effect of an ingredient (a change of the side effect)",
)
def add_ingredient_side_effect(
    slug: str,
    body: SideEffectLinkIn,
    session: SessionDep,
    key: Editor,
    idem: IdempotencyDep,
    version: OptionalIfMatch,
) -> JSONResponse:
    return _added(session, key, idem, SIDE_EFFECT, "ingredients", slug, body, version)


@router.delete(
    "/ingredients/{slug}/side-effects/{side_effect}", response_model=AdminEntry, responses=REMOVE
)
def remove_ingredient_side_effect(
    slug: str, side_effect: str, session: SessionDep, key: Editor, version: IfMatch
) -> JSONResponse:
    row = editing.remove_link(
        session, SIDE_EFFECT, "ingredients", slug, side_effect, {}, version, key
    )
    return entry_answer(session, SIDE_EFFECT, row, actor=key)


@router.post(
    "/quotes/{slug}/procedures",
    status_code=201,
    response_model=AdminEntry,
    responses=ADD,
    summary="Tag a quote with a procedure it speaks to",
)
def tag_quote(
    slug: str,
    body: QuoteTagIn,
    session: SessionDep,
    key: Editor,
    idem: IdempotencyDep,
    version: OptionalIfMatch,
) -> JSONResponse:
    if (replayed := idem.replay(session, key)) is not None:
        return replayed
    editing.get_row(session, KIND_BY_NAME["procedure"], body.procedure)
    row = editing.get_row(session, QUOTE, slug)
    editing.tag_quote(session, row, body.procedure, True, version, key)
    return entry_answer(session, QUOTE, row, status=201, actor=key, idem=idem)


@router.delete("/quotes/{slug}/procedures/{procedure}", response_model=AdminEntry, responses=REMOVE)
def untag_quote(
    slug: str, procedure: str, session: SessionDep, key: Editor, version: IfMatch
) -> JSONResponse:
    row = editing.get_row(session, QUOTE, slug)
    editing.tag_quote(session, row, procedure, False, version, key)
    return entry_answer(session, QUOTE, row, actor=key)
