"""Conditions the procedure treats or is used for (androgenetic alopecia, ...)."""

import pydantic
from sqlalchemy import UniqueConstraint
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


class Condition(_Term, table=True):
    __tablename__ = "condition"


class ProcedureCondition(ProcedureLink, table=True):
    __tablename__ = "procedure_condition"
    __table_args__ = (UniqueConstraint("procedure_id", "condition_id"),)

    condition_id: int = Field(foreign_key="condition.id", index=True, ondelete="CASCADE")


class ConditionCreate(TermIn):
    procedures: list[ProcedureLinkIn] = pydantic.Field(default_factory=list)


class ConditionSummary(TermSummary):
    pass


class ConditionPublic(TermSummary):
    procedures: list[ListedFor]


class ProcedureConditionPublic(ListedTerm):
    pass


class DistinctProcedureCondition(MergedListing, ProcedureConditionPublic):
    pass
