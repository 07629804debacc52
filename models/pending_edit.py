"""Edits of published entries waiting to be published, kept as whole documents.

The published rows keep serving until the edit is published, so public reads need no change.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import NAME_MAX, utcnow


class PendingEdit(SQLModel, table=True):
    __tablename__ = "pending_edit"
    __table_args__ = (UniqueConstraint("collection", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(sa_type=String(40))
    entity_id: int
    document: dict[str, Any] = Field(sa_type=JSON)
    author: str = Field(sa_type=String(NAME_MAX))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
