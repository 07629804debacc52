"""Revisions: every change of an entity, who made it, when, and what changed field by field."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, DateTime, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import NAME_MAX, SLUG_MAX, UtcDateTime, utcnow


class Revision(SQLModel, table=True):
    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("collection", "slug", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(sa_type=String(40))
    slug: str = Field(sa_type=String(SLUG_MAX))
    number: int
    action: str = Field(sa_type=String(20))
    author: str = Field(sa_type=String(NAME_MAX))
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    version: int
    status: str = Field(sa_type=String(16))
    # The working document after the change (what a restore brings back), and the diff to it.
    document: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    diff: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class RevisionPublic(BaseModel):
    number: int
    action: str
    author: str
    at: UtcDateTime
    version: int
    status: str
    diff: dict[str, Any]
    document: dict[str, Any] | None
