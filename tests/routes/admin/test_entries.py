"""Creating, editing, publishing and deleting entries of every collection, and the refusals."""

import copy

import pytest
from fastapi.testclient import TestClient

from api.kb.editing import COLLECTIONS as KINDS
from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import COLLECTIONS, DOCUMENTS, EDITS, SOURCE, create_all

PROBLEM = "application/problem+json"


def normal(collection: str, document: dict) -> dict:
    """A document as the API stores and shows it (defaults filled in)."""
    return KINDS[collection].create.model_validate(document).model_dump(mode="json")


def url(collection: str, slug: str | None = None) -> str:
    return f"/v1/admin/{collection}" + (f"/{slug}" if slug else "")


@pytest.mark.parametrize("collection", COLLECTIONS)
class TestLifecycle:
    def test_create_edit_publish_unpublish_delete(
        self, client: TestClient, editor: Admin, publisher: Admin, collection: str
    ) -> None:
        create_all(publisher, upto=collection)
        slug = DOCUMENTS[collection]["slug"]
        entry = editor.get(url(collection, slug))
        assert entry.json()["status"] == "draft" and entry.headers["ETag"] == '"1"'
        assert entry.json()["document"] == normal(collection, DOCUMENTS[collection])

        edited = editor.patch(
            url(collection, slug), json=EDITS[collection], headers={"If-Match": '"1"'}
        )
        assert edited.status_code == 200, edited.text
        assert edited.headers["ETag"] == '"2"' and edited.headers["Cache-Control"] == "no-store"
        expected = normal(collection, DOCUMENTS[collection] | EDITS[collection])
        assert edited.json()["document"] == expected

        needs = {
            "sources": (),
            "topics": (),  # it points at published procedures only
            "quotes": ("sources", "experts"),
            "positions": ("sources", "experts", "topics"),
        }.get(collection, ("sources",))
        if needs:
            # Publishing needs what the entry points at published first.
            r = publisher.post(url(collection, slug) + "/publish", headers={"If-Match": '"2"'})
            assert r.status_code == 409 and SOURCE in r.json()["detail"]
            for c in needs:
                target = DOCUMENTS[c]["slug"]
                tag = publisher.etag(url(c, target))
                assert (
                    publisher.post(
                        url(c, target) + "/publish", headers={"If-Match": tag}
                    ).status_code
                    == 200
                )
        published = publisher.post(url(collection, slug) + "/publish", headers={"If-Match": '"2"'})
        assert published.status_code == 200, published.text
        assert published.json()["status"] == "published" and published.headers["ETag"] == '"3"'

        withdrawn = publisher.post(
            url(collection, slug) + "/unpublish", headers={"If-Match": '"3"'}
        )
        if collection == "sources":
            assert withdrawn.status_code == 200
        assert withdrawn.json()["status"] == "archived"

        gone = publisher.delete(url(collection, slug), headers={"If-Match": '"4"'})
        assert gone.status_code == 200, gone.text
        assert gone.json()["deleted"] == [f"{collection}/{slug}"]
        assert editor.get(url(collection, slug)).status_code == 404
        # The history outlives the entry: its last document can be posted again.
        history = editor.get(url(collection, slug) + "/revisions").json()
        assert [h["action"] for h in history] == [
            "create",
            "update",
            "publish",
            "unpublish",
            "delete",
        ]
        assert history[-2]["document"] == expected

    def test_editing_a_published_entry_keeps_the_public_version(
        self, client: TestClient, editor: Admin, publisher: Admin, collection: str
    ) -> None:
        slug = {
            "sources": "microneedling-of-the-scalp",
            "experts": "bertha-baum",
            "procedures": "at-home-derma-roller",
            "side-effects": "redness",
            "contraindications": "eczema",
            "ingredients": "minoxidil",
            "conditions": "alopecia-areata",
            "quotes": "baum-scalp-health-role",
            "topics": "device-cleaning",
            "positions": "device-cleaning-002-roller",
        }[collection]
        public = client.get(f"/v1/{collection}/{slug}").json()
        field, value = next(iter(EDITS[collection].items()))
        tag = editor.etag(url(collection, slug))
        r = editor.patch(url(collection, slug), json={field: value}, headers={"If-Match": tag})
        assert r.status_code == 200, r.text
        assert r.json()["pending_edit"] and r.json()["document"][field] == value
        assert r.json()["published_document"][field] != value
        assert client.get(f"/v1/{collection}/{slug}").json() == public

        tag = r.headers["ETag"]
        assert (
            publisher.post(
                url(collection, slug) + "/publish", headers={"If-Match": tag}
            ).status_code
            == 200
        )
        now = client.get(f"/v1/{collection}/{slug}").json()
        assert now.get(field, value) == value and now != public or collection == "quotes"
        assert editor.get(url(collection, slug)).json()["pending_edit"] is False


class TestAdminList:
    def test_drafts_are_listed_and_filtered_by_status(self, editor: Admin) -> None:
        create_all(editor, upto="conditions")
        listed = editor.get("/v1/admin/conditions", params={"limit": 100}).json()
        assert listed["total"] == 5
        drafts = editor.get("/v1/admin/conditions", params={"status": "draft"}).json()["items"]
        assert [(d["slug"], d["status"], d["version"]) for d in drafts] == [
            ("thinning-crowns", "draft", 1)
        ]

    def test_pages_follow_next_links(self, editor: Admin) -> None:
        seen, next_url = [], "/v1/admin/side-effects?limit=10"
        while next_url:
            page = editor.get(next_url).json()
            seen += [i["slug"] for i in page["items"]]
            next_url = page["next"]
        assert len(seen) == len(set(seen)) == editor.get("/v1/admin/side-effects").json()["total"]


class TestCreate:
    def test_slug_clash_is_409(self, editor: Admin) -> None:
        doc = {**DOCUMENTS["sources"], "slug": "microneedling-of-the-scalp"}
        r = editor.post("/v1/admin/sources", json=doc)
        assert r.status_code == 409 and r.headers["content-type"] == PROBLEM

    def test_unknown_field_is_422_naming_it(self, editor: Admin) -> None:
        r = editor.post("/v1/admin/sources", json={**DOCUMENTS["sources"], "author": "me"})
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        assert r.json()["errors"][0]["loc"] == ["body", "author"]

    def test_too_long_is_422_naming_it(self, editor: Admin) -> None:
        r = editor.post("/v1/admin/sources", json={**DOCUMENTS["sources"], "title": "x" * 301})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "title"]

    @pytest.mark.parametrize(
        ("collection", "field", "value", "loc"),
        [
            ("conditions", "aliases", ["x" * 301], ["aliases", 0]),
            ("conditions", "aliases", ["a"] * 21, ["aliases"]),
            ("experts", "credentials", [""], ["credentials", 0]),
            ("quotes", "topics", ["Not A Tag"], ["topics", 0]),
            ("sources", "url", "javascript:alert(1)", ["url"]),
            ("sources", "text", "", ["text"]),
        ],
    )
    def test_every_value_is_bounded(
        self, editor: Admin, collection: str, field: str, value: object, loc: list
    ) -> None:
        create_all(editor, upto="experts")
        doc = {**DOCUMENTS[collection], "slug": "another-one", field: value}
        r = editor.post(f"/v1/admin/{collection}", json=doc)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", *loc]

    @pytest.mark.parametrize(
        ("collection", "field", "value", "loc"),
        [
            ("sources", "title", "A test\x00article", ["title"]),
            ("experts", "credentials", ["MD", "F\x00AAD"], ["credentials", 1]),
            (
                "procedures",
                "citations",
                [{"source": SOURCE, "excerpt": "\x00"}],
                ["citations", 0, "excerpt"],
            ),
        ],
    )
    def test_nul_in_a_text_is_422_naming_it_and_nothing_is_written(
        self, editor: Admin, collection: str, field: str, value: object, loc: list
    ) -> None:
        """PostgreSQL cannot store NUL; both databases refuse it alike, before any write."""
        create_all(editor, upto="experts")
        doc = {**DOCUMENTS[collection], "slug": "with-a-nul", field: value}
        r = editor.post(f"/v1/admin/{collection}", json=doc)
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
        assert r.json()["errors"][0]["loc"] == ["body", *loc]
        assert r.json()["errors"][0]["type"] == "string_nul"
        assert editor.get(f"/v1/admin/{collection}/with-a-nul").status_code == 404

    def test_an_escaped_backslash_before_u0000_is_text_not_nul(self, editor: Admin) -> None:
        title = "A \\u0000 title"  # JSON text: a backslash, then the letters u0000
        r = editor.post("/v1/admin/sources", json={**DOCUMENTS["sources"], "title": title})
        assert r.status_code == 201, r.text
        assert r.json()["document"]["title"] == title

    def test_excerpt_not_in_the_source_is_422_naming_it(self, editor: Admin) -> None:
        create_all(editor, upto="sources")
        doc = copy.deepcopy(DOCUMENTS["side-effects"])
        doc["procedures"][0]["citations"][0]["excerpt"] = "Words the article never printed."
        r = editor.post("/v1/admin/side-effects", json=doc)
        assert r.status_code == 422
        error = r.json()["errors"][0]
        assert error["loc"] == ["body", "procedures", 0, "citations", 0, "excerpt"]
        assert "verbatim" in error["msg"]

    def test_link_to_nothing_is_422_naming_it(self, editor: Admin) -> None:
        create_all(editor, upto="sources")
        doc = copy.deepcopy(DOCUMENTS["contraindications"])
        doc["procedures"][0]["procedure"] = "no-such-procedure"
        r = editor.post("/v1/admin/contraindications", json=doc)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "procedures", 0, "procedure"]

    def test_a_new_source_can_be_cited_at_once(self, editor: Admin, client: TestClient) -> None:
        create_all(editor, upto="side-effects")
        assert editor.get("/v1/admin/side-effects/scalp-tingling").json()["status"] == "draft"
        assert client.get("/v1/side-effects/scalp-tingling").status_code == 404

    def test_idempotency_key_replays_and_refuses_another_body(self, editor: Admin) -> None:
        headers = {"Idempotency-Key": "create-source-1"}
        first = editor.post("/v1/admin/sources", json=DOCUMENTS["sources"], headers=headers)
        again = editor.post("/v1/admin/sources", json=DOCUMENTS["sources"], headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        other = {**DOCUMENTS["sources"], "title": "Another"}
        r = editor.post("/v1/admin/sources", json=other, headers=headers)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"][0] == "header"
        assert len(editor.get("/v1/admin/sources/a-test-article/revisions").json()) == 1


class TestPatch:
    ENTRY = "/v1/admin/side-effects/redness"

    def test_without_if_match_is_428(self, editor: Admin) -> None:
        r = editor.patch(self.ENTRY, json={"name": "Red"})
        assert r.status_code == 428 and r.headers["content-type"] == PROBLEM

    def test_stale_if_match_is_412_with_the_current_version(self, editor: Admin) -> None:
        assert (
            editor.patch(self.ENTRY, json={"name": "Red"}, headers={"If-Match": '"1"'}).status_code
            == 200
        )
        r = editor.patch(self.ENTRY, json={"name": "Redder"}, headers={"If-Match": '"1"'})
        assert r.status_code == 412
        assert r.json()["current_version"] == 2 and r.headers["ETag"] == '"2"'
        assert editor.get(self.ENTRY).json()["document"]["name"] == "Red"

    @pytest.mark.parametrize("tag", ['W/"1"', '"one"'])
    def test_a_tag_that_names_no_version_is_412(self, editor: Admin, tag: str) -> None:
        assert (
            editor.patch(self.ENTRY, json={"name": "Red"}, headers={"If-Match": tag}).status_code
            == 412
        )

    def test_unknown_slug_is_404(self, editor: Admin) -> None:
        r = editor.patch(
            "/v1/admin/side-effects/nope", json={"name": "x"}, headers={"If-Match": '"1"'}
        )
        assert r.status_code == 404

    def test_unknown_field_and_slug_change_are_422(self, editor: Admin) -> None:
        for body, loc in (
            ({"colour": "red"}, ["body", "colour"]),
            ({"slug": "red"}, ["body", "slug"]),
        ):
            r = editor.patch(self.ENTRY, json=body, headers={"If-Match": '"1"'})
            assert r.status_code == 422 and r.json()["errors"][0]["loc"] == loc
        assert editor.get(self.ENTRY).headers["ETag"] == '"1"'

    def test_a_parent_loop_is_422_naming_parent(self, editor: Admin) -> None:
        entry = "/v1/admin/procedures/scalp-microneedling"
        body = {"parent": "at-home-derma-roller", "kind": "variant"}
        r = editor.patch(entry, json=body, headers={"If-Match": '"1"'})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "parent"]

    def test_editing_back_to_the_published_document_drops_the_pending_edit(
        self, editor: Admin
    ) -> None:
        r = editor.patch(self.ENTRY, json={"name": "Red"}, headers={"If-Match": '"1"'})
        assert r.json()["pending_edit"]
        r = editor.patch(self.ENTRY, json={"name": "Redness"}, headers={"If-Match": '"2"'})
        assert not r.json()["pending_edit"]


class TestDelete:
    def test_referenced_entry_is_409_naming_what_refers_to_it(self, publisher: Admin) -> None:
        tag = publisher.etag("/v1/admin/procedures/at-home-derma-roller")
        r = publisher.delete("/v1/admin/procedures/at-home-derma-roller", headers={"If-Match": tag})
        assert r.status_code == 409
        assert "side-effects/redness" in r.json()["referenced_by"]
        assert publisher.get("/v1/admin/procedures/at-home-derma-roller").status_code == 200

    def test_cascade_takes_the_references_out(self, publisher: Admin, client: TestClient) -> None:
        tag = publisher.etag("/v1/admin/procedures/at-home-derma-roller")
        r = publisher.delete(
            "/v1/admin/procedures/at-home-derma-roller",
            params={"cascade": "true"},
            headers={"If-Match": tag},
        )
        assert r.status_code == 200, r.text
        assert "side-effects/redness" in r.json()["changed"]
        redness = publisher.get("/v1/admin/side-effects/redness").json()["document"]
        assert "at-home-derma-roller" not in {p["procedure"] for p in redness["procedures"]}
        assert client.get("/v1/procedures/at-home-derma-roller").status_code == 404
        assert client.get("/v1/side-effects/redness").status_code == 200

    def test_cascade_deletes_a_source_with_what_cannot_stand_without_it(
        self, publisher: Admin
    ) -> None:
        create_all(publisher)
        tag = publisher.etag(f"/v1/admin/sources/{SOURCE}")
        r = publisher.delete(f"/v1/admin/sources/{SOURCE}?cascade=true", headers={"If-Match": tag})
        assert r.status_code == 200, r.text
        entries = {c: f"{c}/{d['slug']}" for c, d in DOCUMENTS.items()}
        # Entries whose own citations all quote the source go; terms lose the links citing it.
        gone = {"sources", "experts", "procedures", "quotes", "positions"}
        untouched = {"topics"}  # it cites nothing; the procedure it concerns stays
        assert set(r.json()["deleted"]) == {entries[c] for c in gone}
        assert set(r.json()["changed"]) == {
            e for c, e in entries.items() if c not in gone | untouched
        }
        term = publisher.get("/v1/admin/side-effects/scalp-tingling").json()
        assert term["document"]["procedures"] == []

    def test_stale_and_missing_if_match(self, publisher: Admin) -> None:
        entry = "/v1/admin/conditions/alopecia-areata"
        assert publisher.delete(entry).status_code == 428
        assert publisher.delete(entry, headers={"If-Match": '"7"'}).status_code == 412
        assert publisher.get(entry).status_code == 200
