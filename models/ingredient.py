"""Ingredients and topicals: what is applied with, before or after the procedure, or avoided."""

from enum import StrEnum

import pydantic
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from models.base import (
    CitationPublic,
    ListedFor,
    ListedTerm,
    MergedListing,
    ProcedureLink,
    ProcedureLinkIn,
    TermIn,
    TermSummary,
)
from models.base import Term as _Term


class Role(StrEnum):
    numbing = "numbing"
    skin_antisepsis = "skin-antisepsis"
    device_disinfection = "device-disinfection"
    infection_prevention = "infection-prevention"
    combined_treatment = "combined-treatment"
    aftercare = "aftercare"
    avoid_afterwards = "avoid-afterwards"
    serum = "serum"
    sun_protection = "sun-protection"
    anti_inflammatory = "anti-inflammatory"


class Ingredient(_Term, table=True):
    __tablename__ = "ingredient"

    kind: str = Field(default="other", sa_type=String(40))


class ProcedureIngredient(ProcedureLink, table=True):
    __tablename__ = "procedure_ingredient"
    __table_args__ = (UniqueConstraint("procedure_id", "ingredient_id", "role"),)

    ingredient_id: int = Field(foreign_key="ingredient.id", index=True, ondelete="CASCADE")
    role: str = Field(sa_type=String(40))


class IngredientUseIn(ProcedureLinkIn):
    role: Role


class IngredientCreate(TermIn):
    kind: str = pydantic.Field(default="other", max_length=40, pattern=r"^[a-z]+(?:-[a-z]+)*$")
    procedures: list[IngredientUseIn] = pydantic.Field(default_factory=list)


class IngredientSummary(TermSummary):
    kind: str


class IngredientUse(ListedFor):
    role: Role


class IngredientSideEffectPublic(TermSummary):
    note: str | None
    citations: list[CitationPublic]


class IngredientPublic(IngredientSummary):
    procedures: list[IngredientUse]
    side_effects: list[IngredientSideEffectPublic]


class ProcedureIngredientPublic(ListedTerm):
    kind: str
    role: Role


class DistinctProcedureIngredient(MergedListing, ProcedureIngredientPublic):
    pass
