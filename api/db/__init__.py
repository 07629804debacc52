"""The database layer: engines and sessions for SQLite and PostgreSQL, migrations, one-time setup.

Imports nothing of the web framework and nothing of the domain."""
