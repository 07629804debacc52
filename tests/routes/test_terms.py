"""/v1/side-effects, /v1/contraindications, /v1/ingredients, /v1/conditions."""

import pytest
from fastapi.testclient import TestClient

ROLLER = "at-home-derma-roller"


class TestListSideEffects:
    def test_lists_every_side_effect(self, client: TestClient) -> None:
        body = client.get("/v1/side-effects?limit=100").json()
        assert body["total"] == len(body["items"]) >= 12
        assert body["next"] is None

    def test_filter_by_procedure_includes_parent(self, client: TestClient) -> None:
        all_rows = client.get(f"/v1/side-effects?procedure={ROLLER}&limit=100").json()["items"]
        own = client.get(f"/v1/side-effects?procedure={ROLLER}&inherited=false&limit=100").json()[
            "items"
        ]
        assert {r["slug"] for r in own} < {r["slug"] for r in all_rows}
        assert "bleeding" in {r["slug"] for r in all_rows}

    def test_filter_by_source(self, client: TestClient) -> None:
        rows = client.get("/v1/side-effects?source=microneedling-of-the-scalp").json()["items"]
        assert {r["slug"] for r in rows} == {"redness", "bleeding", "skin-damage"}

    def test_filter_by_ingredient(self, client: TestClient) -> None:
        rows = client.get("/v1/side-effects?ingredient=minoxidil").json()["items"]
        assert {r["slug"] for r in rows} == {"itching", "inflammation", "burns"}

    @pytest.mark.parametrize("param", ["procedure", "source", "ingredient"])
    def test_unknown_filter_slug_is_422_naming_it(self, client: TestClient, param: str) -> None:
        r = client.get("/v1/side-effects", params={param: "nope"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", param]

    def test_limit_over_100_is_422(self, client: TestClient) -> None:
        r = client.get("/v1/side-effects?limit=101")
        assert r.status_code == 422 and "limit" in r.json()["detail"]


class TestGetSideEffect:
    def test_lists_the_procedures_it_is_listed_for(self, client: TestClient) -> None:
        body = client.get("/v1/side-effects/redness").json()
        procedures = {p["procedure"] for p in body["procedures"]}
        assert {ROLLER, "scalp-microneedling"} <= procedures
        sources = {c["source"] for p in body["procedures"] for c in p["citations"]}
        assert len(sources) >= 3

    def test_ingredient_side_effect(self, client: TestClient) -> None:
        body = client.get("/v1/side-effects/burns").json()
        assert [i["ingredient"] for i in body["ingredients"]] == ["minoxidil"]

    def test_unknown_is_404(self, client: TestClient) -> None:
        assert client.get("/v1/side-effects/unicorn-horn").status_code == 404


class TestContraindications:
    def test_level_filter(self, client: TestClient) -> None:
        consult = {
            r["slug"] for r in client.get("/v1/contraindications?level=consult").json()["items"]
        }
        avoid = {
            r["slug"]
            for r in client.get("/v1/contraindications?level=avoid&limit=100").json()["items"]
        }
        assert "diabetes" in consult and "diabetes" not in avoid
        assert "hepatitis-or-hiv" in avoid

    def test_detail_shows_both_levels_where_articles_differ(self, client: TestClient) -> None:
        body = client.get("/v1/contraindications/blood-thinners").json()
        assert {p["level"] for p in body["procedures"]} == {"avoid", "consult"}

    def test_bad_level_is_422(self, client: TestClient) -> None:
        assert client.get("/v1/contraindications?level=maybe").status_code == 422


class TestIngredients:
    def test_minoxidil_with_alias_and_uses(self, client: TestClient) -> None:
        body = client.get("/v1/ingredients/minoxidil").json()
        assert "Rogaine" in body["aliases"]
        assert "microneedling-with-minoxidil" in {p["procedure"] for p in body["procedures"]}
        assert {s["slug"] for s in body["side_effects"]} == {"itching", "inflammation", "burns"}

    def test_filters(self, client: TestClient) -> None:
        antiseptics = client.get("/v1/ingredients?kind=antiseptic").json()["items"]
        assert "povidone-iodine" in {r["slug"] for r in antiseptics}
        avoid = client.get("/v1/ingredients?role=avoid-afterwards").json()["items"]
        assert "glycolic-acid" in {r["slug"] for r in avoid}
        roller = client.get(f"/v1/ingredients?procedure={ROLLER}&inherited=false").json()["items"]
        assert {"isopropyl-alcohol-70", "rubbing-alcohol"} <= {r["slug"] for r in roller}


class TestConditions:
    def test_androgenetic_alopecia(self, client: TestClient) -> None:
        body = client.get("/v1/conditions/androgenetic-alopecia").json()
        assert "male pattern hair loss" in body["aliases"]
        assert body["procedures"] and all(p["citations"] for p in body["procedures"])

    def test_list_and_source_filter(self, client: TestClient) -> None:
        rows = client.get(
            "/v1/conditions?source=microneedling-for-hair-loss-in-office-and-at-home"
        ).json()
        assert "alopecia-areata" in {r["slug"] for r in rows["items"]}
