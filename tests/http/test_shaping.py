"""`?include=` embeds related entities (depth-capped); `?fields=` trims what comes back."""

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from models import SideEffect

GENERAL = "scalp-microneedling"


class TestInclude:
    def test_a_procedure_with_its_relations_in_one_response(self, client: TestClient) -> None:
        r = client.get(
            f"/v1/procedures/{GENERAL}",
            params={"include": "side_effects,contraindications,ingredients,quotes"},
        )
        assert r.status_code == 200
        body = r.json()
        assert body["slug"] == GENERAL and body["steps"]
        included = body["included"]
        assert set(included) == {"side_effects", "contraindications", "ingredients", "quotes"}
        listed = client.get(f"/v1/procedures/{GENERAL}/side-effects").json()["items"]
        assert included["side_effects"] == listed
        for name in included:
            assert included[name] and all(item["citations"] for item in included[name])

    def test_nested_paths_embed_at_each_level(self, client: TestClient) -> None:
        body = client.get(
            f"/v1/procedures/{GENERAL}", params={"include": "quotes.expert,ingredients"}
        ).json()
        quote = body["included"]["quotes"][0]
        expert = quote["included"]["expert"]
        assert expert["slug"] == quote["expert"] and expert["citations"]
        assert "included" not in body["included"]["ingredients"][0]

    def test_other_kinds_embed_too(self, client: TestClient) -> None:
        ingredient = client.get(
            "/v1/ingredients/minoxidil", params={"include": "procedures,side_effects"}
        ).json()
        assert "microneedling-with-minoxidil" in {
            p["slug"] for p in ingredient["included"]["procedures"]
        }
        quote = client.get("/v1/quotes/1", params={"include": "source"}).json()
        assert quote["included"]["source"]["slug"] == quote["source"]
        expert = client.get("/v1/experts/bertha-baum", params={"include": "quotes"}).json()
        assert len(expert["included"]["quotes"]) == expert["quote_count"]

    def test_embedded_entities_hide_drafts(self, client: TestClient, session: Session) -> None:
        session.execute(
            update(SideEffect).where(col(SideEffect.slug) == "redness").values(status="draft")
        )
        body = client.get(f"/v1/procedures/{GENERAL}", params={"include": "side_effects"}).json()
        assert "redness" not in {s["slug"] for s in body["included"]["side_effects"]}

    def test_deeper_than_the_cap_is_422(self, client: TestClient) -> None:
        r = client.get(f"/v1/procedures/{GENERAL}", params={"include": "quotes.expert.quotes"})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"] == ["query", "include"]

    def test_an_unknown_relation_is_422_naming_include(self, client: TestClient) -> None:
        for include in ("sideeffects", "quotes.author", "side_effects,nope"):
            r = client.get(f"/v1/procedures/{GENERAL}", params={"include": include})
            assert r.status_code == 422, include
            assert r.json()["errors"][0]["loc"] == ["query", "include"]

    def test_without_include_nothing_is_embedded(self, client: TestClient) -> None:
        assert "included" not in client.get(f"/v1/procedures/{GENERAL}").json()


class TestFields:
    def test_a_detail_keeps_only_the_named_fields_and_slug(self, client: TestClient) -> None:
        body = client.get(f"/v1/procedures/{GENERAL}", params={"fields": "name,setting"}).json()
        assert body == {"slug": GENERAL, "name": "Scalp microneedling", "setting": "any"}

    def test_each_item_of_a_list_is_trimmed(self, client: TestClient) -> None:
        r = client.get("/v1/side-effects", params={"fields": "name", "limit": 3})
        body = r.json()
        assert body["total"] > 3 and body["next"]
        assert all(set(i) == {"slug", "name"} for i in body["items"])
        assert r.headers["link"] == f'<{body["next"]}>; rel="next"'

    def test_fields_and_include_combine(self, client: TestClient) -> None:
        body = client.get(
            f"/v1/procedures/{GENERAL}", params={"include": "conditions", "fields": "included"}
        ).json()
        assert set(body) == {"slug", "included"} and body["included"]["conditions"]

    def test_an_unknown_field_is_422_naming_fields(self, client: TestClient) -> None:
        r = client.get(f"/v1/procedures/{GENERAL}", params={"fields": "name,colour"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "fields"]
        r = client.get("/v1/side-effects", params={"fields": "name;drop"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "fields"]

    def test_trimmed_answers_have_their_own_etag(self, client: TestClient) -> None:
        full = client.get("/v1/sources").headers["etag"]
        trimmed = client.get("/v1/sources", params={"fields": "title"})
        assert trimmed.headers["etag"] != full
        again = client.get(
            "/v1/sources",
            params={"fields": "title"},
            headers={"If-None-Match": trimmed.headers["etag"]},
        )
        assert again.status_code == 304
