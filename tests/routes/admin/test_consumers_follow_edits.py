"""Edits through the admin API reach search and HTTP caches in the same transaction."""

from fastapi.testclient import TestClient

from tests.routes.admin.conftest import Admin

ENTRY = "/v1/admin/side-effects/itching"
PUBLIC = "/v1/side-effects/itching"


def search(client: TestClient, q: str) -> list[str]:
    return [h["slug"] for h in client.get("/v1/search", params={"q": q}).json()["items"]]


class TestEditsReachConsumers:
    def test_a_pending_edit_is_not_searchable_until_published(
        self, client: TestClient, editor: Admin, publisher: Admin
    ) -> None:
        etag = client.get(PUBLIC).headers["etag"]
        r = editor.patch(
            ENTRY, json={"aliases": ["pruritus"]}, headers={"If-Match": editor.etag(ENTRY)}
        )
        assert r.status_code == 200, r.text
        assert "itching" not in search(client, "pruritus")
        assert client.get(PUBLIC, headers={"If-None-Match": etag}).status_code == 304

        r = publisher.post(ENTRY + "/publish", headers={"If-Match": publisher.etag(ENTRY)})
        assert r.status_code == 200, r.text
        assert search(client, "pruritus") == ["itching"]
        fresh = client.get(PUBLIC, headers={"If-None-Match": etag})
        assert fresh.status_code == 200 and "pruritus" in fresh.json()["aliases"]

    def test_unpublishing_takes_it_out_of_search(
        self, client: TestClient, publisher: Admin
    ) -> None:
        assert "itching" in search(client, "itching")
        r = publisher.post(ENTRY + "/unpublish", headers={"If-Match": publisher.etag(ENTRY)})
        assert r.status_code == 200, r.text
        assert "itching" not in search(client, "itching")

    def test_admin_answers_carry_no_public_cache_headers(self, editor: Admin) -> None:
        r = editor.get(ENTRY)
        assert r.headers["cache-control"] == "no-store"
        assert "public" not in r.headers["cache-control"]
