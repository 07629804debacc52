"""Contraindications: when to avoid the procedure, and when to consult a doctor first."""

from enum import StrEnum

import pydantic
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from models.base import (
    ListedFor,
    ListedTerm,
    MergedListing,
    ProcedureLink,
    ProcedureLinkIn,
    TermIn,
    TermSummary,
)
from models.base import Term as _Term


class Level(StrEnum):
    avoid = "avoid"
    consult = "consult"


class Contraindication(_Term, table=True):
    __tablename__ = "contraindication"


class ProcedureContraindication(ProcedureLink, table=True):
    __tablename__ = "procedure_contraindication"
    __table_args__ = (UniqueConstraint("procedure_id", "contraindication_id", "level"),)

    contraindication_id: int = Field(
        foreign_key="contraindication.id", index=True, ondelete="CASCADE"
    )
    level: str = Field(sa_type=String(16))


class ContraindicationListingIn(ProcedureLinkIn):
    level: Level


class ContraindicationCreate(TermIn):
    procedures: list[ContraindicationListingIn] = pydantic.Field(default_factory=list)


class ContraindicationListedFor(ListedFor):
    level: Level


class ContraindicationSummary(TermSummary):
    pass


class ContraindicationPublic(TermSummary):
    procedures: list[ContraindicationListedFor]


class ProcedureContraindicationPublic(ListedTerm):
    level: Level


class DistinctProcedureContraindication(MergedListing, ProcedureContraindicationPublic):
    pass
