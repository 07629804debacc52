"""Links between entries, each with its citations: a term listed for a procedure (with a level
or role), a side effect named for an ingredient, a quote tagged with a procedure.

A link belongs to the document of the term (or quote) it lists, so adding or removing one is a
change of that entry: its version (If-Match, ETag), revision and publication are the term's.
The routes of every kind of link are declared once for all of them, as the entries' are.
"""

from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Editor, SessionDep
from api.http.problems import problem_responses
from api.kb import editing
from api.kb.documents import KIND_BY_NAME, Kind
from api.routes.admin.authenticated import KeyFirstRoute
from api.routes.admin.common import (
    IdempotencyDep,
    IfMatch,
    OptionalIfMatch,
    a,
    entry_answer,
)
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

router = APIRouter(route_class=KeyFirstRoute)

ADD = problem_responses(400, 401, 403, 404, 409, 412, 422)
REMOVE = problem_responses(400, 401, 403, 404, 412, 422, 428)
QUOTE = KIND_BY_NAME["quote"]


class Link(NamedTuple):
    """One kind of link as the admin API exposes it: `/{owner}/{slug}/{path}`."""

    owner: str  # the collection of what the link points at ("procedures")
    path: str  # "side-effects"
    term: Kind  # whose document the link belongs to
    key: str  # the key of those links in the term's document ("procedures")
    body: type[BaseModel]
    summary: str


LINKS = (
    Link(
        "procedures",
        "side-effects",
        KIND_BY_NAME["side_effect"],
        "procedures",
        SideEffectLinkIn,
        "List a side effect for a procedure (a change of the side effect)",
    ),
    Link(
        "procedures",
        "contraindications",
        KIND_BY_NAME["contraindication"],
        "procedures",
        ContraindicationLinkIn,
        "List a contraindication (avoid / consult) for a procedure",
    ),
    Link(
        "procedures",
        "ingredients",
        KIND_BY_NAME["ingredient"],
        "procedures",
        IngredientLinkIn,
        "List an ingredient for a procedure, with its role",
    ),
    Link(
        "procedures",
        "conditions",
        KIND_BY_NAME["condition"],
        "procedures",
        ConditionLinkIn,
        "List a condition a procedure treats",
    ),
    Link(
        "ingredients",
        "side-effects",
        KIND_BY_NAME["side_effect"],
        "ingredients",
        SideEffectLinkIn,
        "Name a side effect of an ingredient (a change of the side effect)",
    ),
)


NARROWING: dict[str, Any] = {
    "level": Annotated[
        Level | None, Query(alias="level", description="Only the listing at this level.")
    ],
    "role": Annotated[
        Role | None, Query(alias="role", description="Only the listing with this role.")
    ],
}


def add_link_routes(link: Link) -> None:
    """Declare the add and remove routes of one kind of link."""
    term = link.term
    body_model = link.body
    # A contraindication's listings differ by level, an ingredient's by role.
    extra = next((name for name in NARROWING if name in body_model.model_fields), None)
    target = Annotated[str, Path(alias=term.name)]
    path = f"/{link.owner}/{{slug}}/{link.path}"
    declare_removal = router.delete(
        f"{path}/{{{term.name}}}",
        response_model=AdminEntry,
        responses=REMOVE,
        summary=f"Take {a(term.name.replace('_', ' '))} off {a(link.owner.removesuffix('s'))}",
        name=f"admin_remove_{link.owner}_{term.name}",
    )

    @router.post(
        path,
        status_code=201,
        response_model=AdminEntry,
        responses=ADD,
        summary=link.summary,
        name=f"admin_add_{link.owner}_{term.name}",
    )
    def add(
        slug: str,
        body: body_model,  # type: ignore[valid-type]
        session: SessionDep,
        key: Editor,
        idem: IdempotencyDep,
        version: OptionalIfMatch,
    ) -> JSONResponse:
        if (replayed := idem.replay(session, key)) is not None:
            return replayed
        sent: BaseModel = body  # its class is chosen at run time, out of mypy's sight
        row = editing.add_link(
            session, term, link.key, slug, sent.model_dump(mode="json"), version, key
        )
        return entry_answer(session, term, row, status=201, actor=key, idem=idem)

    def removed(
        session: SessionDep,
        slug: str,
        listed: str,
        narrowed: dict[str, Any],
        version: int,
        key: Any,
    ) -> JSONResponse:
        row = editing.remove_link(session, term, link.key, slug, listed, narrowed, version, key)
        return entry_answer(session, term, row, actor=key)

    if extra is None:

        @declare_removal
        def remove(
            slug: str, listed: target, session: SessionDep, key: Editor, version: IfMatch
        ) -> JSONResponse:
            return removed(session, slug, listed, {}, version, key)

    else:
        narrowing = NARROWING[extra]

        @declare_removal
        def remove_narrowed(
            slug: str,
            listed: target,
            session: SessionDep,
            key: Editor,
            version: IfMatch,
            narrowed: narrowing = None,  # type: ignore[valid-type]
        ) -> JSONResponse:
            return removed(session, slug, listed, {extra: narrowed}, version, key)


for _link in LINKS:
    add_link_routes(_link)


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
