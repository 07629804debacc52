"""Liveness (`/healthz`: the process answers, the database is reachable) and readiness
(`/readyz`: the database is reachable and migrated to head)."""

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter
from sqlalchemy import text

from api.db import migrations
from api.deps import SessionDep, off_the_loop
from api.errors import AppError
from api.http.problems import problem_responses

router = APIRouter(tags=["health"])


class NotReady(AppError):
    status = 503
    title = "Service Unavailable"


@router.get("/healthz", responses=problem_responses(503))
@off_the_loop
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/readyz", responses=problem_responses(503))
@off_the_loop
def readyz(session: SessionDep) -> dict[str, str]:
    current = MigrationContext.configure(session.connection()).get_current_revision()
    head = migrations.head_revision()
    if current != head:
        raise NotReady(f"Database schema is at {current!r}, not at head {head!r}.")
    return {"status": "ready", "schema": head or ""}
