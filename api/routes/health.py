"""Liveness: the process answers and the database is reachable."""

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep
from api.errors import problem_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", responses=problem_responses(503))
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
