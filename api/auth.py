"""API keys: made, hashed, checked; the dependency every admin route stands behind.

A key reads `skb_<prefix>_<secret>`. Only the prefix (to find the row) and an HMAC-SHA-256 of the
whole key are stored; the HMAC's secret is `SKINKB_SECRET_KEY`, or else the one migration 0002
drew into the `server_secret` table, so every process of one database agrees on it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlmodel import Session, col

from api.config import settings
from api.deps import SessionDep
from api.errors import Conflict, Forbidden, NotFound, Unauthorized
from models import ApiKey, AuditEvent, ServerSecret
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


def _refuse(
    session: Session, request: Request, reason: str, *, invalid_token: bool = False
) -> Unauthorized:
    """Record a failed authentication (never the key itself) and build the 401."""
    session.rollback()
    client = request.client.host if request.client else None
    session.add(
        AuditEvent(
            action="auth.failed",
            target=f"{request.method} {request.url.path}",
            detail={"reason": reason, "client": client},
        )
    )
    session.commit()
    return Unauthorized(
        f"{reason} Send `Authorization: Bearer <API key>`.", invalid_token=invalid_token
    )


# Declares the scheme in the OpenAPI; the answers to a missing or bad key are ours (401 + audit).
bearer = HTTPBearer(auto_error=False, description="An API key: `skinkb keys create`.")


def current_key(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey:
    """The API key the request authenticates with; 401 (and an audit entry) if none is valid."""
    if credentials is None:
        reason = (
            "No API key was sent."
            if "authorization" not in request.headers
            else "The Authorization header is not a bearer API key."
        )
        raise _refuse(session, request, reason)
    row = find_key(session, credentials.credentials.strip())
    if row is None:
        raise _refuse(session, request, "The API key is unknown or revoked.", invalid_token=True)
    return row


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def require_role(role: KeyRole):  # type: ignore[no-untyped-def]
    """A dependency admitting keys of `role` or a higher one; 403 for the others."""

    def check(key: CurrentKey) -> ApiKey:
        if KeyRole(key.role).rank < role.rank:
            raise Forbidden(
                f"This needs the {role.value} role; the key {key.name!r} is {key.role}."
            )
        return key

    check.__name__ = f"require_{role.value}"
    return check


Editor = Annotated[ApiKey, Depends(require_role(KeyRole.editor))]
Publisher = Annotated[ApiKey, Depends(require_role(KeyRole.publisher))]
Admin = Annotated[ApiKey, Depends(require_role(KeyRole.admin))]
