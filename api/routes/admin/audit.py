"""The audit log of every write and failed authentication, newest first, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlmodel import col

from api.deps import Admin, SessionDep
from api.http.problems import problem_responses
from api.routes.admin.authenticated import KeyFirstRoute
from models import AuditEvent
from models.audit import AuditPage
from models.base import ID_MAX

router = APIRouter(prefix="/audit", route_class=KeyFirstRoute)


@router.get("", response_model=AuditPage, responses=problem_responses(401, 403, 422))
def audit_log(
    request: Request,
    session: SessionDep,
    key: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Events older than this id.")
    ] = None,
    action: Annotated[str | None, Query(max_length=40, description="e.g. auth.failed")] = None,
) -> dict:
    stmt = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit + 1)
    if before is not None:
        stmt = stmt.where(col(AuditEvent.id) < before)
    if action is not None:
        stmt = stmt.where(col(AuditEvent.action) == action)
    rows = list(session.scalars(stmt).all())
    next_url = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_url = str(request.url.include_query_params(before=rows[-1].id))
    return {"items": rows, "next": next_url}
