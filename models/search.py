"""Derived state the database keeps itself: the search index, the knowledge-base revision and
each cited subject's citation list.

Triggers made by migrations 0003 and 0006 write these tables in the same transaction as every
edit, so they live on a metadata of their own: the models' autogenerate neither creates nor
drops them.
"""

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

derived_metadata = MetaData()

# One row (id 1): bumped by a trigger on every insert, update or delete of a knowledge-base table.
kb_revision = Table(
    "kb_revision",
    derived_metadata,
    Column("id", Integer, primary_key=True),
    Column("revision", BigInteger, nullable=False),
)

# One row per published entity: what search matches (name, aliases, body) and what a hit shows.
# SQLite indexes it with the FTS5 table `search_fts`; PostgreSQL with the `document` tsvector.
search_entry = Table(
    "search_entry",
    derived_metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("slug", String(120), nullable=False),
    Column("name", Text, nullable=False),
    Column("aliases", Text, nullable=False),
    Column("body", Text, nullable=False),
)

# One row per (subject_type, subject_id) with citations: all of them as the JSON array the API
# shows (`[{"source", "excerpt", "about"}, ...]` in their stored order), rendered as orjson would.
citation_list = Table(
    "citation_list",
    derived_metadata,
    Column("subject_type", String(40), primary_key=True),
    Column("subject_id", Integer, primary_key=True),
    Column("citations", Text, nullable=False),
)

DERIVED_PREFIXES = ("search_", "kb_revision", "citation_list")


def is_derived(name: str | None) -> bool:
    """True for tables (and FTS5 shadow tables) the triggers maintain, not the models."""
    return bool(name) and name.startswith(DERIVED_PREFIXES)  # type: ignore[union-attr]
