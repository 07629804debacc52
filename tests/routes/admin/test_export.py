"""`/v1/export` and `/sitemap.xml`: what the public sees, all at once; drafts and pending edits
never show."""

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.config import settings
from api.kb.bulk import export
from api.kb.documents import KINDS, document_references
from tests.routes.admin.conftest import Admin
from tests.routes.admin.test_workflow import DRAFT_SLUGS, make_drafts_and_pending_edits

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def slugs(data: dict, collection: str) -> set[str]:
    return {d["slug"] for d in data[collection]}


def sitemap_urls(client: TestClient) -> list[str]:
    r = client.get("/sitemap.xml")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/xml"
    root = ET.fromstring(r.content)
    assert root.tag == SITEMAP + "urlset"
    return [url.findtext(SITEMAP + "loc") or "" for url in root]


class TestExport:
    def test_everything_published_is_exported_as_skinkb_export_writes_it(
        self, client: TestClient, session: Session
    ) -> None:
        r = client.get("/v1/export")
        assert r.status_code == 200 and r.headers["etag"]
        assert r.json() == export(session)

    def test_drafts_and_pending_edits_never_show(
        self, client: TestClient, session: Session, editor: Admin
    ) -> None:
        make_drafts_and_pending_edits(editor)
        data = client.get("/v1/export").json()
        everything = export(session)
        assert any(slug in slugs(everything, k.file) for k in KINDS for slug in DRAFT_SLUGS)
        assert not any(slug in slugs(data, k.file) for k in KINDS for slug in DRAFT_SLUGS)
        redness = next(d for d in data["side_effects"] if d["slug"] == "redness")
        assert redness["name"] == "Redness"  # its pending edit renames it
        assert "LEAKED" not in client.get("/v1/export").text

    def test_what_is_unpublished_leaves_every_document(
        self, client: TestClient, publisher: Admin
    ) -> None:
        entry = "/v1/admin/procedures/at-home-derma-roller"
        r = publisher.post(entry + "/unpublish", headers={"If-Match": publisher.etag(entry)})
        assert r.status_code == 200
        data = client.get("/v1/export").json()
        assert "at-home-derma-roller" not in slugs(data, "procedures")
        shown = {(k.name, d["slug"]) for k in KINDS for d in data[k.file]}
        for kind in KINDS:
            for doc in data[kind.file]:
                assert document_references(kind, doc) <= shown, doc["slug"]

    def test_not_modified(self, client: TestClient) -> None:
        etag = client.get("/v1/export").headers["etag"]
        assert client.get("/v1/export", headers={"If-None-Match": etag}).status_code == 304


class TestSitemap:
    def test_every_published_entity_under_the_request_base_url(
        self, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(settings, "public_base_url", "")
        urls = sitemap_urls(client)
        data = export(session)
        assert len(urls) == sum(len(data[k.file]) for k in KINDS)
        assert "http://testserver/v1/side-effects/redness" in urls
        assert "http://testserver/v1/procedures/at-home-derma-roller" in urls
        assert all(client.get(url).status_code == 200 for url in urls[:: max(1, len(urls) // 20)])

    def test_under_the_public_base_url(
        self, client: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(settings, "public_base_url", "https://kb.example.org/")
        urls = sitemap_urls(client)
        assert urls and all(u.startswith("https://kb.example.org/v1/") for u in urls)

    def test_drafts_are_left_out(self, client: TestClient, editor: Admin) -> None:
        make_drafts_and_pending_edits(editor)
        urls = sitemap_urls(client)
        assert not any(url.endswith("/" + slug) for url in urls for slug in DRAFT_SLUGS)

    def test_etag_and_not_modified(self, client: TestClient) -> None:
        etag = client.get("/sitemap.xml").headers["etag"]
        r = client.get("/sitemap.xml", headers={"If-None-Match": etag})
        assert r.status_code == 304 and r.headers["etag"] == etag
