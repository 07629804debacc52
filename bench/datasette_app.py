"""Datasette (b) serving the side-effects relation query of the service as a canned query.

The SQL is the service's relation query in one statement: the procedure's published lineage,
its published links to published side effects, and each link's citations with their source.
Run under uvicorn like the service (no access log); BENCH_DATASETTE_DB names the SQLite file.
"""

import os
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


def metadata(database: str) -> dict[str, Any]:
    return {"databases": {database: {"queries": {QUERY: {"sql": RELATION_SQL.strip()}}}}}


def relation_path(db_file: Path, slug: str) -> str:
    return f"/{db_file.stem}/{QUERY}.json?slug={slug}&{QUERY_STRING}"


def make_app(db_file: Path) -> Any:
    from datasette.app import Datasette

    ds = Datasette([str(db_file)], metadata=metadata(db_file.stem))
    return ds.app()


app = (
    make_app(Path(os.environ["BENCH_DATASETTE_DB"])) if "BENCH_DATASETTE_DB" in os.environ else None
)
