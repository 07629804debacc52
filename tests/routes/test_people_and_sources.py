"""/v1/experts, /v1/quotes, /v1/sources, /healthz."""

from fastapi.testclient import TestClient

ZOE = "microneedling-might-be-the-secret-to-preventing-hair-loss"


class TestExperts:
    def test_seven_experts(self, client: TestClient) -> None:
        body = client.get("/v1/experts").json()
        assert body["total"] == 7
        roles = {e["role"] for e in body["items"]}
        assert {"board-certified dermatologist", "licensed esthetician", "hairdresser"} <= roles

    def test_detail_as_stated(self, client: TestClient) -> None:
        body = client.get("/v1/experts/joshua-zeichner").json()
        assert body["credentials"] == ["MD", "FAAD"]
        assert body["location"] == "New York City"
        assert body["sources"] == [ZOE]
        assert body["quote_count"] == 2

    def test_filters(self, client: TestClient) -> None:
        zoe = client.get(f"/v1/experts?source={ZOE}").json()["items"]
        assert {e["slug"] for e in zoe} == {"natasha-jay", "joshua-zeichner"}
        roller = client.get("/v1/experts?procedure=at-home-derma-roller").json()["items"]
        assert "beth-goldstein" in {e["slug"] for e in roller}

    def test_expert_quotes_verbatim(self, client: TestClient) -> None:
        body = client.get("/v1/experts/natasha-jay/quotes").json()
        assert body["total"] == 6
        source = client.get(f"/v1/sources/{ZOE}").json()["text"]
        assert all(q["text"] in source for q in body["items"])

    def test_unknown_is_404(self, client: TestClient) -> None:
        assert client.get("/v1/experts/nobody/quotes").status_code == 404


class TestQuotes:
    def test_by_slug_or_id(self, client: TestClient) -> None:
        first = client.get("/v1/quotes?limit=1").json()["items"][0]
        assert client.get(f"/v1/quotes/{first['id']}").json() == first
        assert client.get(f"/v1/quotes/{first['slug']}").json() == first

    def test_filters(self, client: TestClient) -> None:
        assert client.get("/v1/quotes?expert=patricia-pol").json()["total"] == 6
        assert client.get(f"/v1/quotes?source={ZOE}").json()["total"] == 8
        sanitation = client.get("/v1/quotes?topic=sanitation").json()["items"]
        assert sanitation and all("sanitation" in q["topics"] for q in sanitation)

    def test_total_is_twenty_three(self, client: TestClient) -> None:
        assert client.get("/v1/quotes").json()["total"] == 23

    def test_unknown_is_404(self, client: TestClient) -> None:
        assert client.get("/v1/quotes/999999").status_code == 404


class TestSources:
    def test_list_and_detail(self, client: TestClient) -> None:
        body = client.get("/v1/sources").json()
        assert body["total"] == 5
        nhr = client.get("/v1/sources/microneedling-of-the-scalp").json()
        assert nhr["publisher"] == "NHR"
        assert nhr["text"].startswith("Microneedling Of The Scalp")

    def test_experts_of_a_source(self, client: TestClient) -> None:
        body = client.get("/v1/sources/scalp-serums-and-at-home-microneedling").json()
        assert len(body["experts"]) == 5 and body["quote_count"] == 15
        assert client.get("/v1/sources?expert=natasha-jay").json()["items"][0]["slug"] == ZOE


class TestHealth:
    def test_healthz(self, client: TestClient) -> None:
        assert client.get("/healthz").json() == {"status": "ok"}

    def test_openapi_and_docs(self, client: TestClient) -> None:
        spec = client.get("/openapi.json").json()
        assert "/v1/procedures/{slug}/side-effects" in spec["paths"]
        assert client.get("/docs").status_code == 200

    def test_unknown_path_and_method_are_problems(self, client: TestClient) -> None:
        r = client.get("/v1/nothing-here")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        r = client.delete("/v1/procedures")
        assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"


class TestNumbersOutOfRange:
    def test_quote_id_beyond_32_bits_or_unicode_digits_is_404(self, client: TestClient) -> None:
        assert client.get("/v1/quotes/99999999999999999999").status_code == 404
        assert client.get("/v1/quotes/\u00b2").status_code == 404
