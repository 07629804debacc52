"""The editors' web app at /admin/ and the API docs, all from this server's own files."""

import re

import pytest
from fastapi.testclient import TestClient

from api.http.caching import SplitCors


class TestWebApp:
    def test_the_app_is_served_with_a_strict_csp(self, client: TestClient) -> None:
        r = client.get("/admin/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert '<script type="module" src="js/main.js">' in r.text

    def test_its_modules_and_styles_are_served(self, client: TestClient) -> None:
        for path in ("/admin/js/main.js", "/admin/js/form.js", "/admin/app.css"):
            r = client.get(path)
            assert r.status_code == 200, path
            assert "script-src 'self'" in r.headers["content-security-policy"]

    def test_no_inline_script_or_style_in_the_page(self, client: TestClient) -> None:
        html = client.get("/admin/").text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert "<style" not in html and " style=" not in html

    def test_the_json_api_keeps_its_own_csp(self, client: TestClient) -> None:
        csp = client.get("/v1/procedures").headers["content-security-policy"]
        assert csp == "default-src 'none'; frame-ancestors 'none'"


class TestDocs:
    @pytest.mark.parametrize(
        ("page", "assets"),
        [
            (
                "/docs",
                (
                    "/admin/vendor/swagger-ui-dist/swagger-ui-bundle.js",
                    "/admin/vendor/swagger-ui-dist/swagger-ui.css",
                ),
            ),
            ("/redoc", ("/admin/vendor/redoc/redoc.standalone.js",)),
        ],
    )
    def test_docs_load_their_assets_from_this_server(
        self, client: TestClient, page: str, assets: tuple[str, ...]
    ) -> None:
        html = client.get(page).text
        assert not re.search(r"https?://(?!127\.0\.0\.1)", html.replace("/openapi.json", ""))
        for asset in assets:
            assert asset in html
            assert client.get(asset).status_code == 200


async def ok_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


PREFLIGHT = {
    "Origin": "https://editors.example",
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "authorization, if-match, idempotency-key, content-type",
}


class TestAdminCors:
    def test_closed_by_default(self, client: TestClient) -> None:
        r = client.options("/v1/admin/procedures/scalp-microneedling", headers=PREFLIGHT)
        # The public policy refuses it (no Authorization, no PATCH): the browser sends nothing.
        assert r.status_code == 400
        assert "authorization" not in r.headers.get("access-control-allow-headers", "").lower()

    def test_a_configured_origin_may_send_the_admin_headers(self) -> None:
        client = TestClient(SplitCors(ok_app, ["https://editors.example"]))  # type: ignore[arg-type]
        r = client.options("/v1/admin/procedures/scalp-microneedling", headers=PREFLIGHT)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://editors.example"
        allowed = r.headers["access-control-allow-headers"].lower()
        assert {"authorization", "if-match", "idempotency-key"} <= set(allowed.split(", "))
        assert "PATCH" in r.headers["access-control-allow-methods"]
        other = client.options(
            "/v1/admin/procedures", headers={**PREFLIGHT, "Origin": "https://elsewhere.example"}
        )
        assert "access-control-allow-origin" not in other.headers

    def test_public_reads_stay_open_to_all(self) -> None:
        client = TestClient(SplitCors(ok_app, ["https://editors.example"]))  # type: ignore[arg-type]
        r = client.get("/v1/procedures", headers={"Origin": "https://anyone.example"})
        assert r.headers["access-control-allow-origin"] == "*"
