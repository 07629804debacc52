"""Topics: questions the articles answer, and each source's answer to one (a position)."""

from enum import StrEnum

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel

from models.base import (
    NAME_MAX,
    SLUG_MAX,
    SLUG_PATTERN,
    TEXT_MAX,
    CitationIn,
    CitationPublic,
    Tracked,
)

UNIT_MAX = 40
Slug = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)


class AnswerType(StrEnum):
    numeric = "numeric"
    text = "text"


class Agreement(StrEnum):
    agree = "agree"
    differ = "differ"
    conflict = "conflict"


class Evidence(StrEnum):
    study = "study"
    authority = "authority"
    expert = "expert"
    article = "article"


class Answer(StrEnum):
    """Short categorical answers, comparable across sources: avoid/consult, yes/no/depends."""

    avoid = "avoid"
    consult = "consult"
    yes = "yes"
    no = "no"
    depends = "depends"


class Topic(Tracked, table=True):
    __tablename__ = "topic"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(SLUG_MAX), unique=True, index=True)
    name: str = Field(sa_type=String(NAME_MAX))
    question: str = Field(sa_type=Text)
    answer_type: str = Field(sa_type=String(16))
    unit: str | None = Field(default=None, sa_type=String(UNIT_MAX))
    # The editor's agreement, for topics whose positions the rules cannot decide (api.kb.agreement).
    agreement: str | None = Field(default=None, sa_type=String(16))
    agreement_note: str | None = Field(default=None, sa_type=Text)


class TopicProcedure(SQLModel, table=True):
    """A procedure a topic concerns."""

    __tablename__ = "topic_procedure"

    topic_id: int = Field(foreign_key="topic.id", primary_key=True, ondelete="CASCADE")
    procedure_id: int = Field(
        foreign_key="procedure.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class Position(Tracked, table=True):
    """One source's answer to a topic; its citations (subject "position") quote that source, and
    those of its commercial interest (subject "position_interest") too."""

    __tablename__ = "position"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(SLUG_MAX), unique=True, index=True)
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="RESTRICT")
    source_id: int = Field(foreign_key="source.id", index=True, ondelete="RESTRICT")
    expert_id: int | None = Field(
        default=None, foreign_key="expert.id", index=True, ondelete="RESTRICT"
    )
    procedure_id: int | None = Field(
        default=None, foreign_key="procedure.id", index=True, ondelete="RESTRICT"
    )
    statement: str = Field(sa_type=Text)
    value_min: float | None = None
    value_max: float | None = None
    value_unit: str | None = Field(default=None, sa_type=String(UNIT_MAX))
    answer: str | None = Field(default=None, sa_type=String(16))
    evidence: str = Field(sa_type=String(16))
    commercial_interest: str | None = Field(default=None, sa_type=Text)


class TopicCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Slug
    name: str = pydantic.Field(min_length=1, max_length=NAME_MAX)
    question: str = pydantic.Field(min_length=1, max_length=TEXT_MAX)
    answer_type: AnswerType
    unit: str | None = pydantic.Field(default=None, min_length=1, max_length=UNIT_MAX)
    procedures: list[str] = pydantic.Field(min_length=1, max_length=50)
    agreement: Agreement | None = None
    agreement_note: str | None = pydantic.Field(default=None, min_length=1, max_length=TEXT_MAX)

    @pydantic.field_validator("procedures")
    @classmethod
    def _as_set(cls, slugs: list[str]) -> list[str]:
        """Procedures are a set: stored and exported sorted, without repeats."""
        return sorted(set(slugs))

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> "TopicCreate":
        if self.answer_type == AnswerType.numeric and self.unit is None:
            raise ValueError("a numeric topic needs a unit")
        if self.answer_type == AnswerType.text and self.unit is not None:
            raise ValueError("a text topic has no unit")
        if (self.agreement is None) != (self.agreement_note is None):
            raise ValueError("agreement is set only with an agreement_note, the note only with it")
        return self


class ValueIn(BaseModel):
    """A numeric answer: a range (min == max for one number) in the topic's unit."""

    model_config = ConfigDict(extra="forbid")

    min: float = pydantic.Field(ge=0, le=1e6)
    max: float = pydantic.Field(ge=0, le=1e6)
    unit: str = pydantic.Field(min_length=1, max_length=UNIT_MAX)

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> "ValueIn":
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class CommercialInterestIn(BaseModel):
    """What the source stands to gain from its answer (a product it sells, a brand it founded)."""

    model_config = ConfigDict(extra="forbid")

    statement: str = pydantic.Field(min_length=1, max_length=TEXT_MAX)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)


class PositionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Slug
    topic: str = Slug
    source: str = Slug
    expert: str | None = pydantic.Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    statement: str = pydantic.Field(min_length=1, max_length=TEXT_MAX)
    value: ValueIn | None = None
    answer: Answer | None = None
    procedure: str | None = pydantic.Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    evidence: Evidence
    commercial_interest: CommercialInterestIn | None = None
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)

    @pydantic.model_validator(mode="after")
    def _expert_evidence(self) -> "PositionCreate":
        if self.evidence == Evidence.expert and self.expert is None:
            raise ValueError("evidence 'expert' needs the expert")
        if self.value is not None and self.answer is not None:
            raise ValueError("a position has a value (numeric topic) or an answer (text), not both")
        return self


class ValuePublic(BaseModel):
    min: float
    max: float
    unit: str


class CommercialInterestPublic(BaseModel):
    statement: str
    citations: list[CitationPublic]


class PositionPublic(BaseModel):
    slug: str
    topic: str
    source: str
    expert: str | None
    expert_name: str | None
    statement: str
    value: ValuePublic | None
    answer: Answer | None
    procedure: str | None
    evidence: Evidence
    commercial_interest: CommercialInterestPublic | None
    citations: list[CitationPublic]


class TopicSummary(BaseModel):
    slug: str
    name: str
    question: str
    answer_type: AnswerType
    unit: str | None
    agreement: Agreement | None
    sources: int


class TopicPublic(TopicSummary):
    agreement_derived: bool
    agreement_note: str | None
    procedures: list[str]
    positions: list[PositionPublic]


class ProcedureTopicPublic(TopicSummary):
    inherited_from: str | None
