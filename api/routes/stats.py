"""Counts for dashboards: which side effects most sources list, which experts are quoted most."""

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import SessionDep, off_the_loop
from api.kb import queries, topics

router = APIRouter(prefix="/stats", tags=["stats"])


class SideEffectCount(BaseModel):
    slug: str
    name: str
    sources: int
    procedures: int


class ExpertCount(BaseModel):
    slug: str
    name: str
    quotes: int


class Stats(BaseModel):
    totals: dict[str, int]
    side_effects: list[SideEffectCount]
    experts: list[ExpertCount]
    topics_by_agreement: dict[str, int]
    positions_by_evidence: dict[str, int]


@router.get("", response_model=Stats)
@off_the_loop
def stats(session: SessionDep) -> dict:
    """Published totals per collection; side effects by how many sources list them; experts by
    how many quotes they have; topics by agreement, positions by the evidence behind them."""
    return {
        "totals": queries.collection_totals(session),
        "side_effects": queries.side_effect_counts(session),
        "experts": queries.experts_by_quotes(session),
        "topics_by_agreement": topics.topic_counts(session),
        "positions_by_evidence": topics.position_counts(session),
    }
