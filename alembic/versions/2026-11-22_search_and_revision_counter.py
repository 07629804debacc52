"""search index and revision counter, both kept by triggers

Every insert, update or delete of a knowledge-base table bumps the one-row `kb_revision` in the
same transaction (HTTP caches validate against it), and every published entity has a row in
`search_entry` that triggers rewrite whenever the entity changes. SQLite indexes that table with
FTS5 (`search_fts`, vocabulary `search_vocab` for typo candidates); PostgreSQL with a generated
tsvector column and a pg_trgm-indexed vocabulary (`search_word`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table of the knowledge base whose change can change what the public API shows.
KB_TABLES = (
    "citation",
    "condition",
    "contraindication",
    "expert",
    "ingredient",
    "ingredient_side_effect",
    "procedure",
    "procedure_condition",
    "procedure_contraindication",
    "procedure_ingredient",
    "procedure_needle_length",
    "procedure_side_effect",
    "procedure_step",
    "quote",
    "quote_procedure",
    "side_effect",
    "source",
)

# What each searchable entity contributes: (type, table, name, aliases, body). Each part lists
# columns; "json:" marks a JSON array of strings, "expert_name" the quoted expert's name, "steps"
# the text of the procedure's published steps (kept current by a trigger on procedure_step).
TERM = (["name"], ["json:aliases"], ["description"])
SEARCHABLE: tuple[tuple[str, str, list[str], list[str], list[str]], ...] = (
    (
        "procedure",
        "procedure",
        ["name"],
        [],
        ["summary", "device", "setting", "frequency", "steps"],
    ),
    ("side_effect", "side_effect", *TERM),
    ("contraindication", "contraindication", *TERM),
    ("ingredient", "ingredient", ["name"], ["json:aliases"], ["description", "kind"]),
    ("condition", "condition", *TERM),
    (
        "expert",
        "expert",
        ["name"],
        [],
        ["role", "json:credentials", "affiliation", "location", "specialty"],
    ),
    ("quote", "quote", ["expert_name"], [], ["text", "json:topics"]),
    ("source", "source", ["title"], [], ["publisher", "text"]),
)


def _part(dialect: str, ref: str, columns: list[str]) -> str:
    """A text expression joining the columns of row `ref` (NEW, or a table alias) with spaces."""
    if not columns:
        return "''"
    pieces = []
    for column in columns:
        if column == "expert_name":
            expr = f"(SELECT name FROM expert WHERE id = {ref}.expert_id)"
        elif column == "steps" and dialect == "sqlite":
            expr = (
                "(SELECT group_concat(s.text, ' ') FROM procedure_step s "
                f"WHERE s.procedure_id = {ref}.id AND s.status = 'published')"
            )
        elif column == "steps":
            expr = (
                "(SELECT string_agg(s.text, ' ' ORDER BY s.position) FROM procedure_step s "
                f"WHERE s.procedure_id = {ref}.id AND s.status = 'published')"
            )
        elif column.startswith("json:") and dialect == "sqlite":
            expr = f"(SELECT group_concat(value, ' ') FROM json_each({ref}.{column[5:]}))"
        elif column.startswith("json:"):
            expr = (
                f"(SELECT string_agg(value, ' ') FROM json_array_elements_text({ref}.{column[5:]}))"
            )
        else:
            expr = f"{ref}.{column}"
        pieces.append(f"coalesce({expr}, '')")
    return " || ' ' || ".join(pieces)


def _values(dialect: str, kind: str, ref: str, parts: tuple[list[str], ...]) -> str:
    name, aliases, body = (_part(dialect, ref, p) for p in parts)
    return f"'{kind}', {ref}.id, {ref}.slug, {name}, {aliases}, {body}"


ENTRY_COLUMNS = "entity_type, entity_id, slug, name, aliases, body"


def _procedure_body(dialect: str, procedure_id: str) -> str:
    """Statement refreshing the indexed body of a procedure whose steps changed."""
    parts = next(p for kind, _t, *p in SEARCHABLE if kind == "procedure")
    body = _part(dialect, "p", parts[2])
    return (
        f"UPDATE search_entry SET body = (SELECT {body} FROM procedure p "
        f"WHERE p.id = {procedure_id}) "
        f"WHERE entity_type = 'procedure' AND entity_id = {procedure_id};"
    )


def upgrade() -> None:
    op.create_table(
        "kb_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_revision")),
    )
    op.execute("INSERT INTO kb_revision (id, revision) VALUES (1, 0)")
    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entry")),
        sa.UniqueConstraint("entity_type", "entity_id", name="uq_search_entry_entity"),
    )
    if op.get_context().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()
    for kind, table, *parts in SEARCHABLE:
        values = _values(op.get_context().dialect.name, kind, "t", tuple(parts))
        op.execute(
            f"INSERT INTO search_entry ({ENTRY_COLUMNS}) "
            f"SELECT {values} FROM {table} AS t WHERE t.status = 'published'"
        )


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5(name, aliases, body, "
        "content='search_entry', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    op.execute("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_fts, 'row')")
    # The external-content FTS table follows search_entry row by row.
    op.execute(
        "CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN "
        "INSERT INTO search_fts (rowid, name, aliases, body) "
        "VALUES (NEW.id, NEW.name, NEW.aliases, NEW.body); END"
    )
    op.execute(
        "CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN "
        "INSERT INTO search_fts (search_fts, rowid, name, aliases, body) "
        "VALUES ('delete', OLD.id, OLD.name, OLD.aliases, OLD.body); END"
    )
    op.execute(
        "CREATE TRIGGER search_entry_au AFTER UPDATE ON search_entry BEGIN "
        "INSERT INTO search_fts (search_fts, rowid, name, aliases, body) "
        "VALUES ('delete', OLD.id, OLD.name, OLD.aliases, OLD.body); "
        "INSERT INTO search_fts (rowid, name, aliases, body) "
        "VALUES (NEW.id, NEW.name, NEW.aliases, NEW.body); END"
    )
    for kind, table, *parts in SEARCHABLE:
        values = _values("sqlite", kind, "NEW", tuple(parts))
        delete = f"DELETE FROM search_entry WHERE entity_type = '{kind}' AND entity_id = OLD.id;"
        insert = (
            f"INSERT INTO search_entry ({ENTRY_COLUMNS}) "
            f"SELECT {values} WHERE NEW.status = 'published';"
        )
        extra = ""
        if table == "expert":
            extra = (
                "UPDATE search_entry SET name = NEW.name WHERE entity_type = 'quote' "
                "AND entity_id IN (SELECT id FROM quote WHERE expert_id = NEW.id);"
            )
        op.execute(f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE ON {table} "
            f"BEGIN {delete} {insert} {extra} END"
        )
        op.execute(f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN {delete} END")
    for event, ref in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
        op.execute(
            f"CREATE TRIGGER search_procedure_step_{event} AFTER {event.upper()} "
            f"ON procedure_step BEGIN {_procedure_body('sqlite', ref + '.procedure_id')} END"
        )
    bump = "UPDATE kb_revision SET revision = revision + 1 WHERE id = 1;"
    for table in KB_TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER kb_revision_{table}_{event} AFTER {event.upper()} ON {table} "
                f"BEGIN {bump} END"
            )


def _upgrade_postgresql() -> None:
    # In `public`, where every search path finds it: made in the migrating schema instead, it
    # would be invisible to (and dropped with) that schema, and a later schema's index would
    # find no gin_trgm_ops.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.execute(
        "ALTER TABLE search_entry ADD COLUMN document tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', name), 'A') || "
        "setweight(to_tsvector('english', aliases), 'B') || "
        "setweight(to_tsvector('english', body), 'D')) STORED"
    )
    op.execute("CREATE INDEX ix_search_entry_document ON search_entry USING gin (document)")
    # Every word ever published, unstemmed, for typo candidates by trigram similarity.
    op.execute("CREATE TABLE search_word (word text PRIMARY KEY)")
    op.execute("CREATE INDEX ix_search_word_trgm ON search_word USING gin (word gin_trgm_ops)")
    op.execute(
        "CREATE FUNCTION search_word_collect() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO search_word (word) SELECT lexeme FROM unnest(to_tsvector('simple', "
        "NEW.name || ' ' || NEW.aliases || ' ' || NEW.body)) WHERE length(lexeme) >= 3 "
        "ON CONFLICT DO NOTHING; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_word_collect AFTER INSERT OR UPDATE ON search_entry "
        "FOR EACH ROW EXECUTE FUNCTION search_word_collect()"
    )
    for kind, table, *parts in SEARCHABLE:
        values = _values("postgresql", kind, "NEW", tuple(parts))
        extra = ""
        if table == "expert":
            extra = (
                "IF TG_OP = 'UPDATE' THEN UPDATE search_entry SET name = NEW.name "
                "WHERE entity_type = 'quote' "
                "AND entity_id IN (SELECT id FROM quote WHERE expert_id = NEW.id); END IF;"
            )
        op.execute(
            f"CREATE FUNCTION search_index_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF TG_OP <> 'INSERT' THEN DELETE FROM search_entry "
            f"WHERE entity_type = '{kind}' AND entity_id = OLD.id; END IF; "
            "IF TG_OP <> 'DELETE' THEN IF NEW.status = 'published' THEN "
            f"INSERT INTO search_entry ({ENTRY_COLUMNS}) VALUES ({values}); END IF; END IF; "
            f"{extra} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER search_index AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION search_index_{table}()"
        )
    op.execute(
        "CREATE FUNCTION search_index_procedure_step() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE changed integer; BEGIN "
        "IF TG_OP = 'DELETE' THEN changed := OLD.procedure_id; "
        "ELSE changed := NEW.procedure_id; END IF; "
        f"{_procedure_body('postgresql', 'changed')} RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER search_index AFTER INSERT OR UPDATE OR DELETE ON procedure_step "
        "FOR EACH ROW EXECUTE FUNCTION search_index_procedure_step()"
    )
    op.execute(
        "CREATE FUNCTION kb_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE kb_revision SET revision = revision + 1 WHERE id = 1; RETURN NULL; END $$"
    )
    # BEFORE, so a writing transaction takes the counter's row lock ahead of any row lock of its
    # own: concurrent writers queue on it instead of deadlocking over rows locked in other orders.
    for table in KB_TABLES:
        op.execute(
            f"CREATE TRIGGER kb_revision_bump BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION kb_revision_bump()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for table in KB_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER kb_revision_{table}_{event}")
        for _kind, table, *_parts in SEARCHABLE:
            for event in ("ai", "au", "ad"):
                op.execute(f"DROP TRIGGER search_{table}_{event}")
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER search_procedure_step_{event}")
        for event in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER search_entry_{event}")
        op.execute("DROP TABLE search_vocab")
        op.execute("DROP TABLE search_fts")
    else:
        for table in KB_TABLES:
            op.execute(f"DROP TRIGGER kb_revision_bump ON {table}")
        op.execute("DROP FUNCTION kb_revision_bump()")
        for _kind, table, *_parts in SEARCHABLE:
            op.execute(f"DROP TRIGGER search_index ON {table}")
            op.execute(f"DROP FUNCTION search_index_{table}()")
        op.execute("DROP TRIGGER search_index ON procedure_step")
        op.execute("DROP FUNCTION search_index_procedure_step()")
        op.execute("DROP TRIGGER search_word_collect ON search_entry")
        op.execute("DROP FUNCTION search_word_collect()")
        op.execute("DROP TABLE search_word")
        # pg_trgm stays: other schemas of the database may use it.
    op.drop_table("search_entry")
    op.drop_table("kb_revision")
