"""SQLite's one-word search reads its best entries off `search_posting` (api.kb.search,
`_Sqlite.by_postings`) and its total off `search_term`: the triggers keep both tables what
search_fts holds, and every page they give is the page the full FTS5 ranking and count give
(same hits, order, snippets and total)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import Session, col

from api.db import migrations
from api.db.engine import make_engine
from api.kb import search
from bench import synth
from models import Condition, Expert, Ingredient, SideEffect
from seed_data.loader import load_seed
from tests.conftest import TEST_DATABASE_URL, rolled_back_session

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL) and not TEST_DATABASE_URL.startswith("sqlite"),
    reason="search_posting is SQLite's",
)

# What search_posting should hold, from search_fts's own index.
EXPECTED = """
WITH terms(term, doc, col) AS (SELECT term, doc, col FROM temp.fts_terms),
sizes(doc, size) AS (SELECT doc, count(*) FROM terms GROUP BY doc)
SELECT t.term, sum(CASE t.col WHEN 'name' THEN 10 WHEN 'aliases' THEN 5 ELSE 1 END), s.size,
       e.entity_type, e.slug, e.id
FROM terms t JOIN sizes s ON s.doc = t.doc JOIN search_entry e ON e.id = t.doc
GROUP BY t.term, t.doc
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The seed data and 1,000 synthetic entities (many ties in weight and length)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('postings') / 'kb.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_seed(session)
    synth.populate(engine, synth.SCALES["1k"], seed=3)
    yield engine
    engine.dispose()


@pytest.fixture
def session(synthetic: Engine) -> Iterator[Session]:
    yield from rolled_back_session(synthetic)


def postings(session: Session) -> tuple[set[tuple], set[tuple]]:
    session.execute(
        text(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_terms "
            "USING fts5vocab(main, search_fts, 'instance')"
        )
    )
    held = set(map(tuple, session.execute(text("SELECT * FROM search_posting"))))
    return held, set(map(tuple, session.execute(text(EXPECTED))))


def term_counts(session: Session) -> tuple[set[tuple], set[tuple]]:
    """What search_term holds, and the entries per term FTS5's own vocabulary counts."""
    held = set(map(tuple, session.execute(text("SELECT term, entries FROM search_term"))))
    return held, set(map(tuple, session.execute(text("SELECT term, doc FROM search_vocab"))))


def test_postings_follow_every_edit(session: Session) -> None:
    held, expected = postings(session)
    assert held == expected and len(held) > 10_000
    terms, counted = term_counts(session)
    assert terms == counted and len(terms) > 1_000
    # Rename (name and aliases), unpublish, republish, delete, a step's text, an expert's name
    # (their quotes' entries), and a new entry.
    session.execute(
        update(Ingredient)
        .where(col(Ingredient.slug) == "minoxidil")
        .values(name="Minoxidil itching itching", aliases=["itchy scalp", "Rogaine"])
    )
    session.execute(update(SideEffect).where(col(SideEffect.id) % 7 == 0).values(status="draft"))
    session.execute(
        update(SideEffect).where(col(SideEffect.id) % 14 == 0).values(status="published")
    )
    session.execute(text("DELETE FROM procedure_step WHERE id % 3 = 0"))
    session.execute(text("UPDATE procedure_step SET text = text || ' extra itching words'"))
    session.execute(update(Expert).values(name=Expert.name + " Itching"))
    session.add(
        SideEffect(
            slug="brand-new",
            name="Brand new itching",
            aliases=["itch"],
            description="Itching, itching and itching (zyxwvut).",
        )
    )
    session.flush()
    held, expected = postings(session)
    assert held == expected
    terms, counted = term_counts(session)
    assert terms == counted
    assert ("zyxwvut", 1) in terms  # a term no entry held before


def reference(
    session: Session, q: str, types: list[str], limit: int, offset: int
) -> tuple[list[search.Hit], int]:
    """The answer of the full ranking and the index's count alone (no postings, no term
    counts, no shortlist)."""
    counts = search._counts
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "_counts", lambda every_type, _one_term: counts(every_type, False))
        patch.setattr(search._Sqlite, "by_postings", lambda *_a, **_k: None)
        patch.setattr(search._Sqlite, "shortlisted", lambda *_a, **_k: None)
        return search.search(session, q, types, limit, offset)


def frequent_words(session: Session, n: int) -> list[str]:
    """Whole words of the stored text whose terms match the most entries."""
    rows = session.execute(
        text("SELECT term FROM search_vocab ORDER BY doc DESC, term LIMIT :n"), {"n": n}
    )
    return [r.term for r in rows if r.term.isalpha()]


PAGES = ((20, 0), (20, 20), (5, 15), (1, 0), (50, 100), (20, 480))
TYPES = (
    list(search.TYPES),
    ["side_effect", "condition"],
    ["procedure"],
    ["quote", "expert"],
)


def compare(session: Session, words: list[str]) -> tuple[int, int]:
    """Every query, type filter and page answered both ways; how often the postings answered."""
    answered = asked = 0
    real = search._Sqlite.by_postings

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal answered, asked
        page = real(*args, **kwargs)  # type: ignore[arg-type]
        asked += 1
        answered += page is not None
        return page

    for q in words:
        for types in TYPES:
            for limit, offset in PAGES:
                expected = reference(session, q, types, limit, offset)
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(search._Sqlite, "by_postings", counted)
                    got = search.search(session, q, types, limit, offset)
                assert got == expected, (q, types, limit, offset)
    return answered, asked


QUERIES = [
    "itching",
    "itch",
    "itches",
    "hair loss",
    "Minoxidil",
    "micro-needling",  # two terms
    "minoxdil",  # a typo: its candidates
    "scallp",
    "zzzqqq",
    "a",
    "redness swelling",
    "café",
    "2",
]


@pytest.mark.parametrize("margin", [0, 1, 32])
def test_same_answer_as_the_full_ranking(
    session: Session, monkeypatch: pytest.MonkeyPatch, margin: int
) -> None:
    monkeypatch.setattr(search, "SHORTLIST_MARGIN", margin)
    answered, asked = compare(session, QUERIES + frequent_words(session, 25))
    assert answered > asked / 2  # mostly answered from the postings, not all left to FTS5


def test_same_answer_with_hidden_quotes_and_positions(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.execute(update(Expert).values(status="draft"))
    monkeypatch.setattr(search, "SHORTLIST_MARGIN", 1)
    words = ["role", "crucial", "hair", "scalp", "microneedling", "results"]
    answered, _ = compare(session, words + frequent_words(session, 10))
    assert answered > 0


def test_many_entries_of_one_weight_and_length(session: Session) -> None:
    """Hundreds tie with the edge of their weight: the page still follows type and slug."""
    session.add_all(
        Condition(slug=f"tie-{i:04d}", name=f"Tied {i}", description="quux quux")
        for i in range(300, 0, -1)
    )
    session.flush()
    answered, _ = compare(session, ["quux", "tied"])
    assert answered > 0


@pytest.mark.parametrize(
    ("word", "terms"),
    [("itching", ["itch"]), ("Itches", ["itch"]), ("café", ["cafe"]), ("a_b", ["a", "b"])]
    + [("_", [])],
)
def test_tokenizer_makes_the_terms_the_index_holds(
    session: Session, word: str, terms: list[str]
) -> None:
    assert search.tokenizer.terms(word) == terms
    for term in terms[:1] if len(terms) == 1 else []:
        matched = session.execute(
            text("SELECT count(*) FROM search_fts WHERE search_fts MATCH :m"), {"m": f'"{word}"'}
        ).scalar_one()
        posted = session.execute(
            text("SELECT count(*) FROM search_posting WHERE term = :t"), {"t": term}
        ).scalar_one()
        entries = session.execute(
            text("SELECT coalesce(sum(entries), 0) FROM search_term WHERE term = :t"), {"t": term}
        ).scalar_one()
        assert matched == posted == entries
