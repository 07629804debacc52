"""API keys of the editors: only an HMAC of each key is stored, found by its visible prefix."""

from datetime import datetime
from enum import StrEnum

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime, String
from sqlmodel import Field, SQLModel

from models.base import NAME_MAX, UtcDateTime, utcnow


class KeyRole(StrEnum):
    """Each role may do what the roles before it may."""

    editor = "editor"
    publisher = "publisher"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(KeyRole).index(self)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(NAME_MAX), unique=True, index=True)
    role: str = Field(sa_type=String(16))
    prefix: str = Field(sa_type=String(32), unique=True, index=True)
    key_hash: str = Field(sa_type=String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ServerSecret(SQLModel, table=True):
    """Secrets the server keeps in the database so that every process agrees on them."""

    __tablename__ = "server_secret"

    name: str = Field(sa_type=String(40), primary_key=True)
    value: str = Field(sa_type=String(200))


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Letters, digits, `_ .@-`, with at least one visible character.
    name: str = pydantic.Field(
        min_length=1, max_length=NAME_MAX, pattern=r"^[\w .@-]*[\w.@-][\w .@-]*$"
    )
    role: KeyRole


class ApiKeyPublic(BaseModel):
    name: str
    role: KeyRole
    prefix: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = pydantic.Field(description="The key itself: shown this once, never stored.")
