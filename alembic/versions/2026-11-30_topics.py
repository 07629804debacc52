"""topics and positions; procedure aliases

`topic` (a question the articles answer), `topic_procedure` (the procedures it concerns) and
`position` (one source's answer, its citations in `citation` under subject types "position" and
"position_interest", whose `citation_list` rows the 0006 triggers keep as for any subject). Like
every knowledge-base table they bump `kb_revision`, and published topics and positions get
`search_entry` rows (0003). `procedure` gains `aliases` (a JSON list of other names), indexed
with the procedure's name as other entities' aliases are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("topic", "topic_procedure", "position")
ENTRY_COLUMNS = "entity_type, entity_id, slug, name, aliases, body"


def _text(ref: str, *columns: str) -> str:
    return " || ' ' || ".join(f"coalesce({ref}.{c}, '')" for c in columns)


def _aliases(dialect: str, ref: str) -> str:
    if dialect == "sqlite":
        return f"coalesce((SELECT group_concat(value, ' ') FROM json_each({ref}.aliases)), '')"
    return (
        "coalesce((SELECT string_agg(value, ' ') "
        f"FROM json_array_elements_text({ref}.aliases)), '')"
    )


def _procedure_body(dialect: str, ref: str) -> str:
    """As 0003 indexes a procedure's body: its fields, then its published steps' text."""
    if dialect == "sqlite":
        steps = (
            "(SELECT group_concat(s.text, ' ') FROM procedure_step s "
            f"WHERE s.procedure_id = {ref}.id AND s.status = 'published')"
        )
    else:
        steps = (
            "(SELECT string_agg(s.text, ' ' ORDER BY s.position) FROM procedure_step s "
            f"WHERE s.procedure_id = {ref}.id AND s.status = 'published')"
        )
    fields = _text(ref, "summary", "device", "setting", "frequency")
    return f"{fields} || ' ' || coalesce({steps}, '')"


def _searchable(dialect: str, with_aliases: bool) -> dict[str, str]:
    """Per indexed table, the VALUES of its search entry from row NEW (`ref`)."""
    procedure_aliases = _aliases(dialect, "NEW") if with_aliases else "''"
    return {
        "procedure": f"'procedure', NEW.id, NEW.slug, coalesce(NEW.name, ''), "
        f"{procedure_aliases}, {_procedure_body(dialect, 'NEW')}",
        "topic": "'topic', NEW.id, NEW.slug, coalesce(NEW.name, ''), '', "
        + _text("NEW", "question", "agreement_note"),
        # A position shows under its topic's name; its statement is body, as a quote's text is.
        "position": "'position', NEW.id, NEW.slug, "
        "coalesce((SELECT name FROM topic WHERE id = NEW.topic_id), ''), '', "
        + _text("NEW", "statement", "commercial_interest"),
    }


# A renamed topic renames its positions' entries.
_RENAME_POSITIONS = (
    "UPDATE search_entry SET name = NEW.name WHERE entity_type = 'position' "
    "AND entity_id IN (SELECT id FROM position WHERE topic_id = NEW.id);"
)


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    op.add_column("procedure", sa.Column("aliases", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "topic",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer_type", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("agreement", sa.String(length=16), nullable=True),
        sa.Column("agreement_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic")),
    )
    op.create_index(op.f("ix_topic_slug"), "topic", ["slug"], unique=True)
    op.create_table(
        "topic_procedure",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["procedure.id"],
            name=op.f("fk_topic_procedure_procedure_id_procedure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
            name=op.f("fk_topic_procedure_topic_id_topic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("topic_id", "procedure_id", name=op.f("pk_topic_procedure")),
    )
    op.create_index(
        op.f("ix_topic_procedure_procedure_id"), "topic_procedure", ["procedure_id"], unique=False
    )
    op.create_table(
        "position",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=True),
        sa.Column("procedure_id", sa.Integer(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("value_min", sa.Float(), nullable=True),
        sa.Column("value_max", sa.Float(), nullable=True),
        sa.Column("value_unit", sa.String(length=40), nullable=True),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("evidence", sa.String(length=16), nullable=False),
        sa.Column("commercial_interest", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expert.id"],
            name=op.f("fk_position_expert_id_expert"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["procedure.id"],
            name=op.f("fk_position_procedure_id_procedure"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_position_source_id_source"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
            name=op.f("fk_position_topic_id_topic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position")),
    )
    for column in ("expert_id", "procedure_id", "source_id", "topic_id"):
        op.create_index(op.f(f"ix_position_{column}"), "position", [column], unique=False)
    op.create_index(op.f("ix_position_slug"), "position", ["slug"], unique=True)
    if dialect == "sqlite":
        _triggers_sqlite(_searchable("sqlite", with_aliases=True))
    else:
        _triggers_postgresql(_searchable("postgresql", with_aliases=True))
    op.execute(
        f"UPDATE search_entry SET aliases = (SELECT {_aliases(dialect, 'p')} FROM procedure p "
        "WHERE p.id = search_entry.entity_id) WHERE entity_type = 'procedure'"
    )


def _triggers_sqlite(searchable: dict[str, str]) -> None:
    for table, values in searchable.items():
        delete = f"DELETE FROM search_entry WHERE entity_type = '{table}' AND entity_id = OLD.id;"
        insert = (
            f"INSERT INTO search_entry ({ENTRY_COLUMNS}) "
            f"SELECT {values} WHERE NEW.status = 'published';"
        )
        if table == "procedure":
            op.execute("DROP TRIGGER search_procedure_ai")
            op.execute("DROP TRIGGER search_procedure_au")
        else:
            op.execute(
                f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN {delete} END"
            )
        op.execute(f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN {insert} END")
        extra = _RENAME_POSITIONS if table == "topic" else ""
        op.execute(
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE ON {table} "
            f"BEGIN {delete} {insert} {extra} END"
        )
    bump = "UPDATE kb_revision SET revision = revision + 1 WHERE id = 1;"
    for table in NEW_TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER kb_revision_{table}_{event} AFTER {event.upper()} ON {table} "
                f"BEGIN {bump} END"
            )


def _index_function(table: str, values: str) -> str:
    extra = f"IF TG_OP = 'UPDATE' THEN {_RENAME_POSITIONS} END IF; " if table == "topic" else ""
    return (
        f"CREATE OR REPLACE FUNCTION search_index_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP <> 'INSERT' THEN DELETE FROM search_entry "
        f"WHERE entity_type = '{table}' AND entity_id = OLD.id; END IF; "
        "IF TG_OP <> 'DELETE' THEN IF NEW.status = 'published' THEN "
        f"INSERT INTO search_entry ({ENTRY_COLUMNS}) VALUES ({values}); END IF; END IF; "
        f"{extra}RETURN NULL; END $$"
    )


def _triggers_postgresql(searchable: dict[str, str]) -> None:
    for table, values in searchable.items():
        op.execute(_index_function(table, values))
        if table != "procedure":
            op.execute(
                f"CREATE TRIGGER search_index AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION search_index_{table}()"
            )
    # BEFORE, as 0003's: the counter's row lock is taken ahead of any row lock of the writer.
    for table in NEW_TABLES:
        op.execute(
            f"CREATE TRIGGER kb_revision_bump BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION kb_revision_bump()"
        )


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    procedure = _searchable(dialect, with_aliases=False)["procedure"]
    op.execute("DELETE FROM search_entry WHERE entity_type IN ('topic', 'position')")
    op.execute("DELETE FROM citation WHERE subject_type IN ('position', 'position_interest')")
    if dialect == "sqlite":
        for table in NEW_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER kb_revision_{table}_{event}")
        for table in ("topic", "position"):
            for event in ("ai", "au", "ad"):
                op.execute(f"DROP TRIGGER search_{table}_{event}")
        op.execute("DROP TRIGGER search_procedure_ai")
        op.execute("DROP TRIGGER search_procedure_au")
        _restore_procedure_sqlite(procedure)
    else:
        for table in NEW_TABLES:
            op.execute(f"DROP TRIGGER kb_revision_bump ON {table}")
        for table in ("topic", "position"):
            op.execute(f"DROP TRIGGER search_index ON {table}")
            op.execute(f"DROP FUNCTION search_index_{table}()")
        op.execute(_index_function("procedure", procedure))
    op.execute("UPDATE search_entry SET aliases = '' WHERE entity_type = 'procedure'")
    for column in ("slug", "topic_id", "source_id", "procedure_id", "expert_id"):
        op.drop_index(op.f(f"ix_position_{column}"), table_name="position")
    op.drop_table("position")
    op.drop_index(op.f("ix_topic_procedure_procedure_id"), table_name="topic_procedure")
    op.drop_table("topic_procedure")
    op.drop_index(op.f("ix_topic_slug"), table_name="topic")
    op.drop_table("topic")
    # Not batch mode: rebuilding the table would drop its triggers.
    op.execute('ALTER TABLE "procedure" DROP COLUMN aliases')


def _restore_procedure_sqlite(values: str) -> None:
    delete = "DELETE FROM search_entry WHERE entity_type = 'procedure' AND entity_id = OLD.id;"
    insert = (
        f"INSERT INTO search_entry ({ENTRY_COLUMNS}) "
        f"SELECT {values} WHERE NEW.status = 'published';"
    )
    op.execute(f"CREATE TRIGGER search_procedure_ai AFTER INSERT ON procedure BEGIN {insert} END")
    op.execute(
        f"CREATE TRIGGER search_procedure_au AFTER UPDATE ON procedure BEGIN {delete} {insert} END"
    )
