"""What the web app asks first: the key's role, and every collection with its document schema."""

from fastapi.testclient import TestClient

from api.kb.editing import COLLECTIONS
from tests.routes.admin.conftest import Admin


class TestWhoAmI:
    def test_names_the_key_and_its_role(self, editor: Admin, admin: Admin) -> None:
        assert editor.get("/v1/admin/whoami").json() == {"name": "editor-key", "role": "editor"}
        assert admin.get("/v1/admin/whoami").json() == {"name": "admin-key", "role": "admin"}

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        r = client.get("/v1/admin/whoami")
        assert r.status_code == 401 and "www-authenticate" in r.headers


class TestCollections:
    def test_every_collection_with_its_create_schema(self, editor: Admin) -> None:
        r = editor.get("/v1/admin/collections")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        listed = {c["name"]: c for c in r.json()}
        assert list(listed) == list(COLLECTIONS)
        side_effects = listed["side-effects"]
        assert side_effects["kind"] == "side_effect"
        schema = side_effects["document_schema"]
        assert schema == COLLECTIONS["side-effects"].create.model_json_schema()
        assert {"slug", "name", "procedures"} <= set(schema["properties"])
