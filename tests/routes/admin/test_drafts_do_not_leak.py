"""What editors have not published never shows on the public API."""

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session

from models import Source
from tests.routes.admin.conftest import Admin

ZOE = "microneedling-might-be-the-secret-to-preventing-hair-loss"
SERUMS = "scalp-serums-and-at-home-microneedling"


class TestSourceExperts:
    def test_a_draft_quote_adds_no_expert(self, client: TestClient, editor: Admin) -> None:
        before = client.get(f"/v1/sources/{ZOE}").json()
        quote = {
            "slug": "baum-draft-in-zoe",
            "expert": "bertha-baum",
            "source": ZOE,
            "text": "Each derma-roller is covered in tiny needles",
        }
        assert editor.post("/v1/admin/quotes", json=quote).status_code == 201
        after = client.get(f"/v1/sources/{ZOE}").json()
        assert "bertha-baum" not in after["experts"]
        assert after == before
        listed = client.get(f"/v1/experts?source={ZOE}").json()["items"]
        assert "bertha-baum" not in {e["slug"] for e in listed}

    def test_an_archived_experts_quotes_do_not_count(
        self, client: TestClient, publisher: Admin
    ) -> None:
        before = client.get(f"/v1/sources/{ZOE}").json()["quote_count"]
        url = "/v1/admin/experts/joshua-zeichner"
        r = publisher.post(f"{url}/unpublish", headers={"If-Match": publisher.etag(url)})
        assert r.status_code == 200, r.text
        assert client.get(f"/v1/sources/{ZOE}").json()["quote_count"] == before - 2
        assert client.get(f"/v1/quotes?source={ZOE}").json()["total"] == before - 2


class TestExpertQuoteCount:
    def test_counts_only_quotes_of_published_sources(
        self, client: TestClient, session: Session
    ) -> None:
        assert client.get("/v1/experts/patricia-pol").json()["quote_count"] == 6
        # Not reachable through the admin API (a cited source stays published); stored anyway.
        session.execute(update(Source).where(Source.slug == SERUMS).values(status="archived"))  # type: ignore[arg-type]
        session.flush()
        body = client.get("/v1/experts/patricia-pol").json()
        assert body["quote_count"] == client.get("/v1/experts/patricia-pol/quotes").json()["total"]
        assert body["quote_count"] == 0
