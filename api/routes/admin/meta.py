"""What the editors' web app asks first: who the key is, and which collections it can edit."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Editor
from api.http.problems import problem_responses
from api.kb import editing
from api.routes.admin.authenticated import KeyFirstRoute
from models.api_key import KeyRole

router = APIRouter(route_class=KeyFirstRoute)


class WhoAmI(BaseModel):
    name: str
    role: KeyRole


class CollectionInfo(BaseModel):
    name: str  # the path under /v1/admin ("side-effects")
    kind: str  # "side_effect"
    document_schema: dict[str, Any]  # the JSON schema of a document (the `...Create` model)


@router.get("/whoami", response_model=WhoAmI, responses=problem_responses(401, 403))
def whoami(key: Editor) -> dict[str, str]:
    """The key's name and role, so a client offers only what the role may do."""
    return {"name": key.name, "role": key.role}


@router.get(
    "/collections", response_model=list[CollectionInfo], responses=problem_responses(401, 403)
)
def collections(key: Editor) -> list[dict[str, Any]]:
    """Every collection of the admin API with the schema of its documents, in the API's order."""
    return [
        {"name": path, "kind": kind.name, "document_schema": kind.create.model_json_schema()}
        for path, kind in editing.COLLECTIONS.items()
    ]
