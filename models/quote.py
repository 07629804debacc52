"""Verbatim quotations, attributed to an expert and the source that prints them."""

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, String, Text
from sqlmodel import Field, SQLModel

from models.base import SLUG_MAX, SLUG_PATTERN, TEXT_MAX, CitationPublic, Tag, Tracked


class Quote(Tracked, table=True):
    __tablename__ = "quote"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(SLUG_MAX), unique=True, index=True)
    expert_id: int = Field(foreign_key="expert.id", index=True, ondelete="RESTRICT")
    source_id: int = Field(foreign_key="source.id", index=True, ondelete="RESTRICT")
    text: str = Field(sa_type=Text)
    topics: list[str] = Field(default_factory=list, sa_type=JSON)


class QuoteProcedure(SQLModel, table=True):
    """A procedure a quote speaks to; the quote itself is the citation."""

    __tablename__ = "quote_procedure"

    quote_id: int = Field(foreign_key="quote.id", primary_key=True, ondelete="CASCADE")
    procedure_id: int = Field(
        foreign_key="procedure.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class QuoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    expert: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    source: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    text: str = pydantic.Field(min_length=1, max_length=TEXT_MAX)
    topics: list[Tag] = pydantic.Field(default_factory=list, max_length=20)
    procedures: list[str] = pydantic.Field(default_factory=list, max_length=20)

    @pydantic.field_validator("procedures")
    @classmethod
    def _as_set(cls, slugs: list[str]) -> list[str]:
        """Tags are a set: stored and exported sorted, without repeats."""
        return sorted(set(slugs))


class QuotePublic(BaseModel):
    id: int
    slug: str
    text: str
    expert: str
    expert_name: str
    source: str
    topics: list[str]
    procedures: list[str]
    citations: list[CitationPublic]


class ProcedureQuotePublic(QuotePublic):
    inherited_from: str | None
