"""Responses to POSTs sent with an Idempotency-Key, replayed when the same request comes again."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import NAME_MAX, utcnow


class IdempotentResponse(SQLModel, table=True):
    __tablename__ = "idempotent_response"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(sa_type=String(NAME_MAX))
    key: str = Field(sa_type=String(200))
    request_hash: str = Field(sa_type=String(64))
    status_code: int
    body: Any = Field(default=None, sa_type=JSON)
    etag: str | None = Field(default=None, sa_type=String(40))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
