"""The changes feed: what the public could see change, one row per change, at the knowledge-base
revision it committed at; deletions and withdrawals are kept as tombstones for a while."""

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import BigInteger, DateTime, Index, String
from sqlmodel import Field, SQLModel

from models.base import SLUG_MAX, utcnow


class Change(SQLModel, table=True):
    __tablename__ = "kb_change"
    __table_args__ = (Index("ix_kb_change_revision", "revision", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    revision: int = Field(sa_type=BigInteger)
    # The kind (`side_effect`) and the collection of its URL (`side-effects`).
    type: str = Field(sa_type=String(40))
    collection: str = Field(sa_type=String(40))
    slug: str = Field(sa_type=String(SLUG_MAX))
    # published, updated, unpublished or deleted
    action: str = Field(sa_type=String(20))
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)


class ChangeHorizon(SQLModel, table=True):
    """One row (id 1): the feed answers every `since` at or above `revision`; changes at or
    below it may be gone (pruned, or made before the feed existed)."""

    __tablename__ = "kb_change_horizon"

    id: int | None = Field(default=None, primary_key=True)
    revision: int = Field(sa_type=BigInteger)


class ChangePublic(BaseModel):
    type: str
    slug: str
    action: str
    revision: int
    url: str


class ChangesPage(BaseModel):
    items: list[ChangePublic]
    next: str | None
    revision: int
