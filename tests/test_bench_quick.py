"""The benchmark's synthetic data and its Datasette query; nothing here is timed."""

import sqlite3
from pathlib import Path

from sqlmodel import Session

from api import queries
from api.db import make_engine
from bench import datasette_app, synth

TINY = synth.Scale("tiny", 200, 1_000)


def _build(tmp_path: Path, name: str, seed: int) -> tuple[str, synth.BuildInfo]:
    url = f"sqlite:///{tmp_path / name}.db"
    return url, synth.build(url, TINY, seed)


class TestSyntheticKnowledgeBase:
    def test_same_seed_builds_the_same_rows(self, tmp_path: Path) -> None:
        _, first = _build(tmp_path, "a", seed=7)
        _, again = _build(tmp_path, "b", seed=7)
        _, other = _build(tmp_path, "c", seed=8)
        assert first.checksum == again.checksum
        assert first.counts == again.counts
        assert other.checksum != first.checksum

    def test_rows_land_in_the_real_tables_beside_the_seed_data(self, tmp_path: Path) -> None:
        url, info = _build(tmp_path, "kb", seed=1)
        assert info.head is not None
        assert info.counts["procedure"] == 20
        links = sum(info.counts[t.__tablename__] for t, _, _ in synth.LINK_TABLES.values())
        assert 0.9 * TINY.links <= links <= 1.1 * TINY.links
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            # every synthetic link cites one excerpt of a real source
            uncited = db.execute(
                "SELECT count(*) FROM procedure_side_effect l WHERE NOT EXISTS (SELECT 1 FROM "
                "citation c JOIN source s ON s.id = c.source_id WHERE c.subject_id = l.id "
                "AND c.subject_type = 'procedure_side_effect')"
            ).fetchone()[0]
            seed_slugs = db.execute(
                "SELECT count(*) FROM procedure WHERE slug = 'at-home-derma-roller'"
            ).fetchone()[0]
        finally:
            db.close()
        assert uncited == 0
        assert seed_slugs == 1

    def test_a_synthetic_variant_lists_its_parents_side_effects(self, tmp_path: Path) -> None:
        url, _ = _build(tmp_path, "kb", seed=1)
        engine = make_engine(url)
        with Session(engine) as session:
            rows = queries.listed_terms(session, "side_effect", "synthetic-procedure-000001", True)
        engine.dispose()
        inherited = {r["inherited_from"] for r in rows}
        assert inherited == {None, "synthetic-procedure-000000"}
        assert all(r["citations"] for r in rows)


class TestDatasetteCannedQuery:
    def test_returns_the_rows_of_the_relation_endpoint(self, tmp_path: Path) -> None:
        url, _ = _build(tmp_path, "kb", seed=1)
        engine = make_engine(url)
        with Session(engine) as session:
            api_rows = queries.listed_terms(session, "side_effect", "at-home-derma-roller", True)
        engine.dispose()
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            sql_rows = db.execute(
                datasette_app.RELATION_SQL, {"slug": "at-home-derma-roller"}
            ).fetchall()
        finally:
            db.close()
        assert [(r[0], r[4], r[5]) for r in sql_rows] == [
            (r["slug"], r["procedure"], r["inherited_from"]) for r in api_rows
        ]
