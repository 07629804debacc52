"""Admin writes of topics and positions: what a topic's answer type allows, and what a position
may quote; publishing waits for its topic."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import DOCUMENTS, SOURCE, cite, create_all

NUMERIC_TOPIC = "needle-length"
ARTICLE = "scalp-serums-and-at-home-microneedling"


def position(**changes: Any) -> dict[str, Any]:
    """A valid position on the seed's needle-length topic, changed as given."""
    return {
        "slug": "needle-length-test",
        "topic": NUMERIC_TOPIC,
        "source": ARTICLE,
        "statement": "At-home rollers are 0.1 mm deep.",
        "value": {"min": 0.1, "max": 0.1, "unit": "mm"},
        "procedure": "at-home-derma-roller",
        "evidence": "article",
        "citations": [{"source": ARTICLE, "excerpt": "At-home rollers are only 0.1 millimeter"}],
    } | changes


def refused(admin: Admin, url: str, document: dict[str, Any]) -> list[str]:
    r = admin.post(url, json=document)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return [".".join(str(p) for p in e["loc"][1:]) for e in r.json()["errors"]]


class TestTopic:
    def test_create_patch_publish(self, client: TestClient, publisher: Admin) -> None:
        create_all(publisher, upto="topics")
        url = f"/v1/admin/topics/{DOCUMENTS['topics']['slug']}"
        assert client.get("/v1/topics/test-roller-care").status_code == 404
        r = publisher.patch(
            url,
            json={"agreement": "differ", "agreement_note": "Only one source speaks to it."},
            headers={"If-Match": '"1"'},
        )
        assert r.status_code == 200, r.text
        r = publisher.post(url + "/publish", headers={"If-Match": '"2"'})
        assert r.status_code == 200, r.text
        public = client.get("/v1/topics/test-roller-care").json()
        assert public["agreement"] == "differ" and public["agreement_derived"] is False
        assert public["sources"] == 0 and public["procedures"] == ["scalp-microneedling"]

    def test_agreement_only_with_a_note(self, editor: Admin) -> None:
        document = DOCUMENTS["topics"] | {"agreement": "agree"}
        r = editor.post("/v1/admin/topics", json=document)
        assert r.status_code == 422 and "agreement_note" in r.text

    def test_a_numeric_topic_needs_a_unit(self, editor: Admin) -> None:
        r = editor.post("/v1/admin/topics", json=DOCUMENTS["topics"] | {"answer_type": "numeric"})
        assert r.status_code == 422 and "unit" in r.text

    def test_unknown_procedure_is_named(self, editor: Admin) -> None:
        document = DOCUMENTS["topics"] | {"procedures": ["no-such-procedure"]}
        assert refused(editor, "/v1/admin/topics", document) == ["procedures.0"]


class TestPosition:
    def test_create_and_publish_after_its_topic(self, client: TestClient, publisher: Admin) -> None:
        create_all(publisher)
        url = f"/v1/admin/positions/{DOCUMENTS['positions']['slug']}"
        for entry in ("sources/" + SOURCE, "experts/jane-roe"):
            tag = publisher.etag(f"/v1/admin/{entry}")
            assert (
                publisher.post(f"/v1/admin/{entry}/publish", headers={"If-Match": tag}).status_code
                == 200
            )
        r = publisher.post(url + "/publish", headers={"If-Match": '"1"'})
        assert r.status_code == 409 and r.json()["unpublished"] == ["topics/test-roller-care"]
        topic = "/v1/admin/topics/test-roller-care"
        assert publisher.post(topic + "/publish", headers={"If-Match": '"1"'}).status_code == 200
        assert publisher.post(url + "/publish", headers={"If-Match": '"1"'}).status_code == 200
        public = client.get("/v1/topics/test-roller-care").json()
        assert [p["slug"] for p in public["positions"]] == ["test-roller-care-roe"]
        assert public["agreement"] == "agree" and public["agreement_derived"] is True

    def test_patch_a_value(self, client: TestClient, publisher: Admin) -> None:
        r = publisher.post("/v1/admin/positions", json=position())
        assert r.status_code == 201, r.text
        url = "/v1/admin/positions/needle-length-test"
        r = publisher.patch(
            url, json={"value": {"min": 0.1, "max": 0.2, "unit": "mm"}}, headers={"If-Match": '"1"'}
        )
        assert r.status_code == 200 and r.json()["document"]["value"]["max"] == 0.2
        assert publisher.post(url + "/publish", headers={"If-Match": '"2"'}).status_code == 200
        topic = client.get(f"/v1/topics/{NUMERIC_TOPIC}").json()
        assert {"min": 0.1, "max": 0.2, "unit": "mm"} in [p["value"] for p in topic["positions"]]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"value": {"min": 1, "max": 2, "unit": "cm"}}, "value.unit"),
            ({"value": None, "answer": "yes"}, "answer"),
            (
                {"citations": cite("Scalp tingling is common after needling.")},
                "citations.0.source",
            ),
            (
                {"citations": [{"source": ARTICLE, "excerpt": "Words the article never says."}]},
                "citations.0.excerpt",
            ),
            (
                {
                    "commercial_interest": {
                        "statement": "It sells rollers.",
                        "citations": cite("Scalp tingling is common after needling."),
                    }
                },
                "commercial_interest.citations.0.source",
            ),
            ({"procedure": "microneedling-with-prp"}, "procedure"),
            ({"topic": "no-such-topic"}, "topic"),
            ({"expert": "no-such-expert", "evidence": "expert"}, "expert"),
        ],
    )
    def test_refused_naming_the_field(
        self, publisher: Admin, changes: dict[str, Any], field: str
    ) -> None:
        create_all(publisher, upto="sources")
        assert field in refused(publisher, "/v1/admin/positions", position(**changes))

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"value": {"min": 2, "max": 1, "unit": "mm"}}, "value"),
            ({"evidence": "expert"}, ""),
            ({"citations": []}, "citations"),
        ],
    )
    def test_shape_errors_are_422(
        self, publisher: Admin, changes: dict[str, Any], field: str
    ) -> None:
        assert field in refused(publisher, "/v1/admin/positions", position(**changes))

    def test_a_text_topics_position_has_no_value(self, publisher: Admin) -> None:
        document = position(topic="pregnancy", procedure=None)
        assert "value" in refused(publisher, "/v1/admin/positions", document)

    def test_deleting_a_topic_with_positions_is_409(self, publisher: Admin) -> None:
        url = f"/v1/admin/topics/{NUMERIC_TOPIC}"
        r = publisher.delete(url, headers={"If-Match": publisher.etag(url)})
        assert r.status_code == 409 and "positions/needle-length-000-at-home-roller" in r.text
