"""/v1/search: ranked full-text search in the database, kept in step with edits."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from api.http.paging import encode_cursor
from api.kb import search
from models import Expert, Ingredient, SideEffect, Step

QUOTE = "baum-scalp-health-role"


def hits(client: TestClient, q: str, **params: str) -> list[dict]:
    r = client.get("/v1/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def found(client: TestClient, q: str, **params: str) -> list[tuple[str, str]]:
    return [(h["type"], h["slug"]) for h in hits(client, q, **params)]


class TestSearch:
    def test_the_entity_named_ranks_above_mentions(self, client: TestClient) -> None:
        results = found(client, "minoxidil")
        assert results[0] == ("ingredient", "minoxidil")
        assert ("procedure", "microneedling-with-minoxidil") in results[:3]
        assert ("source", "microneedling-for-hair-loss-in-office-and-at-home") in results

    def test_every_kind_is_searched(self, client: TestClient) -> None:
        assert ("expert", "bertha-baum") in found(client, "Bertha Baum")
        assert ("condition", "androgenetic-alopecia") in found(client, "androgenetic alopecia")
        assert ("contraindication", "pregnancy-or-breastfeeding") in found(client, "pregnant")
        assert ("side_effect", "bleeding") in found(client, "bleeding")
        quote_hits = found(client, "crucial role", type="quote")
        assert quote_hits == [("quote", "baum-scalp-health-role")]

    def test_a_hit_has_type_slug_name_snippet_and_url(self, client: TestClient) -> None:
        hit = hits(client, "minoxidil")[0]
        assert hit == {
            "type": "ingredient",
            "slug": "minoxidil",
            "name": "Minoxidil",
            "snippet": hit["snippet"],
            "url": "/v1/ingredients/minoxidil",
        }
        assert client.get(hit["url"]).status_code == 200

    def test_brand_name_finds_the_ingredient(self, client: TestClient) -> None:
        assert found(client, "Rogaine")[0] == ("ingredient", "minoxidil")

    def test_abbreviation_finds_the_long_name(self, client: TestClient) -> None:
        results = found(client, "PRP")
        assert ("ingredient", "platelet-rich-plasma") in results[:2]
        assert ("procedure", "microneedling-with-prp") in results[:2]

    def test_a_small_typo_still_finds_the_word(self, client: TestClient) -> None:
        assert found(client, "minoxdil")[0] == ("ingredient", "minoxidil")
        assert found(client, "platelet plasmma")[0] == ("ingredient", "platelet-rich-plasma")

    def test_typo_hits_highlight_the_word_found(self, client: TestClient) -> None:
        assert "<mark>Minoxidil</mark>" in hits(client, "minoxdil")[0]["snippet"]

    def test_snippet_marks_the_matched_words(self, client: TestClient) -> None:
        snippet = hits(client, "Rogaine")[0]["snippet"]
        assert "<mark>Rogaine</mark>" in snippet
        source_hit = hits(client, "derma roller", type="source")[0]["snippet"]
        assert "<mark>" in source_hit and "</mark>" in source_hit

    @pytest.mark.parametrize("types", [{}, {"type": "ingredient"}], ids=["every", "one"])
    def test_stored_marker_characters_never_become_markup(
        self, client: TestClient, session: Session, types: dict[str, str]
    ) -> None:
        stored = f"Minoxidil {search.CLOSE}<i>{search.OPEN}x{search.CLOSE}{search.OPEN} y"
        session.execute(
            update(Ingredient).where(col(Ingredient.slug) == "minoxidil").values(name=stored)
        )
        hit = next(h for h in hits(client, "minoxidil", **types) if h["slug"] == "minoxidil")
        assert hit["name"] == stored  # plain text, as stored
        assert hit["snippet"].startswith("<mark>Minoxidil</mark> "), hit["snippet"]
        rest = hit["snippet"].removeprefix("<mark>Minoxidil</mark> ")
        assert "<" not in rest and "mark>" not in rest, hit["snippet"]

    def test_openapi_says_name_is_plain_text_and_snippet_html(self, client: TestClient) -> None:
        hit = client.get("/openapi.json").json()["components"]["schemas"]["SearchHit"]
        assert "plain text" in hit["properties"]["name"]["description"]
        assert "HTML" in hit["properties"]["snippet"]["description"]

    def test_type_narrows_to_one_kind(self, client: TestClient) -> None:
        results = found(client, "minoxidil", type="procedure")
        assert results and {kind for kind, _ in results} == {"procedure"}
        both = found(client, "minoxidil", type="ingredient,procedure")
        assert {kind for kind, _ in both} == {"ingredient", "procedure"}

    def test_all_words_must_match_when_some_entity_has_them_all(self, client: TestClient) -> None:
        results = found(client, "platelet plasma", type="ingredient")
        assert results == [("ingredient", "platelet-rich-plasma")]


class TestSearchSeesEdits:
    def test_drafts_never_appear(self, client: TestClient, session: Session) -> None:
        assert ("ingredient", "minoxidil") in found(client, "Rogaine")
        session.execute(
            update(Ingredient).where(col(Ingredient.slug) == "minoxidil").values(status="draft")
        )
        assert ("ingredient", "minoxidil") not in found(client, "Rogaine")
        assert ("ingredient", "minoxidil") not in found(client, "minoxdil")

    def test_an_orm_edit_is_searchable_in_the_same_transaction(
        self, client: TestClient, session: Session
    ) -> None:
        itching = session.exec(select(SideEffect).where(SideEffect.slug == "itching")).one()
        itching.aliases = ["pruritus"]
        session.add(itching)
        session.flush()
        assert found(client, "pruritus") == [("side_effect", "itching")]

    def test_republishing_brings_it_back(self, client: TestClient, session: Session) -> None:
        minoxidil = session.exec(select(Ingredient).where(Ingredient.slug == "minoxidil")).one()
        minoxidil.status = "draft"
        session.flush()
        assert ("ingredient", "minoxidil") not in found(client, "Rogaine")
        minoxidil.status = "published"
        session.flush()
        assert ("ingredient", "minoxidil") in found(client, "Rogaine")

    def test_quotes_of_an_unpublished_expert_are_hidden(
        self, client: TestClient, session: Session
    ) -> None:
        assert ("quote", QUOTE) in found(client, "crucial role")
        every_type = client.get("/v1/search", params={"q": "crucial role"}).json()["total"]
        some_types = client.get(
            "/v1/search", params={"q": "crucial role", "type": "quote,source"}
        ).json()["total"]
        session.execute(
            update(Expert).where(col(Expert.slug) == "bertha-baum").values(status="draft")
        )
        assert ("quote", QUOTE) not in found(client, "crucial role")
        # Both ways of counting (every type; some types) leave the hidden quote out, and agree.
        hidden_total = client.get("/v1/search", params={"q": "crucial role"}).json()["total"]
        assert hidden_total < every_type
        per_type = [
            client.get("/v1/search", params={"q": "crucial role", "type": t}).json()["total"]
            for t in search.TYPES
        ]
        assert hidden_total == sum(per_type)
        assert (
            client.get("/v1/search", params={"q": "crucial role", "type": "quote,source"}).json()[
                "total"
            ]
            < some_types
        )

    def test_procedure_steps_are_searchable_and_follow_edits(
        self, client: TestClient, session: Session
    ) -> None:
        pen = "in-office-microneedling-pen"
        assert found(client, "glides", type="procedure") == [("procedure", pen)]
        session.execute(
            update(Step)
            .where(col(Step.text).contains("glides"))
            .values(text="A sterile tip is fitted.")
        )
        assert found(client, "glides", type="procedure") == []
        assert ("procedure", pen) in found(client, "sterile tip", type="procedure")

    def test_renaming_an_expert_renames_their_quote_hits(
        self, client: TestClient, session: Session
    ) -> None:
        assert hits(client, "crucial role", type="quote")[0]["name"] == "Bertha Baum"
        session.execute(
            update(Expert).where(col(Expert.slug) == "bertha-baum").values(name="Dr. Zed")
        )
        assert hits(client, "crucial role", type="quote")[0]["name"] == "Dr. Zed"


class TestSearchPaging:
    def test_pages_follow_next_to_the_end_without_repeats(self, client: TestClient) -> None:
        everything = found(client, "microneedling", limit="100")
        seen, url = [], "/v1/search?q=microneedling&limit=7"
        while url:
            r = client.get(url)
            body = r.json()
            seen += [(h["type"], h["slug"]) for h in body["items"]]
            assert body["total"] == len(everything)
            if body["next"]:
                assert r.headers["link"] == f'<{body["next"]}>; rel="next"'
            url = body["next"]
        assert seen == everything

    def test_missing_q_is_422(self, client: TestClient) -> None:
        r = client.get("/v1/search")
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "q"]

    def test_q_without_words_finds_nothing(self, client: TestClient) -> None:
        r = client.get("/v1/search", params={"q": "?! \t…"})
        assert r.status_code == 200
        assert r.json() == {"items": [], "total": 0, "next": None}

    def test_unknown_type_is_422_naming_it(self, client: TestClient) -> None:
        r = client.get("/v1/search", params={"q": "minoxidil", "type": "drug"})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"] == ["query", "type"]

    def test_a_list_cursor_is_422_here(self, client: TestClient) -> None:
        nxt = client.get("/v1/procedures?limit=1").json()["next"]
        cursor = nxt.split("cursor=")[1]
        r = client.get("/v1/search", params={"q": "minoxidil", "cursor": cursor})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "cursor"]

    @pytest.mark.parametrize("position", ["9223372036854775808", "1" * 40, "\u00b2"])
    def test_an_offset_past_any_page_is_422(self, client: TestClient, position: str) -> None:
        cursor = encode_cursor("search", position)
        r = client.get("/v1/search", params={"q": "redness", "cursor": cursor})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["query", "cursor"]

    def test_a_cursor_holding_nul_is_422(self, client: TestClient) -> None:
        for cursor in (encode_cursor("search", "1\x00"), encode_cursor("a\x00b", "x")):
            r = client.get("/v1/search", params={"q": "redness", "cursor": cursor})
            assert r.status_code == 422, r.text
            assert r.json()["errors"][0]["loc"] == ["query", "cursor"]
        # A sort key is bound as a value: NUL is refused before SQLite stores or compares it.
        cursor = encode_cursor("name", "a\x00", "b")
        r = client.get("/v1/procedures", params={"sort": "name", "cursor": cursor})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "cursor"]


class TestShortlist:
    """SQLite's first pages over every type come from the best-ranked matches alone; each is
    the page the full ranking gives, or None (then the full ranking answers)."""

    WORDS = ("microneedling", "hair", "minoxidil", "scalp", "infection", "role", "roller")
    PAGES = ((1, 0), (5, 0), (20, 0), (5, 5), (3, 17), (100, 0))

    def compare(self, session: Session) -> tuple[int, int]:
        backend = search._Sqlite()
        answered = fell_back = 0
        for word in self.WORDS:
            match = backend._phrase(word)
            for limit, offset in self.PAGES:
                expected = backend.ranked(session, match, list(search.TYPES), limit, offset)
                got = backend.shortlisted(session, match, limit, offset)
                if got is None:
                    fell_back += 1
                    continue
                answered += 1
                assert got == [tuple(r) for r in expected], (word, limit, offset)
        return answered, fell_back

    @pytest.mark.parametrize("margin", [0, 1, 2, 32])
    def test_same_page_as_the_full_ranking(
        self, session: Session, monkeypatch: pytest.MonkeyPatch, margin: int
    ) -> None:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the shortlist is SQLite's")
        monkeypatch.setattr(search, "SHORTLIST_MARGIN", margin)
        answered, fell_back = self.compare(session)
        assert answered > 0
        if margin == 0:
            assert fell_back > 0  # the last of a full shortlist may tie with what follows

    def test_hidden_quotes_are_left_out_or_the_full_ranking_answers(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the shortlist is SQLite's")
        session.execute(
            update(Expert).where(col(Expert.slug) == "bertha-baum").values(status="draft")
        )
        monkeypatch.setattr(search, "SHORTLIST_MARGIN", 1)
        answered, _ = self.compare(session)
        assert answered > 0


@pytest.mark.parametrize("word", ["minoxdil", "itchng", "scallp", "rollr", "zzzqqq"])
def test_typo_candidates_are_the_most_similar_words(session: Session, word: str) -> None:
    """SQLite's one-pass query picks what trigram similarity over the vocabulary picks."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the vocabulary query is SQLite's")
    grams = search.trigrams(word)
    scored = []
    for (term,) in session.execute(text("SELECT term FROM search_vocab")):
        if not len(word) - 2 <= len(term) <= len(word) + 2:
            continue
        shared = sum(g in f"  {term} " for g in grams)
        similarity = shared / (len(grams) + len(term) + 1 - shared)
        if shared and similarity >= search.SIMILARITY:
            scored.append((-similarity, term))
    expected = [term for _, term in sorted(scored)[: search.CANDIDATES]]
    assert search._Sqlite().similar(session, word) == expected
    if word != "zzzqqq":
        assert expected  # each of these has a look-alike in the seed data


class TestVocabulary:
    """SQLite's typo candidates come from the index's words kept per revision."""

    def test_read_once_per_revision_and_again_after_an_edit(
        self, client: TestClient, session: Session, count_statements: list[str]
    ) -> None:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the vocabulary is SQLite's")

        def vocabulary_reads() -> int:
            return sum("search_vocab" in s for s in count_statements)

        assert found(client, "minoxdil")[0] == ("ingredient", "minoxidil")
        assert found(client, "itchng")[0] == ("side_effect", "itching")
        assert vocabulary_reads() == 1
        assert found(client, "zylofrenia") == []
        itching = session.exec(select(SideEffect).where(SideEffect.slug == "itching")).one()
        itching.name = "Zylophrenia"
        session.flush()
        # The edit moved the revision: the new word is a candidate at once.
        assert ("side_effect", "itching") in found(client, "zylofrenia")
        assert vocabulary_reads() == 2
