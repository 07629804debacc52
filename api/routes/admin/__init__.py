"""The admin API under /v1/admin: every route needs an API key (editor at least)."""

from fastapi import APIRouter, Depends

from api.deps import require_role
from api.routes.admin import audit, entries, imports, keys, links, meta, webhooks
from models.api_key import KeyRole

router = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[Depends(require_role(KeyRole.editor))]
)
router.include_router(meta.router)
router.include_router(keys.router)
router.include_router(webhooks.router)
router.include_router(audit.router)
router.include_router(imports.router)
router.include_router(links.router)
router.include_router(entries.router)
