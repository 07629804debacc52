"""Sources: the articles every fact cites, kept with their full text."""

import hashlib

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, Text
from sqlmodel import Field

from models.base import NAME_MAX, SLUG_MAX, SLUG_PATTERN, Tracked

SOURCE_TEXT_MAX = 200_000


def content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class Source(Tracked, table=True):
    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(SLUG_MAX), unique=True, index=True)
    title: str = Field(sa_type=String(NAME_MAX))
    publisher: str | None = Field(default=None, sa_type=String(NAME_MAX))
    url: str | None = Field(default=None, sa_type=String(2_000))
    text: str = Field(sa_type=Text)
    content_hash: str = Field(sa_type=String(80))


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    title: str = pydantic.Field(min_length=1, max_length=NAME_MAX)
    publisher: str | None = pydantic.Field(default=None, max_length=NAME_MAX)
    url: str | None = pydantic.Field(default=None, max_length=2_000, pattern=r"^https?://\S+$")
    text: str = pydantic.Field(min_length=1, max_length=SOURCE_TEXT_MAX)


class SourceSummary(BaseModel):
    slug: str
    title: str
    publisher: str | None
    url: str | None
    content_hash: str


class SourcePublic(SourceSummary):
    text: str
    experts: list[str]
    quote_count: int
