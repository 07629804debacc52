"""A synthetic knowledge base at a given scale, deterministic from a seed, built the real way.

The schema comes from the alembic migrations and the seed data from `load_seed`, so the seed
procedures (and their relation endpoints) exist at every scale. Synthetic procedures, terms and
links are then bulk-inserted into the real tables with SQLAlchemy Core; every link cites a real
excerpt of a real source. Synthetic rows never link to seed procedures, so the seed procedures'
responses stay the same size while the tables grow.
"""

import hashlib
import json
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col

from api.db import migrations
from api.db.engine import make_engine
from models import (
    Citation,
    Condition,
    Contraindication,
    Ingredient,
    Procedure,
    ProcedureCondition,
    ProcedureContraindication,
    ProcedureIngredient,
    ProcedureSideEffect,
    SideEffect,
)
from models.contraindication import Level
from models.ingredient import Role
from seed_data.loader import load_seed

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
# Bump when the generator changes what it writes, so cached files are rebuilt.
GENERATOR_VERSION = 1
CHUNK = 20_000
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Scale:
    name: str
    entities: int  # synthetic procedures + terms (0: the seed data alone)
    links: int  # synthetic procedure-to-term links, each with one citation


SCALES = {
    s.name: s
    for s in (
        Scale("seed", 0, 0),
        Scale("1k", 1_000, 10_000),
        Scale("10k", 10_000, 100_000),
        Scale("100k", 100_000, 1_000_000),
    )
}

# Share of the synthetic entities per table, and of the links per link table.
ENTITY_SHARE = {
    "procedure": 0.10,
    "side_effect": 0.30,
    "contraindication": 0.20,
    "ingredient": 0.20,
    "condition": 0.20,
}
LINK_SHARE = {"side_effect": 0.40, "contraindication": 0.20, "ingredient": 0.25, "condition": 0.15}

PROCEDURE_TABLE: Table = Procedure.__table__  # type: ignore[attr-defined]
CITATION_TABLE: Table = Citation.__table__  # type: ignore[attr-defined]
TERM_TABLES: dict[str, Any] = {
    "side_effect": SideEffect,
    "contraindication": Contraindication,
    "ingredient": Ingredient,
    "condition": Condition,
}
LINK_TABLES: dict[str, tuple[Any, str, str]] = {
    # kind: (link table, term column, citation subject type)
    "side_effect": (ProcedureSideEffect, "side_effect_id", "procedure_side_effect"),
    "contraindication": (
        ProcedureContraindication,
        "contraindication_id",
        "procedure_contraindication",
    ),
    "ingredient": (ProcedureIngredient, "ingredient_id", "procedure_ingredient"),
    "condition": (ProcedureCondition, "condition_id", "procedure_condition"),
}
WORDS = (
    "scalp hair follicle needle roller pen derma serum minoxidil redness itching swelling "
    "bleeding irritation dryness peeling tightness infection bruising acne scarring pigment "
    "alopecia androgenetic areata thinning shedding growth density collagen platelet plasma "
    "laser steroid numbing antiseptic aftercare sunscreen cleanser peptide caffeine biotin "
    "keratin barrier sebum dandruff psoriasis eczema rosacea sensitivity allergy stainless"
).split()
KIND_NOUN = {
    "side_effect": "reaction",
    "contraindication": "condition to avoid",
    "ingredient": "topical",
    "condition": "hair loss type",
}


@dataclass
class BuildInfo:
    """What a build wrote: row counts per table, and a checksum of the synthetic rows."""

    scale: str
    seed: int
    head: str | None
    counts: dict[str, int]
    checksum: str
    seconds: float


def _tracked() -> dict[str, Any]:
    return {"status": "published", "version": 1, "created_at": STAMP, "updated_at": STAMP}


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


class _Writer:
    """Bulk inserts in chunks, hashing every row written so a build can be compared with another."""

    def __init__(self, conn: Any):
        self.conn = conn
        self.digest = hashlib.sha256()
        self.counts: dict[str, int] = {}

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        for row in rows:
            self.digest.update(repr(sorted(row.items())).encode())
        if self.conn.dialect.name == "postgresql":
            # One multi-row INSERT per slice: executemany would run one statement per row, and
            # each statement bumps the revision counter's one row (a statement-level trigger).
            per_statement = max(1, 60_000 // len(rows[0]))
            for i in range(0, len(rows), per_statement):
                self.conn.execute(insert(table).values(rows[i : i + per_statement]))
        else:
            self.conn.execute(insert(table), rows)
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)


def _next_ids(conn: Any, tables: list[Any]) -> dict[str, int]:
    return {t.__tablename__: (conn.scalar(select(func.max(t.id))) or 0) + 1 for t in tables}


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def populate(engine: Engine, scale: Scale, seed: int) -> tuple[dict[str, int], str]:
    """Insert the synthetic rows of `scale` into a migrated, seeded database."""
    rng = random.Random(seed)
    n = {kind: max(1, int(scale.entities * share)) for kind, share in ENTITY_SHARE.items()}
    with engine.begin() as conn:
        excerpts = [
            tuple(r)
            for r in conn.execute(
                select(col(Citation.source_id), col(Citation.excerpt)).order_by(col(Citation.id))
            ).all()
        ]
        start = _next_ids(conn, [Procedure, *TERM_TABLES.values()])
        link_start = _next_ids(conn, [t for t, _, _ in LINK_TABLES.values()])
        writer = _Writer(conn)
        if scale.entities == 0:
            return writer.counts, writer.digest.hexdigest()

        # Procedures: every fourth is general, the three after it are its variants.
        proc_ids = [start["procedure"] + i for i in range(n["procedure"])]
        proc_cites = []
        proc_rows = []
        for i, pid in enumerate(proc_ids):
            general = i % 4 == 0
            words = _phrase(rng, 2)
            proc_rows.append(
                {
                    **_tracked(),
                    "id": pid,
                    "slug": f"synthetic-procedure-{i:06d}",
                    "name": f"Synthetic procedure {i} ({words})",
                    "parent_id": None if general else proc_ids[i - i % 4],
                    "kind": "general" if general else "variant",
                    "setting": ("any", "in-office", "at-home")[i % 3],
                    "device": None if general else f"{rng.choice(WORDS)} device",
                    "summary": f"A synthetic procedure about {_phrase(rng, 8)}.",
                    "session_duration": f"{rng.randint(10, 60)} minutes",
                    "frequency": f"every {rng.randint(1, 6)} weeks",
                }
            )
            source_id, excerpt = rng.choice(excerpts)
            proc_cites.append(
                {
                    "subject_type": "procedure",
                    "subject_id": pid,
                    "source_id": source_id,
                    "excerpt": excerpt,
                    "about": None,
                    "position": 0,
                }
            )
        # Parents first (within one chunk each parent precedes its variants), for the foreign key.
        for chunk in _chunks(iter(proc_rows)):
            writer.write(PROCEDURE_TABLE, chunk)
        for chunk in _chunks(iter(proc_cites)):
            writer.write(CITATION_TABLE, chunk)

        for kind, table in TERM_TABLES.items():
            first = start[kind]

            def terms(kind: str = kind, first: int = first) -> Iterator[dict[str, Any]]:
                for i in range(n[kind]):
                    words = _phrase(rng, 2)
                    row = {
                        **_tracked(),
                        "id": first + i,
                        "slug": f"synthetic-{kind.replace('_', '-')}-{i:06d}",
                        "name": f"{words.capitalize()} {KIND_NOUN[kind]} {i}",
                        "aliases": [_phrase(rng, 2)] if i % 5 == 0 else [],
                        "description": f"A synthetic {KIND_NOUN[kind]}: {_phrase(rng, 10)}.",
                    }
                    if kind == "ingredient":
                        row["kind"] = ("topical", "serum", "antiseptic", "product")[i % 4]
                    yield row

            for chunk in _chunks(terms()):
                writer.write(table.__table__, chunk)

        for kind, (link_table, term_column, subject_type) in LINK_TABLES.items():
            per_procedure = max(1, round(scale.links * LINK_SHARE[kind] / n["procedure"]))
            per_procedure = min(per_procedure, n[kind])
            next_id = link_start[link_table.__tablename__]

            def links(
                kind: str = kind,
                term_column: str = term_column,
                subject_type: str = subject_type,
                per_procedure: int = per_procedure,
                next_id: int = next_id,
            ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
                for pid in proc_ids:
                    for term_index in sorted(rng.sample(range(n[kind]), per_procedure)):
                        source_id, excerpt = rng.choice(excerpts)
                        row = {
                            **_tracked(),
                            "id": next_id,
                            "procedure_id": pid,
                            term_column: start[kind] + term_index,
                            "note": None
                            if term_index % 3
                            else f"Synthetic note: {_phrase(rng, 6)}.",
                        }
                        if kind == "contraindication":
                            row["level"] = rng.choice(list(Level)).value
                        elif kind == "ingredient":
                            row["role"] = rng.choice(list(Role)).value
                        cite = {
                            "subject_type": subject_type,
                            "subject_id": next_id,
                            "source_id": source_id,
                            "excerpt": excerpt,
                            "about": None,
                            "position": 0,
                        }
                        next_id += 1
                        yield row, cite

            batch: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for pair in links():
                batch.append(pair)
                if len(batch) >= CHUNK:
                    writer.write(link_table.__table__, [r for r, _ in batch])
                    writer.write(CITATION_TABLE, [c for _, c in batch])
                    batch = []
            writer.write(link_table.__table__, [r for r, _ in batch])
            writer.write(CITATION_TABLE, [c for _, c in batch])

        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; move them past the rows written.
            for name in writer.counts:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    return writer.counts, writer.digest.hexdigest()


def build(url: str, scale: Scale, seed: int) -> BuildInfo:
    """Migrate an empty database at `url`, load the seed data, then add the synthetic rows."""
    started = time.monotonic()
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            load_seed(session)
        counts, checksum = populate(engine, scale, seed)
    finally:
        engine.dispose()
    return BuildInfo(
        scale=scale.name,
        seed=seed,
        head=migrations.head_revision(),
        counts=counts,
        checksum=checksum,
        seconds=round(time.monotonic() - started, 1),
    )


def cache_key(scale: Scale, seed: int) -> str:
    head = (migrations.head_revision() or "base").replace("/", "_")[:16]
    return f"{scale.name}-s{seed}-g{GENERATOR_VERSION}-{head}"


def sqlite_database(scale: Scale, seed: int, cache_dir: Path = CACHE_DIR) -> tuple[Path, BuildInfo]:
    """The SQLite file of `scale`, built once per scale, seed, generator and schema head."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = cache_key(scale, seed)
    path, info_path = cache_dir / f"{key}.db", cache_dir / f"{key}.json"
    if path.exists() and info_path.exists():
        return path, BuildInfo(**json.loads(info_path.read_text()))
    tmp = cache_dir / f"{key}.building.db"
    # Builds of this scale and seed for another generator or schema head are out of date.
    for stale in cache_dir.glob(f"{scale.name}-s{seed}-*"):
        stale.unlink()
    info = build(f"sqlite:///{tmp}", scale, seed)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    tmp.rename(path)
    info_path.write_text(json.dumps(asdict(info), indent=2))
    return path, info


def analyzed_copy(path: Path) -> Path:
    """A copy of a cached SQLite file with planner statistics (ANALYZE), made once."""
    out = path.with_name(f"{path.stem}-analyzed.db")
    if not out.exists():
        tmp = path.with_name(f"{path.stem}-analyzing.db")
        shutil.copyfile(path, tmp)
        db = sqlite3.connect(tmp)
        try:
            db.execute("ANALYZE")
            db.commit()
        finally:
            db.close()
        tmp.rename(out)
    return out


def postgres_database(admin_url: str, scale: Scale, seed: int) -> tuple[str, BuildInfo]:
    """A PostgreSQL database of `scale` next to `admin_url`'s, reused when already built."""
    name = f"skinkb_bench_{cache_key(scale, seed)}".replace("-", "_").lower()[:63]
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists:
                probe = make_engine(url)
                try:
                    with probe.connect() as pc:
                        marker = pc.scalar(
                            text("SELECT obj_description('procedure'::regclass, 'pg_class')")
                        )
                finally:
                    probe.dispose()
                if marker:
                    return url, BuildInfo(**json.loads(marker))
                conn.execute(text(f'DROP DATABASE "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        info = build(url, scale, seed)
        done = make_engine(url)
        try:
            # Planner statistics, as autovacuum would gather them on a server that has run a
            # while: without them the relation query took 12.5 ms instead of 2.4 at 10k (a
            # sequential scan of side_effect, estimated at 4 rows, found 3,027).
            with done.connect().execution_options(isolation_level="AUTOCOMMIT") as ac:
                ac.execute(text("ANALYZE"))
            with done.begin() as dc:
                # The build's record doubles as the mark that it finished.
                payload = json.dumps(asdict(info)).replace("'", "''")
                dc.execute(text(f"COMMENT ON TABLE procedure IS '{payload}'"))
        finally:
            done.dispose()
        return url, info
    finally:
        admin.dispose()
