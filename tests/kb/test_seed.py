"""The seed data: complete against the articles, verbatim, refused when not, idempotent."""

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from api.kb.bulk import export, load
from api.kb.citations import normalise
from api.kb.documents import DocumentError
from models import (
    Citation,
    Expert,
    Procedure,
    ProcedureContraindication,
    Quote,
    SideEffect,
    Source,
)
from seed_data.loader import read_seed_files

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
DATA = read_seed_files()
TEXTS = {s["slug"]: s["text"] for s in DATA["sources"]}
IN_OFFICE_AND_AT_HOME = "microneedling-for-hair-loss-in-office-and-at-home"
DERMAPENS = "micro-needling-for-hair-loss-and-at-home-dermapens"


def list_items(source: str, after: str) -> list[str]:
    """The bulleted or numbered items of the first list that follows `after` in the source."""
    lines = TEXTS[source].split(after, 1)[1].split("\n")
    items: list[str] = []
    for line in lines[1:]:
        match = re.match(r"^\s*(?:•|-|\d+\.)\s+(.*\S)\s*$", line)
        if match:
            items.append(normalise(match.group(1)))
        elif items and line.strip():
            break
    return items


def citations_of(session: Session, subject_type: str) -> list[tuple[int, str, str]]:
    rows = session.execute(
        select(col(Citation.subject_id), col(Source.slug), col(Citation.excerpt))
        .join(Source, col(Source.id) == Citation.source_id)
        .where(col(Citation.subject_type) == subject_type)
    ).all()
    return [(r.subject_id, r.slug, normalise(r.excerpt)) for r in rows]


def covering(session: Session, subject_type: str, source: str, item: str) -> set[int]:
    """Ids of the subjects whose citations quote the list item (or its substance)."""
    return {
        subject_id
        for subject_id, slug, excerpt in citations_of(session, subject_type)
        if slug == source
        and (item in excerpt or (excerpt in item and len(excerpt) >= len(item) / 2))
    }


class TestSources:
    def test_five_articles_with_full_text_exactly_as_given(self, session: Session) -> None:
        rows = session.scalars(select(Source)).all()
        assert len(rows) == 5
        if SEEDS.is_dir():
            given = sorted(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt"))
            assert sorted(r.text for r in rows) == given
        for row in rows:
            assert row.content_hash.startswith("sha256:") and len(row.content_hash) == 71

    def test_publisher_only_where_the_text_names_one(self, session: Session) -> None:
        for row in session.scalars(select(Source)).all():
            if row.publisher is not None:
                assert row.publisher in row.text


class TestCompleteness:
    def test_entity_counts(self, session: Session) -> None:
        count = lambda t: session.scalar(select(func.count()).select_from(t))  # noqa: E731
        assert count(Expert) == 7
        assert count(Quote) == 23
        assert count(Procedure) == 10

    def test_all_twelve_side_effects_of_the_list(self, session: Session) -> None:
        items = list_items(IN_OFFICE_AND_AT_HOME, "Side effects of microneeding can include:")
        assert len(items) == 12
        found = [
            covering(session, "procedure_side_effect", IN_OFFICE_AND_AT_HOME, i) for i in items
        ]
        assert all(found), [i for i, f in zip(items, found, strict=True) if not f]
        assert len(set().union(*found)) >= 12

    def test_all_eight_risk_factors_are_avoid(self, session: Session) -> None:
        items = list_items(IN_OFFICE_AND_AT_HOME, "You should avoid microneedling if you:")
        assert len(items) == 8
        links = {r.id: r for r in session.scalars(select(ProcedureContraindication)).all()}
        named = set()
        for item in items:
            avoid = [
                links[i]
                for i in covering(
                    session, "procedure_contraindication", IN_OFFICE_AND_AT_HOME, item
                )
                if links[i].level == "avoid"
            ]
            assert avoid, item
            named |= {link.contraindication_id for link in avoid}
        # "Have eczema or psoriasis" names two contraindications, eczema and psoriasis.
        assert len(named) == 9

    def test_consult_list_of_the_dermapen_article(self, session: Session) -> None:
        items = list_items(DERMAPENS, "You need to consult the doctor before an appointment if:")
        assert len(items) == 4
        links = {r.id: r for r in session.scalars(select(ProcedureContraindication)).all()}
        levels = {
            item: {
                links[i].level
                for i in covering(session, "procedure_contraindication", DERMAPENS, item)
            }
            for item in items
        }
        assert all(levels.values()), levels
        assert (
            sum("consult" in v for v in levels.values()) == 3
        )  # the fourth says "do not recommend"

    def test_every_list_item_of_every_article_is_cited(self, session: Session) -> None:
        excerpts = [(s, e) for _, s, e in citations_of_all(session)]
        missing = []
        for source, text in TEXTS.items():
            for line in text.split("\n"):
                match = re.match(r"^\s*(?:•|-|\d+\.)\s+(.*\S)\s*$", line)
                if not match:
                    continue
                item = normalise(match.group(1))
                if not any(
                    s == source and (item in e or (e in item and len(e) >= 0.4 * len(item)))
                    for s, e in excerpts
                ):
                    missing.append((source, item))
        assert missing == []

    def test_seven_experts_each_in_a_source_bio(self, session: Session) -> None:
        described = {i for i, _, _ in citations_of(session, "expert")}
        assert len(described) == 7


def citations_of_all(session: Session) -> list[tuple[int, str, str]]:
    rows = session.execute(
        select(col(Citation.subject_id), col(Source.slug), col(Citation.excerpt)).join(
            Source, col(Source.id) == Citation.source_id
        )
    ).all()
    quotes = session.execute(
        select(col(Quote.id), col(Source.slug), col(Quote.text)).join(
            Source, col(Source.id) == Quote.source_id
        )
    ).all()
    return [(r[0], r[1], normalise(r[2])) for r in [*rows, *quotes]]


class TestLoader:
    def test_reloading_changes_nothing(self, session: Session) -> None:
        before = session.scalar(select(func.count()).select_from(Citation))
        report = load(session, read_seed_files())
        assert report.is_noop, report.as_dict()
        assert session.scalar(select(func.count()).select_from(Citation)) == before

    def test_export_then_load_is_a_no_op(self, session: Session) -> None:
        exported = export(session)
        assert {k: len(v) for k, v in exported.items()} == {k: len(v) for k, v in DATA.items()}
        assert load(session, exported).is_noop

    @pytest.mark.parametrize(
        ("collection", "path"),
        [
            ("side_effects", ("procedures", 0, "citations", 0, "excerpt")),
            ("experts", ("citations", 0, "excerpt")),
            ("procedures", ("steps", 0, "citations", 0, "excerpt")),
            ("quotes", ("text",)),
        ],
    )
    def test_refuses_a_non_verbatim_excerpt_and_loads_nothing(
        self, session: Session, collection: str, path: tuple[Any, ...]
    ) -> None:
        data = copy.deepcopy(DATA)
        entry = data[collection][0]
        target = entry
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = target[path[-1]] + " and this was never written"
        new_source = {**data["sources"][0], "slug": "a-new-article", "text": "Brand new text."}
        data["sources"].append(new_source)

        with pytest.raises(DocumentError) as refused:
            load(session, data)

        assert any(entry["slug"] in p and "verbatim" in p for p in refused.value.problems)
        assert (
            session.scalar(select(col(Source.id)).where(col(Source.slug) == "a-new-article"))
            is None
        )

    def test_typographic_quotes_and_spacing_do_not_matter(self, session: Session) -> None:
        data = copy.deepcopy(DATA)
        quote = next(q for q in data["quotes"] if "\u2019" in q["text"])
        quote["text"] = "  " + quote["text"].replace("\u2019", "'").replace(" ", "\n ", 1)
        report = load(session, data)
        assert report.changed["quotes"] == [quote["slug"]]

    def test_unknown_reference_is_refused_naming_the_entry(self, session: Session) -> None:
        data = copy.deepcopy(DATA)
        data["side_effects"][0]["procedures"][0]["procedure"] = "no-such-procedure"
        with pytest.raises(DocumentError) as refused:
            load(session, data)
        assert any("no-such-procedure" in p for p in refused.value.problems)
        assert session.scalar(select(func.count()).select_from(SideEffect)) == len(
            DATA["side_effects"]
        )


class TestQuotes:
    def test_every_quotation_in_the_articles_is_a_quote(self, session: Session) -> None:
        """Each quotation-mark segment of the two articles that quote people is stored verbatim."""
        stored = {normalise(t) for t in session.scalars(select(col(Quote.text)))}
        segments = []
        for text in TEXTS.values():
            flat = normalise(text)
            segments += re.findall(r'"([^"]+)"', flat)
        # A scare quote, not a person speaking; and Jay's one word "upkeep." inside the writer's
        # report, which the at-home roller's frequency cites instead of a quote.
        segments = [s.strip().rstrip(",") for s in segments if s not in ("injury", "upkeep.")]
        assert len(segments) == 23
        assert [s for s in segments if s not in stored] == []

    def test_each_quote_is_attributed_to_an_expert_of_its_source(self, client) -> None:  # type: ignore[no-untyped-def]
        for quote in client.get("/v1/quotes?limit=100").json()["items"]:
            source = client.get(f"/v1/sources/{quote['source']}").json()
            assert quote["expert"] in source["experts"]
            surname = quote["expert_name"].split()[-1]
            assert surname in source["text"]
