"""Rules every way of changing the knowledge base keeps: an import publishes only what publish
would, and a source's text keeps every excerpt cited from it."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.kb.bulk import export
from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import DOCUMENTS, SOURCE, TEXT, create_all

SIDE_EFFECT = DOCUMENTS["side-effects"]
TINGLING = "Scalp tingling is common after needling."


def new_side_effect_of(procedure: str) -> dict[str, Any]:
    link = {**SIDE_EFFECT["procedures"][0], "procedure": procedure}
    return {**SIDE_EFFECT, "slug": "tingling-of-a-draft", "procedures": [link]}


def publish(c: Admin, entry: str) -> Any:
    return c.post(f"{entry}/publish", headers={"If-Match": c.etag(entry)})


class TestImportPublishesOnlyWhatPublishWould:
    def setup_drafts(self, publisher: Admin) -> None:
        """A published source, and a draft procedure citing it."""
        create_all(publisher, upto="procedures")
        assert publish(publisher, f"/v1/admin/sources/{SOURCE}").status_code == 200

    def test_a_new_entry_linked_to_a_draft_is_refused(
        self, client: TestClient, publisher: Admin
    ) -> None:
        self.setup_drafts(publisher)
        document = new_side_effect_of("test-needling")
        created = publisher.post("/v1/admin/side-effects", json=document)
        assert publish(publisher, "/v1/admin/side-effects/tingling-of-a-draft").status_code == 409
        publisher.delete(
            "/v1/admin/side-effects/tingling-of-a-draft",
            headers={"If-Match": created.headers["ETag"]},
        )

        r = publisher.post("/v1/admin/import", json={"side_effects": [document]})
        assert r.status_code == 409, r.text
        assert "procedures/test-needling" in r.json()["errors"][0]["msg"]
        assert publisher.get("/v1/admin/side-effects/tingling-of-a-draft").status_code == 404
        assert client.get("/v1/side-effects/tingling-of-a-draft").status_code == 404

    def test_a_dry_run_reports_it_refused(self, publisher: Admin) -> None:
        self.setup_drafts(publisher)
        data = {"side_effects": [new_side_effect_of("test-needling")]}
        r = publisher.post("/v1/admin/import", params={"dry_run": "true"}, json=data)
        assert r.status_code == 200
        assert r.json()["created"]["side_effects"] == []
        assert any("procedures/test-needling" in p for p in r.json()["refused"])

    def test_the_same_import_may_bring_what_it_points_at(
        self, client: TestClient, publisher: Admin
    ) -> None:
        data = {
            "sources": [DOCUMENTS["sources"]],
            "procedures": [DOCUMENTS["procedures"]],
            "side_effects": [new_side_effect_of("test-needling")],
        }
        r = publisher.post("/v1/admin/import", json=data)
        assert r.status_code == 200, r.text
        assert client.get("/v1/side-effects/tingling-of-a-draft").status_code == 200


class TestSourceTextKeepsItsCitations:
    SHORTER = TEXT.replace(TINGLING + "\n", "")

    def publish_source_and_side_effect(self, publisher: Admin) -> None:
        create_all(publisher, upto="sources")
        publish(publisher, f"/v1/admin/sources/{SOURCE}")
        publisher.post("/v1/admin/side-effects", json=SIDE_EFFECT)
        assert publish(publisher, "/v1/admin/side-effects/scalp-tingling").status_code == 200

    def test_publishing_a_source_edit_that_drops_a_cited_sentence_is_409(
        self, client: TestClient, publisher: Admin
    ) -> None:
        self.publish_source_and_side_effect(publisher)
        entry = f"/v1/admin/sources/{SOURCE}"
        r = publisher.patch(entry, json={"text": self.SHORTER}, headers={"If-Match": '"2"'})
        assert r.status_code == 200, r.text  # a pending edit: nothing public changes yet
        r = publish(publisher, entry)
        assert r.status_code == 409, r.text
        assert {"entry": "side-effects/scalp-tingling", "excerpt": TINGLING} in r.json()[
            "unmatched"
        ]
        assert TINGLING in client.get(f"/v1/sources/{SOURCE}").json()["text"]

    def test_a_draft_source_cited_by_drafts_and_quotes_keeps_them_too(
        self, publisher: Admin
    ) -> None:
        create_all(publisher)  # every kind, drafts, citing the draft source
        entry = f"/v1/admin/sources/{SOURCE}"
        quoted = TEXT.replace("Keep the roller clean and dry,", "Keep it dry,")
        r = publisher.patch(entry, json={"text": quoted}, headers={"If-Match": '"1"'})
        assert r.status_code == 409
        assert [u["entry"] for u in r.json()["unmatched"]] == ["quotes/roe-keep-it-clean"]
        r = publisher.patch(entry, json={"text": self.SHORTER}, headers={"If-Match": '"1"'})
        assert r.status_code == 409
        assert {u["entry"] for u in r.json()["unmatched"]} == {
            "procedures/test-needling",
            "side-effects/scalp-tingling",
        }
        # A sentence nothing cites (once its one citer is gone) may go.
        kept = TEXT.replace("\nIt may help with thinning crowns.", "")
        r = publisher.delete("/v1/admin/conditions/thinning-crowns", headers={"If-Match": '"1"'})
        assert r.status_code == 200
        r = publisher.patch(entry, json={"text": kept}, headers={"If-Match": '"1"'})
        assert r.status_code == 200, r.text

    def test_a_pending_edit_citing_the_sentence_counts(self, publisher: Admin) -> None:
        create_all(publisher, upto="sources")
        entry = f"/v1/admin/sources/{SOURCE}"
        publish(publisher, entry)
        r = publisher.post(
            "/v1/admin/procedures/at-home-dermapen/side-effects",
            json={"side_effect": "itching", "citations": SIDE_EFFECT["procedures"][0]["citations"]},
        )
        assert r.status_code == 201, r.text
        publisher.patch(entry, json={"text": self.SHORTER}, headers={"If-Match": '"2"'})
        r = publish(publisher, entry)
        assert r.status_code == 409
        assert r.json()["unmatched"] == [
            {"entry": "side-effects/itching", "excerpt": TINGLING, "pending_edit": True}
        ]

    def test_restore_of_an_earlier_text_is_checked_alike(self, publisher: Admin) -> None:
        create_all(publisher, upto="sources")
        entry = f"/v1/admin/sources/{SOURCE}"
        publisher.patch(entry, json={"text": self.SHORTER}, headers={"If-Match": '"1"'})
        publisher.patch(entry, json={"text": TEXT}, headers={"If-Match": '"2"'})
        publisher.post("/v1/admin/side-effects", json=SIDE_EFFECT)
        r = publisher.post(f"{entry}/revisions/2/restore", headers={"If-Match": '"3"'})
        assert r.status_code == 409
        assert r.json()["unmatched"][0]["entry"] == "side-effects/scalp-tingling"

    def test_an_import_must_carry_the_fixed_citations(
        self, publisher: Admin, session: Session
    ) -> None:
        self.publish_source_and_side_effect(publisher)
        source = {**DOCUMENTS["sources"], "text": self.SHORTER}
        r = publisher.post("/v1/admin/import", json={"sources": [source]})
        assert r.status_code == 409, r.text
        assert "side-effects/scalp-tingling" in r.json()["errors"][0]["msg"]
        stored = {d["slug"]: d["text"] for d in export(session)["sources"]}
        assert TINGLING in stored[SOURCE]
        other = "Avoid needling over an open wound."
        fixed = {
            **SIDE_EFFECT,
            "procedures": [
                {
                    **SIDE_EFFECT["procedures"][0],
                    "citations": [{"source": SOURCE, "excerpt": other}],
                }
            ],
        }
        r = publisher.post("/v1/admin/import", json={"sources": [source], "side_effects": [fixed]})
        assert r.status_code == 200, r.text
        assert r.json()["changed"] == {**r.json()["changed"], "sources": [SOURCE]}
