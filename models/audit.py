"""The audit log: every write and every failed authentication, appended and never changed."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, DateTime, String, Text
from sqlmodel import Field, SQLModel

from models.base import NAME_MAX, UtcDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    actor: str | None = Field(default=None, sa_type=String(NAME_MAX))
    action: str = Field(sa_type=String(40), index=True)
    target: str | None = Field(default=None, sa_type=Text)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class AuditEventPublic(BaseModel):
    id: int
    at: UtcDateTime
    actor: str | None
    action: str
    target: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    next: str | None
