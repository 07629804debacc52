"""revision notifications: PostgreSQL announces every bump of kb_revision

The trigger function that bumps the one-row `kb_revision` (0003) also sends
`pg_notify('kb_revision', '<schema> <new revision>')`, so a server process that LISTENs knows
the revision without asking for it on every cached read (api.revision). PostgreSQL delivers
notifications at commit, and only those of committed transactions. The channel is per database,
so the payload names the schema whose knowledge base changed: one database may hold several
(the test suite gives every run a schema of its own). SQLite has no notifications: unchanged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFYING = (
    "CREATE OR REPLACE FUNCTION kb_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE bumped bigint; BEGIN "
    "UPDATE kb_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO bumped; "
    "PERFORM pg_notify('kb_revision', TG_TABLE_SCHEMA || ' ' || bumped); "
    "RETURN NULL; END $$"
)

# As 0003 made it.
SILENT = (
    "CREATE OR REPLACE FUNCTION kb_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE kb_revision SET revision = revision + 1 WHERE id = 1; RETURN NULL; END $$"
)


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        op.execute(NOTIFYING)


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        op.execute(SILENT)
