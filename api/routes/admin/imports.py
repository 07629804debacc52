"""Bulk import of documents in the export format: all or nothing, or a dry run."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import Publisher, SessionDep
from api.http.problems import problem_responses
from api.kb import editing
from api.routes.admin.authenticated import KeyFirstRoute
from api.routes.admin.common import IdempotencyDep, commit_answer
from models.admin import ImportDocuments, ImportReport

router = APIRouter(route_class=KeyFirstRoute)


@router.post(
    "/import",
    response_model=ImportReport,
    responses=problem_responses(400, 401, 403, 409, 422),
    summary="Import documents: validated as a whole, written in one transaction",
)
def import_documents(
    data: ImportDocuments,
    session: SessionDep,
    key: Publisher,
    idem: IdempotencyDep,
    dry_run: Annotated[
        bool, Query(description="Report what would be created, changed and refused.")
    ] = False,
) -> JSONResponse:
    if (replayed := idem.replay(session, key)) is not None:
        return replayed
    documents = data.model_dump(exclude_unset=True)
    report = editing.import_documents(session, documents, dry_run, key)
    body = {"dry_run": dry_run, **report.as_dict()}
    if dry_run:
        session.rollback()
        return commit_answer(session, body)
    return commit_answer(session, body, actor=key, idem=idem)
