"""citation lists: each cited subject's citations kept as the JSON array the API shows

A relation read (`/v1/procedures/<slug>/side-effects`: 27 links, 71 citations) spent more than
half of its database time on a second statement that looked up every link's citations and
joined their sources, and as much again turning those rows into Python objects. Thousands of
reads come for each edit, so the list is now made when citations change: `citation_list` holds,
per (subject_type, subject_id) with any citation, the array `[{"source", "excerpt", "about"}, ...]`
in the citations' stored order (position, id), rendered as orjson renders it (compact, UTF-8,
the same escapes; tests/test_citation_lists.py compares the two on both back ends). The relation
statement reads it with a join (api.queries).

Triggers rewrite a subject's list whenever one of its citations is inserted, updated or deleted,
and every list citing a source whose slug changes, in the writing transaction. A source cannot
be deleted while cited (the foreign key restricts it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 23:59:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _list_sqlite(subject_type: str, subject_id: str) -> str:
    """The subject's citations as one JSON array (SQLite keeps the subquery's order: an
    aggregate's subquery with ORDER BY is never flattened into it)."""
    return (
        "(SELECT json_group_array(json(cited)) FROM (SELECT json_object('source', s.slug, "
        "'excerpt', c.excerpt, 'about', c.about) AS cited FROM citation c "
        "JOIN source s ON s.id = c.source_id "
        f"WHERE c.subject_type = {subject_type} AND c.subject_id = {subject_id} "
        "ORDER BY c.position, c.id))"
    )


def _refresh_sqlite(subject_type: str, subject_id: str) -> str:
    return (
        f"DELETE FROM citation_list WHERE subject_type = {subject_type} "
        f"AND subject_id = {subject_id}; "
        "INSERT INTO citation_list (subject_type, subject_id, citations) "
        f"SELECT {subject_type}, {subject_id}, {_list_sqlite(subject_type, subject_id)} "
        f"WHERE EXISTS (SELECT 1 FROM citation WHERE subject_type = {subject_type} "
        f"AND subject_id = {subject_id});"
    )


# PostgreSQL: to_json() escapes text as orjson does; format() keeps the keys' order and spacing.
_AGGREGATE_POSTGRESQL = (
    '\'[\' || string_agg(format(\'{"source":%s,"excerpt":%s,"about":%s}\', '
    "to_json(s.slug)::text, to_json(c.excerpt)::text, coalesce(to_json(c.about)::text, 'null')), "
    "',' ORDER BY c.position, c.id) || ']'"
)


def upgrade() -> None:
    op.create_table(
        "citation_list",
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("citations", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("subject_type", "subject_id", name=op.f("pk_citation_list")),
        sqlite_with_rowid=False,
    )
    if op.get_context().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def _upgrade_sqlite() -> None:
    op.execute(
        "INSERT INTO citation_list (subject_type, subject_id, citations) "
        f"SELECT d.subject_type, d.subject_id, {_list_sqlite('d.subject_type', 'd.subject_id')} "
        "FROM (SELECT DISTINCT subject_type, subject_id FROM citation) AS d"
    )
    new = _refresh_sqlite("NEW.subject_type", "NEW.subject_id")
    old = _refresh_sqlite("OLD.subject_type", "OLD.subject_id")
    op.execute(f"CREATE TRIGGER citation_list_ai AFTER INSERT ON citation BEGIN {new} END")
    op.execute(f"CREATE TRIGGER citation_list_au AFTER UPDATE ON citation BEGIN {old} {new} END")
    op.execute(f"CREATE TRIGGER citation_list_ad AFTER DELETE ON citation BEGIN {old} END")
    op.execute(
        "CREATE TRIGGER citation_list_source_au AFTER UPDATE OF slug ON source BEGIN "
        "INSERT OR REPLACE INTO citation_list (subject_type, subject_id, citations) "
        f"SELECT d.subject_type, d.subject_id, {_list_sqlite('d.subject_type', 'd.subject_id')} "
        "FROM (SELECT DISTINCT subject_type, subject_id FROM citation "
        "WHERE source_id = NEW.id) AS d; END"
    )


def _upgrade_postgresql() -> None:
    op.execute(
        "INSERT INTO citation_list (subject_type, subject_id, citations) "
        f"SELECT c.subject_type, c.subject_id, {_AGGREGATE_POSTGRESQL} "
        "FROM citation c JOIN source s ON s.id = c.source_id GROUP BY c.subject_type, c.subject_id"
    )
    op.execute(
        "CREATE FUNCTION citation_list_refresh(kind text, subject integer) RETURNS void "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "DELETE FROM citation_list WHERE subject_type = kind AND subject_id = subject; "
        "INSERT INTO citation_list (subject_type, subject_id, citations) "
        f"SELECT kind, subject, {_AGGREGATE_POSTGRESQL} "
        "FROM citation c JOIN source s ON s.id = c.source_id "
        "WHERE c.subject_type = kind AND c.subject_id = subject HAVING count(*) > 0; "
        "END $$"
    )
    op.execute(
        "CREATE FUNCTION citation_list_on_citation() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN "
        "PERFORM citation_list_refresh(OLD.subject_type, OLD.subject_id); END IF; "
        "IF TG_OP IN ('INSERT', 'UPDATE') THEN "
        "PERFORM citation_list_refresh(NEW.subject_type, NEW.subject_id); END IF; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER citation_list_citation AFTER INSERT OR UPDATE OR DELETE ON citation "
        "FOR EACH ROW EXECUTE FUNCTION citation_list_on_citation()"
    )
    op.execute(
        "CREATE FUNCTION citation_list_on_source() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "PERFORM citation_list_refresh(d.subject_type, d.subject_id) FROM "
        "(SELECT DISTINCT subject_type, subject_id FROM citation WHERE source_id = NEW.id) AS d; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER citation_list_source AFTER UPDATE OF slug ON source "
        "FOR EACH ROW EXECUTE FUNCTION citation_list_on_source()"
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for trigger in ("ai", "au", "ad", "source_au"):
            op.execute(f"DROP TRIGGER citation_list_{trigger}")
    else:
        op.execute("DROP TRIGGER citation_list_source ON source")
        op.execute("DROP TRIGGER citation_list_citation ON citation")
        op.execute("DROP FUNCTION citation_list_on_source()")
        op.execute("DROP FUNCTION citation_list_on_citation()")
        op.execute("DROP FUNCTION citation_list_refresh(text, integer)")
    op.drop_table("citation_list")
