"""API keys, managed by admins: list, create (the key is shown once), revoke."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Admin, SessionDep
from api.http.problems import problem_responses
from api.kb import audit, keys
from api.routes.admin.authenticated import KeyFirstRoute
from api.routes.admin.common import commit_answer
from models.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic

router = APIRouter(prefix="/keys", route_class=KeyFirstRoute)


def _public(row: object) -> dict:
    return ApiKeyPublic.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.get("", response_model=list[ApiKeyPublic], responses=problem_responses(401, 403))
def list_keys(session: SessionDep, key: Admin) -> list[dict]:
    return [_public(row) for row in keys.list_keys(session)]


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=problem_responses(400, 401, 403, 409, 422),
    summary="Create an API key; the answer holds the key, which is never shown again",
)
def create_key(body: ApiKeyCreate, session: SessionDep, key: Admin) -> JSONResponse:
    """No Idempotency-Key here: replaying the answer would mean keeping the key itself."""
    new = keys.create_key(session, body.name, body.role)
    audit.audit(session, key.name, "key.create", f"keys/{body.name}", role=body.role.value)
    return commit_answer(session, {**_public(new.row), "key": new.key}, status=201)


@router.delete(
    "/{name}", response_model=ApiKeyPublic, responses=problem_responses(401, 403, 404, 422)
)
def revoke_key(name: str, session: SessionDep, key: Admin) -> JSONResponse:
    row = keys.revoke_key(session, name)
    audit.audit(session, key.name, "key.revoke", f"keys/{name}")
    return commit_answer(session, _public(row))
