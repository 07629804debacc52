"""The FastAPI application: routers under /v1, problem+json errors."""

from fastapi import APIRouter, FastAPI

from api.errors import install_error_handlers
from api.routes import (
    conditions,
    contraindications,
    experts,
    health,
    ingredients,
    procedures,
    quotes,
    side_effects,
    sources,
)

app = FastAPI(
    title="SkinKB",
    version="1.0.0",
    description="What trustworthy articles say about scalp microneedling for hair loss: "
    "procedures, side effects, contraindications, ingredients, conditions, experts and their "
    "quotes, each fact citing a verbatim excerpt of its source.",
)
install_error_handlers(app)

v1 = APIRouter(prefix="/v1")
v1.include_router(procedures.router)
v1.include_router(side_effects.router)
v1.include_router(contraindications.router)
v1.include_router(ingredients.router)
v1.include_router(conditions.router)
v1.include_router(experts.router)
v1.include_router(quotes.router)
v1.include_router(sources.router)

app.include_router(v1)
app.include_router(health.router)
