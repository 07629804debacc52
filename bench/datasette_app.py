"""Datasette (b) serving the side-effects relation query of the service as a canned query, and
its own table, row and full-text search pages over the same SQLite file.

The SQL is the service's relation query in one statement: the procedure's published lineage,
its published links to published side effects, and each link's citations with their source.
The table, row and search pages are Datasette's closest equivalents of the service's list,
detail and search (`list_path`, `row_path`, `search_path`). Run under uvicorn like the service
(no access log); BENCH_DATASETTE_DB names the SQLite file.
"""

import os
import sqlite3
from pathlib import Path
from typing import Any

RELATION_SQL = """
WITH RECURSIVE chain(id, slug, parent_id, depth) AS (
  SELECT id, slug, parent_id, 0 FROM procedure WHERE slug = :slug AND status = 'published'
  UNION ALL
  SELECT p.id, p.slug, p.parent_id, chain.depth + 1
  FROM procedure p JOIN chain ON p.id = chain.parent_id
  WHERE p.status = 'published'
)
SELECT
  se.slug, se.name, se.aliases, se.description,
  chain.slug AS procedure,
  CASE WHEN chain.depth = 0 THEN NULL ELSE chain.slug END AS inherited_from,
  link.note,
  (SELECT json_group_array(json(cited)) FROM (
     SELECT json_object('source', s.slug, 'excerpt', c.excerpt, 'about', c.about) AS cited
     FROM citation c JOIN source s ON s.id = c.source_id
     WHERE c.subject_type = 'procedure_side_effect' AND c.subject_id = link.id
     ORDER BY c.position, c.id)) AS citations
FROM procedure_side_effect link
JOIN chain ON chain.id = link.procedure_id
JOIN side_effect se ON se.id = link.side_effect_id
WHERE se.status = 'published' AND link.status = 'published'
ORDER BY chain.depth, se.name, link.id
"""
QUERY = "side_effects"
# Datasette returns the canned query as a JSON array with the JSON columns nested, like the API.
QUERY_STRING = "_shape=array&_json=citations&_json=aliases"


# The service's FTS5 table (migration "search_and_revision_counter"): external content on
# search_entry, declared with content='search_entry', which Datasette's detection (it looks for
# content="<table>" or content=[<table>]) misses; the metadata names it instead.
FTS = {"search_entry": {"fts_table": "search_fts", "fts_pk": "id"}}


def metadata(database: str) -> dict[str, Any]:
    return {
        "databases": {database: {"queries": {QUERY: {"sql": RELATION_SQL.strip()}}, "tables": FTS}}
    }


def list_path(db_file: Path, size: int = 20) -> str:
    """The procedure table's first page: published ones by slug, as `/v1/procedures?limit=20`."""
    return f"/{db_file.stem}/procedure.json?status__exact=published&_sort=slug&_size={size}"


def row_path(db_file: Path, slug: str) -> str:
    """The row page of the procedure `slug`, as the service's plain detail."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as db:
        row = db.execute("SELECT id FROM procedure WHERE slug = ?", (slug,)).fetchone()
    return f"/{db_file.stem}/procedure/{row[0]}.json"


def search_path(db_file: Path, query: str, size: int = 20) -> str:
    """Datasette's full-text search of search_entry through the service's FTS5 table."""
    return f"/{db_file.stem}/search_entry.json?_search={query}&_size={size}"


def relation_path(db_file: Path, slug: str) -> str:
    return f"/{db_file.stem}/{QUERY}.json?slug={slug}&{QUERY_STRING}"


def make_app(db_file: Path) -> Any:
    from datasette.app import Datasette

    ds = Datasette([str(db_file)], metadata=metadata(db_file.stem))
    return ds.app()


app = (
    make_app(Path(os.environ["BENCH_DATASETTE_DB"])) if "BENCH_DATASETTE_DB" in os.environ else None
)
