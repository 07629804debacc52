"""The FastAPI application: routers under /v1, middleware from the edge inwards, problem+json."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api.config import settings
from api.deps import conditional_get, get_session, known_key
from api.fastpath import direct, response_cache
from api.fastpath.read_connection import loop_read_connections, read_connection
from api.http.caching import (
    install_cors,
    install_http_caching,
    is_public_read,
)
from api.http.compression import CompressAnswers
from api.http.head import HeadAsGet
from api.http.log import flush_logs
from api.http.openapi import install_openapi, operation_id
from api.http.problems import install_error_handlers
from api.http.protection import BodySizeLimitMiddleware, RefuseNulMiddleware, TrustedHostMiddleware
from api.http.rate_limit import RateLimitMiddleware
from api.http.request_context import RequestContextMiddleware
from api.kb import delivery
from api.routes import (
    admin,
    changes,
    conditions,
    contraindications,
    experts,
    export,
    health,
    ingredients,
    positions,
    procedures,
    quotes,
    search,
    side_effects,
    sources,
    stats,
    topics,
)
from api.routes.admin import authenticated as admin_routes
from api.routes.webapp import install_webapp

log = logging.getLogger("skinkb")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # What startup made (routes, models, schemas) lives as long as the process: frozen, a full
    # collection no longer walks it. FastAPI builds each route's parameters at its first
    # request; built now, they are frozen too.
    direct.build_route_parameters(app)
    warn_if_host_makes_urls()
    gc.freeze()
    stop = asyncio.Event()
    deliverer = asyncio.create_task(delivery.run(stop)) if settings.webhooks_enabled else None
    yield
    stop.set()
    if deliverer is not None:
        await deliverer
    gc.unfreeze()
    read_connection.close()
    await loop_read_connections.close()
    flush_logs()


def warn_if_host_makes_urls() -> None:
    """Without a public base URL the `next`, `Link` and `@id` URLs take the request's Host; with
    any host trusted too, a client chooses them (fine in development, not in production)."""
    if not settings.public_base_url and "*" in settings.trusted_hosts:
        log.warning(
            "SKINKB_PUBLIC_BASE_URL is unset and SKINKB_TRUSTED_HOSTS allows any host: the URLs "
            "in answers follow the request's Host header; set both in production"
        )


app = FastAPI(
    lifespan=lifespan,
    title="SkinKB",
    version="1.0.0",
    description="What trustworthy articles say about scalp microneedling for hair loss: "
    "procedures, side effects, contraindications, ingredients, conditions, experts and their "
    "quotes, each fact citing a verbatim excerpt of its source.",
    # Served by api.routes.webapp from vendored assets (FastAPI's own pages load them from a CDN).
    docs_url=None,
    redoc_url=None,
    # No OpenTelemetry here; left on, FastAPI asks for its providers on every request.
    telemetry={"tracing": False, "metrics": False, "logs": False},
    generate_unique_id_function=operation_id,
)
install_error_handlers(app)
install_openapi(app)
# Innermost: inside the HTTP cache layer and CORS, which treat its answers as any other.
app.add_middleware(
    direct.DirectReads, session_dependency=get_session, revision_dependency=conditional_get
)
install_http_caching(app, remember=response_cache.remember)
# Added innermost first: the request context (id, log line, headers) wraps everything.
app.add_middleware(RefuseNulMiddleware, authenticated_first=(admin_routes.PREFIX,))
app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
install_cors(app, settings.admin_cors_origins)
# Outside CORS and the caches: public reads come out compressed already; the rest it compresses.
app.add_middleware(CompressAnswers, compressed_within=is_public_read)
# Outside CORS and compression, whose headers a public answer carries already: a remembered
# answer goes out past only the layers that every request needs.
app.add_middleware(response_cache.ResponseCacheMiddleware)
app.add_middleware(
    RateLimitMiddleware,
    never_refused=is_public_read,
    enabled=settings.rate_limit_enabled,
    public=(settings.rate_limit_public_per_second, settings.rate_limit_public_burst)
    if settings.rate_limit_public_enabled
    else None,
    public_key_allowance=(
        settings.rate_limit_public_key_allowance,
        int(4 * settings.rate_limit_public_key_allowance),
    ),
    admin=(settings.rate_limit_admin_per_second, settings.rate_limit_admin_burst),
    auth_failures_per_minute=settings.rate_limit_auth_failures_per_minute,
    known_key=known_key,
)
# HEAD goes in as GET: every layer inside it (rate limit, caches, compression) treats it as one.
app.add_middleware(HeadAsGet)
if "*" not in settings.trusted_hosts:
    app.add_middleware(TrustedHostMiddleware, allowed=settings.trusted_hosts)
app.add_middleware(RequestContextMiddleware)

# Each router straight under the app, the public ones first and admin last: FastAPI walks the
# routers nested under an included one on every match, so a public read walks only its own.
for router in (
    procedures.router,
    side_effects.router,
    contraindications.router,
    ingredients.router,
    conditions.router,
    experts.router,
    quotes.router,
    sources.router,
    topics.router,
    positions.router,
    search.router,
    stats.router,
    export.router,
    changes.router,
    admin.router,
):
    app.include_router(router, prefix="/v1", dependencies=[Depends(conditional_get)])
app.include_router(export.sitemap_router)
app.include_router(health.router)
install_webapp(app, settings.docs_enabled)
