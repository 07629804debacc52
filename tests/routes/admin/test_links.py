"""Links with their citations: listed, refused, removed; a published term changes only when
the change is published."""

from fastapi.testclient import TestClient

from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import SOURCE, cite, create_all

ADD = "/v1/admin/procedures/at-home-dermapen/side-effects"
EXCERPT = "Scalp tingling is common after needling."


def listed_for(client: TestClient, procedure: str) -> set[str]:
    items = client.get(f"/v1/procedures/{procedure}/side-effects?inherited=false").json()["items"]
    return {i["slug"] for i in items}


class TestAddLink:
    def test_lists_a_side_effect_once_published(
        self, client: TestClient, editor: Admin, publisher: Admin
    ) -> None:
        create_all(publisher, upto="sources")
        publisher.post(f"/v1/admin/sources/{SOURCE}/publish", headers={"If-Match": '"1"'})
        r = editor.post(
            ADD, json={"side_effect": "itching", "note": "Seen once.", "citations": cite(EXCERPT)}
        )
        assert r.status_code == 201, r.text
        assert r.json()["collection"] == "side-effects" and r.json()["pending_edit"]
        assert "itching" not in listed_for(client, "at-home-dermapen")
        assert (
            publisher.post(
                "/v1/admin/side-effects/itching/publish", headers={"If-Match": r.headers["ETag"]}
            ).status_code
            == 200
        )
        assert "itching" in listed_for(client, "at-home-dermapen")

    def test_the_same_link_twice_is_409(self, editor: Admin) -> None:
        r = editor.post(
            "/v1/admin/procedures/scalp-microneedling/side-effects",
            json={
                "side_effect": "redness",
                "citations": [{"source": "microneedling-of-the-scalp", "excerpt": "redness"}],
            },
        )
        assert r.status_code == 409

    def test_an_excerpt_not_in_its_source_is_422_naming_the_body_field(self, editor: Admin) -> None:
        create_all(editor, upto="sources")
        r = editor.post(ADD, json={"side_effect": "itching", "citations": cite("Never printed.")})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "citations", 0, "excerpt"]

    def test_unknown_term_is_422_and_unknown_procedure_404(self, editor: Admin) -> None:
        body = {"side_effect": "no-such-effect", "citations": cite(EXCERPT)}
        r = editor.post(ADD, json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "side_effect"]
        body["side_effect"] = "itching"
        assert editor.post("/v1/admin/procedures/nope/side-effects", json=body).status_code == 404

    def test_extra_fields_and_missing_citations_are_422(self, editor: Admin) -> None:
        r = editor.post(ADD, json={"side_effect": "itching", "citations": [], "weight": 3})
        assert r.status_code == 422
        assert {tuple(e["loc"]) for e in r.json()["errors"]} == {
            ("body", "citations"),
            ("body", "weight"),
        }

    def test_contraindication_needs_a_level_and_ingredient_a_role(self, editor: Admin) -> None:
        create_all(editor, upto="sources")
        base = "/v1/admin/procedures/at-home-dermapen"
        r = editor.post(
            base + "/contraindications",
            json={"contraindication": "isotretinoin", "citations": cite(EXCERPT)},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "level"]
        r = editor.post(
            base + "/contraindications",
            json={
                "contraindication": "isotretinoin",
                "level": "consult",
                "citations": cite(EXCERPT),
            },
        )
        assert r.status_code == 201, r.text
        r = editor.post(
            base + "/ingredients",
            json={"ingredient": "minoxidil", "role": "sometimes", "citations": cite(EXCERPT)},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "role"]

    def test_a_stale_if_match_is_412(self, editor: Admin) -> None:
        create_all(editor, upto="sources")
        body = {"side_effect": "itching", "citations": cite(EXCERPT)}
        assert editor.post(ADD, json=body, headers={"If-Match": '"9"'}).status_code == 412


class TestRemoveLink:
    URL = "/v1/admin/procedures/at-home-derma-roller/side-effects/redness"

    def test_removes_once_published(
        self, client: TestClient, editor: Admin, publisher: Admin
    ) -> None:
        r = editor.delete(
            self.URL, headers={"If-Match": editor.etag("/v1/admin/side-effects/redness")}
        )
        assert r.status_code == 200
        assert "redness" in listed_for(client, "at-home-derma-roller")
        publisher.post(
            "/v1/admin/side-effects/redness/publish", headers={"If-Match": r.headers["ETag"]}
        )
        assert "redness" not in listed_for(client, "at-home-derma-roller")

    def test_needs_if_match_and_an_existing_link(self, editor: Admin) -> None:
        assert editor.delete(self.URL).status_code == 428
        tag = {"If-Match": editor.etag("/v1/admin/side-effects/redness")}
        assert (
            editor.delete(
                "/v1/admin/procedures/at-home-dermapen/side-effects/redness", headers=tag
            ).status_code
            == 404
        )

    def test_level_narrows_which_listing_goes(self, editor: Admin) -> None:
        doc = editor.get("/v1/admin/contraindications/isotretinoin").json()["document"]
        listing = doc["procedures"][0]
        other = "consult" if listing["level"] == "avoid" else "avoid"
        url = f"/v1/admin/procedures/{listing['procedure']}/contraindications/isotretinoin"
        tag = {"If-Match": editor.etag("/v1/admin/contraindications/isotretinoin")}
        assert editor.delete(url, params={"level": other}, headers=tag).status_code == 404
        assert (
            editor.delete(url, params={"level": listing["level"]}, headers=tag).status_code == 200
        )


class TestQuoteTags:
    URL = "/v1/admin/quotes/baum-scalp-health-role/procedures"

    def test_tag_and_untag(self, editor: Admin) -> None:
        r = editor.post(self.URL, json={"procedure": "at-home-dermapen"})
        assert r.status_code == 201 and r.json()["document"]["procedures"] == ["at-home-dermapen"]
        assert editor.post(self.URL, json={"procedure": "at-home-dermapen"}).status_code == 409
        assert editor.post(self.URL, json={"procedure": "nope"}).status_code == 404
        r = editor.delete(self.URL + "/at-home-dermapen", headers={"If-Match": r.headers["ETag"]})
        assert r.status_code == 200 and r.json()["document"]["procedures"] == []
        assert not r.json()["pending_edit"]
