"""Full-text search over every published entity, run by the database itself.

SQLite matches with FTS5 (bm25 ranking, `snippet()`), PostgreSQL with a weighted tsvector
(`ts_rank`, `ts_headline`). Both read `search_entry`, which triggers keep in step with every edit
(migration 0003). A word that matches nothing is widened to the indexed words that look like it
(trigram similarity: `search_vocab` on SQLite, pg_trgm over `search_word` on PostgreSQL), so a
small typo still finds its word; aliases are indexed with the names, so brand names find their
entity. On SQLite a one-word query reads its first page off `search_posting` (migration 0009)
instead of having FTS5 score every match (`_Sqlite.by_postings`), and its total off
`search_term` (migration 0010) instead of counting them.
"""

import functools
import html
import json
import math
import re
import sqlite3
import threading
from array import array
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

from sqlalchemy import TextClause, bindparam, text
from sqlmodel import Session

from api.errors import InvalidParameter
from api.fastpath.kb_revision import current_revision
from api.fastpath.memo import RevisionMemo
from api.fastpath.read_connection import database_of

TYPES = (
    "procedure",
    "side_effect",
    "contraindication",
    "ingredient",
    "condition",
    "expert",
    "quote",
    "source",
    "topic",
    "position",
)
COLLECTION = {
    "procedure": "procedures",
    "side_effect": "side-effects",
    "contraindication": "contraindications",
    "ingredient": "ingredients",
    "condition": "conditions",
    "expert": "experts",
    "quote": "quotes",
    "source": "sources",
    "topic": "topics",
    "position": "positions",
}
MAX_WORDS = 8
MIN_TYPO_LENGTH = 4  # shorter words have too many look-alikes to guess from
# Trigram similarity a typo candidate needs; pg_trgm's default (0.3) lets "minor" stand in
# for "minoxdil".
SIMILARITY = 0.45
CANDIDATES = 3
# SQLite ranks by bm25 with these column weights (name, aliases, body), and marks snippets.
# `search_posting` (migration 0009) sums the same weights per term and entry.
WEIGHTS = (10.0, 5.0, 1.0)
_BM25 = f"bm25(search_fts, {', '.join(map(str, WEIGHTS))})"
# FTS5's bm25 parameters, and the tokenizer of search_fts (migration 0003).
_K1, _B = 1.2, 0.75
TOKENIZE = "porter unicode61 remove_diacritics 2"
# Scores of the same one-word query computed here and by FTS5 differ by a few units in the last
# place at most; closer than this, two entries of different weight or length could be ordered
# either way, and `by_postings` leaves the page to FTS5.
_CLOSE = 1e-9
_SNIPPET = "snippet(search_fts, -1, :open, :close, '…', 16)"
# The same snippet unmarked, only for an entry whose text holds a marker character itself
# (`unmarked`): snippet() reads the stored text as it is.
_PLAIN_SNIPPET = (
    "CASE WHEN instr(e.name || coalesce(e.aliases, '') || coalesce(e.body, ''), :open) "
    "OR instr(e.name || coalesce(e.aliases, '') || coalesce(e.body, ''), :close) "
    "THEN snippet(search_fts, -1, '', '', '…', 16) END"
)
# A first page over every type is found among the best-ranked matches (`_Sqlite.shortlisted`):
# this many beyond the page, for hidden quotes and ties; deeper pages rank every match.
SHORTLIST_MARGIN = 32
SHORTLIST_MAX = 500
# Highlight markers the database puts around matches; escaped text then gets <mark> in their place.
# Stored text holding them (private-use characters) has them taken out first, never marked up.
OPEN, CLOSE = "\ue000", "\ue001"

# A quote is visible only with its expert and source (as in the quote routes); a position with
# its topic, source and expert (api.kb.topics).
_VISIBLE = (
    "((e.entity_type <> 'quote' OR e.entity_id IN (SELECT q.id FROM quote q "
    "JOIN expert x ON x.id = q.expert_id JOIN source s ON s.id = q.source_id "
    "WHERE x.status = 'published' AND s.status = 'published')) "
    "AND (e.entity_type <> 'position' OR e.entity_id IN (SELECT p.id FROM position p "
    "JOIN topic t ON t.id = p.topic_id JOIN source s ON s.id = p.source_id "
    "LEFT JOIN expert x ON x.id = p.expert_id WHERE t.status = 'published' "
    "AND s.status = 'published' AND (p.expert_id IS NULL OR x.status = 'published'))))"
)
# Visible entries of the given types that match (SQLite).
_MATCHED = (
    "FROM search_fts JOIN search_entry e ON e.id = search_fts.rowid "
    f"WHERE search_fts MATCH :match AND e.entity_type IN :types AND {_VISIBLE}"
)


class Found(NamedTuple):
    """A ranked match as the database gives it, snippet still with OPEN and CLOSE markers, and
    the snippet without them when the stored text holds marker characters itself."""

    entity_type: str
    slug: str
    name: str
    snippet: str | None
    plain: str | None = None


@dataclass
class Hit:
    type: str
    slug: str
    name: str
    snippet: str
    url: str


def words_of(q: str) -> list[str]:
    """The words of a query, lower-cased, at most MAX_WORDS of them."""
    return re.findall(r"\w+", q.lower())[:MAX_WORDS]


def trigrams(word: str) -> set[str]:
    """Trigrams as pg_trgm makes them: the word padded with two spaces before, one after."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def unmarked(snippet: str, plain: str) -> str:
    """The snippet with the marker characters of the stored text taken out, the database's kept.

    `snippet` is `plain` with markers inserted: walking both, a character `plain` has next is
    stored text, any other a marker (where a marker sits beside a stored twin, either reading
    gives the same result).
    """
    kept, i = [], 0
    for char in snippet:
        if i < len(plain) and char == plain[i]:
            i += 1
            if char in (OPEN, CLOSE):
                continue
        kept.append(char)
    return "".join(kept)


def highlighted(snippet: str, plain: str | None = None) -> str:
    """The snippet as HTML: text escaped, matches in <mark>, whitespace folded. `plain`, the
    snippet unmarked, is given when the stored text holds marker characters (`unmarked`)."""
    if plain is not None:
        snippet = unmarked(snippet, plain)
    escaped = html.escape(" ".join(snippet.split()), quote=False)
    return escaped.replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


class Vocabulary:
    """The words of SQLite's index with a trigram index over them, to pick typo candidates.

    A typo's candidates are the words sharing the most trigrams with it, as pg_trgm picks them
    on PostgreSQL: similarity = shared / (the word's trigrams + the term's length + 1 - shared)
    over terms within two letters of its length, at least SIMILARITY, best CANDIDATES first
    (ties by term).
    Scanning fts5vocab for that reads the whole index per typo; this keeps the words per
    knowledge-base revision (api.fastpath.memo), a few MB at 100k entities.
    """

    def __init__(self, terms: list[str]) -> None:
        self.terms = terms
        self.postings: dict[str, array[int]] = {}
        for i, term in enumerate(terms):
            for gram in trigrams(term):
                found = self.postings.get(gram)
                if found is None:
                    found = self.postings[gram] = array("i")
                found.append(i)

    def similar(self, word: str) -> list[str]:
        grams = trigrams(word)
        shared: Counter[int] = Counter()
        for gram in grams:
            shared.update(self.postings.get(gram, ()))
        shortest, longest = len(word) - 2, len(word) + 2
        scored = []
        for i, k in shared.items():
            term = self.terms[i]
            if shortest <= len(term) <= longest:
                similarity = k / (len(grams) + len(term) + 1 - k)
                if similarity >= SIMILARITY:
                    scored.append((-similarity, term))
        scored.sort()
        return [term for _, term in scored[:CANDIDATES]]


vocabularies: RevisionMemo[str, Vocabulary] = RevisionMemo(size=4)


class _Tokenizer:
    """The terms FTS5 makes of a word, from a private in-memory FTS5 table (one a thread) with
    the tokenizer of search_fts: the same library, so the same stemming."""

    def __init__(self) -> None:
        self._local = threading.local()

    def terms(self, word: str) -> list[str]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(":memory:", isolation_level=None)
            conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(w, content='', tokenize='{TOKENIZE}')")
            conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
            self._local.conn = conn
        conn.execute("INSERT INTO t (rowid, w) VALUES (1, ?)", (word,))
        terms = [r[0] for r in conn.execute("SELECT term FROM v ORDER BY offset")]
        conn.execute("INSERT INTO t (t) VALUES ('delete-all')")
        return terms


tokenizer = _Tokenizer()


def _varints(blob: bytes) -> list[int]:
    """SQLite's varints (FTS5 stores its averages record as these)."""
    values, value, length = [], 0, 0
    for byte in blob:
        if length == 8:
            values.append((value << 8) | byte)
            value = length = 0
            continue
        value, length = (value << 7) | (byte & 0x7F), length + 1
        if byte < 0x80:
            values.append(value)
            value = length = 0
    return values


class _Bm25(NamedTuple):
    """FTS5's bm25 for a one-term query, as a function of the term's weighted frequency in an
    entry and the entry's length, computed as FTS5 computes it (fts5_aux.c)."""

    idf: float
    avgdl: float

    @classmethod
    def of(cls, matched: int, averages: bytes) -> "_Bm25 | None":
        """`matched` is how many entries hold the term, `averages` search_fts's averages
        record (entries, then tokens per column); None if that record is not as expected."""
        counts = _varints(averages)
        if len(counts) != 1 + len(WEIGHTS) or counts[0] <= 0:
            return None
        rows, tokens = counts[0], sum(counts[1:])
        idf = math.log((rows - matched + 0.5) / (matched + 0.5))
        return cls(idf if idf > 0.0 else 1e-6, tokens / rows)

    def __call__(self, weight: float, length: float) -> float:
        frequency = (weight * (_K1 + 1.0)) / (weight + _K1 * (1 - _B + _B * length / self.avgdl))
        return -1.0 * (0.0 + self.idf * frequency)


# The same in SQL, of a posting `p`, to leave out what cannot come near the page.
_SCORE = "-(:idf * ((p.weight * :k1_1) / (p.weight + :k1 * (:one_b + :b * p.size / :avgdl))))"
# Per weight of a term (walked down the primary key), its edge: the entry after the first :size
# in (length, type, slug) order, none when there are no more. Then of those first :size
# entries, the visible ones of the wanted types scoring no worse than the best edge (:near
# makes room for rounding). Rows without an id are the edges.
_EDGE_OF = (
    "(SELECT {column} FROM search_posting WHERE term = :term AND weight = w.weight "
    "ORDER BY size, entity_type, slug, entry_id LIMIT 1 OFFSET :size)"
)
_BY_POSTINGS = text(
    "WITH RECURSIVE weights(weight) AS (SELECT max(weight) FROM search_posting "
    "WHERE term = :term UNION ALL SELECT (SELECT max(weight) FROM search_posting "
    "WHERE term = :term AND weight < w.weight) FROM weights w WHERE w.weight IS NOT NULL), "
    "edge(weight, size, entity_type, slug) AS MATERIALIZED (SELECT w.weight, "
    + ", ".join(_EDGE_OF.format(column=c) for c in ("size", "entity_type", "slug"))
    + " FROM weights w WHERE w.weight IS NOT NULL) "
    "SELECT NULL AS id, weight, size, entity_type, slug FROM edge "
    "WHERE size IS NOT NULL UNION ALL "
    "SELECT e.id, p.weight, p.size, p.entity_type, p.slug FROM edge "
    "JOIN search_posting p ON p.term = :term AND p.weight = edge.weight "
    "AND (p.size, p.entity_type, p.slug) < (coalesce(edge.size, 1 << 62), "
    "coalesce(edge.entity_type, ''), coalesce(edge.slug, '')) "
    "JOIN search_entry e ON e.id = p.entry_id "
    f"WHERE p.entity_type IN :types AND {_VISIBLE} AND coalesce({_SCORE} <= "
    f"(SELECT min({_SCORE.replace('p.', 'x.')}) * :near FROM edge x WHERE x.size IS NOT NULL), 1)"
).bindparams(bindparam("types", expanding=True))


# Name, snippet and unmarked snippet of the matches with these ids (a JSON array), each looked up
# by rowid in the index: CROSS JOIN keeps the ids the outer loop (SQLite does not reorder it),
# where the planner could otherwise walk every match of the index.
_SNIPPETS = text(
    f"SELECT picked.value AS id, e.name, {_SNIPPET} AS snippet, {_PLAIN_SNIPPET} AS plain "
    "FROM json_each(:ids) picked CROSS JOIN search_fts ON search_fts.rowid = picked.value "
    "JOIN search_entry e ON e.id = picked.value WHERE search_fts MATCH :match"
)
_MARKERS = {"open": OPEN, "close": CLOSE}
# A page of every visible match of the wanted types, ranked (`_Sqlite.ranked`).
_RANKED = text(
    f"SELECT e.entity_type, e.slug, e.name, {_SNIPPET} AS snippet, "
    f"{_PLAIN_SNIPPET} AS plain {_MATCHED} "
    f"ORDER BY {_BM25}, e.entity_type, e.slug LIMIT :limit OFFSET :offset"
).bindparams(bindparam("types", expanding=True))


class _Bound:
    """What the entries `by_postings` left out can score: of each weight with an edge, no
    better than the edge; the same as the edge only with the edge's length (entries read
    before the edge come first in that tie: by type and slug, as the ranking orders ties)."""

    def __init__(self, score: Any, edges: list[Any]) -> None:
        self.edges = [(e.weight, e.size, score(e.weight, e.size)) for e in edges]
        # Past the edge's length a weight scores worse still (lengths are whole tokens).
        self.beyond = {(w, d): score(w, d + 1) for w, d, _ in self.edges}
        self.best = min((s for _, _, s in self.edges), default=math.inf)

    @staticmethod
    def _below(a: float, b: float) -> bool:
        """`a` is below `b` by more than either score can be off by."""
        return a < b - _CLOSE * abs(b)

    def ahead(self, s: float, weight: int, size: int) -> bool:
        """Whether an entry read, of this weight and length and scoring `s`, ranks ahead of
        every entry left out."""
        if not self.edges or self._below(s, self.best):
            return True
        for edge_weight, edge_size, edge in self.edges:
            if self._below(s, edge):
                continue
            tied = (weight, size) == (edge_weight, edge_size)
            if not (tied and self._below(s, self.beyond[(edge_weight, edge_size)])):
                return False
        return True


# Entries hidden from search: quotes and positions whose expert, source or topic is not published.
_HIDDEN = (
    f"SELECT id FROM search_entry e WHERE entity_type IN ('quote', 'position') AND NOT {_VISIBLE}"
)


@functools.cache
def _counts(every_type: bool, one_term: bool) -> TextClause:
    """How many entries match (`matched`), and how many of those are hidden (of every type) or
    of the wanted types (`counted`); with `averages`, the index's length record, for one term.

    One term's entries are counted in `search_term` (migration 0010), other queries' in the
    index. Of every type, the hidden matches are looked up by rowid instead of joining each
    match to its entry.
    """
    matched = (
        "coalesce((SELECT entries FROM search_term WHERE term = :term), 0)"
        if one_term
        else "(SELECT count(*) FROM search_fts WHERE search_fts MATCH :match)"
    )
    counted = (
        f"(SELECT count(*) FROM search_fts WHERE search_fts MATCH :match AND rowid IN ({_HIDDEN}))"
        if every_type
        else f"(SELECT count(*) {_MATCHED})"
    )
    averages = "(SELECT block FROM search_fts_data WHERE id = 1)" if one_term else "NULL"
    statement = text(f"SELECT {matched} AS matched, {counted} AS counted, {averages} AS averages")
    return statement if every_type else statement.bindparams(bindparam("types", expanding=True))


class _Sqlite:
    @staticmethod
    def _phrase(word: str) -> str:
        return '"' + word.replace('"', '""') + '"'

    def usable(self, session: Session, word: str) -> bool:
        return True  # FTS5 has no stop words

    def matches(self, session: Session, word: str) -> bool:
        found = session.execute(
            text("SELECT 1 FROM search_fts WHERE search_fts MATCH :q LIMIT 1"),
            {"q": self._phrase(word)},
        ).first()
        return found is not None

    def similar(self, session: Session, word: str) -> list[str]:
        """The indexed words most like `word`, from this revision's `Vocabulary` (made on the
        first typo after an edit)."""
        key = database_of(session)
        revision = current_revision(session)
        vocabulary = vocabularies.get(key, revision)
        if vocabulary is None:
            terms = session.execute(text("SELECT term FROM search_vocab")).scalars().all()
            vocabulary = Vocabulary(list(terms))
            vocabularies.put(key, revision, vocabulary)
        return vocabulary.similar(word)

    def hits(
        self,
        session: Session,
        groups: list[list[str]],
        types: list[str],
        any_word: bool,
        limit: int,
        offset: int,
    ) -> tuple[list[Any], int]:
        joiner = " OR " if any_word else " AND "
        match = joiner.join(
            "(" + " OR ".join(self._phrase(w) for w in group) + ")" for group in groups
        )
        every_type = set(types) == set(TYPES)
        # One word of one term: its entries are counted in `search_term`, and its best ones can
        # be read off `search_posting`.
        term = None
        if len(groups) == 1 and len(groups[0]) == 1:
            terms = tokenizer.terms(groups[0][0])
            term = terms[0] if len(terms) == 1 else None
        counts = session.execute(
            _counts(every_type, term is not None), {"match": match, "types": types, "term": term}
        ).one()
        total = counts.matched - counts.counted if every_type else counts.counted
        if term is not None and counts.averages is not None and offset + limit <= SHORTLIST_MAX:
            page = self.by_postings(
                session, match, term, counts.matched, counts.averages, types, limit, offset
            )
            if page is not None:
                return page, int(total)
        if every_type and offset + limit <= SHORTLIST_MAX:
            page = self.shortlisted(session, match, limit, offset)
            if page is not None:
                return page, int(total)
        return self.ranked(session, match, types, limit, offset), int(total)

    def by_postings(
        self,
        session: Session,
        match: str,
        term: str,
        matched: int,
        averages: bytes,
        types: list[str],
        limit: int,
        offset: int,
    ) -> list[Any] | None:
        """The same page as `ranked` for a query of one term, from `search_posting` alone.

        For one term, bm25 depends on an entry only through the term's weighted frequency in it
        and its length, and is no better for a longer entry. So of each weight only the first
        `size` entries in (length, type, slug) order are read, and scored here as FTS5 would
        (`_Bm25`); the entry after them, the weight's `edge`, bounds every one left out
        (`_Bound`). None when fewer than the page are surely ahead of every edge, or two entries
        of different weight or length score too close to order for sure (`_CLOSE`); `ranked`
        answers then.
        """
        score = _Bm25.of(matched, averages)
        if score is None:
            return None
        wanted = offset + limit
        rows = session.execute(
            _BY_POSTINGS,
            {"term": term, "size": wanted + SHORTLIST_MARGIN, "types": types}
            | {"idf": score.idf, "avgdl": score.avgdl, "k1": _K1, "k1_1": _K1 + 1.0}
            | {"b": _B, "one_b": 1 - _B, "near": 1 - 4 * _CLOSE},
        ).all()
        bound = _Bound(score, [r for r in rows if r[0] is None])
        # Read once as plain tuples: (id, weight, size, type, slug).
        entries = [tuple(r) for r in rows if r[0] is not None]
        scores = {key: score(*key) for key in {(w, d) for _, w, d, _, _ in entries}}
        # Ranked as `ranked` orders: by score, then type and slug.
        ranked = sorted((scores[w, d], t, slug, i, w, d) for i, w, d, t, slug in entries)
        if len(ranked) < wanted and bound.edges:
            return None
        if not all(bound.ahead(c[0], c[4], c[5]) for c in ranked[:wanted]):
            return None
        if ranked:
            last = ranked[min(wanted, len(ranked)) - 1][0]
            for a, b in pairwise(ranked):
                if a[0] > last + _CLOSE * abs(last):
                    break
                if a[4:] != b[4:] and b[0] - a[0] <= _CLOSE * abs(a[0]):
                    return None
        page = ranked[offset:wanted]
        snippets = self._snippets(session, match, [c[3] for c in page])
        return [Found(c[1], c[2], *snippets[c[3]]) for c in page]

    def ranked(
        self, session: Session, match: str, types: list[str], limit: int, offset: int
    ) -> list[Any]:
        """A page of every visible match of these types, joined to its entry and ranked."""
        rows = session.execute(
            _RANKED,
            {"match": match, "types": types, "limit": limit, "offset": offset} | _MARKERS,
        ).all()
        return list(rows)

    def shortlisted(
        self, session: Session, match: str, limit: int, offset: int
    ) -> list[Any] | None:
        """The same page as `ranked` over every type, from the best-ranked matches alone: bm25
        in the index, then only those matches joined to their entries and given snippets.
        None when the shortlist cannot tell the page for sure (hidden quotes or ties at its
        edge); `ranked` answers then.
        """
        wanted = offset + limit
        size = wanted + SHORTLIST_MARGIN
        shortlist = session.execute(
            text(
                f"SELECT rowid, {_BM25} AS score FROM search_fts WHERE search_fts MATCH :match "
                "ORDER BY score LIMIT :size"
            ),
            {"match": match, "size": size},
        ).all()
        score = {r.rowid: r.score for r in shortlist}
        visible = list(
            session.execute(
                text(
                    "SELECT e.id, e.entity_type, e.slug, e.name FROM search_entry e "
                    f"WHERE e.id IN :ids AND {_VISIBLE}"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": list(score)},
            )
        )
        if len(shortlist) == size:
            # Matches past the shortlist score no better than its last one: what scores better
            # is all there, and ordered as the full ranking orders it.
            edge = shortlist[-1].score
            visible = [e for e in visible if score[e.id] < edge]
            if len(visible) < wanted:
                return None
        visible.sort(key=lambda e: (score[e.id], e.entity_type, e.slug))
        page = visible[offset:wanted]
        snippets = self._snippets(session, match, [e.id for e in page])
        return [Found(e.entity_type, e.slug, *snippets[e.id]) for e in page]

    @staticmethod
    def _snippets(
        session: Session, match: str, ids: list[int]
    ) -> dict[int, tuple[str, str | None, str | None]]:
        """Name, snippet and unmarked snippet (`_PLAIN_SNIPPET`) of each of these matches."""
        if not ids:
            return {}
        rows = session.execute(_SNIPPETS, {"ids": json.dumps(ids), "match": match} | _MARKERS)
        return {r.id: (r.name, r.snippet, r.plain) for r in rows}


class _Postgres:
    def usable(self, session: Session, word: str) -> bool:
        """False for a stop word, which the english configuration drops from every query."""
        nodes = session.execute(
            text("SELECT numnode(plainto_tsquery('english', :w))"), {"w": word}
        ).scalar_one()
        return bool(nodes)

    def matches(self, session: Session, word: str) -> bool:
        found = session.execute(
            text(
                "SELECT 1 FROM search_entry "
                "WHERE document @@ plainto_tsquery('english', :w) LIMIT 1"
            ),
            {"w": word},
        ).first()
        return found is not None

    def similar(self, session: Session, word: str) -> list[str]:
        rows = session.execute(
            text(
                "SELECT word FROM search_word WHERE word % :w AND similarity(word, :w) >= :t "
                "ORDER BY similarity(word, :w) DESC, word LIMIT :k"
            ),
            {"w": word, "t": SIMILARITY, "k": CANDIDATES},
        ).all()
        return [r.word for r in rows]

    def hits(
        self,
        session: Session,
        groups: list[list[str]],
        types: list[str],
        any_word: bool,
        limit: int,
        offset: int,
    ) -> tuple[list[Any], int]:
        params: dict[str, Any] = {"types": types}
        parts = []
        for i, group in enumerate(groups):
            alternatives = []
            for j, word in enumerate(group):
                params[f"w{i}_{j}"] = word
                alternatives.append(f"plainto_tsquery('english', :w{i}_{j})")
            parts.append("(" + " || ".join(alternatives) + ")")
        query = (" || " if any_word else " && ").join(parts)
        base = (
            f"FROM search_entry e, (SELECT {query} AS query) q "
            f"WHERE e.document @@ q.query AND e.entity_type IN :types AND {_VISIBLE}"
        )
        total = session.execute(
            text(f"SELECT count(*) {base}").bindparams(bindparam("types", expanding=True)), params
        ).scalar_one()
        options = (
            f"StartSel={OPEN}, StopSel={CLOSE}, MaxWords=24, MinWords=10, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        rows = session.execute(
            text(
                "SELECT e.entity_type, e.slug, e.name, ts_headline('english', translate("
                "concat_ws(' · ', nullif(e.name, ''), nullif(e.aliases, ''), nullif(e.body, '')), "
                ":markers, ''), q.query, :options) AS snippet "
                f"{base} ORDER BY ts_rank(e.document, q.query, 1) DESC, e.entity_type, e.slug "
                "LIMIT :limit OFFSET :offset"
            ).bindparams(bindparam("types", expanding=True)),
            params
            | {"options": options, "markers": OPEN + CLOSE}
            | {"limit": limit, "offset": offset},
        ).all()
        return list(rows), int(total)


def _backend(session: Session) -> _Sqlite | _Postgres:
    return _Sqlite() if session.get_bind().dialect.name == "sqlite" else _Postgres()


def _widened(backend: _Sqlite | _Postgres, session: Session, word: str) -> list[str]:
    """The word, and when nothing matches it, the indexed words most like it."""
    if len(word) < MIN_TYPO_LENGTH or backend.matches(session, word):
        return [word]
    return [word, *(w for w in backend.similar(session, word) if w != word)]


def search(
    session: Session, q: str, types: list[str], limit: int, offset: int
) -> tuple[list[Hit], int]:
    """Published entities matching every word of `q` (or, failing that, any word), best first.

    A word nothing matches is widened to the indexed words most like it.
    """
    backend = _backend(session)
    words = [word for word in words_of(q) if backend.usable(session, word)]
    if not words:
        return [], 0
    if len(words) == 1:
        # Its own hits first: only a word with none needs to be looked for at all.
        rows, total = backend.hits(session, [words], types, False, limit, offset)
        if total == 0 and len(group := _widened(backend, session, words[0])) > 1:
            rows, total = backend.hits(session, [group], types, False, limit, offset)
    else:
        groups = [_widened(backend, session, word) for word in words]
        rows, total = backend.hits(session, groups, types, False, limit, offset)
        if total == 0:
            rows, total = backend.hits(session, groups, types, True, limit, offset)
    hits = [
        Hit(
            type=r.entity_type,
            slug=r.slug,
            name=r.name,
            snippet=highlighted(r.snippet or "", getattr(r, "plain", None)),
            url=f"/v1/{COLLECTION[r.entity_type]}/{r.slug}",
        )
        for r in rows
    ]
    return hits, total


def offset_of(after: list[str] | None) -> int:
    """Where a page of hits starts: ranked hits page by position, not by a key."""
    if after is None:
        return 0
    if len(after) != 2 or after[0] != "search" or not re.fullmatch(r"[0-9]{1,9}", after[1]):
        raise InvalidParameter("cursor", "cursor is not one this API handed out")
    return int(after[1])


def next_key(offset: int, shown: int, total: int) -> list[str] | None:
    """The key of the page after one that showed `shown` hits from `offset`, if hits remain."""
    return ["search", str(offset + shown)] if offset + shown < total else None
