"""Webhooks, managed by admins: create (the secret is shown once), list, read, change, delete;
each one's deliveries, and sending one again."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.deps import Admin, SessionDep
from api.http.problems import problem_responses
from api.kb import audit, webhooks
from api.kb.editing import COLLECTIONS
from api.routes.admin.authenticated import KeyFirstRoute
from api.routes.admin.common import commit_answer
from models.base import ID_MAX
from models.webhook import (
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", route_class=KeyFirstRoute)
KNOWN = set(COLLECTIONS)
WebhookId = Annotated[int, Path(ge=1, le=ID_MAX)]
DeliveryId = Annotated[int, Path(ge=1, le=ID_MAX)]


def _public(row: object) -> dict[str, Any]:
    return WebhookPublic.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    responses=problem_responses(400, 401, 403, 422),
    summary="Create a webhook; the answer holds its secret, which is never shown again",
)
def create_webhook(body: WebhookCreate, session: SessionDep, key: Admin) -> JSONResponse:
    row = webhooks.create_webhook(session, body.model_dump(mode="json"), KNOWN)
    audit.audit(session, key.name, "webhook.create", f"webhooks/{row.id}", url=row.url)
    return commit_answer(session, {**_public(row), "secret": row.secret}, status=201)


@router.get("", response_model=list[WebhookPublic], responses=problem_responses(401, 403))
def list_webhooks(session: SessionDep, key: Admin) -> list[dict[str, Any]]:
    return [_public(row) for row in webhooks.list_webhooks(session)]


@router.get(
    "/{webhook_id}", response_model=WebhookPublic, responses=problem_responses(401, 403, 404, 422)
)
def get_webhook(webhook_id: WebhookId, session: SessionDep, key: Admin) -> dict[str, Any]:
    return _public(webhooks.get_webhook(session, webhook_id))


@router.patch(
    "/{webhook_id}", response_model=WebhookPublic, responses=problem_responses(401, 403, 404, 422)
)
def update_webhook(
    webhook_id: WebhookId, body: WebhookUpdate, session: SessionDep, key: Admin
) -> JSONResponse:
    """Change the URL, events, collections (null: all), or enable a disabled webhook again."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    row = webhooks.update_webhook(session, webhook_id, changes, KNOWN)
    audit.audit(
        session, key.name, "webhook.update", f"webhooks/{webhook_id}", fields=sorted(changes)
    )
    return commit_answer(session, _public(row))


@router.delete(
    "/{webhook_id}", response_model=WebhookPublic, responses=problem_responses(401, 403, 404, 422)
)
def delete_webhook(webhook_id: WebhookId, session: SessionDep, key: Admin) -> JSONResponse:
    """The webhook and its deliveries; events not yet sent are dropped."""
    body = _public(webhooks.delete_webhook(session, webhook_id))
    audit.audit(session, key.name, "webhook.delete", f"webhooks/{webhook_id}")
    return commit_answer(session, body)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[DeliveryPublic],
    responses=problem_responses(401, 403, 404, 422),
)
def list_deliveries(
    webhook_id: WebhookId,
    session: SessionDep,
    key: Admin,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    """The latest events, newest first, each with every attempt (status code, error, duration,
    when)."""
    return webhooks.deliveries(session, webhook_id, limit)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def redeliver(
    webhook_id: WebhookId, delivery_id: DeliveryId, session: SessionDep, key: Admin
) -> JSONResponse:
    """Send the event again (same `webhook-id`) as soon as a deliverer is free."""
    body = webhooks.redeliver(session, webhook_id, delivery_id)
    audit.audit(session, key.name, "webhook.redeliver", f"webhooks/{webhook_id}/{delivery_id}")
    return commit_answer(session, body, status=202)
