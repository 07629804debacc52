"""search postings: per (term, entry) weighted frequency and entry length, kept by triggers

SQLite only. `search_posting` holds, for every indexed term of every search entry, the term's
bm25-weighted frequency in the entry (10 per hit in the name, 5 in the aliases, 1 in the body,
the weights api.kb.search ranks with), the entry's length in tokens, and its type and slug
(the order search gives ties). Its primary key lists a term's entries by weight, then length:
for a one-word query the entries that can rank first are found there, without FTS5 scoring
every match (api.kb.search, `_Sqlite.by_postings`).

The terms of an entry are what FTS5's tokenizer makes of it: triggers on `search_entry` put the
entry in `search_scratch`, an empty contentless FTS5 table with the same tokenizer as
`search_fts`, read its instances through `search_scratch_terms` (fts5vocab) and empty it again.
PostgreSQL ranks with ts_rank over its GIN index and gets nothing here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As search_fts (0003); both must tokenize alike.
TOKENIZE = "porter unicode61 remove_diacritics 2"
# bm25's column weights in api.kb.search (name, aliases, body).
WEIGHT = "CASE col WHEN 'name' THEN 10 WHEN 'aliases' THEN 5 ELSE 1 END"
COLUMNS = "term, weight, size, entity_type, slug, entry_id"


def _postings(ref: str) -> str:
    """The postings of search entry `ref` (NEW or OLD), once it is in search_scratch."""
    return (
        f"SELECT term, sum({WEIGHT}), (SELECT count(*) FROM search_scratch_terms), "
        f"{ref}.entity_type, {ref}.slug, {ref}.id FROM search_scratch_terms GROUP BY term"
    )


def _tokenized(ref: str, statement: str) -> str:
    """`statement` run with search entry `ref` alone in search_scratch."""
    return (
        f"INSERT INTO search_scratch (rowid, name, aliases, body) "
        f"VALUES ({ref}.id, {ref}.name, {ref}.aliases, {ref}.body); {statement} "
        "INSERT INTO search_scratch (search_scratch) VALUES ('delete-all');"
    )


POST = _tokenized("NEW", f"INSERT INTO search_posting ({COLUMNS}) {_postings('NEW')};")
# By primary key, from the entry's old text tokenized again: no index on entry_id to keep.
UNPOST = _tokenized("OLD", f"DELETE FROM search_posting WHERE ({COLUMNS}) IN ({_postings('OLD')});")


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    # In bm25's order for one term: by weight, then length; ties as search orders them.
    op.execute(
        "CREATE TABLE search_posting (term TEXT NOT NULL, weight INTEGER NOT NULL, "
        "size INTEGER NOT NULL, entity_type TEXT NOT NULL, slug TEXT NOT NULL, "
        f"entry_id INTEGER NOT NULL, PRIMARY KEY ({COLUMNS})) WITHOUT ROWID"
    )
    op.execute(
        f"CREATE VIRTUAL TABLE search_scratch USING fts5(name, aliases, body, content='', "
        f"tokenize='{TOKENIZE}')"
    )
    op.execute(
        "CREATE VIRTUAL TABLE search_scratch_terms USING fts5vocab(search_scratch, 'instance')"
    )
    # What is indexed now, read from search_fts's own index in two passes.
    op.execute(
        "CREATE VIRTUAL TABLE temp.search_fts_terms USING fts5vocab(main, search_fts, 'instance')"
    )
    op.execute("CREATE TEMP TABLE search_size (entry_id INTEGER PRIMARY KEY, size INTEGER)")
    op.execute(
        "INSERT INTO temp.search_size (entry_id, size) "
        "SELECT doc, count(*) FROM temp.search_fts_terms GROUP BY doc"
    )
    op.execute(
        f"INSERT INTO search_posting ({COLUMNS}) "
        "SELECT v.term, v.weight, s.size, e.entity_type, e.slug, e.id "
        f"FROM (SELECT term, doc, sum({WEIGHT}) AS weight FROM temp.search_fts_terms "
        "GROUP BY term, doc) v JOIN search_entry e ON e.id = v.doc "
        "JOIN temp.search_size s ON s.entry_id = v.doc"
    )
    op.execute("DROP TABLE temp.search_size")
    op.execute("DROP TABLE temp.search_fts_terms")
    op.execute(f"CREATE TRIGGER search_posting_ai AFTER INSERT ON search_entry BEGIN {POST} END")
    op.execute(f"CREATE TRIGGER search_posting_ad AFTER DELETE ON search_entry BEGIN {UNPOST} END")
    op.execute(
        f"CREATE TRIGGER search_posting_au AFTER UPDATE ON search_entry BEGIN {UNPOST} {POST} END"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for event in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER search_posting_{event}")
    op.execute("DROP TABLE search_scratch_terms")
    op.execute("DROP TABLE search_scratch")
    op.execute("DROP TABLE search_posting")
