"""search terms: how many search entries hold each indexed term, kept by triggers

SQLite only. `search_term` counts the rows of `search_posting` (0009) per term, that is the
entries FTS5 matches for that one term. A one-word search reports its total from there instead
of counting every match in search_fts (api.kb.search, `_Sqlite.hits`). Triggers on
search_posting, which the triggers on search_entry fill and empty, keep the counts; a term no
entry holds any more has no row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 21:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counted(ref: str) -> str:
    return (
        f"INSERT INTO search_term (term, entries) VALUES ({ref}.term, 1) "
        "ON CONFLICT (term) DO UPDATE SET entries = entries + 1;"
    )


def _uncounted(ref: str) -> str:
    return (
        f"UPDATE search_term SET entries = entries - 1 WHERE term = {ref}.term; "
        f"DELETE FROM search_term WHERE term = {ref}.term AND entries <= 0;"
    )


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE search_term (term TEXT NOT NULL PRIMARY KEY, "
        "entries INTEGER NOT NULL) WITHOUT ROWID"
    )
    op.execute(
        "INSERT INTO search_term (term, entries) "
        "SELECT term, count(*) FROM search_posting GROUP BY term"
    )
    op.execute(
        f"CREATE TRIGGER search_term_ai AFTER INSERT ON search_posting BEGIN {_counted('NEW')} END"
    )
    op.execute(
        "CREATE TRIGGER search_term_ad AFTER DELETE ON search_posting "
        f"BEGIN {_uncounted('OLD')} END"
    )
    op.execute(
        "CREATE TRIGGER search_term_au AFTER UPDATE OF term ON search_posting "
        f"BEGIN {_uncounted('OLD')} {_counted('NEW')} END"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for event in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER search_term_{event}")
    op.execute("DROP TABLE search_term")
