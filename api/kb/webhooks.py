"""Webhooks: their configuration, the outbox of events, and the bookkeeping of deliveries.

Each change the public can see puts one event per interested webhook in the outbox
(`webhook_delivery`) in the change's own transaction, so an event is never lost between the
commit and its delivery. Deliverers (api.kb.delivery) claim due events in the database, so
however many run, each event is sent by one at a time; a failed one is retried with
exponential backoff for a day, then given up and its webhook disabled. Deliveries follow the
Standard Webhooks specification (signing below).
"""

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from api.config import settings
from api.errors import NotFound, Unprocessable
from models import Change, Webhook, WebhookAttempt, WebhookDelivery
from models.base import utcnow
from models.webhook import DeliveryState, EventType

SECRET_PREFIX = "whsec_"
# What a deliverer may take at once, and how long it holds them (beyond the request timeout).
CLAIM_BATCH = 20
CLAIM_MARGIN_SECONDS = 30.0
EVENT_OF = {
    "published": EventType.published,
    "updated": EventType.updated,
    "unpublished": EventType.unpublished,
    "deleted": EventType.deleted,
}


# --- signing (Standard Webhooks) ---------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the decoded secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }


# --- where deliveries may go -------------------------------------------------------------------


def is_private(address: str) -> bool:
    """Loopback, private, link-local and other addresses that are not the public internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def private_addresses(host: str) -> list[str]:
    """The addresses `host` resolves to that deliveries must not reach ([] if it resolves to
    none: the delivery fails and is retried)."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return []
    return sorted(str(a) for a in found if is_private(str(a)))


def refused_target(url: str) -> str | None:
    """Why a delivery to `url` is refused, or None."""
    if settings.webhook_allow_private:
        return None
    host = urlsplit(url).hostname or ""
    private = private_addresses(host)
    if private:
        return f"{host} resolves to {', '.join(private)}, which is not a public address"
    return None


def _check_target(url: str) -> None:
    reason = refused_target(url)
    if reason is not None:
        errors = [{"loc": ["body", "url"], "msg": reason, "type": "value_error"}]
        raise Unprocessable(f"Invalid input: body.url: {reason}", errors=errors)


def _check_collections(collections: list[str] | None, known: set[str]) -> None:
    unknown = sorted(set(collections or ()) - known)
    if unknown:
        msg = f"unknown collections: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        errors = [{"loc": ["body", "collections"], "msg": msg, "type": "value_error"}]
        raise Unprocessable(f"Invalid input: body.collections: {msg}", errors=errors)


# --- configuration -----------------------------------------------------------------------------


def create_webhook(session: Session, payload: dict[str, Any], known: set[str]) -> Webhook:
    """A new webhook with a new secret; 422 for a target that is not public."""
    _check_target(payload["url"])
    _check_collections(payload.get("collections"), known)
    row = Webhook.model_validate({**payload, "secret": new_secret()})
    session.add(row)
    session.flush()
    return row


def list_webhooks(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(col(Webhook.id))).all())


def get_webhook(session: Session, webhook_id: int) -> Webhook:
    row = session.get(Webhook, webhook_id)
    if row is None:
        raise NotFound(f"No webhook {webhook_id}.")
    return row


def update_webhook(
    session: Session, webhook_id: int, changes: dict[str, Any], known: set[str]
) -> Webhook:
    """Changed fields only; enabling a disabled webhook clears why it was disabled."""
    row = get_webhook(session, webhook_id)
    if changes.get("url") is not None:
        _check_target(changes["url"])
    _check_collections(changes.get("collections"), known)
    row.sqlmodel_update({k: v for k, v in changes.items() if v is not None or k == "collections"})
    if changes.get("enabled"):
        row.disabled_reason = None
    row.updated_at = utcnow()
    session.add(row)
    return row


def delete_webhook(session: Session, webhook_id: int) -> Webhook:
    row = get_webhook(session, webhook_id)
    # Not left to ON DELETE CASCADE: SQLite enforces it only with foreign keys on.
    for delivery in session.scalars(
        select(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook_id)
    ):
        _delete_delivery(session, delivery)
    session.delete(row)
    return row


def _delete_delivery(session: Session, delivery: WebhookDelivery) -> None:
    for attempt in session.scalars(
        select(WebhookAttempt).where(col(WebhookAttempt.delivery_id) == delivery.id)
    ):
        session.delete(attempt)
    session.delete(delivery)


# --- the outbox --------------------------------------------------------------------------------


def enqueue(session: Session, change: Change, url: str) -> None:
    """One event per enabled webhook that wants this change, in the change's transaction."""
    event = EVENT_OF[change.action].value
    body = orjson.dumps(
        {
            "type": event,
            "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
            "data": {
                "collection": change.collection,
                "slug": change.slug,
                "revision": change.revision,
                "url": url,
            },
        }
    ).decode()
    for hook in session.scalars(select(Webhook).where(col(Webhook.enabled))):
        if event in hook.events and (
            hook.collections is None or change.collection in hook.collections
        ):
            session.add(
                WebhookDelivery(
                    webhook_id=hook.id,  # type: ignore[arg-type]
                    message_id="msg_" + secrets.token_hex(16),
                    type=event,
                    body=body,
                )
            )


@dataclass
class Claimed:
    """An event a deliverer holds: what to send, where, signed with what."""

    id: int
    message_id: str
    body: str
    url: str
    secret: str


def _due(now: datetime) -> Any:
    return (
        select(col(WebhookDelivery.id))
        .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
        .where(
            col(WebhookDelivery.state) == DeliveryState.pending.value,
            col(WebhookDelivery.next_attempt_at) <= now,
            or_(
                col(WebhookDelivery.claimed_until).is_(None),
                col(WebhookDelivery.claimed_until) < now,
            ),
            col(Webhook.enabled),
        )
        .order_by(col(WebhookDelivery.id))
        .limit(CLAIM_BATCH)
    )


def any_due(session: Session, now: datetime) -> bool:
    """Whether there is anything to claim: asked first, so an idle deliverer takes no lock."""
    return session.scalars(_due(now).limit(1)).first() is not None


def claim_due(session: Session, now: datetime, hold_seconds: float) -> tuple[str, list[Claimed]]:
    """Take the due events of enabled webhooks for this deliverer, and commit: a claimed event
    is held until `now + hold_seconds`; the claim token says whose it is."""
    due = _due(now)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=WebhookDelivery)  # type: ignore[arg-type]
    ids = list(session.scalars(due))
    token = secrets.token_hex(16)
    if ids:
        # Atomic on both back ends: another deliverer's claim makes the condition false.
        session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_(ids),
                col(WebhookDelivery.state) == DeliveryState.pending.value,
                or_(
                    col(WebhookDelivery.claimed_until).is_(None),
                    col(WebhookDelivery.claimed_until) < now,
                ),
            )
            .values(claimed_until=now + timedelta(seconds=hold_seconds), claim=token)
        )
    rows = session.execute(
        select(WebhookDelivery, Webhook)
        .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
        .where(col(WebhookDelivery.claim) == token)
        .order_by(col(WebhookDelivery.id))
    ).all()
    claimed = [Claimed(d.id, d.message_id, d.body, h.url, h.secret) for d, h in rows]
    session.commit()
    return token, claimed


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after `attempts` failed ones: 5 s, 10 s, 20 s, ..."""
    seconds = settings.webhook_backoff_seconds * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, settings.webhook_backoff_max_seconds))


def record_attempt(
    session: Session,
    delivery_id: int,
    token: str,
    now: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    """The outcome of one attempt, and commit: delivered, retried later, or given up (and the
    webhook disabled) once the retry period is over. Ignored if the claim was lost."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.claim != token:
        session.rollback()
        return
    ok = status_code is not None and 200 <= status_code < 300
    session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            at=now,
            status_code=status_code,
            error=None if ok else (error or f"answered {status_code}")[:500],
            duration_ms=duration_ms,
        )
    )
    delivery.attempts += 1
    delivery.claim, delivery.claimed_until = None, None
    created = delivery.created_at.replace(tzinfo=now.tzinfo)
    if ok:
        delivery.state, delivery.delivered_at = DeliveryState.delivered.value, now
    elif (now - created).total_seconds() >= settings.webhook_retry_seconds:
        delivery.state = DeliveryState.failed.value
        hook = session.get(Webhook, delivery.webhook_id)
        if hook is not None and hook.enabled:
            hook.enabled = False
            hook.disabled_reason = (
                f"delivery {delivery.id} failed for {settings.webhook_retry_seconds:g} s "
                f"({delivery.attempts} attempts); last: {error or status_code}"
            )[:300]
            session.add(hook)
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    session.add(delivery)
    session.commit()


# --- deliveries as admins see them -------------------------------------------------------------


def _shown(session: Session, rows: list[WebhookDelivery]) -> list[dict[str, Any]]:
    attempts: dict[Any, list[WebhookAttempt]] = {r.id: [] for r in rows}
    for attempt in session.scalars(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(list(attempts)))
        .order_by(col(WebhookAttempt.id))
    ):
        attempts[attempt.delivery_id].append(attempt)
    return [
        {
            **r.model_dump(),
            "next_attempt_at": r.next_attempt_at if r.state == DeliveryState.pending else None,
            "attempts": [a.model_dump() for a in attempts[r.id]],
        }
        for r in rows
    ]


def deliveries(session: Session, webhook_id: int, limit: int) -> list[dict[str, Any]]:
    """The webhook's latest events, newest first, each with its attempts."""
    get_webhook(session, webhook_id)
    rows = session.scalars(
        select(WebhookDelivery)
        .where(col(WebhookDelivery.webhook_id) == webhook_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    ).all()
    return _shown(session, list(rows))


def redeliver(session: Session, webhook_id: int, delivery_id: int) -> dict[str, Any]:
    """Send the event again, with the same `webhook-id`, as soon as a deliverer is free."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != webhook_id:
        raise NotFound(f"Webhook {webhook_id} has no delivery {delivery_id}.")
    delivery.state = DeliveryState.pending.value
    delivery.next_attempt_at = utcnow()
    delivery.created_at = utcnow()  # its retry period starts again
    delivery.claim, delivery.claimed_until = None, None
    session.add(delivery)
    session.flush()
    return _shown(session, [delivery])[0]
