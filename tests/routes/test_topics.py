"""GET /v1/topics, /v1/topics/<slug>, /v1/positions/<slug>, /v1/procedures/<slug>/topics;
topics in search, stats and JSON-LD."""

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from models import Expert, Position, Source, Topic

DISPUTED = {
    "acne": "conflict",
    "aftercare-avoid": "differ",
    "at-home-effectiveness": "conflict",
    "at-home-safety": "conflict",
    "bleeding": "differ",
    "blood-thinners": "conflict",
    "eczema": "conflict",
    "effectiveness": "differ",
    "needle-length": "differ",
    "pain": "differ",
    "pen-at-home": "conflict",
    "penetration-depth": "conflict",
    "recovery-time": "differ",
    "scalp-condition": "conflict",
    "scarring-or-damage": "conflict",
    "session-duration": "differ",
    "sun-avoidance": "differ",
    "treatment-frequency": "differ",
}


def slugs(client: TestClient, url: str, **params: str) -> list[str]:
    r = client.get(url, params={"limit": "100", **params})
    assert r.status_code == 200, r.text
    return [item["slug"] for item in r.json()["items"]]


class TestListTopics:
    def test_lists_every_topic_with_agreement_and_sources(self, client: TestClient) -> None:
        body = client.get("/v1/topics", params={"limit": "100"}).json()
        assert body["total"] == 26
        needle = next(t for t in body["items"] if t["slug"] == "needle-length")
        assert needle == {
            "slug": "needle-length",
            "name": "Needle length",
            "question": "How long are the needles?",
            "answer_type": "numeric",
            "unit": "mm",
            "agreement": "differ",
            "sources": 5,
        }

    def test_disputed_are_those_the_sources_do_not_agree_on(self, client: TestClient) -> None:
        body = client.get("/v1/topics", params={"disputed": "true", "limit": "100"}).json()
        assert {t["slug"]: t["agreement"] for t in body["items"]} == DISPUTED
        assert body["total"] == 18
        agreed = slugs(client, "/v1/topics", disputed="false")
        assert len(agreed) == 8 and not set(agreed) & set(DISPUTED)

    def test_pages_follow_the_keyset(self, client: TestClient) -> None:
        first = client.get("/v1/topics", params={"limit": "10", "disputed": "true"}).json()
        second = client.get(first["next"]).json()
        assert first["total"] == second["total"] == 18
        assert [t["slug"] for t in first["items"] + second["items"]] == sorted(DISPUTED)[:20]

    def test_by_evidence(self, client: TestClient) -> None:
        assert slugs(client, "/v1/topics", evidence="study") == [
            "absorption",
            "combined-treatments",
            "effectiveness",
        ]
        assert slugs(client, "/v1/topics", evidence="authority") == ["recovery-time"]
        r = client.get("/v1/topics", params={"evidence": "rumour"})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"

    def test_by_procedure_includes_the_parents_topics(self, client: TestClient) -> None:
        found = slugs(client, "/v1/topics", procedure="at-home-derma-roller")
        assert "pressure" in found and "mechanism" in found  # its own, and its parent's
        assert "pen-at-home" not in found
        r = client.get("/v1/topics", params={"procedure": "no-such-procedure"})
        assert r.status_code == 422 and "procedure" in r.text

    def test_fields_shape_the_items(self, client: TestClient) -> None:
        body = client.get("/v1/topics", params={"fields": "slug,agreement", "limit": "1"}).json()
        assert body["items"] == [{"slug": "absorption", "agreement": "agree"}]


class TestGetTopic:
    def test_positions_with_citations_values_and_evidence(self, client: TestClient) -> None:
        topic = client.get("/v1/topics/needle-length").json()
        assert topic["agreement"] == "differ" and topic["agreement_derived"] is True
        assert topic["agreement_note"] is None
        assert topic["procedures"] == [
            "at-home-derma-roller",
            "at-home-dermapen",
            "in-office-derma-roller",
            "in-office-microneedling-pen",
            "scalp-microneedling",
        ]
        assert len(topic["positions"]) == 8
        roller = next(
            p for p in topic["positions"] if p["slug"] == "needle-length-000-at-home-roller"
        )
        assert roller["value"] == {"min": 0.1, "max": 0.1, "unit": "mm"}
        assert roller["expert"] == "beth-goldstein" and roller["evidence"] == "expert"
        assert roller["procedure"] == "at-home-derma-roller" and roller["answer"] is None
        assert roller["citations"] == [
            {
                "source": "scalp-serums-and-at-home-microneedling",
                "excerpt": "At-home rollers are only 0.1 millimeter in depth",
                "about": None,
            }
        ]

    def test_an_editors_agreement_comes_with_its_note(self, client: TestClient) -> None:
        topic = client.get("/v1/topics/session-duration").json()
        assert topic["agreement"] == "differ" and topic["agreement_derived"] is False
        assert topic["agreement_note"].startswith("002 gives 15-20 minutes")

    def test_commercial_interest_is_shown_with_its_citations(self, client: TestClient) -> None:
        topic = client.get("/v1/topics/at-home-effectiveness").json()
        roller = next(
            p for p in topic["positions"] if p["slug"] == "at-home-effectiveness-001-roller"
        )
        interest = roller["commercial_interest"]
        assert "Pump Haircare" in interest["statement"]
        assert {c["source"] for c in interest["citations"]} == {roller["source"]}

    def test_include_procedures(self, client: TestClient) -> None:
        topic = client.get("/v1/topics/pressure", params={"include": "procedures"}).json()
        assert [p["slug"] for p in topic["included"]["procedures"]] == ["at-home-derma-roller"]
        r = client.get("/v1/topics/pressure", params={"include": "experts"})
        assert r.status_code == 422

    def test_fields(self, client: TestClient) -> None:
        r = client.get("/v1/topics/pressure", params={"fields": "slug,agreement"})
        assert r.json() == {"slug": "pressure", "agreement": "agree"}

    def test_unknown_slug_is_404(self, client: TestClient) -> None:
        r = client.get("/v1/topics/no-such-topic")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"

    def test_jsonld_is_a_question_with_suggested_answers(self, client: TestClient) -> None:
        r = client.get("/v1/topics/needle-length", headers={"Accept": "application/ld+json"})
        assert r.headers["content-type"].startswith("application/ld+json")
        node = r.json()
        assert node["@type"] == "Question" and node["text"] == "How long are the needles?"
        assert node["answerCount"] == len(node["suggestedAnswer"]) == 8
        answer = next(a for a in node["suggestedAnswer"] if a["@id"].endswith("000-at-home-roller"))
        assert answer["@type"] == "Answer"
        assert answer["author"]["@type"] == "Person" and answer["author"]["name"]
        assert answer["citation"]["@type"] == "Article"
        assert answer["subjectOf"][0]["text"] == "At-home rollers are only 0.1 millimeter in depth"
        assert set(node) <= {
            "@context", "@type", "@id", "name", "text", "answerCount", "suggestedAnswer", "about"
        }  # fmt: skip


class TestVisibility:
    def test_a_draft_topic_is_not_shown(self, client: TestClient, session: Session) -> None:
        session.execute(update(Topic).where(col(Topic.slug) == "pressure").values(status="draft"))
        assert client.get("/v1/topics/pressure").status_code == 404
        assert "pressure" not in slugs(client, "/v1/topics")
        assert client.get("/v1/positions/pressure-000-pol").status_code == 404

    def test_positions_of_an_unpublished_source_are_left_out(
        self, client: TestClient, session: Session
    ) -> None:
        session.execute(
            update(Source)
            .where(col(Source.slug) == "scalp-serums-and-at-home-microneedling")
            .values(status="archived")
        )
        topic = client.get("/v1/topics/needle-length").json()
        assert "scalp-serums-and-at-home-microneedling" not in {
            p["source"] for p in topic["positions"]
        }
        assert topic["sources"] == 4

    def test_an_unpublished_expert_hides_the_experts_positions(
        self, client: TestClient, session: Session
    ) -> None:
        session.execute(
            update(Expert).where(col(Expert.slug) == "beth-goldstein").values(status="draft")
        )
        topic = client.get("/v1/topics/needle-length").json()
        assert "beth-goldstein" not in {p["expert"] for p in topic["positions"]}

    def test_a_draft_position_is_not_shown(self, client: TestClient, session: Session) -> None:
        session.execute(
            update(Position)
            .where(col(Position.slug) == "needle-length-000-at-home-roller")
            .values(status="draft")
        )
        assert client.get("/v1/positions/needle-length-000-at-home-roller").status_code == 404
        topic = client.get("/v1/topics/needle-length").json()
        assert len(topic["positions"]) == 7


class TestPosition:
    def test_one_position(self, client: TestClient) -> None:
        r = client.get("/v1/positions/needle-length-000-at-home-roller")
        assert r.status_code == 200
        assert r.json()["topic"] == "needle-length" and r.json()["expert_name"]


class TestProcedureTopics:
    def test_own_topics_first_then_the_parents_marked(self, client: TestClient) -> None:
        items = client.get("/v1/procedures/at-home-derma-roller/topics").json()["items"]
        by_slug = {t["slug"]: t["inherited_from"] for t in items}
        assert by_slug["pressure"] is None and by_slug["needle-length"] is None
        assert by_slug["mechanism"] == "scalp-microneedling"
        assert "pen-at-home" not in by_slug
        inherited = [t["inherited_from"] is not None for t in items]
        assert inherited == sorted(inherited)

    def test_without_inheritance(self, client: TestClient) -> None:
        r = client.get("/v1/procedures/at-home-derma-roller/topics", params={"inherited": "false"})
        assert all(t["inherited_from"] is None for t in r.json()["items"])
        assert "mechanism" not in {t["slug"] for t in r.json()["items"]}

    def test_unknown_procedure_is_404(self, client: TestClient) -> None:
        assert client.get("/v1/procedures/no-such-thing/topics").status_code == 404


class TestSearchAndStats:
    def test_search_finds_topics_and_positions(self, client: TestClient) -> None:
        hits = client.get("/v1/search", params={"q": "needle length"}).json()["items"]
        assert ("topic", "needle-length") in {(h["type"], h["slug"]) for h in hits}
        hits = client.get("/v1/search", params={"q": "Pump Haircare", "type": "position"}).json()
        assert hits["total"] >= 1
        for hit in hits["items"]:
            assert hit["type"] == "position"
            assert client.get(hit["url"]).status_code == 200

    def test_search_leaves_out_positions_of_unpublished_sources(
        self, client: TestClient, session: Session
    ) -> None:
        session.execute(
            update(Source)
            .where(col(Source.slug) == "microneedling-might-be-the-secret-to-preventing-hair-loss")
            .values(status="archived")
        )
        hits = client.get("/v1/search", params={"q": "Pump Haircare", "type": "position"}).json()
        assert hits["total"] == 0

    def test_stats_count_topics_by_agreement_and_positions_by_evidence(
        self, client: TestClient
    ) -> None:
        body = client.get("/v1/stats").json()
        assert body["topics_by_agreement"] == {"agree": 8, "conflict": 9, "differ": 9}
        assert body["positions_by_evidence"] == {
            "article": 73,
            "authority": 1,
            "expert": 14,
            "study": 7,
        }
        assert body["totals"]["topics"] == 26 and body["totals"]["positions"] == 95


class TestProcedureAliases:
    def test_scalp_microneedling_is_also_known_as_skin_needling(self, client: TestClient) -> None:
        procedure = client.get("/v1/procedures/scalp-microneedling").json()
        assert procedure["aliases"] == ["skin needling"]
        assert any(c.get("about") == "aliases" for c in procedure["citations"])
        hits = client.get("/v1/search", params={"q": "skin needling"}).json()["items"]
        assert ("procedure", "scalp-microneedling") in {(h["type"], h["slug"]) for h in hits}
