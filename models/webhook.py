"""Webhooks: where to announce published changes, the outbox of events to deliver, and every
delivery attempt. None of these are knowledge-base tables: writing them bumps no revision."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Boolean, DateTime, Index, String, Text
from sqlmodel import Field, SQLModel

from models.base import UtcDateTime, utcnow

URL_MAX = 2000
TargetUrl = Annotated[pydantic.AnyHttpUrl, pydantic.UrlConstraints(max_length=URL_MAX)]


class EventType(StrEnum):
    published = "entry.published"
    updated = "entry.updated"
    unpublished = "entry.unpublished"
    deleted = "entry.deleted"


class DeliveryState(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # retried for the whole retry period in vain


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=String(URL_MAX))
    events: list[str] = Field(sa_type=JSON)
    # Collections (`side-effects`, ...) whose changes are announced; None: all of them.
    collections: list[str] | None = Field(default=None, sa_type=JSON)
    # `whsec_<base64>`, kept as given to its owner: deliveries are signed with it.
    secret: str = Field(sa_type=String(100))
    enabled: bool = Field(default=True, sa_type=Boolean)
    disabled_reason: str | None = Field(default=None, sa_type=String(300))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class WebhookDelivery(SQLModel, table=True):
    """An event in the outbox of one webhook, written in the transaction of its change."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", ondelete="CASCADE", index=True)
    # The `webhook-id` header: the same on every attempt, so receivers can drop repeats.
    message_id: str = Field(sa_type=String(40), unique=True)
    type: str = Field(sa_type=String(40))
    body: str = Field(sa_type=Text)
    state: str = Field(default=DeliveryState.pending, sa_type=String(16))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # A deliverer holds the event until then; another may take it after (the first died).
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    claim: str | None = Field(default=None, sa_type=String(40))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", ondelete="CASCADE", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=String(500))
    duration_ms: int


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: TargetUrl
    events: list[EventType] = pydantic.Field(min_length=1, max_length=4)
    collections: list[str] | None = pydantic.Field(default=None, min_length=1, max_length=20)
    enabled: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: TargetUrl | None = None
    events: list[EventType] | None = pydantic.Field(default=None, min_length=1, max_length=4)
    collections: list[str] | None = pydantic.Field(default=None, min_length=1, max_length=20)
    enabled: bool | None = None


class WebhookPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    collections: list[str] | None
    enabled: bool
    disabled_reason: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class WebhookCreated(WebhookPublic):
    secret: str = pydantic.Field(description="Signs every delivery: shown this once.")


class AttemptPublic(BaseModel):
    at: UtcDateTime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    id: int
    message_id: str
    type: str
    state: str
    attempts: list[AttemptPublic]
    next_attempt_at: UtcDateTime | None
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None
    body: str
