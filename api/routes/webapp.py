"""The editors' web app at /admin/ (static files built on the admin API), and the API docs at
/docs and /redoc served from vendored Swagger UI and ReDoc instead of a CDN."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "webapp" / "static"
APP_PATH = "/admin"
VENDOR = f"{APP_PATH}/vendor"

docs = APIRouter(include_in_schema=False)


@docs.get("/docs")
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="SkinKB - Swagger UI",
        swagger_js_url=f"{VENDOR}/swagger-ui-dist/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui-dist/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/swagger-ui-dist/favicon-32x32.png",
    )


@docs.get("/redoc")
def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="SkinKB - ReDoc",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR}/swagger-ui-dist/favicon-32x32.png",
        with_google_fonts=False,
    )


def install_webapp(app: FastAPI, docs_enabled: bool) -> None:
    """Mount the web app's files (its CSP comes from the request-context middleware)."""
    if docs_enabled:
        app.include_router(docs)
    app.mount(APP_PATH, StaticFiles(directory=STATIC, html=True), name="webapp")
