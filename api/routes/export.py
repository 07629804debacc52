"""Delivery to sites and apps: everything published at once (`/v1/export`), and the sitemap of
every published entity's public URL (`/sitemap.xml`)."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.config import settings
from api.deps import SessionDep, conditional_get, off_the_loop
from api.http import sitemap
from api.http.responses import Prevalidated
from api.kb import bulk, queries
from models.condition import ConditionCreate
from models.contraindication import ContraindicationCreate
from models.expert import ExpertCreate
from models.ingredient import IngredientCreate
from models.procedure import ProcedureCreate
from models.quote import QuoteCreate
from models.side_effect import SideEffectCreate
from models.source import SourceCreate

router = APIRouter(prefix="/export", tags=["export"])
sitemap_router = APIRouter(tags=["export"], dependencies=[Depends(conditional_get)])


class Export(BaseModel):
    """Every published entity, in the format `skinkb export` writes and `skinkb import` reads."""

    sources: list[SourceCreate]
    experts: list[ExpertCreate]
    procedures: list[ProcedureCreate]
    ingredients: list[IngredientCreate]
    side_effects: list[SideEffectCreate]
    contraindications: list[ContraindicationCreate]
    conditions: list[ConditionCreate]
    quotes: list[QuoteCreate]


@router.get("", response_model=Export)
@off_the_loop
def export(session: SessionDep) -> Prevalidated:
    """What the public sees, all at once: published entities as published (no pending edit),
    ordered by slug in each collection."""
    return Prevalidated(bulk.export_published(session))


@sitemap_router.get(
    "/sitemap.xml",
    # For crawlers, not API clients (generators have no XML answers): left out of the OpenAPI.
    include_in_schema=False,
    response_class=sitemap.SitemapXML,
    responses={200: {"content": {"application/xml": {}}, "description": "A sitemap."}},
)
@off_the_loop
def sitemap_xml(request: Request, session: SessionDep) -> sitemap.SitemapXML:
    """The public URL of every published entity, under the public base URL."""
    base = (settings.public_base_url or str(request.base_url)).rstrip("/")
    urls = [
        f"{base}/v1/{collection.replace('_', '-')}/{slug}"
        for collection, slugs in queries.published_slugs(session).items()
        for slug in slugs
    ]
    return sitemap.SitemapXML(sitemap.render(urls))
