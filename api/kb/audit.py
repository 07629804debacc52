"""The audit log: every write and every failed authentication, appended in the transaction of
what it records (the database refuses to change or delete an event)."""

from typing import Any

from sqlmodel import Session

from models import AuditEvent


def audit(session: Session, actor: str | None, action: str, target: str, **detail: Any) -> None:
    session.add(AuditEvent(actor=actor, action=action, target=target, detail=detail))


def failed_authentication(
    session: Session, method: str, path: str, client: str | None, reason: str
) -> None:
    """Record a refused key (never the key itself) on its own, committed at once."""
    session.rollback()
    audit(session, None, "auth.failed", f"{method} {path}", reason=reason, client=client)
    session.commit()
