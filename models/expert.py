"""Experts the articles quote or feature, as the articles describe them."""

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, String
from sqlmodel import Field

from models.base import (
    NAME_MAX,
    SLUG_MAX,
    SLUG_PATTERN,
    CitationIn,
    CitationPublic,
    ShortName,
    Tracked,
)


class Expert(Tracked, table=True):
    __tablename__ = "expert"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(SLUG_MAX), unique=True, index=True)
    name: str = Field(sa_type=String(NAME_MAX))
    credentials: list[str] = Field(default_factory=list, sa_type=JSON)
    role: str = Field(sa_type=String(NAME_MAX))
    affiliation: str | None = Field(default=None, sa_type=String(NAME_MAX))
    location: str | None = Field(default=None, sa_type=String(NAME_MAX))
    specialty: str | None = Field(default=None, sa_type=String(NAME_MAX))


class ExpertCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    name: str = pydantic.Field(min_length=1, max_length=NAME_MAX)
    credentials: list[ShortName] = pydantic.Field(default_factory=list, max_length=10)
    role: str = pydantic.Field(min_length=1, max_length=NAME_MAX)
    affiliation: str | None = pydantic.Field(default=None, max_length=NAME_MAX)
    location: str | None = pydantic.Field(default=None, max_length=NAME_MAX)
    specialty: str | None = pydantic.Field(default=None, max_length=NAME_MAX)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)


class ExpertSummary(BaseModel):
    slug: str
    name: str
    credentials: list[str]
    role: str
    affiliation: str | None
    location: str | None
    specialty: str | None


class ExpertCited(ExpertSummary):
    """An expert as embedded in another answer: the description and what backs it."""

    citations: list[CitationPublic]


class ExpertPublic(ExpertSummary):
    sources: list[str]
    quote_count: int
    citations: list[CitationPublic]
