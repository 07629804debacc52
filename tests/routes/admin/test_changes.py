"""The changes feed (/v1/changes): what the public could see change, recorded by every edit."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session

from api.kb import changes
from models import Change, ChangeHorizon
from models.base import utcnow
from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import DOCUMENTS, SOURCE

SOURCE_URL = f"/v1/admin/sources/{SOURCE}"


def revision(session: Session) -> int:
    """The knowledge-base revision now (drafts bump it too)."""
    return changes.current_revision(session)


def feed(client: TestClient, since: int, **params: object) -> dict:
    r = client.get("/v1/changes", params={"since": since, **params})
    assert r.status_code == 200, r.text
    return r.json()


def step(admin: Admin, method: str, suffix: str = "", **kwargs: object) -> None:
    headers = {"If-Match": admin.etag(SOURCE_URL)}
    r = admin.request(method, SOURCE_URL + suffix, headers=headers, **kwargs)
    assert r.status_code == 200, r.text


def publish_edit_unpublish_delete(editor: Admin, publisher: Admin) -> None:
    assert editor.post("/v1/admin/sources", json=DOCUMENTS["sources"]).status_code == 201
    step(editor, "PATCH", json={"title": "A draft's edit"})
    step(publisher, "POST", "/publish")
    step(editor, "PATCH", json={"title": "Edited"})
    step(publisher, "POST", "/publish")
    step(publisher, "POST", "/unpublish")
    step(publisher, "DELETE")


class TestChanges:
    def test_lists_what_the_public_saw_change_in_order(
        self, client: TestClient, session: Session, editor: Admin, publisher: Admin
    ) -> None:
        start = revision(session)
        publish_edit_unpublish_delete(editor, publisher)
        body = feed(client, start)
        # Creating a draft and editing it (or a pending edit) are not changes: nobody saw them.
        assert [(c["type"], c["slug"], c["action"]) for c in body["items"]] == [
            ("source", SOURCE, "published"),
            ("source", SOURCE, "updated"),
            ("source", SOURCE, "unpublished"),
        ]
        revisions = [c["revision"] for c in body["items"]]
        assert revisions == sorted(set(revisions)) and revisions[0] > start
        assert body["revision"] == revisions[-1]
        assert body["items"][0]["url"] == f"/v1/sources/{SOURCE}"
        assert feed(client, body["revision"])["items"] == []
        assert [c["action"] for c in feed(client, revisions[0])["items"]] == [
            "updated",
            "unpublished",
        ]

    def test_deleting_a_published_entry_leaves_a_tombstone(
        self, client: TestClient, session: Session, editor: Admin, publisher: Admin
    ) -> None:
        start = revision(session)
        assert editor.post("/v1/admin/sources", json=DOCUMENTS["sources"]).status_code == 201
        step(publisher, "POST", "/publish")
        step(publisher, "DELETE")
        actions = [c["action"] for c in feed(client, start)["items"]]
        assert actions == ["published", "deleted"]

    def test_pages_oldest_first_with_next(
        self, client: TestClient, session: Session, editor: Admin, publisher: Admin
    ) -> None:
        start = revision(session)
        publish_edit_unpublish_delete(editor, publisher)
        first = client.get("/v1/changes", params={"since": start, "limit": 2})
        assert first.status_code == 200
        assert len(first.json()["items"]) == 2 and first.json()["next"]
        assert first.headers["Link"] == f'<{first.json()["next"]}>; rel="next"'
        second = client.get(first.json()["next"]).json()
        assert [c["action"] for c in second["items"]] == ["unpublished"]
        assert second["next"] is None

    def test_a_draft_changes_no_answer(self, client: TestClient, editor: Admin) -> None:
        before = client.get("/v1/changes", params={"since": 0})
        assert editor.post("/v1/admin/sources", json=DOCUMENTS["sources"]).status_code == 201
        after = client.get("/v1/changes", params={"since": 0})
        assert after.content == before.content

    def test_is_cached_like_every_public_read(self, client: TestClient) -> None:
        r = client.get("/v1/changes", params={"since": 0})
        assert r.headers["ETag"] and "max-age" in r.headers["Cache-Control"]
        again = client.get(
            "/v1/changes", params={"since": 0}, headers={"If-None-Match": r.headers["ETag"]}
        )
        assert again.status_code == 304

    def test_since_must_be_a_revision(self, client: TestClient) -> None:
        for since in ("-1", "abc", "1.5", str(2**64)):
            r = client.get("/v1/changes", params={"since": since})
            assert r.status_code == 422, (since, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        r = client.get("/v1/changes", params={"cursor": "eHl6"})
        assert r.status_code == 422

    def test_older_than_what_is_kept_is_gone(
        self, client: TestClient, session: Session, editor: Admin, publisher: Admin
    ) -> None:
        start = revision(session)
        assert editor.post("/v1/admin/sources", json=DOCUMENTS["sources"]).status_code == 201
        step(publisher, "POST", "/publish")
        published = feed(client, start)["items"][0]["revision"]
        # The publish was made 91 days ago; the next change prunes it.
        session.execute(update(Change).values(at=utcnow() - timedelta(days=91)))
        session.commit()
        step(publisher, "POST", "/unpublish")
        assert session.get(ChangeHorizon, 1).revision == published  # type: ignore[union-attr]
        r = client.get("/v1/changes", params={"since": start})
        assert r.status_code == 410, r.text
        assert "resync" in r.json()["detail"]
        assert [c["action"] for c in feed(client, published)["items"]] == ["unpublished"]


class TestWhatIsRecorded:
    def test_a_cascade_records_each_entry_it_deleted_or_changed(
        self, client: TestClient, session: Session, publisher: Admin
    ) -> None:
        start = revision(session)
        entry = "/v1/admin/procedures/at-home-derma-roller"
        r = publisher.delete(
            entry, params={"cascade": "true"}, headers={"If-Match": publisher.etag(entry)}
        )
        assert r.status_code == 200, r.text
        items = feed(client, start, limit=100)["items"]
        seen = {(c["type"], c["slug"], c["action"]) for c in items}
        assert ("procedure", "at-home-derma-roller", "deleted") in seen
        assert ("side_effect", "redness", "updated") in seen
        assert {name.split("/")[1] for name in r.json()["changed"]} == {
            slug for _, slug, action in seen if action == "updated"
        }

    def test_an_import_records_what_it_published_and_changed(
        self, client: TestClient, session: Session, publisher: Admin
    ) -> None:
        from api.kb.bulk import export

        start = revision(session)
        data = export(session)
        data["sources"].append(DOCUMENTS["sources"])
        data["conditions"][0]["description"] = "Changed by an import."
        assert publisher.post("/v1/admin/import", json=data).status_code == 200
        seen = [(c["type"], c["slug"], c["action"]) for c in feed(client, start)["items"]]
        assert sorted(seen) == [
            ("condition", data["conditions"][0]["slug"], "updated"),
            ("source", SOURCE, "published"),
        ]
