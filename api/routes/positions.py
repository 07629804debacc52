"""Positions: one source's answer to a topic (search hits link here)."""

from fastapi import APIRouter

from api.deps import SessionDep
from api.http.problems import problem_responses
from api.kb import topics
from api.routes.common import PublicRoute
from models.topic import PositionPublic

router = APIRouter(prefix="/positions", tags=["topics"], route_class=PublicRoute)


@router.get("/{slug}", response_model=PositionPublic, responses=problem_responses(404, 422))
def get_position(session: SessionDep, slug: str) -> dict:
    """One source's position on a topic, with its citations and commercial interest."""
    return topics.position_detail(session, slug)
