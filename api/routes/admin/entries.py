"""Entries of every collection as editors see them: read, create, edit, publish, delete, history.

The same routes for each collection (`/v1/admin/procedures`, `/v1/admin/side-effects`, ...),
declared once for all of them.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Editor, PageDep, Publisher, SessionDep
from api.http.problems import problem_responses
from api.kb import editing
from api.kb.documents import Kind
from api.routes.admin.authenticated import KeyFirstRoute
from api.routes.admin.common import (
    NO_STORE,
    IdempotencyDep,
    IfMatch,
    a,
    commit_answer,
    entry_answer,
    entry_body,
    etag,
)
from models import Status, base
from models.admin import AdminEntry, AdminPage, DeleteReport
from models.base import ID_MAX
from models.revision import RevisionPublic

router = APIRouter(route_class=KeyFirstRoute)

Cascade = Annotated[
    bool,
    Query(
        description="Also take out every reference to the entry (and what cannot stand without)."
    ),
]
StatusFilter = Annotated[Status | None, Query(description="draft, published or archived.")]


def add_routes(path: str, kind: Kind) -> None:
    """Declare the routes of one collection; `kind.create` is its request body."""
    create_model = kind.create
    update_model = base.update_model(kind.create)
    noun = kind.name.replace("_", " ")

    @router.get(
        f"/{path}",
        response_model=AdminPage,
        responses=problem_responses(401, 403, 422),
        summary=f"List {path.replace('-', ' ')}, drafts included",
        name=f"admin_list_{kind.file}",
    )
    def list_entries(session: SessionDep, page: PageDep, status: StatusFilter = None) -> dict:
        return page.answer(*editing.admin_page(session, kind, page.window, status))

    @router.get(
        f"/{path}/{{slug}}",
        response_model=AdminEntry,
        responses=problem_responses(401, 403, 404, 422),
        summary=f"One {noun} with its working document; ETag is its version",
        name=f"admin_get_{kind.name}",
    )
    def get_entry(session: SessionDep, slug: str) -> JSONResponse:
        row = editing.get_row(session, kind, slug)
        headers = {**NO_STORE, "ETag": etag(row.version)}
        return JSONResponse(entry_body(session, kind, row), headers=headers)

    @router.post(
        f"/{path}",
        status_code=201,
        response_model=AdminEntry,
        responses=problem_responses(400, 401, 403, 409, 422),
        summary=f"Create {a(noun)} (as a draft)",
        name=f"admin_create_{kind.name}",
    )
    def create_entry(
        payload: create_model,  # type: ignore[valid-type]
        session: SessionDep,
        key: Editor,
        idem: IdempotencyDep,
    ) -> JSONResponse:
        if (replayed := idem.replay(session, key)) is not None:
            return replayed
        body: BaseModel = payload  # its class is built at run time, out of mypy's sight
        row = editing.create(session, kind, body.model_dump(mode="json"), key)
        return entry_answer(session, kind, row, status=201, actor=key, idem=idem)

    @router.patch(
        f"/{path}/{{slug}}",
        response_model=AdminEntry,
        responses=problem_responses(400, 401, 403, 404, 412, 422, 428),
        summary=f"Edit {a(noun)}: a draft in place, a published one as a pending edit",
        name=f"admin_update_{kind.name}",
    )
    def update_entry(
        slug: str,
        changes: update_model,  # type: ignore[valid-type]
        session: SessionDep,
        key: Editor,
        version: IfMatch,
    ) -> JSONResponse:
        row = editing.get_row(session, kind, slug)
        body: BaseModel = changes  # its class is built at run time, out of mypy's sight
        sent = body.model_dump(mode="json", exclude_unset=True)
        editing.update(session, kind, row, sent, version, key)
        return entry_answer(session, kind, row, actor=key)

    @router.delete(
        f"/{path}/{{slug}}",
        response_model=DeleteReport,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
        summary=f"Delete {a(noun)}; 409 naming what refers to it unless cascade=true",
        name=f"admin_delete_{kind.name}",
    )
    def delete_entry(
        slug: str, session: SessionDep, key: Publisher, version: IfMatch, cascade: Cascade = False
    ) -> JSONResponse:
        row = editing.get_row(session, kind, slug)
        report = editing.delete(session, kind, row, version, key, cascade)
        return commit_answer(session, report)

    @router.post(
        f"/{path}/{{slug}}/publish",
        response_model=AdminEntry,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
        summary=f"Publish {a(noun)}, or its pending edit",
        name=f"admin_publish_{kind.name}",
    )
    def publish_entry(
        slug: str, session: SessionDep, key: Publisher, version: IfMatch, idem: IdempotencyDep
    ) -> JSONResponse:
        if (replayed := idem.replay(session, key)) is not None:
            return replayed
        row = editing.get_row(session, kind, slug)
        editing.publish(session, kind, row, version, key)
        return entry_answer(session, kind, row, actor=key, idem=idem)

    @router.post(
        f"/{path}/{{slug}}/unpublish",
        response_model=AdminEntry,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
        summary=f"Withdraw {a(noun)} from the public (archived)",
        name=f"admin_unpublish_{kind.name}",
    )
    def unpublish_entry(
        slug: str, session: SessionDep, key: Publisher, version: IfMatch, idem: IdempotencyDep
    ) -> JSONResponse:
        if (replayed := idem.replay(session, key)) is not None:
            return replayed
        row = editing.get_row(session, kind, slug)
        editing.unpublish(session, kind, row, version, key)
        return entry_answer(session, kind, row, actor=key, idem=idem)

    @router.get(
        f"/{path}/{{slug}}/revisions",
        response_model=list[RevisionPublic],
        responses=problem_responses(401, 403, 404, 422),
        summary=f"Every change of {a(noun)}: who, when, what changed",
        name=f"admin_revisions_{kind.name}",
    )
    def list_revisions(slug: str, session: SessionDep) -> list:
        return editing.revisions(session, kind, slug)

    @router.post(
        f"/{path}/{{slug}}/revisions/{{number}}/restore",
        response_model=AdminEntry,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
        summary=f"Bring back an earlier revision of {a(noun)}, as a new change",
        name=f"admin_restore_{kind.name}",
    )
    def restore_revision(
        slug: str,
        number: Annotated[int, Path(ge=1, le=ID_MAX)],
        session: SessionDep,
        key: Editor,
        version: IfMatch,
        idem: IdempotencyDep,
    ) -> JSONResponse:
        if (replayed := idem.replay(session, key)) is not None:
            return replayed
        row = editing.get_row(session, kind, slug)
        editing.restore(session, kind, row, number, version, key)
        return entry_answer(session, kind, row, actor=key, idem=idem)


for _path, _kind in editing.COLLECTIONS.items():
    add_routes(_path, _kind)
