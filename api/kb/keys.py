"""API keys: made, hashed, found, revoked.

A key reads `skb_<prefix>_<secret>`. Only the prefix (to find the row) and an HMAC-SHA-256 of the
whole key are stored; the HMAC's secret is `SKINKB_SECRET_KEY`, or else the one migration 0002
drew into the `server_secret` table, so every process of one database agrees on it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from api.config import settings
from api.errors import Conflict, NotFound
from models import ApiKey, ServerSecret
from models.api_key import KeyRole
from models.base import utcnow

SECRET_NAME = "api-key-hmac"
KEY_PREFIX = "skb_"


def server_secret(session: Session) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    row = session.get(ServerSecret, SECRET_NAME)
    if row is None:
        raise RuntimeError("no server secret: run the migrations or set SKINKB_SECRET_KEY")
    return row.value.encode()


def key_hash(session: Session, key: str) -> str:
    return hmac.new(server_secret(session), key.encode(), hashlib.sha256).hexdigest()


@dataclass
class NewKey:
    row: ApiKey
    key: str


def create_key(session: Session, name: str, role: KeyRole) -> NewKey:
    """A new key for `name`; the caller shows `key` once and commits. 409 if the name is taken."""
    if session.scalar(select(col(ApiKey.id)).where(col(ApiKey.name) == name)) is not None:
        raise Conflict(f"An API key named {name!r} exists already.")
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, role=role.value, prefix=prefix, key_hash=key_hash(session, key))
    session.add(row)
    session.flush()
    return NewKey(row, key)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)).all())


def revoke_key(session: Session, name: str) -> ApiKey:
    row = session.scalars(select(ApiKey).where(col(ApiKey.name) == name)).first()
    if row is None:
        raise NotFound(f"No API key named {name!r}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row


def find_key(session: Session, key: str) -> ApiKey | None:
    """The live key row matching `key`, compared in constant time; None for anything else."""
    parts = key.split("_", 2)
    if len(parts) != 3 or f"{parts[0]}_" != KEY_PREFIX:
        return None
    row = session.scalars(select(ApiKey).where(col(ApiKey.prefix) == parts[1])).first()
    expected = row.key_hash if row is not None else "0" * 64
    matches = hmac.compare_digest(expected, key_hash(session, key))
    if row is None or not matches or row.revoked_at is not None:
        return None
    return row
