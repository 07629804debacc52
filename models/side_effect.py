"""Side effects, and the procedures and ingredients they are listed for."""

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field

from models.base import (
    SLUG_MAX,
    SLUG_PATTERN,
    TEXT_MAX,
    CitationIn,
    CitationPublic,
    ListedFor,
    ListedTerm,
    MergedListing,
    ProcedureLink,
    ProcedureLinkIn,
    TermIn,
    TermSummary,
    Tracked,
)
from models.base import Term as _Term


class SideEffect(_Term, table=True):
    __tablename__ = "side_effect"


class ProcedureSideEffect(ProcedureLink, table=True):
    """A side effect an article lists for a procedure."""

    __tablename__ = "procedure_side_effect"
    __table_args__ = (UniqueConstraint("procedure_id", "side_effect_id"),)

    side_effect_id: int = Field(foreign_key="side_effect.id", index=True, ondelete="CASCADE")


class IngredientSideEffect(Tracked, table=True):
    """A side effect an article names for an ingredient (minoxidil's itching, say)."""

    __tablename__ = "ingredient_side_effect"
    __table_args__ = (UniqueConstraint("ingredient_id", "side_effect_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ingredient_id: int = Field(foreign_key="ingredient.id", index=True, ondelete="CASCADE")
    side_effect_id: int = Field(foreign_key="side_effect.id", index=True, ondelete="CASCADE")
    note: str | None = Field(default=None, sa_type=Text)


class IngredientListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ingredient: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    note: str | None = pydantic.Field(default=None, max_length=TEXT_MAX)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)


class SideEffectCreate(TermIn):
    procedures: list[ProcedureLinkIn] = pydantic.Field(default_factory=list)
    ingredients: list[IngredientListingIn] = pydantic.Field(default_factory=list)


class IngredientListing(BaseModel):
    ingredient: str
    ingredient_name: str
    note: str | None
    citations: list[CitationPublic]


class SideEffectSummary(TermSummary):
    pass


class SideEffectPublic(TermSummary):
    procedures: list[ListedFor]
    ingredients: list[IngredientListing]


class ProcedureSideEffectPublic(ListedTerm):
    pass


class DistinctProcedureSideEffect(MergedListing, ProcedureSideEffectPublic):
    pass
